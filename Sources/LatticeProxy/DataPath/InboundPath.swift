import LatticeModel
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
        original: HostPort?,
        proxy: ProxyContext
    ) {
        let port = self.unterminatedPort(original: original, proxy: proxy)
        switch detected {
        case .tls(let serverName) where serverName?.lowercased() == proxy.config.identity.name:
            proxy.whenReady(channel: channel) { @Sendable in
                self.terminateMeshTLS(buffered: buffered, channel: channel, proxy: proxy)
            }
        case .tls:
            self.forwardUnterminated(peer: .opaqueTLS, tls: "opaque", port: port, buffered: buffered, channel: channel, proxy: proxy)
        case .http1 where port != nil:
            self.servePlaintextHTTP(.http1, port: port!, buffered: buffered, channel: channel, proxy: proxy)
        case .http2 where port != nil:
            self.servePlaintextHTTP(.http2, port: port!, buffered: buffered, channel: channel, proxy: proxy)
        case .http1, .http2, .opaque:
            self.forwardUnterminated(
                peer: .plaintext,
                tls: "no_identity",
                port: port,
                buffered: buffered,
                channel: channel,
                proxy: proxy
            )
        }
    }

    /// The app port of a connection without a transport header: the port it was sent to (transparent mode, unless it
    /// was sent to the proxy's own port), else the configured default.
    static func unterminatedPort(original: HostPort?, proxy: ProxyContext) -> Int? {
        if let original, original.port != proxy.config.inbound.port { return original.port }
        return proxy.config.inboundDefaultPort
    }

    static func terminateMeshTLS(buffered: ByteBuffer, channel: any Channel, proxy: ProxyContext) {
        guard let contexts = proxy.credentials.current else { return }
        do {
            let sync = channel.pipeline.syncOperations
            try sync.addHandler(NIOSSLServerHandler(context: contexts.server))
            try sync.addHandler(TransportHeaderDecoder())
            try sync.addHandler(MeshInboundHandler(proxy: proxy))
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

    /// Plaintext HTTP: policy per request (403 or grpc-status 7 when denied, the pod's probes always allowed).
    static func servePlaintextHTTP(_ kind: HTTPKind, port: Int, buffered: ByteBuffer, channel: any Channel, proxy: ProxyContext) {
        do {
            try channel.pipeline.syncOperations.addHandler(PendingDataHandler(initial: buffered), name: "pending")
        } catch {
            channel.close(promise: nil)
            return
        }
        self.serveHTTP(kind, port: port, peer: .plaintext, channel: channel, proxy: proxy)
    }

    /// HTTP to the app's `port`, the connection already holding a "pending" handler with what was read.
    static func serveHTTP(_ kind: HTTPKind, port: Int, peer: PeerAuthentication, channel: any Channel, proxy: ProxyContext) {
        let target = HostPort(host: proxy.appHost(channel), port: port)
        var labels = ConnectionLabels(direction: .inbound, tls: "no_identity", noTLSReason: "no_tls_from_remote", targetAddress: target.description)
        if case .meshTLS(let identity) = peer {
            labels = ConnectionLabels(direction: .inbound, tls: "true", clientID: identity, targetAddress: target.description)
        }
        // Rebuilt when the policy changes, so a flip to a stricter policy reaches open keep-alive connections too.
        let routes = RouteSource(version: proxy.routesVersion) {
            HTTPPath.inboundRoute(kind: kind, port: port, peer: peer, labels: labels, channel: channel, proxy: proxy)
        }
        HTTPPath.serve(channel: channel, routes: routes, connection: labels)
    }

    /// Plaintext or another party's TLS: policy on the bare connection, then forward as is to the app.
    static func forwardUnterminated(
        peer: PeerAuthentication,
        tls: String,
        port: Int?,
        buffered: ByteBuffer,
        channel: any Channel,
        proxy: ProxyContext
    ) {
        guard let port else {
            proxy.metrics.inboundRefused.cell(["reason": "no_target_port"]).add(1)
            proxy.logger.debug("no target port for an unterminated connection; closing")
            channel.close(promise: nil)
            return
        }
        let target = HostPort(host: proxy.appHost(channel), port: port)
        let labels = ConnectionLabels(
            direction: .inbound,
            tls: tls,
            noTLSReason: tls == "opaque" ? "" : "no_tls_from_remote",
            targetAddress: target.description
        )
        guard self.authorize(peer: peer, port: port, channel: channel, labels: labels, proxy: proxy) else { return }
        do {
            try channel.pipeline.syncOperations.addHandler(PendingDataHandler(initial: buffered), name: "pending")
        } catch {
            channel.close(promise: nil)
            return
        }
        self.connect(channel: channel, to: target, labels: labels, proxy: proxy)
    }

    /// Applies the inbound policy; counts the decision; closes a denied connection.
    static func authorize(
        peer: PeerAuthentication,
        port: Int,
        channel: any Channel,
        labels: ConnectionLabels,
        proxy: ProxyContext
    ) -> Bool {
        let source = channel.remoteAddress?.ipAddress.flatMap { IPAddress($0) }
        let decision = proxy.inboundPolicy.policy(port: port).decide(peer: peer, source: source)
        var authzLabels = [
            "direction": "inbound", "tls": labels.tls, "client_id": labels.clientID,
            "target_addr": labels.targetAddress, "srv_name": "default:\(decision.policy.rawValue)",
        ]
        if decision.isAllowed {
            proxy.metrics.tcpAuthzAllow.cell(authzLabels).add(1)
            if let reason = decision.reason {
                authzLabels["reason"] = reason.rawValue
                proxy.metrics.tcpAuthzAudit.cell(authzLabels).add(1)
                proxy.logger.info(
                    "audit: cluster-authenticated would deny this connection",
                    metadata: ["net.peer.addr": "\(channel.remoteAddress.map { "\($0)" } ?? "?")", "reason": "\(reason.rawValue)"]
                )
            }
            return true
        }
        authzLabels["reason"] = decision.reason?.rawValue ?? ""
        proxy.metrics.tcpAuthzDeny.cell(authzLabels).add(1)
        proxy.logger.debug(
            "denied by policy",
            metadata: ["reason": "\(decision.reason?.rawValue ?? "")", "policy": "\(decision.policy.rawValue)"]
        )
        channel.close(promise: nil)
        return false
    }

    /// Connects to the app and splices; a refused connect closes the client's connection.
    static func connect(channel: any Channel, to target: HostPort, labels: ConnectionLabels, proxy: ProxyContext) {
        let metrics = proxy.metrics.connection(labels)
        metrics.opened()
        Splice.connect(to: target, on: channel.eventLoop, timeout: .nanoseconds(proxy.config.connectTimeout.totalNanoseconds))
            .whenComplete { result in
                switch result {
                case .success(let upstream):
                    Splice.joinOrClose(downstream: channel, upstream: upstream, metrics: metrics, peerIsUpstream: false)
                case .failure(let error):
                    metrics.closed()
                    proxy.metrics.inboundRefused.cell(["reason": "app_unreachable"]).add(1)
                    proxy.logger.debug("cannot reach the app", metadata: ["error.type": "\(error)", "target": "\(target)"])
                    channel.close(promise: nil)
                }
            }
    }
}
