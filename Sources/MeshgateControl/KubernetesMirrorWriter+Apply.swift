import Foundation
import Logging
import MeshgateKube

/// The API calls of `KubernetesMirrorWriter`: one action each, and what an answer of 404 or 409 means.
extension KubernetesMirrorWriter {
    /// A create or update (`verb`) the server took: remembered as written and logged; true.
    private func written(_ verb: String, _ key: String, _ service: KubeService) -> Bool {
        wrote(verb, key: key, overlay: .written(service, at: .now))
        logger.info("mirrored Service \(key) \(verb)d (\(Self.portsText(service)))")
        return true
    }

    /// Performs one write; false when it failed in a way worth a retry with backoff (the pass stops).
    func perform(_ action: MirroredServiceAction) async -> Bool {
        let key = action.key
        switch action {
        case .create(let service):
            do {
                return written("create", key, try await client.create(service))
            } catch {
                if error.isConflict { return await reread(key, after: "create") }
                if error.isNotFound {
                    // The namespace does not exist here: not worth a backoff for the others; the
                    // periodic pass tries again.
                    _ = failed("create", key, error, retrying: "tried again every \(recheckInterval)")
                    return true
                }
                return failed("create", key, error)
            }
        case .update(let service):
            do {
                return written("update", key, try await client.replace(service))
            } catch {
                // 409: it changed since the informer saw it; 404: it is gone. Either way read it again.
                if error.isConflict || error.isNotFound { return await reread(key, after: "update") }
                return failed("update", key, error)
            }
        case .delete(let namespace, let name, let uid, let reason):
            do {
                try await client.delete(
                    KubeService.self, namespace: namespace, name: name, preconditionUID: uid, preconditionResourceVersion: nil)
                wrote("delete", key: key, overlay: .deleted(uid: uid, at: .now))
                logger.info("mirrored Service \(key) deleted (\(reason))")
                return true
            } catch {
                if error.isNotFound {
                    lock.withLock { overlay[key] = .deleted(uid: uid, at: .now) }
                    return true
                }
                if error.isConflict { return await reread(key, after: "delete") }
                return failed("delete", key, error)
            }
        case .conflict:
            return true
        }
    }

    private func wrote(_ op: String, key: String, overlay entry: Overlay) {
        lock.withLock {
            writes[op, default: 0] += 1
            overlay[key] = entry
            lastError = nil
        }
    }

    private func failed(_ op: String, _ key: String, _ error: KubeError, retrying: String = "retrying with backoff") -> Bool {
        let message = "\(op) Service \(key): \(error)"
        lock.withLock { lastError = message }
        errorLog.warning("\(op) \(key)", "mirror writer: \(message) (\(retrying))")
        return false
    }

    /// Reads a Service whose write was answered 409 or 404: one that is meshgate's is remembered as
    /// it is now (the next pass compares against it); one that is not is a conflict from now on.
    private func reread(_ key: String, after op: String) async -> Bool {
        let (namespace, name) = Self.split(key)
        do {
            let current = try await client.get(KubeService.self, namespace: namespace, name: name)
            lock.withLock {
                if KubernetesNames.isOwned(labels: current.metadata.labels) {
                    overlay[key] = .written(current, at: .now)
                } else {
                    foreign[key] = MirroredServiceReconciler.notOwnedReason(current)
                }
            }
        } catch {
            if error.isNotFound {
                lock.withLock { overlay[key] = .deleted(uid: nil, at: .now) }
            } else {
                return failed("read after \(op) of", key, error)
            }
        }
        wakeUp()
        return true
    }

    /// Reads each name refused as taken again: one whose Service is gone (or is meshgate's now)
    /// is no longer a conflict, and the next pass writes it. Leader only.
    func recheckForeign() async {
        guard elector.isLeader else { return }
        let keys = lock.withLock { Array(foreign.keys).sorted() }
        for key in keys {
            let (namespace, name) = Self.split(key)
            do {
                let current = try await client.get(KubeService.self, namespace: namespace, name: name)
                if KubernetesNames.isOwned(labels: current.metadata.labels) {
                    lock.withLock {
                        foreign[key] = nil
                        overlay[key] = .written(current, at: .now)
                    }
                }
            } catch {
                if error.isNotFound {
                    lock.withLock { foreign[key] = nil }
                    logger.info("mirrored Service \(key): the Service that took the name is gone; writing it")
                }
            }
        }
    }

    static func split(_ key: String) -> (String, String) {
        guard let slash = key.firstIndex(of: "/") else { return ("", key) }
        return (String(key[..<slash]), String(key[key.index(after: slash)...]))
    }

    static func portsText(_ s: KubeService) -> String {
        let ports = (s.spec.ports ?? []).map { p -> String in
            let target: String
            switch p.targetPort {
            case .int(let n): target = "\(n)"
            case .string(let n): target = n
            case nil: target = "\(p.port)"
            }
            return "\(p.port)→\(target)"
        }
        return "ports " + ports.joined(separator: ", ")
    }
}
