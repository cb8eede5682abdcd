import ArgumentParser

/// `meshgate identity`: certificate tooling for a meshgate trust domain (see docs/identity.md).
struct IdentityCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "identity",
        abstract: "Create the trust anchor, per-cluster issuers and leaf certificates; inspect certificates; make session ticket keys.",
        discussion: """
            A trust anchor (init) signs one issuer per cluster (issuer), which signs short-lived \
            leaf certificates (issue). Keys are ECDSA P-256, files are PEM; keys are written with \
            mode 0600, every file atomically. Existing files are kept unless --force is given. \
            ticket-keys makes and rotates the session ticket key file a gateway's replicas share.
            """,
        subcommands: [
            IdentityInitCommand.self, IdentityIssuerCommand.self, IdentityIssueCommand.self, IdentityInspectCommand.self,
            IdentityTicketKeysCommand.self,
        ]
    )
}
