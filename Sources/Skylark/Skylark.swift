import ArgumentParser

@main
struct Skylark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "skylark",
        abstract: "A WHIP/WHEP server and small audio SFU.",
        discussion: "Publishers send audio (and video) over WHIP to /whip/<stream>; listeners play it over WHEP from "
            + "/whep/<stream>. Open the printed address in a browser for the publish and watch pages.",
        version: "0.1.0",
        subcommands: [Serve.self, StreamCommand.self, TokenCommand.self, Load.self, UDPCeilingCommand.self],
        defaultSubcommand: Serve.self)
}
