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
            // --version (and help requests that fail parsing early).
            exitIfCleanExit(error, arguments: arguments)
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
            // `--help` and `help SUBCOMMAND` come back as the built-in help command, whose
            // run() throws a clean exit carrying the help request.
            exitIfCleanExit(error, arguments: arguments)
            let code = MeshgateCommand.exitCode(for: error)
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

extension MeshgateMain {
    /// When `error` is a clean exit (a help or version request), prints its message (or the
    /// help for `arguments`) and exits 0; otherwise returns.
    static func exitIfCleanExit(_ error: Error, arguments: [String]) {
        guard MeshgateCommand.exitCode(for: error) == .success else { return }
        let message = MeshgateCommand.fullMessage(for: error)
        print(message.isEmpty ? helpText(for: arguments) : message)
        exit(0)
    }

    /// Help for the subcommand named in `arguments` (`proxy --help`, `help proxy`), else the root's.
    static func helpText(for arguments: [String]) -> String {
        for word in arguments where !word.hasPrefix("-") && word != "help" {
            for sub in MeshgateCommand.configuration.subcommands where sub.configuration.commandName == word {
                return MeshgateCommand.helpMessage(for: sub)
            }
        }
        return MeshgateCommand.helpMessage()
    }
}
