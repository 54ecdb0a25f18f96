import LatticeModel
import Testing

@Suite struct WorkloadIdentityTests {
    @Test func nameAndSpiffeIDFollowLinkerdShape() throws {
        let identity = try WorkloadIdentity(serviceAccount: "web", namespace: "akko")
        #expect(identity.name == "web.akko.serviceaccount.identity.lattice.cluster.local")
        #expect(identity.spiffeID == "spiffe://cluster.local/ns/akko/sa/web")
        #expect(IdentityDomain.default.controllerIdentity.name
            == "lattice-controller.lattice.serviceaccount.identity.lattice.cluster.local")
    }

    @Test func parseRoundTripsIncludingDottedServiceAccounts() throws {
        for (sa, ns) in [("web", "default"), ("akko-aden", "akko"), ("my.dotted.sa", "team-a")] {
            let identity = try WorkloadIdentity(serviceAccount: sa, namespace: ns)
            let parsed = try WorkloadIdentity.parse(identity.name)
            #expect(parsed == identity)
            #expect(try WorkloadIdentity.parse(spiffeID: identity.spiffeID) == identity)
        }
    }

    @Test(arguments: [
        "web.default",  // no suffix
        "web.default.serviceaccount.identity.linkerd.cluster.local",  // another control plane
        ".default.serviceaccount.identity.lattice.cluster.local",  // empty SA
        "Web_1.default.serviceaccount.identity.lattice.cluster.local",  // not a DNS name
        "default.serviceaccount.identity.lattice.cluster.local",  // no namespace
    ])
    func parseRejectsNamesOutsideTheMesh(name: String) {
        #expect(throws: IdentityNameError.self) { try WorkloadIdentity.parse(name) }
    }

    @Test func customDomain() throws {
        let domain = try IdentityDomain(controlPlaneNamespace: "mesh", trustDomain: "example.org")
        let identity = try WorkloadIdentity.parse("api.prod.serviceaccount.identity.mesh.example.org", domain: domain)
        #expect(identity.namespace == "prod")
        #expect(identity.spiffeID == "spiffe://example.org/ns/prod/sa/api")
        #expect(throws: IdentityNameError.self) { try IdentityDomain(controlPlaneNamespace: "Bad_NS", trustDomain: "x") }
    }

    @Test func durationText() {
        #expect(DurationText.parse("8760h") == .seconds(8760 * 3600))
        #expect(DurationText.parse("1h30m") == .seconds(5400))
        #expect(DurationText.parse("250ms") == .milliseconds(250))
        #expect(DurationText.parse("24") == nil)
        #expect(DurationText.parse("h") == nil)
        #expect(DurationText.parse("5x") == nil)
        #expect(DurationText.parse("") == nil)
        #expect(DurationText.format(.seconds(86_400 + 3600)) == "1d1h")
        #expect(DurationText.format(.seconds(5400)) == "1h30m")
    }
}
