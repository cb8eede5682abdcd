import Foundation
import Logging
import MeshgateTLS

/// Runs one `LinkMirror` per good bundle in the links folder and follows the folder: a new
/// bundle starts a mirror, a removed one stops it (its routes go with it), a changed one
/// restarts it (keeping what it knew until the new stream has a snapshot), and a broken one
/// is reported (file:line: field) and changes nothing.
public final class LinkSupervisor: @unchecked Sendable {
    private let logger: Logger
    private let interval: Duration
    private let config: @Sendable () -> GatewayConfig
    private let credentials: @Sendable () -> TLSContext
    private let onChange: @Sendable () -> Void
    private let thread = StoppableThread(name: "links-watch")

    private let lock = NSLock()
    /// Guarded by `lock`.
    private var running: [String: LinkMirror] = [:]
    /// Guarded by `lock`: the folder has been read at least once (before, `mirrors` does not yet
    /// say which links exist).
    private var applied = false
    /// Touched only by the scanning thread.
    private var seen: (links: LinksSettings?, files: [String: FileStat])? = nil
    private var folderError: String? = nil

    /// A supervisor reading the links settings of `config()` on every scan.
    public init(
        config: @escaping @Sendable () -> GatewayConfig, credentials: @escaping @Sendable () -> TLSContext, logger: Logger,
        interval: Duration = .milliseconds(200), onChange: @escaping @Sendable () -> Void
    ) {
        self.config = config
        self.credentials = credentials
        self.logger = logger
        self.interval = interval
        self.onChange = onChange
    }

    /// The mirrors running now, by cluster name.
    public var mirrors: [LinkMirror] {
        lock.lock()
        defer { lock.unlock() }
        return running.keys.sorted().map { running[$0]! }
    }

    /// Whether the links that exist are known: the folder (or the absence of `links:`) has been
    /// read at least once.
    public var hasScanned: Bool {
        lock.lock()
        defer { lock.unlock() }
        return applied
    }

    /// Scans the folder once now (starting the mirrors it finds) and then every `interval`.
    public func start() {
        scan()
        thread.start { [self] stopSignal in
            while stopSignal.sleep(for: interval) { scan() }
        }
    }

    /// Stops watching and stops every mirror (their routes are left to the caller).
    public func stop() {
        thread.stop()
        lock.lock()
        let all = Array(running.values)
        running.removeAll()
        lock.unlock()
        for m in all { m.requestStop() }
        for m in all { m.stop() }
    }

    /// Looks at the folder; acts when a file, or the links settings, changed.
    func scan() {
        let c = config()
        guard let links = c.links else {
            if seen?.links != nil || seen == nil {
                seen = (nil, [:])
                apply([:], config: c)
            }
            return
        }
        let names: [String]
        do {
            names = try LinksFolder.files(in: links.dir)
        } catch {
            // A folder that cannot be listed changes nothing; said once until it can again.
            let message = error.errors.map(\.description).joined(separator: "; ")
            if folderError != message { logger.warning("\(message) (links stay as they are)") }
            folderError = message
            return
        }
        folderError = nil
        var files: [String: FileStat] = [:]
        for path in names {
            if case .success(let s) = FileStat.of(path) { files[path] = s }
        }
        if let seen, seen.links == links, seen.files == files { return }
        seen = (links, files)
        let listing = LinksFolder.load(folder: links.dir)
        var bundles: [String: LinkBundle] = [:]
        for bundle in listing.bundles {
            do {
                try bundle.checkLinkable(into: c)
                bundles[bundle.cluster] = bundle
            } catch {
                for e in error.errors { logger.error("\(e) (link not changed)") }
            }
        }
        for e in listing.errors { logger.error("\(e) (link not changed)") }
        // A file that is there but broken keeps its cluster's mirror as it was.
        var wanted: [String: (LinkBundle, LinkSettings)?] = [:]
        for path in names {
            let file = URL(fileURLWithPath: path).lastPathComponent
            let cluster = String(file.dropLast(LinkBundle.fileSuffix.count))
            // updateValue, not subscript assignment: a nil entry (broken bundle) must stay in the
            // map as "keep as is"; assigning nil through the subscript would remove the key.
            wanted.updateValue(bundles[cluster].map { ($0, links.settings(for: cluster)) }, forKey: cluster)
        }
        apply(wanted, config: c)
    }

    /// Starts, restarts and stops mirrors so that the running ones match `wanted` (a nil entry
    /// keeps the running mirror of that cluster, if any).
    private func apply(_ wanted: [String: (LinkBundle, LinkSettings)?], config c: GatewayConfig) {
        lock.lock()
        applied = true
        var stopped: [LinkMirror] = []
        var started: [LinkMirror] = []
        for (cluster, mirror) in running where wanted[cluster] == nil {
            stopped.append(mirror)
            running.removeValue(forKey: cluster)
        }
        for (cluster, entry) in wanted {
            guard let (bundle, settings) = entry else { continue }
            let old = running[cluster]
            if let old, old.bundle == bundle, old.settings == settings { continue }
            let onChange = self.onChange
            let mirror = LinkMirror(
                bundle: bundle, localCluster: c.cluster, settings: settings, initial: old?.state, credentials: credentials,
                logger: logger, onChange: { _ in onChange() })
            if let old { stopped.append(old) }
            running[cluster] = mirror
            started.append(mirror)
        }
        lock.unlock()
        // Routes first: a removed link's routes go now, not after its threads have wound down
        // (a hung peer may hold one for a connect timeout).
        if !stopped.isEmpty || !started.isEmpty { onChange() }
        for m in stopped {
            if wanted[m.cluster] == nil { logger.info("link \(m.cluster): bundle removed; mirror stopped, its routes withdrawn") }
            m.stop()
        }
        for m in started {
            logger.info(
                "link \(m.cluster): mirror started (gateways \(m.bundle.gateways.map(\.description).joined(separator: ", ")), identity \(m.bundle.identity))")
            m.start()
        }
    }
}
