import LatticeDiscovery
import LatticeModel
import LatticePolicy
import Testing

@testable import LatticeController

/// A registry in the shape `lattice demo` writes, with two api pods behind one service.
let sampleRegistry = """
    namespaces:
      shop:
        annotations:
          config.linkerd.io/default-inbound-policy: audit
    workloads:
      - name: web
        namespace: shop
        serviceAccount: web
        addresses: [198.51.100.10]
        labels: {app: web}
        ports: [{port: 8080, name: http}]
        probes: ["8080:/healthz"]
        upstreams: [{target: "api.shop.svc.cluster.local:9090", localPort: 15001}]
      - name: api-1
        namespace: shop
        serviceAccount: api
        addresses: [198.51.100.11]
        labels: {app: api}
        ports: [{port: 9090, name: grpc}]
        annotations:
          config.lattice.io/default-inbound-policy: cluster-authenticated
          config.linkerd.io/default-inbound-policy: all-authenticated
      - name: api-2
        namespace: shop
        serviceAccount: api
        addresses: [198.51.100.12]
        labels: {app: api}
        ports: [{port: 9090, name: grpc}]
        proxy: {inbound: 14143}
      - name: legacy
        namespace: shop
        addresses: [198.51.100.13]
        labels: {app: legacy}
        ports: [{port: 5432}]
        meshed: false
    services:
      - name: api
        namespace: shop
        clusterIPs: [198.51.100.200]
        ports: [{port: 9090, targetPort: 9090, name: grpc}]
        selector: {app: api}
      - name: legacy
        namespace: shop
        ports: [{port: 5432}]
        workloads: [legacy]
      - name: empty
        namespace: shop
        ports: [{port: 80}]
        selector: {app: nobody}
    """

@Suite("Discovery: registry, destination and policy")
struct DiscoveryTests {
    let settings = DiscoverySettings(clusterNetworks: try! IPNetwork.parseList("198.51.100.0/24"))

    func snapshot() throws -> MeshSnapshot { try LocalRegistry.parse(sampleRegistry) }

    @Test("a service name in every spelling, and its ClusterIP, resolve to its ready pods with their identities")
    func serviceResolves() throws {
        let snapshot = try self.snapshot()
        let resolver = DestinationResolver(settings: self.settings)
        let expected = DestinationAnswer.endpoints(
            authority: "api.shop.svc.cluster.local:9090",
            [
                ResolvedEndpoint(
                    address: HostPort(host: "198.51.100.11", port: 9090),
                    identity: "api.shop.serviceaccount.identity.lattice.cluster.local",
                    proxyInboundPort: 4143, isOpaque: false, acceptsHTTP2: true, workload: "shop/api-1"
                ),
                ResolvedEndpoint(
                    address: HostPort(host: "198.51.100.12", port: 9090),
                    identity: "api.shop.serviceaccount.identity.lattice.cluster.local",
                    proxyInboundPort: 14143, isOpaque: false, acceptsHTTP2: true, workload: "shop/api-2"
                ),
            ]
        )
        for target in ["api.shop:9090", "api.shop.svc:9090", "api.shop.svc.cluster.local:9090", "API.shop.svc.cluster.local.:9090", "198.51.100.200:9090"] {
            #expect(resolver.resolve(target, in: snapshot) == expected, "\(target)")
        }
    }

    @Test("a pod IP:port is that pod; unknown addresses, ports and garbage are 'not meshed', never an error")
    func podsAndUnknowns() throws {
        let snapshot = try self.snapshot()
        let resolver = DestinationResolver(settings: self.settings)
        guard case .endpoints(_, let endpoints) = resolver.resolve("198.51.100.10:8080", in: snapshot) else {
            Issue.record("web's pod IP did not resolve")
            return
        }
        #expect(endpoints.map(\.identity) == ["web.shop.serviceaccount.identity.lattice.cluster.local"])
        for target in ["198.51.100.99:80", "nothing.shop.svc.cluster.local:80", "not an address", "api.other:9090", ":80", "api.shop:0"] {
            #expect(resolver.resolve(target, in: snapshot) == .notMeshed, "\(target)")
        }
        // A known service with no ready endpoints is known, with none.
        #expect(resolver.resolve("empty.shop:80", in: snapshot) == .endpoints(authority: "empty.shop.svc.cluster.local:80", []))
    }

    @Test("an unmeshed workload resolves without identity; its port is opaque by Linkerd's defaults")
    func unmeshed() throws {
        let answer = DestinationResolver(settings: self.settings).resolve("legacy.shop:5432", in: try self.snapshot())
        guard case .endpoints(_, let endpoints) = answer, let endpoint = endpoints.first else {
            Issue.record("legacy did not resolve: \(answer)")
            return
        }
        #expect(endpoint.identity == nil && endpoint.proxyInboundPort == nil && endpoint.isOpaque)
    }

    @Test("policy: the workload's annotation wins over its namespace's; Lattice's key over Linkerd's, reported")
    func policyPrecedence() throws {
        let snapshot = try self.snapshot()
        let resolver = WorkloadPolicyResolver(settings: self.settings)
        let web = try #require(resolver.policy(namespace: "shop", name: "web", in: snapshot))
        #expect(web.defaultPolicy == .audit)
        #expect(web.probes == [ProbeSpec(port: 8080, path: "/healthz")])
        #expect(web.clusterNetworks.map(\.description) == ["198.51.100.0/24"])
        let api = try #require(resolver.policy(namespace: "shop", name: "api-1", in: snapshot))
        #expect(api.defaultPolicy == .clusterAuthenticated)
        #expect(api.policy(port: 9090) == .clusterAuthenticated)
        #expect(api.problems.count == 1 && api.problems[0].contains("disagree"))
        #expect(resolver.policy(namespace: "shop", name: "nobody", in: snapshot) == nil)
    }

    @Test("policy: unusable annotation values are reported and the defaults kept")
    func policyProblems() throws {
        var snapshot = try self.snapshot()
        snapshot.workloads[0].annotations = [
            "config.lattice.io/default-inbound-policy": "allow-everything",
            "config.linkerd.io/opaque-ports": "5432,http,banana",
            "config.linkerd.io/skip-inbound-ports": "x-y",
        ]
        let policy = WorkloadPolicyResolver(settings: self.settings).policy(of: snapshot.workloads[0], in: snapshot)
        #expect(policy.defaultPolicy == .allUnauthenticated)
        #expect(policy.opaquePorts == [5432, 8080])
        #expect(policy.skipInboundPorts.isEmpty)
        #expect(policy.problems.count == 3, "\(policy.problems)")
    }

    @Test("registry errors name the entry and the fix", arguments: [
        ("workloads: [{name: web, addresses: [nope]}]", "workloads[0] (web).addresses: 'nope' is not an IP address"),
        ("workloads: [{name: Web, addresses: [198.51.100.1]}]", "is not a DNS label"),
        ("workloads: [{name: a, addresses: [198.51.100.1]}, {name: a, addresses: [198.51.100.2]}]", "default/a is listed twice"),
        ("workloads: [{name: a, addresses: [198.51.100.1], ports: [{port: 70000}]}]", "70000 is not a port"),
        ("workloads: [{name: a, addresses: [198.51.100.1], upstreams: [{target: x, localPort: 1}]}]", "is not HOST:PORT"),
        ("workloads: [{name: a, addresses: [198.51.100.1], upstreams: [{target: 'x:1', localPort: 5}, {target: 'y:1', localPort: 5}]}]", "already used"),
        ("services: [{name: s, ports: [{port: 1}], selector: {a: b}, workloads: [a]}]", "choose one way"),
        ("services: [{name: s, ports: [{port: 1}], workloads: [ghost]}]", "no workload default/ghost"),
        ("workloads: [{name: a}]", "'addresses' is required"),
        ("workloads: 7", "workloads"),
    ])
    func registryErrors(document: String, expected: String) {
        #expect {
            _ = try LocalRegistry.parse(document)
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test("the store hands each subscriber the current snapshot, then only the newest, and ends streams on close")
    func store() async throws {
        let store = DiscoveryStore()
        let early = store.subscribe()
        store.publish(MeshSnapshot(namespaceAnnotations: ["a": [:]]))
        store.publish(MeshSnapshot(namespaceAnnotations: ["b": [:]]))
        store.publish(MeshSnapshot(namespaceAnnotations: ["b": [:]]))  // unchanged: no new version
        var iterator = early.makeAsyncIterator()
        let first = await iterator.next()
        #expect(first?.snapshot.namespaceAnnotations.keys.first == "b" && first?.version == 2)
        let late = store.subscribe()
        var lateIterator = late.makeAsyncIterator()
        #expect(await lateIterator.next()?.version == 2)
        #expect(store.subscriberCount == 2)
        store.close()
        #expect(await iterator.next() == nil)
        #expect(await lateIterator.next() == nil)
        #expect(store.subscriberCount == 0)
    }

    @Test("annotation lookup: Linkerd aliases, workload over namespace, conflicts")
    func annotations() {
        let lookup = AnnotationLookup(
            workload: ["linkerd.io/inject": "enabled"],
            namespace: ["config.linkerd.io/default-inbound-policy": "deny", "config.lattice.io/default-inbound-policy": "audit"]
        )
        #expect(lookup.value(.inject) == "enabled")
        #expect(lookup.value(.defaultInboundPolicy) == "audit")
        #expect(lookup.conflicts.map(\.key) == [.defaultInboundPolicy])
        #expect(AnnotationKey.opaquePorts.linkerdAlias == "config.linkerd.io/opaque-ports")
    }
}
