import Foundation

/// The links folder (`links:` in gateway.yaml): one `<cluster>.link.yaml` per linked cluster.
public enum LinksFolder {
    /// What reading the folder found: the bundles that are good, and the errors of the files that
    /// are not (each file stands alone: one broken bundle does not hide the others).
    public struct Listing: Sendable {
        /// Good bundles, ordered by file name.
        public var bundles: [LinkBundle] = []
        /// Problems, by file in name order; a folder that cannot be listed is one error naming it.
        public var errors: [ConfigError] = []
    }

    /// The paths of the `*.link.yaml` files in `folder`, sorted by name; hidden files (such as a
    /// temporary file of `meshgate link add`) are skipped.
    public static func files(in folder: String) throws(ConfigErrors) -> [String] {
        let names: [String]
        do {
            names = try FileManager.default.contentsOfDirectory(atPath: folder)
        } catch {
            let reason = (error as NSError).localizedFailureReason ?? (error as NSError).localizedDescription
            throw ConfigErrors([ConfigError(file: folder, line: nil, field: "", message: "cannot list the links folder: \(reason)")])
        }
        return names.filter { $0.hasSuffix(LinkBundle.fileSuffix) && !$0.hasPrefix(".") }.sorted()
            .map { ConfigFile.resolve($0, against: folder) }
    }

    /// Loads every bundle in `folder`. A file must be named after the cluster it holds; two
    /// files cannot then name the same cluster.
    public static func load(folder: String) -> Listing {
        var listing = Listing()
        let paths: [String]
        do {
            paths = try files(in: folder)
        } catch {
            listing.errors = error.errors
            return listing
        }
        for path in paths {
            do {
                let bundle = try LinkBundle.load(path: path)
                let expected = String(URL(fileURLWithPath: path).lastPathComponent.dropLast(LinkBundle.fileSuffix.count))
                guard bundle.cluster == expected else {
                    listing.errors.append(ConfigError(
                        file: path, line: bundle.origin?.clusterLine, field: "cluster",
                        message: "'\(bundle.cluster)' does not match the file name (expected \(expected), or rename the file \(bundle.fileName))"))
                    continue
                }
                listing.bundles.append(bundle)
            } catch {
                listing.errors += error.errors
            }
        }
        return listing
    }
}
