import ArgumentParser

/// The `meshgate` command and its subcommands.
public struct MeshgateCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "meshgate",
        abstract: "A multi-cluster mTLS service gateway with an io_uring/splice data plane.",
        version: MeshgateVersion.current,
        subcommands: [
            ProxyCommand.self, GatewayCommand.self, IdentityCommand.self, LinkCommand.self, GatewaysCommand.self,
            RoutesCommand.self, CheckCommand.self, DemoCommand.self, InstallCommand.self,
        ]
    )

    public init() {}
}
