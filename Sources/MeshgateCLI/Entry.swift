import ArgumentParser
#if canImport(Glibc)
import Glibc
#endif

/// Runs the `meshgate` command line. Usage errors print one line naming the flag and exit 2;
/// failures at run time exit 1.
public enum MeshgateMain {
    public static func run(_ arguments: [String] = Array(CommandLine.arguments.dropFirst())) async -> Never {
        let command: ParsableCommand
        do {
            command = try MeshgateCommand.parseAsRoot(arguments)
        } catch {
            let code = MeshgateCommand.exitCode(for: error)
            if code == .success {
                print(MeshgateCommand.fullMessage(for: error))
                exit(0)
            }
            let message = MeshgateCommand.message(for: error)
            FileHandleStandardError.write("meshgate: error: \(message)\n")
            exit(2)
        }
        do {
            if var asyncCommand = command as? AsyncParsableCommand {
                try await asyncCommand.run()
            } else {
                var sync = command
                try sync.run()
            }
            exit(0)
        } catch let exit as ExitCode {
            Glibc.exit(exit.rawValue)
        } catch {
            let code = MeshgateCommand.exitCode(for: error)
            if code == .success { exit(0) }
            FileHandleStandardError.write("meshgate: error: \(MeshgateCommand.message(for: error))\n")
            exit(code == .validationFailure ? 2 : 1)
        }
    }
}

/// Writes to standard error without Foundation.
enum FileHandleStandardError {
    static func write(_ s: String) {
        var s = s
        s.withUTF8 { b in _ = Glibc.write(2, b.baseAddress, b.count) }
    }
}
