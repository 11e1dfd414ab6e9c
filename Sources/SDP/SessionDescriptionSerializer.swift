extension SessionDescription {
    /// The description as SDP text with CRLF line endings, lines in RFC 8866 §5 order.
    /// Values are written as they are; a value containing a line break would corrupt the output.
    public var text: String {
        var writer = SDPWriter()
        writer.line("v", "0")
        writer.line("o", origin.line)
        writer.line("s", sessionName)
        writer.lines(otherLines.filter { SDPParser.sessionRank($0.type) < SDPParser.sessionRankAfterBandwidth })
        if let connection { writer.line("c", connection) }
        for bandwidth in bandwidths { writer.line("b", bandwidth) }
        writer.lines(otherLines.filter { SDPParser.sessionRank($0.type) >= SDPParser.sessionRankAfterBandwidth })
        for attribute in attributes { writer.line("a", attribute.line) }
        for section in media {
            let port = section.portCount.map { "\(section.port)/\($0)" } ?? "\(section.port)"
            writer.line("m", ([section.kind, port, section.proto] + section.formats).joined(separator: " "))
            writer.lines(section.otherLines.filter { SDPParser.mediaRank($0.type) < SDPParser.mediaRankAfterBandwidth })
            if let connection = section.connection { writer.line("c", connection) }
            for bandwidth in section.bandwidths { writer.line("b", bandwidth) }
            writer.lines(section.otherLines.filter { SDPParser.mediaRank($0.type) >= SDPParser.mediaRankAfterBandwidth })
            for attribute in section.attributes { writer.line("a", attribute.line) }
        }
        return writer.text
    }
}

struct SDPWriter {
    var text = ""

    mutating func line(_ type: Character, _ value: String) {
        text.append(type)
        text.append("=")
        text.append(value)
        text.append("\r\n")
    }

    mutating func lines(_ lines: [SDPLine]) {
        for line in lines { self.line(line.type, line.value) }
    }
}
