import Glibc
import LatticeModel
import NIOCore

/// The address a redirected connection was really for (`SO_ORIGINAL_DST`, which iptables' REDIRECT keeps): where the
/// app meant to go (outbound), or which of its ports a peer meant (inbound).
enum OriginalDestination {
    /// `SO_ORIGINAL_DST` (linux/netfilter_ipv4.h; Glibc doesn't export it), also `IP6T_SO_ORIGINAL_DST` at SOL_IPV6.
    static let option: SocketOptionName = 80

    /// Nil when the connection was not redirected (or the kernel can't say).
    static func of(_ channel: any Channel) -> EventLoopFuture<HostPort?> {
        guard let provider = channel as? any SocketOptionProvider else { return channel.eventLoop.makeSucceededFuture(nil) }
        if case .v6 = channel.localAddress {
            return provider.unsafeGetSocketOption(level: SocketOptionLevel(IPPROTO_IPV6), name: self.option)
                .map { (address: sockaddr_in6) -> HostPort? in
                    var copy = address.sin6_addr
                    var text = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
                    guard inet_ntop(AF_INET6, &copy, &text, socklen_t(text.count)) != nil else { return nil }
                    return HostPort(host: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), port: Int(UInt16(bigEndian: address.sin6_port)))
                }
                .recover { _ in nil }
        }
        return provider.unsafeGetSocketOption(level: SocketOptionLevel(SOL_IP), name: self.option)
            .map { (address: sockaddr_in) -> HostPort? in
                var copy = address.sin_addr
                var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
                guard inet_ntop(AF_INET, &copy, &text, socklen_t(text.count)) != nil else { return nil }
                return HostPort(host: String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self), port: Int(UInt16(bigEndian: address.sin_port)))
            }
            .recover { _ in nil }
    }
}
