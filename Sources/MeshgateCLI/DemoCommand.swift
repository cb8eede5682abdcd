import ArgumentParser
import MeshgateDemo

/// `meshgate demo`: three clusters on loopback, linked, with traffic and a failure domain shown
/// (docs/demo.md). This is its command line only; the demo itself is the MeshgateDemo target.
struct DemoCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run three linked clusters (east, west, north) on loopback: mirrored routes, traffic, a failure domain.",
        discussion: """
            Makes identities with `meshgate identity`, starts a `meshgate gateway` per cluster (this \
            binary, loopback ports found free), real backends in west and north (an HTTP server; \
            redis-server when it is on PATH), links east to west and north with `meshgate link` / \
            `meshgate link add`, sends traffic through east's mirrored routes, then stops north's \
            gateway to show its routes failing fast while east → west keeps working, and restarts \
            it. Then it keeps running for you to explore until Ctrl-C, which stops every process \
            and deletes the temporary folder. No root needed. See docs/demo.md.
            """
    )

    @Flag(name: .long, help: "Leave the temporary folder (identities, configs, bundles, logs) in place at the end and print its path.")
    var keep = false

    @Flag(name: .customLong("exit"), help: "Run the steps, then clean up and exit (0 when every step worked, 1 when one failed): for tests and CI.")
    var exitWhenDone = false

    func run() throws {
        let code = Demo.run(keep: keep, exitWhenDone: exitWhenDone)
        if code != 0 { throw ExitCode(code) }
    }
}
