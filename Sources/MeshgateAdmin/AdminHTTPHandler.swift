import NIOCore
import NIOHTTP1

/// One admin connection: reads requests (after NIO's HTTP/1 decoder), answers each through the
/// router, and bounds what a client may send: the request target, a body (none is expected), and
/// how long it may take: each request must arrive whole (head and body) within the request
/// timeout of the accept or of the previous answer, however many bytes trickle in meanwhile.
/// Runs on the admin event loop only.
final class AdminHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// Longest request target accepted (400 beyond).
    static let maxTargetBytes = 2048
    /// Most body bytes a request may carry (413 beyond, and the connection is closed).
    static let maxBodyBytes = 4096

    private let router: AdminRouter
    private let slots: AdminConnectionSlots
    private let requestTimeout: TimeAmount
    /// Called on the event loop when a connection is closed for not sending a whole request in time.
    private let timedOut: () -> Void
    // Loop-confined state of the request being read.
    /// Closes the connection when the request being waited for has not arrived whole by then.
    private var deadline: Scheduled<Void>?
    private var head: HTTPRequestHead?
    private var bodyBytes = 0
    /// This request has been answered already (refused early); its remaining parts are dropped.
    private var answered = false
    /// The connection failed (a request that does not parse): nothing more is read or answered.
    private var failed = false

    init(router: AdminRouter, slots: AdminConnectionSlots, requestTimeout: TimeAmount, timedOut: @escaping () -> Void) {
        self.router = router
        self.slots = slots
        self.requestTimeout = requestTimeout
        self.timedOut = timedOut
    }

    func handlerAdded(context: ChannelHandlerContext) {
        // The deadline of the first request runs from the accept.
        armDeadline(context, note: true)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        deadline?.cancel()
        deadline = nil
    }

    /// (Re)starts the request deadline: from now, the next request must arrive whole in time.
    /// `note`: a miss is logged (not for a keep-alive connection idle after an answer, which is
    /// the normal end of one).
    private func armDeadline(_ context: ChannelHandlerContext, note: Bool) {
        deadline?.cancel()
        let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
        let timedOut = self.timedOut
        deadline = context.eventLoop.scheduleTask(in: requestTimeout) {
            if note { timedOut() }
            bound.value.close(promise: nil)
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !failed else { return }
        switch unwrapInboundIn(data) {
        case .head(let h):
            head = h
            bodyBytes = 0
            answered = false
            if h.uri.utf8.count > Self.maxTargetBytes {
                answered = true
                write(context, .text(400, "request target longer than \(Self.maxTargetBytes) bytes\n"), keepAlive: false)
            }
        case .body(let b):
            guard !answered else { return }
            bodyBytes += b.readableBytes
            if bodyBytes > Self.maxBodyBytes {
                answered = true
                write(context, .text(413, "request body larger than \(Self.maxBodyBytes) bytes\n"), keepAlive: false)
            }
        case .end:
            defer { head = nil }
            guard !answered, let h = head else { return }
            // The request is whole: answer it, then wait for the next one under a fresh deadline
            // (a refused request keeps the deadline it had: the connection is ending anyway).
            slots.busy(context.channel)
            deadline?.cancel()
            let response = router.respond(method: h.method.rawValue, target: h.uri)
            write(context, response, keepAlive: h.isKeepAlive)
            slots.waiting(context.channel)
            armDeadline(context, note: false)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        // A request that does not parse gets one 400, then the output is closed (a full close
        // with the rest of the request unread would reset the connection and could destroy the
        // answer before the client reads it). Any other error ends this connection only.
        guard !failed else { return }
        failed = true
        if error is HTTPParserError {
            answered = true
            write(context, .text(400, "bad request: \(error)\n"), keepAlive: false)
        } else {
            context.close(promise: nil)
        }
    }

    private func write(_ context: ChannelHandlerContext, _ response: AdminResponse, keepAlive: Bool) {
        var headers = HTTPHeaders()
        headers.add(name: "Content-Type", value: response.contentType)
        headers.add(name: "Content-Length", value: String(response.body.count))
        headers.add(name: "Cache-Control", value: "no-store")
        for (name, value) in response.headers { headers.add(name: name, value: value) }
        if !keepAlive { headers.add(name: "Connection", value: "close") }
        let version = head?.version ?? .http1_1
        let status = HTTPResponseStatus(statusCode: response.status, reasonPhrase: AdminResponse.reason(response.status))
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        var buffer = context.channel.allocator.buffer(capacity: response.body.count)
        buffer.writeBytes(response.body)
        context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            // Half-close after the response is out: a full close with request bytes still unread
            // makes the kernel send RST, which can destroy the response in the client's receive
            // queue. The client's EOF (or the idle timeout) then ends the connection.
            let bound = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in bound.value.close(mode: .output, promise: nil) }
        }
    }
}
