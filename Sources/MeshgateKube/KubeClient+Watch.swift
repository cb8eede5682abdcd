import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationCompat

extension KubeClient {
    /// Watches objects from `resourceVersion` ("" or "0": every current object first as ADDED).
    ///
    /// Asks for bookmarks (`allowWatchBookmarks=true`) and for the server to end the stream
    /// after `timeoutSeconds`; the stream then finishes normally (re-watch from the last
    /// resourceVersion). A server ERROR event ends it throwing its Status as a ``KubeError``
    /// (410 → ``KubeError/isGone``: list again); so do transport and decoding failures.
    /// Cancelling the consuming task (or dropping the stream) cancels the request.
    public func watch<T: KubeResource>(
        _ type: T.Type, namespace: String?, labelSelector: KubeLabelSelector?, resourceVersion: String,
        timeoutSeconds: Int
    ) -> AsyncThrowingStream<KubeWatchEvent<T>, Error> {
        let (stream, continuation) = AsyncThrowingStream<KubeWatchEvent<T>, Error>.makeStream(
            bufferingPolicy: .unbounded)
        let task = Task {
            do {
                try await self.runWatch(
                    T.self, namespace: namespace, labelSelector: labelSelector, resourceVersion: resourceVersion,
                    timeoutSeconds: timeoutSeconds, continuation: continuation)
                continuation.finish()
            } catch {
                continuation.finish(throwing: error)
            }
        }
        continuation.onTermination = { _ in task.cancel() }
        return stream
    }

    private func runWatch<T: KubeResource>(
        _ type: T.Type, namespace: String?, labelSelector: KubeLabelSelector?, resourceVersion: String,
        timeoutSeconds: Int, continuation: AsyncThrowingStream<KubeWatchEvent<T>, Error>.Continuation
    ) async throws(KubeError) {
        guard let http else { throw setupError! }
        count(.watch)
        var query = [
            ("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", String(max(1, timeoutSeconds))),
        ]
        if !resourceVersion.isEmpty { query.append(("resourceVersion", resourceVersion)) }
        if let labelSelector, !labelSelector.isEmpty { query.append(("labelSelector", labelSelector.description)) }
        let path = KubePath.collection(T.kind, namespace: namespace)
        let request = self.request(.watch, path: path, query: query)
        let what = "watch \(path)"
        do {
            let deadline = NIODeadline.now() + .seconds(Int64(max(1, timeoutSeconds)) + 30)
            let response = try await http.execute(request, deadline: deadline, logger: logger)
            guard response.status.code == 200 else {
                let bytes = try await response.body.collect(upTo: 1 << 20)
                throw Self.statusError(response.status, bytes)
            }
            var splitter = KubeWatchLineSplitter()
            for try await chunk in response.body {
                for line in try splitter.append(chunk.readableBytesView) {
                    continuation.yield(try KubeWatchDecoder.event(T.self, line: line))
                }
            }
            if let last = splitter.finish() {
                continuation.yield(try KubeWatchDecoder.event(T.self, line: last))
            }
        } catch {
            throw Self.kubeError(error, what)
        }
    }
}

/// Decodes one watch line: `{"type": "ADDED"|"MODIFIED"|"DELETED"|"BOOKMARK"|"ERROR", "object": …}`.
enum KubeWatchDecoder {
    private struct Header: Decodable { var type: String }
    private struct Event<O: Decodable>: Decodable { var object: O }
    private struct BookmarkObject: Decodable {
        struct Meta: Decodable { var resourceVersion: String? }
        var metadata: Meta?
    }

    /// The event of a line; an ERROR event throws its Status; anything else unusable throws "Decoding".
    static func event<T: KubeResource>(_ type: T.Type, line: [UInt8]) throws(KubeError) -> KubeWatchEvent<T> {
        let data = Data(line)
        let decoder = JSONDecoder()
        let kind: String
        do {
            kind = try decoder.decode(Header.self, from: data).type
        } catch {
            throw KubeError.decoding("watch event", error)
        }
        do {
            switch kind {
            case "ADDED": return .added(try decoder.decode(Event<T>.self, from: data).object)
            case "MODIFIED": return .modified(try decoder.decode(Event<T>.self, from: data).object)
            case "DELETED": return .deleted(try decoder.decode(Event<T>.self, from: data).object)
            case "BOOKMARK":
                let object = try decoder.decode(Event<BookmarkObject>.self, from: data).object
                guard let rv = object.metadata?.resourceVersion, !rv.isEmpty else {
                    throw KubeError(code: nil, reason: "Decoding", message: "watch BOOKMARK without a resourceVersion")
                }
                return .bookmark(resourceVersion: rv)
            case "ERROR":
                let status = try decoder.decode(Event<KubeStatus>.self, from: data).object
                throw status.error(httpStatus: nil)
            default:
                throw KubeError(code: nil, reason: "Decoding", message: "watch event of unknown type \"\(kind)\"")
            }
        } catch let error as KubeError {
            throw error
        } catch {
            throw KubeError.decoding("watch \(kind) event", error)
        }
    }
}
