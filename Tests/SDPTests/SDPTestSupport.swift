import Foundation
import SkylarkBase
import Testing

@testable import SDP

/// The real offers in Offers/, by file name without extension.
enum Offers {
    static let all: [String: String] = {
        guard let directory = Bundle.module.url(forResource: "Offers", withExtension: nil),
            let files = try? FileManager.default.contentsOfDirectory(at: directory, includingPropertiesForKeys: nil)
        else { return [:] }
        var offers: [String: String] = [:]
        for file in files where file.pathExtension == "sdp" {
            offers[file.deletingPathExtension().lastPathComponent] = try? String(contentsOf: file, encoding: .utf8)
        }
        return offers
    }()

    static func text(_ name: String) -> String {
        all[name] ?? ""
    }

    static func parsed(_ name: String) throws -> SessionDescription {
        try SessionDescription(parsing: text(name))
    }
}

/// Parses `text` expecting failure on `line` with a reason containing `reason`.
func expectParseError(
    _ text: String, line: Int, reason: String, limits: SDPLimits = SDPLimits(),
    sourceLocation: SourceLocation = #_sourceLocation
) {
    do {
        let parsed = try SessionDescription(parsing: text, limits: limits)
        Issue.record("parsed, expected an error: \(parsed.text.prefix(200))", sourceLocation: sourceLocation)
    } catch {
        #expect(error.line == line, "\(error)", sourceLocation: sourceLocation)
        #expect(error.reason.contains(reason), "\(error)", sourceLocation: sourceLocation)
        #expect(error.text.count <= 200, sourceLocation: sourceLocation)
    }
}
