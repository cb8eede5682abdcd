#if canImport(Glibc)
import Glibc
#endif

/// An IPv4 or IPv6 socket address with its port, resolved once.
public struct SocketAddress: Sendable, Hashable, CustomStringConvertible {
    /// Raw storage; only the first `length` bytes are meaningful.
    @usableFromInline var storage: sockaddr_storage
    /// Length of the address in `storage`.
    public let length: socklen_t

    /// The address family, `AF_INET` or `AF_INET6`.
    public var family: Int32 { Int32(storage.ss_family) }

    /// The port in host byte order.
    public var port: UInt16 {
        withUnsafeBytes(of: storage) { raw in
            if family == AF_INET6 {
                return UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
            }
            return UInt16(bigEndian: raw.load(fromByteOffset: 2, as: UInt16.self))
        }
    }

    /// The same address with another port.
    public func withPort(_ port: UInt16) -> SocketAddress {
        var copy = self
        withUnsafeMutableBytes(of: &copy.storage) { raw in
            raw.storeBytes(of: port.bigEndian, toByteOffset: 2, as: UInt16.self)
        }
        return copy
    }

    /// Builds an address from raw sockaddr bytes.
    public init(raw: UnsafeRawPointer, length: socklen_t) {
        var s = sockaddr_storage()
        withUnsafeMutableBytes(of: &s) { dst in
            dst.copyMemory(from: UnsafeRawBufferPointer(start: raw, count: Int(length)))
        }
        self.storage = s
        self.length = length
    }

    /// Calls `body` with a `sockaddr` pointer and length for system calls.
    @inlinable
    public func withSockAddr<R>(_ body: (UnsafePointer<sockaddr>, socklen_t) throws -> R) rethrows -> R {
        try withUnsafePointer(to: storage) { p in
            try p.withMemoryRebound(to: sockaddr.self, capacity: 1) { try body($0, length) }
        }
    }

    /// The numeric host, e.g. `127.0.0.1` or `::1`.
    public var host: String {
        var buf = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN) + 1)
        withUnsafeBytes(of: storage) { raw in
            let offset = family == AF_INET6 ? 8 : 4
            _ = inet_ntop(family, raw.baseAddress! + offset, &buf, socklen_t(buf.count))
        }
        return String(decoding: buf.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    public var description: String {
        family == AF_INET6 ? "[\(host)]:\(port)" : "\(host):\(port)"
    }

    public static func == (a: SocketAddress, b: SocketAddress) -> Bool {
        a.length == b.length && withUnsafeBytes(of: a.storage) { ra in
            withUnsafeBytes(of: b.storage) { rb in memcmp(ra.baseAddress!, rb.baseAddress!, Int(a.length)) == 0 }
        }
    }

    public func hash(into hasher: inout Hasher) {
        withUnsafeBytes(of: storage) { hasher.combine(bytes: UnsafeRawBufferPointer(rebasing: $0.prefix(Int(length)))) }
    }
}

/// Why a `HOST:PORT` string could not be turned into an address.
public struct AddressError: Error, CustomStringConvertible, Sendable {
    public let input: String
    public let reason: String
    public var description: String { "'\(input)': \(reason)" }
}

extension SocketAddress {
    /// Splits `HOST:PORT` or `[V6]:PORT` into host and port, without resolving.
    public static func split(_ text: String) throws -> (host: String, port: UInt16) {
        let host: Substring
        let portText: Substring
        if text.hasPrefix("[") {
            guard let close = text.firstIndex(of: "]") else {
                throw AddressError(input: text, reason: "missing ']' after IPv6 address")
            }
            host = text[text.index(after: text.startIndex)..<close]
            let rest = text[text.index(after: close)...]
            guard rest.hasPrefix(":") else { throw AddressError(input: text, reason: "expected ':PORT' after ']'") }
            portText = rest.dropFirst()
        } else {
            guard let colon = text.lastIndex(of: ":") else {
                throw AddressError(input: text, reason: "expected HOST:PORT")
            }
            host = text[..<colon]
            if host.contains(":") {
                throw AddressError(input: text, reason: "IPv6 addresses must be written as [ADDRESS]:PORT")
            }
            portText = text[text.index(after: colon)...]
        }
        guard !host.isEmpty else { throw AddressError(input: text, reason: "empty host") }
        guard let port = Int(portText), (0...65535).contains(port) else {
            throw AddressError(input: text, reason: "port '\(portText)' is not a number from 0 to 65535")
        }
        return (String(host), UInt16(port))
    }

    /// Resolves `HOST:PORT` (numeric or a host name, through getaddrinfo) to its first address.
    public static func resolve(_ text: String) throws -> SocketAddress {
        let (host, port) = try split(text)
        return try resolve(host: host, port: port, input: text)
    }

    /// Resolves a host and port to its first address.
    public static func resolve(host: String, port: UInt16, input: String? = nil) throws -> SocketAddress {
        var hints = addrinfo()
        hints.ai_family = AF_UNSPEC
        hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
        hints.ai_flags = AI_ADDRCONFIG
        var result: UnsafeMutablePointer<addrinfo>?
        var rc = getaddrinfo(host, String(port), &hints, &result)
        if rc != 0 {
            // AI_ADDRCONFIG hides loopback-only families on hosts without other addresses.
            hints.ai_flags = 0
            rc = getaddrinfo(host, String(port), &hints, &result)
        }
        guard rc == 0, let first = result else {
            let reason = rc == 0 ? "no address" : String(cString: gai_strerror(rc))
            throw AddressError(input: input ?? "\(host):\(port)", reason: "cannot resolve host '\(host)': \(reason)")
        }
        defer { freeaddrinfo(result) }
        return SocketAddress(raw: UnsafeRawPointer(first.pointee.ai_addr), length: first.pointee.ai_addrlen)
    }
}
