import ArgumentParser
import Foundation
import Store
import WHIP

/// Options shared by the commands that work on the database directly.
struct DatabaseOptions: ParsableArguments {
    @Option(name: .customLong("database"), help: "The SQLite file `skylark serve` uses (SKYLARK_DATABASE).")
    var path = environment("SKYLARK_DATABASE", "skylark.sqlite")

    func open() throws -> Store {
        do {
            return try Store(path: path)
        } catch {
            throw ValidationError("cannot open the database \(path): \(error)")
        }
    }
}

func formatTime(_ seconds: Double?) -> String {
    guard let seconds else { return "-" }
    return Date(timeIntervalSince1970: seconds).formatted(.iso8601)
}

struct StreamCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "stream",
        abstract: "Create, list, delete streams and rotate their tokens (works on the database; the server may be running).",
        subcommands: [Create.self, List.self, Delete.self, Rotate.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Register a stream and print its publish token (shown only once).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Stream name: 1 to 64 letters, digits, '.', '_' or '-'.") var name: String
        @Flag(help: "Watching also needs a token; prints it.") var viewToken = false

        func run() throws {
            let store = try database.open()
            defer { store.close() }
            do {
                let (record, publishToken, viewToken) = try store.createStream(name: name, viewRequiresToken: viewToken)
                print("stream \(record.name) created")
                print("publish token: \(publishToken)")
                if let viewToken { print("view token:    \(viewToken)") }
            } catch {
                throw ValidationError("cannot create stream \(name): \(error)")
            }
        }

        func validate() throws {
            guard WHIPServer.isValidStreamName(name) else {
                throw ValidationError(WHIPServer.streamNameRule)
            }
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List registered streams.")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let store = try database.open()
            defer { store.close() }
            let streams = try store.streams()
            if streams.isEmpty { print("no streams"); return }
            for stream in streams {
                print("\(stream.name)\tviewing needs a token: \(stream.viewRequiresToken ? "yes" : "no")\tcreated \(formatTime(stream.createdAt))")
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete a stream and its tokens.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Stream name.") var name: String

        func run() throws {
            let store = try database.open()
            defer { store.close() }
            guard try store.deleteStream(named: name) else { throw ValidationError("there is no stream named \(name)") }
            print("stream \(name) deleted")
        }
    }

    struct Rotate: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Replace a stream's publish or view token and print the new one.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "Stream name.") var name: String
        @Option(help: "publish or view (a view token also makes watching need one).") var kind = "publish"

        func run() throws {
            let store = try database.open()
            defer { store.close() }
            let tokenKind: TokenKind
            switch kind {
            case "publish": tokenKind = .publish
            case "view": tokenKind = .view
            default: throw ValidationError("--kind is publish or view")
            }
            guard let token = try store.rotateToken(stream: name, kind: tokenKind) else {
                throw ValidationError("there is no stream named \(name)")
            }
            print("\(kind) token: \(token)")
        }
    }
}

struct TokenCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "token",
        abstract: "Create, list and delete tokens for the management API.",
        subcommands: [Create.self, List.self, Delete.self])

    struct Create: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Make an API token and print it (shown only once).")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "A name to recognise it by.") var name: String

        func run() throws {
            let store = try database.open()
            defer { store.close() }
            let (record, token) = try store.createAPIToken(name: name)
            print("API token \(record.id) (\(record.name)): \(token)")
        }
    }

    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "List API tokens (never their values).")
        @OptionGroup var database: DatabaseOptions

        func run() throws {
            let store = try database.open()
            defer { store.close() }
            let tokens = try store.apiTokens()
            if tokens.isEmpty { print("no API tokens"); return }
            for token in tokens {
                print("\(token.id)\t\(token.name)\tcreated \(formatTime(token.createdAt))\tlast used \(formatTime(token.lastUsedAt))")
            }
        }
    }

    struct Delete: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Delete an API token by id.")
        @OptionGroup var database: DatabaseOptions
        @Argument(help: "The token's id from `skylark token list`.") var id: Int64

        func run() throws {
            let store = try database.open()
            defer { store.close() }
            guard try store.deleteAPIToken(id: id) else { throw ValidationError("no API token with id \(id)") }
            print("API token \(id) deleted")
        }
    }
}
