import LatticePolicy
import Testing

@Suite struct InboundPolicyTests {
    static let mesh = PeerAuthentication.meshTLS(identity: "web.default.serviceaccount.identity.lattice.cluster.local")
    static let inside = IPAddress("198.51.100.7")
    static let outside = IPAddress("203.0.113.9")
    static let networks = try! IPNetwork.parseList("127.0.0.0/8, 198.51.100.0/24")

    @Test(arguments: [
        // policy, peer, source, allowed, reason
        (DefaultInboundPolicy.allUnauthenticated, PeerAuthentication.plaintext, outside, true, DenyReason?.none),
        (.allAuthenticated, .plaintext, inside, false, .unauthenticated),
        (.allAuthenticated, mesh, outside, true, nil),
        (.allAuthenticated, .opaqueTLS, inside, false, .unauthenticated),
        (.clusterUnauthenticated, .plaintext, inside, true, nil),
        (.clusterUnauthenticated, .plaintext, outside, false, .notInClusterNetworks),
        (.clusterAuthenticated, mesh, inside, true, nil),
        (.clusterAuthenticated, mesh, outside, false, .notInClusterNetworks),
        (.clusterAuthenticated, .plaintext, inside, false, .unauthenticated),
        (.deny, mesh, inside, false, .denyAll),
        (.audit, .plaintext, inside, true, .unauthenticated),
        (.audit, mesh, outside, true, .notInClusterNetworks),
        (.audit, mesh, inside, true, nil),
    ])
    func linkerdSemantics(
        policy: DefaultInboundPolicy,
        peer: PeerAuthentication,
        source: IPAddress?,
        allowed: Bool,
        reason: DenyReason?
    ) {
        let decision = InboundPolicy(defaultPolicy: policy, clusterNetworks: Self.networks).decide(peer: peer, source: source)
        #expect(decision.isAllowed == allowed)
        #expect(decision.reason == reason)
    }

    @Test func auditCountsExactlyWhatClusterAuthenticatedRefuses() {
        let audit = InboundPolicy(defaultPolicy: .audit, clusterNetworks: Self.networks)
        let enforce = InboundPolicy(defaultPolicy: .clusterAuthenticated, clusterNetworks: Self.networks)
        for peer in [Self.mesh, .opaqueTLS, .plaintext] {
            for source in [Self.inside, Self.outside, nil] {
                let audited = audit.decide(peer: peer, source: source)
                let enforced = enforce.decide(peer: peer, source: source)
                #expect(audited.isAllowed)
                #expect(audited.isAuditViolation == !enforced.isAllowed)
                #expect(audited.reason == enforced.reason)
            }
        }
    }

    @Test func parsesPoliciesAndNetworks() throws {
        #expect(try DefaultInboundPolicy.parse("cluster-authenticated") == .clusterAuthenticated)
        #expect(throws: PolicyError.self) { try DefaultInboundPolicy.parse("strict") }
        let net = try IPNetwork("10.0.0.0/8")
        #expect(net.contains(IPAddress("10.200.1.1")!))
        #expect(!net.contains(IPAddress("11.0.0.1")!))
        #expect(net.contains(IPAddress("::ffff:10.1.2.3")!))
        let v6 = try IPNetwork("fd00::/8")
        #expect(v6.contains(IPAddress("fd12:3456::1")!))
        #expect(!v6.contains(IPAddress("fe80::1")!))
        #expect(throws: PolicyError.self) { try IPNetwork("10.0.0.0/33") }
        #expect(throws: PolicyError.self) { try IPNetwork("ten/8") }
        #expect(IPAddress("1.2.3") == nil)
        #expect(IPAddress("::1")?.description == "0:0:0:0:0:0:0:1")
    }
}
