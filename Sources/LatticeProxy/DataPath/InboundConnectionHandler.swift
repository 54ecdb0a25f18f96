import LatticePolicy
import LatticeProxyCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import X509

/// The inbound path of one accepted connection, after protocol detection:
/// mesh TLS for our identity is terminated (client certificate required), the peer identity and the transport
/// header decide policy and the app port; other TLS passes through untouched; plaintext is handled per policy.
enum InboundPath {
    /// Called by the detection handler on the event loop with what it saw and the bytes it held back.
    static func route(
        _ detected: DetectedProtocol,
        buffered: ByteBuffer,
        channel: any Channel,
        inbound: ProxyContext
    ) {
        switch detected {
        case .tls(let serverName) where serverName?.lowercased() == inbound.config.identity.name:
            self.whenReady(channel: channel, inbound: inbound) { @Sendable in
                self.terminateMeshTLS(buffered: buffered, channel: channel, inbound: inbound)
            }
        case .tls:
            self.forwardUnterminated(peer: .opaqueTLS, tls: "opaque", buffered: buffered, channel: channel, inbound: inbound)
        case .http1, .http2, .opaque:
            self.forwardUnterminated(
                peer: .plaintext,
                tls: "no_identity",
                buffered: buffered,
                channel: channel,
                inbound: inbound
            )
        }
    }

    /// Runs `body` once the proxy holds a certificate; until then the connection is parked unread, for at most the
    /// hold-until-ready timeout, then closed and counted.
    static func whenReady(channel: any Channel, inbound: ProxyContext, _ body: @escaping @Sendable () -> Void) {
        let deadline = NIODeadline.now() + .nanoseconds(inbound.config.readyTimeout.nanosecondsClamped)
        self.check(channel: channel, inbound: inbound, deadline: deadline, body)
    }

    private static func check(
        channel: any Channel,
        inbound: ProxyContext,
        deadline: NIODeadline,
        _ body: @escaping @Sendable () -> Void
    ) {
        if inbound.credentials.isReady {
            body()
        } else if NIODeadline.now() >= deadline || !channel.isActive {
            inbound.metrics.inboundRefused.cell(["reason": "not_ready"]).add(1)
            channel.close(promise: nil)
        } else {
            channel.eventLoop.scheduleTask(in: .milliseconds(20)) {
                self.check(channel: channel, inbound: inbound, deadline: deadline, body)
            }
        }
    }

    static func terminateMeshTLS(buffered: ByteBuffer, channel: any Channel, inbound: ProxyContext) {
        guard let contexts = inbound.credentials.current else { return }
        do {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(NIOSSLServerHandler(context: contexts.server))
            try sync.addHandler(TransportHeaderDecoder())
            try sync.addHandler(MeshInboundHandler(inbound: inbound))
            try sync.addHandler(PendingDataHandler(), name: "pending")
            // Replay the ClientHello from the head once the detection handler has left the pipeline (this runs
            // inside its completion); autoRead is off, so nothing else is read meanwhile.
            channel.eventLoop.execute {
                channel.pipeline.syncOperations.fireChannelRead(NIOAny(buffered))
                channel.pipeline.syncOperations.fireChannelReadComplete()
            }
        } catch {
            channel.close(promise: nil)
        }
    }

    /// Plaintext or another party's TLS: policy on the bare connection, then forward as is to the app.
    static func forwardUnterminated(
        peer: PeerAuthentication,
        tls: String,
        buffered: ByteBuffer,
        channel: any Channel,
        inbound: ProxyContext
    ) {
        guard let port = inbound.config.inboundDefaultPort else {
            inbound.metrics.inboundRefused.cell(["reason": "no_target_port"]).add(1)
            inbound.logger.debug("no target port for an unterminated connection; closing")
            channel.close(promise: nil)
            return
        }
        let target = HostPort(host: inbound.config.inboundAppHost, port: port)
        let labels = ConnectionLabels(
            direction: .inbound,
            tls: tls,
            noTLSReason: tls == "opaque" ? "" : "no_tls_from_remote",
            targetAddress: target.description
        )
        guard self.authorize(peer: peer, channel: channel, labels: labels, inbound: inbound) else { return }
        do {
            try channel.pipeline.syncOperations.addHandler(PendingDataHandler(initial: buffered), name: "pending")
        } catch {
            channel.close(promise: nil)
            return
        }
        self.connect(channel: channel, to: target, labels: labels, inbound: inbound)
    }

    /// Applies the inbound policy; counts the decision; closes a denied connection.
    static func authorize(
        peer: PeerAuthentication,
        channel: any Channel,
        labels: ConnectionLabels,
        inbound: ProxyContext
    ) -> Bool {
        let source = channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) }
        let decision = inbound.config.policy.decide(peer: peer, source: source)
        var authzLabels = [
            "direction": "inbound", "tls": labels.tls, "client_id": labels.clientID,
            "target_addr": labels.targetAddress, "srv_name": "default:\(decision.policy.rawValue)",
        ]
        if decision.isAllowed {
            inbound.metrics.tcpAuthzAllow.cell(authzLabels).add(1)
            if let reason = decision.reason {
                authzLabels["reason"] = reason.rawValue
                inbound.metrics.tcpAuthzAudit.cell(authzLabels).add(1)
                inbound.logger.info(
                    "audit: cluster-authenticated would deny this connection",
                    metadata: ["net.peer.addr": "\(channel.remoteAddress.map { "\($0)" } ?? "?")", "reason": "\(reason.rawValue)"]
                )
            }
            return true
        }
        authzLabels["reason"] = decision.reason?.rawValue ?? ""
        inbound.metrics.tcpAuthzDeny.cell(authzLabels).add(1)
        inbound.logger.debug(
            "denied by policy",
            metadata: ["reason": "\(decision.reason?.rawValue ?? "")", "policy": "\(decision.policy.rawValue)"]
        )
        channel.close(promise: nil)
        return false
    }

    /// Connects to the app and splices; a refused connect closes the client's connection.
    static func connect(channel: any Channel, to target: HostPort, labels: ConnectionLabels, inbound: ProxyContext) {
        let metrics = inbound.metrics.connection(labels)
        metrics.opened()
        Splice.connect(to: target, on: channel.eventLoop, timeout: .nanoseconds(inbound.config.connectTimeout.nanosecondsClamped))
            .whenComplete { result in
                switch result {
                case .success(let upstream):
                    Splice.joinOrClose(downstream: channel, upstream: upstream, metrics: metrics, peerIsUpstream: false)
                case .failure(let error):
                    metrics.closed()
                    inbound.metrics.inboundRefused.cell(["reason": "app_unreachable"]).add(1)
                    inbound.logger.debug("cannot reach the app", metadata: ["error.type": "\(error)", "target": "\(target)"])
                    channel.close(promise: nil)
                }
            }
    }
}

/// Inbound mesh TLS: learns the client's identity when the handshake completes, and the app port from the
/// transport header; then policy, then the app. Runs on the connection's event loop.
final class MeshInboundHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    private let inbound: ProxyContext
    private var clientIdentity: String?
    private var decided = false

    init(inbound: ProxyContext) {
        self.inbound = inbound
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        if !self.decided { context.read() }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            self.clientIdentity = Self.peerIdentity(context: context)
            if self.clientIdentity == nil {
                self.inbound.metrics.inboundRefused.cell(["reason": "no_client_identity"]).add(1)
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
        let target = HostPort(host: self.inbound.config.inboundAppHost, port: Int(header.port))
        let labels = ConnectionLabels(direction: .inbound, tls: "true", clientID: identity, targetAddress: target.description)
        let channel = context.channel
        guard InboundPath.authorize(peer: .meshTLS(identity: identity), channel: channel, labels: labels, inbound: self.inbound)
        else { return }
        InboundPath.connect(channel: channel, to: target, labels: labels, inbound: self.inbound)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        let reason: String
        switch error {
        case is NIOSSLError, is BoringSSLError: reason = "tls_handshake_failed"
        case is TransportHeaderError: reason = "bad_transport_header"
        default: reason = "error"
        }
        self.inbound.metrics.inboundRefused.cell(["reason": reason]).add(1)
        self.inbound.logger.debug("inbound connection failed", metadata: ["error.type": "\(error)"])
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

extension Duration {
    var nanosecondsClamped: Int64 {
        let (seconds, attoseconds) = self.components
        return seconds * 1_000_000_000 + attoseconds / 1_000_000_000
    }
}
