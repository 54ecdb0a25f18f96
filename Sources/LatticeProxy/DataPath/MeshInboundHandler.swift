import LatticeModel
import LatticePolicy
import LatticeProxyCore
import NIOCore
import NIOSSL
import NIOTLS
import X509

/// Inbound mesh TLS: learns the client's identity when the handshake completes, and the app port from the
/// transport header; then policy, then the app. Runs on the connection's event loop.
final class MeshInboundHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let proxy: ProxyContext
    private var clientIdentity: String?
    private var decided = false

    init(proxy: ProxyContext) {
        self.proxy = proxy
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !self.decided { context.read() }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            self.clientIdentity = Self.peerIdentity(context: context)
            if self.clientIdentity == nil {
                self.proxy.metrics.inboundRefused.cell(["reason": "no_client_identity"]).add(1)
                context.close(promise: nil)
                return
            }
        } else if let header = event as? TransportHeaderEvent, case .received(let transportHeader) = header {
            self.decided = true
            self.route(context: context, header: transportHeader)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    private func route(context: ChannelHandlerContext, header: TransportHeader) {
        guard let identity = self.clientIdentity else {
            context.close(promise: nil)
            return
        }
        switch header.protocolHint {
        case .http1:
            InboundPath.serveHTTP(.http1, port: Int(header.port), peer: .meshTLS(identity: identity), channel: context.channel, proxy: self.proxy)
            return
        case .http2:
            InboundPath.serveHTTP(.http2, port: Int(header.port), peer: .meshTLS(identity: identity), channel: context.channel, proxy: self.proxy)
            return
        case .opaque:
            break
        }
        let target = HostPort(host: self.proxy.appHost(context.channel), port: Int(header.port))
        let labels = ConnectionLabels(direction: .inbound, tls: "true", clientID: identity, targetAddress: target.description)
        let channel = context.channel
        guard InboundPath.authorize(peer: .meshTLS(identity: identity), port: Int(header.port), channel: channel, labels: labels, proxy: self.proxy)
        else { return }
        InboundPath.connect(channel: channel, to: target, labels: labels, proxy: self.proxy)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let reason: String
        switch error {
        case is NIOSSLError, is BoringSSLError: reason = "tls_handshake_failed"
        case is TransportHeaderError: reason = "bad_transport_header"
        default: reason = "error"
        }
        self.proxy.metrics.inboundRefused.cell(["reason": reason]).add(1)
        self.proxy.logger.debug("inbound connection failed", metadata: ["error.type": "\(error)"])
        context.close(promise: nil)
    }

    /// The client's identity: the first DNS SAN of the certificate BoringSSL verified against the anchors.
    static func peerIdentity(context: ChannelHandlerContext) -> String? {
        guard let certificate = try? context.pipeline.syncOperations.nioSSL_peerCertificate(),
            let parsed = try? Certificate(derEncoded: certificate.toDERBytes())
        else { return nil }
        guard let sans = try? parsed.extensions.subjectAlternativeNames else { return nil }
        for name in sans {
            if case .dnsName(let dns) = name { return dns.lowercased() }
        }
        return nil
    }
}

@available(*, unavailable)
extension MeshInboundHandler: Sendable {}
