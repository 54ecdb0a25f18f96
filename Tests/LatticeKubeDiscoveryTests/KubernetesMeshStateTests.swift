import LatticeDiscovery
import LatticeKube
import LatticeKubeDiscovery
import Testing

@Suite
struct KubernetesMeshStateTests {
    let settings = DiscoverySettings()

    /// The state after listing the four fixture collections.
    func listedState() throws -> KubernetesMeshState {
        var state = KubernetesMeshState()
        state.replace(with: try Fixture.list("pods.json", of: Pod.self))
        state.replace(with: try Fixture.list("services.json", of: KubernetesService.self))
        state.replace(with: try Fixture.list("endpointslices.json", of: EndpointSlice.self))
        state.replace(with: try Fixture.list("namespaces.json", of: Namespace.self))
        return state
    }

    /// The addresses `target` resolves to, with their identities (nil: plaintext).
    func resolve(_ target: String, in snapshot: MeshSnapshot) -> [String: String?]? {
        guard case .endpoints(_, let endpoints) = DestinationResolver(settings: self.settings).resolve(target, in: snapshot)
        else { return nil }
        return Dictionary(uniqueKeysWithValues: endpoints.map { ($0.address.description, $0.identity) })
    }

    static let webIdentity = "web.shop.serviceaccount.identity.lattice.cluster.local"
    static let apiIdentity = "api.shop.serviceaccount.identity.lattice.cluster.local"
    static let plaintextDB: [String: String?] = ["198.51.100.20:5432": nil]

    @Test
    func hasSyncedOnceEveryCollectionIsListed() throws {
        var state = KubernetesMeshState()
        #expect(!state.hasSynced)
        state.replace(with: try Fixture.list("pods.json", of: Pod.self))
        state.replace(with: try Fixture.list("services.json", of: KubernetesService.self))
        state.replace(with: try Fixture.list("endpointslices.json", of: EndpointSlice.self))
        #expect(!state.hasSynced)
        state.replace(with: try Fixture.list("namespaces.json", of: Namespace.self))
        #expect(state.hasSynced)
        #expect(state.resourceVersion(of: Pod.self) == "51000")
        #expect(state.resourceVersion(of: KubernetesService.self) == "51001")
        #expect(state.resourceVersion(of: EndpointSlice.self) == "51002")
        #expect(state.resourceVersion(of: Namespace.self) == "51003")
        #expect(state.pods.objects.keys.contains("shop/web-6f7c8d9b5-2xk8p"))
        #expect(state.namespaces.objects.keys.sorted() == ["kube-system", "legacy", "shop"])
    }

    @Test
    func translatesPodsToWorkloads() throws {
        let snapshot = try self.listedState().snapshot()
        // The pending pod (no IP yet) and the finished job's pod are left out.
        #expect(snapshot.workloads.map { "\($0.namespace)/\($0.name)" } == [
            "legacy/db-0", "shop/api-5c9d7b8f4-h7m2q", "shop/api-5c9d7b8f4-w4n6t", "shop/web-6f7c8d9b5-2xk8p",
        ])

        let web = try #require(snapshot.workload(namespace: "shop", name: "web-6f7c8d9b5-2xk8p"))
        #expect(web.serviceAccount == "web")
        #expect(web.addresses == ["198.51.100.10"])
        #expect(web.ports == [WorkloadPort(port: 8080, name: "http")])
        #expect(web.labels["app"] == "web")
        #expect(web.annotations["config.lattice.io/default-inbound-policy"] == "cluster-authenticated")
        #expect(web.isMeshed)  // lattice-proxy as a native sidecar (an init container that always restarts)
        #expect(web.isReady)
        #expect(web.proxyInboundPort == nil)
        #expect(web.proxyAdminPort == 4191)
        // The readiness probe names its port: it resolves to the container port's number.
        #expect(web.probes == [ProbeSpec(port: 8080, path: "/healthz"), ProbeSpec(port: 8080, path: "/ready")])

        let api = try #require(snapshot.workload(namespace: "shop", name: "api-5c9d7b8f4-h7m2q"))
        #expect(api.isMeshed)  // injected by Linkerd
        #expect(api.ports == [WorkloadPort(port: 9090, name: "grpc")])  // not the proxy's own ports
        #expect(api.probes == [ProbeSpec(port: 9091, path: "/")])  // not the proxy's probes; the path defaults to /
        #expect(api.isReady)
        #expect(snapshot.workload(namespace: "shop", name: "api-5c9d7b8f4-w4n6t")?.isReady == false)

        let db = try #require(snapshot.workload(namespace: "legacy", name: "db-0"))
        #expect(!db.isMeshed)
        #expect(db.proxyAdminPort == nil)
        #expect(db.serviceAccount == "db")
    }

    @Test
    func translatesServicesAndTheirEndpointSlices() throws {
        let snapshot = try self.listedState().snapshot()
        // The ExternalName service is left out.
        #expect(snapshot.services.map { "\($0.namespace)/\($0.name)" } == [
            "legacy/db", "legacy/db-headless", "shop/api", "shop/web",
        ])
        let web = try #require(snapshot.services.first { $0.name == "web" })
        #expect(web.clusterIPs == ["198.51.100.200"])
        #expect(web.ports == [ServicePortSpec(port: 80, name: "http", targetPort: nil)])
        // The FQDN slice labelled for the service is skipped.
        #expect(web.endpoints == [
            ServiceEndpoint(address: "198.51.100.10", workloadName: "web-6f7c8d9b5-2xk8p", ports: ["http": 8080], isReady: true)
        ])
        let api = try #require(snapshot.services.first { $0.name == "api" })
        #expect(api.ports == [ServicePortSpec(port: 9090, name: "grpc", targetPort: 9090, appProtocol: "kubernetes.io/h2c")])
        #expect(api.endpoints.map(\.address) == ["198.51.100.11", "198.51.100.12"])
        #expect(api.endpoints.map(\.isReady) == [true, false])
        let db = try #require(snapshot.services.first { $0.name == "db" })
        // The slice's unnamed port is keyed "", and a missing `ready` condition means ready.
        #expect(db.endpoints == [ServiceEndpoint(address: "198.51.100.20", workloadName: "db-0", ports: ["": 5432], isReady: true)])
        let headless = try #require(snapshot.services.first { $0.name == "db-headless" })
        #expect(headless.clusterIPs.isEmpty)
        #expect(snapshot.namespaceAnnotations["shop"] == ["config.linkerd.io/default-inbound-policy": "audit"])
        #expect(snapshot.namespaceAnnotations["legacy"] == [:])
    }

    @Test
    func resolvesServiceNamesClusterIPsAndPodIPsWithIdentities() throws {
        let snapshot = try self.listedState().snapshot()
        let web = ["198.51.100.10:8080": Self.webIdentity]
        #expect(self.resolve("web.shop.svc.cluster.local:80", in: snapshot) == web)
        #expect(self.resolve("web.shop:80", in: snapshot) == web)
        #expect(self.resolve("198.51.100.200:80", in: snapshot) == web)
        #expect(self.resolve("198.51.100.10:8080", in: snapshot) == web)
        #expect(self.resolve("198.51.100.201:9090", in: snapshot) == ["198.51.100.11:9090": Self.apiIdentity])

        let answer = DestinationResolver(settings: self.settings).resolve("198.51.100.11:9090", in: snapshot)
        guard case .endpoints(_, let endpoints) = answer, let endpoint = endpoints.first else {
            Issue.record("expected an endpoint, got \(answer)")
            return
        }
        #expect(endpoint.proxyInboundPort == 4143)
        #expect(endpoint.acceptsHTTP2)
        #expect(endpoint.workload == "shop/api-5c9d7b8f4-h7m2q")
        // Not in the mesh at all: the ExternalName service and unknown addresses.
        #expect(self.resolve("payments-gateway.shop.svc.cluster.local:443", in: snapshot) == nil)
        #expect(self.resolve("198.51.100.99:80", in: snapshot) == nil)
    }

    @Test
    func leavesOutANotReadyEndpoint() throws {
        let snapshot = try self.listedState().snapshot()
        #expect(self.resolve("api.shop.svc.cluster.local:9090", in: snapshot) == ["198.51.100.11:9090": Self.apiIdentity])
    }

    @Test
    func resolvesAnUnmeshedPodWithoutIdentity() throws {
        let snapshot = try self.listedState().snapshot()
        #expect(self.resolve("db.legacy.svc.cluster.local:5432", in: snapshot) == Self.plaintextDB)
        #expect(self.resolve("198.51.100.210:5432", in: snapshot) == Self.plaintextDB)
        #expect(self.resolve("198.51.100.20:5432", in: snapshot) == Self.plaintextDB)
        #expect(self.resolve("db-headless.legacy.svc.cluster.local:5432", in: snapshot) == Self.plaintextDB)
        let answer = DestinationResolver(settings: self.settings).resolve("db.legacy.svc.cluster.local:5432", in: snapshot)
        guard case .endpoints(_, let endpoints) = answer, let endpoint = endpoints.first else {
            Issue.record("expected an endpoint, got \(answer)")
            return
        }
        #expect(endpoint.proxyInboundPort == nil)
        #expect(endpoint.isOpaque)  // 5432 is in the default opaque ports
        #expect(!endpoint.acceptsHTTP2)
    }

    @Test
    func aWorkloadAnnotationOverridesItsNamespacePolicy() throws {
        let snapshot = try self.listedState().snapshot()
        let resolver = WorkloadPolicyResolver(settings: self.settings)
        let web = try #require(resolver.policy(namespace: "shop", name: "web-6f7c8d9b5-2xk8p", in: snapshot))
        #expect(web.defaultPolicy == .clusterAuthenticated)
        #expect(web.policy(port: 8080) == .clusterAuthenticated)
        #expect(web.probes == [ProbeSpec(port: 8080, path: "/healthz"), ProbeSpec(port: 8080, path: "/ready")])
        #expect(web.problems.isEmpty)
        // The namespace's Linkerd-spelled annotation applies to a workload that sets none.
        let api = try #require(resolver.policy(namespace: "shop", name: "api-5c9d7b8f4-h7m2q", in: snapshot))
        #expect(api.defaultPolicy == .audit)
        // And the controller's default where neither does.
        let db = try #require(resolver.policy(namespace: "legacy", name: "db-0", in: snapshot))
        #expect(db.defaultPolicy == self.settings.defaultInboundPolicy)
    }

    @Test
    func followsAPodThatMoves() throws {
        var state = try self.listedState()
        let pods = try Fixture.watch("watch-pods.jsonl", of: Pod.self).compactMap { record -> WatchEvent<Pod>? in
            guard case .event(let event) = record else { return nil }
            return event
        }
        let slices = try Fixture.events("watch-endpointslices.jsonl", of: EndpointSlice.self)
        let target = "web.shop.svc.cluster.local:80"

        // The old pod starts terminating: it is no longer ready, so no longer an endpoint.
        let changed1 = state.apply(pods[0])
        #expect(changed1)
        #expect(self.resolve(target, in: state.snapshot()) == [:])
        let changed2 = state.apply(slices[0])
        #expect(changed2)
        let changed3 = state.apply(pods[1])
        #expect(changed3)  // deleted
        #expect(state.snapshot().workload(namespace: "shop", name: "web-6f7c8d9b5-2xk8p") == nil)
        #expect(self.resolve("198.51.100.10:8080", in: state.snapshot()) == nil)
        let changed4 = state.apply(pods[2])
        #expect(changed4)  // the new pod, pending
        let changed5 = state.apply(pods[3])
        #expect(changed5)  // running at its new IP
        #expect(self.resolve(target, in: state.snapshot()) == [:])  // not yet in the slice
        let changed6 = state.apply(slices[1])
        #expect(changed6)
        let moved = state.snapshot()
        #expect(self.resolve(target, in: moved) == ["198.51.100.13:8080": Self.webIdentity])
        #expect(self.resolve("198.51.100.200:80", in: moved) == ["198.51.100.13:8080": Self.webIdentity])
        #expect(self.resolve("198.51.100.13:8080", in: moved) == ["198.51.100.13:8080": Self.webIdentity])
        #expect(state.resourceVersion(of: Pod.self) == "51020")
        #expect(state.resourceVersion(of: EndpointSlice.self) == "51021")
        // The policy follows the new pod too.
        let policy = WorkloadPolicyResolver(settings: self.settings)
            .policy(namespace: "shop", name: "web-6f7c8d9b5-r8t5v", in: moved)
        #expect(policy?.defaultPolicy == .clusterAuthenticated)
    }

    @Test
    func aBookmarkMovesTheResourceVersionWithoutChangingTheSnapshot() throws {
        var state = try self.listedState()
        let records = try Fixture.watch("watch-pods.jsonl", of: Pod.self)
        guard case .event(let bookmark) = records[4], case .bookmark(let version) = bookmark else {
            Issue.record("the fifth line is not a bookmark: \(records[4])")
            return
        }
        #expect(version == "51100")
        let before = state.snapshot()
        let changed7 = state.apply(bookmark)
        #expect(!changed7)
        #expect(state.resourceVersion(of: Pod.self) == "51100")
        #expect(state.snapshot() == before)
        // Only its own collection moves.
        #expect(state.resourceVersion(of: EndpointSlice.self) == "51002")
    }

    @Test
    func aRelistAfterGoneDropsObjectsDeletedMeanwhile() throws {
        var state = try self.listedState()
        var gone: KubernetesStatus?
        for record in try Fixture.watch("watch-pods.jsonl", of: Pod.self) {
            switch record {
            case .event(let event): state.apply(event)
            case .error(let status): gone = status
            }
        }
        #expect(gone?.code == 410)
        #expect(gone?.reason == "Expired")
        // Still there: its deletion happened while the watch was down.
        #expect(state.snapshot().workload(namespace: "shop", name: "api-5c9d7b8f4-w4n6t") != nil)

        let changed8 = state.replace(with: try Fixture.list("pods-relist.json", of: Pod.self))
        #expect(changed8)
        #expect(state.resourceVersion(of: Pod.self) == "51200")
        let snapshot = state.snapshot()
        #expect(snapshot.workload(namespace: "shop", name: "api-5c9d7b8f4-w4n6t") == nil)
        #expect(self.resolve("198.51.100.12:9090", in: snapshot) == nil)
        #expect(snapshot.workloads.map(\.name) == [
            "db-0", "api-5c9d7b8f4-h7m2q", "web-6f7c8d9b5-r8t5v",
        ])
        // Relisting what is already there changes nothing.
        let changed9 = state.replace(with: try Fixture.list("pods-relist.json", of: Pod.self))
        #expect(!changed9)
    }

    @Test
    func aDeletionOfAnUnknownObjectChangesNothing() throws {
        var state = try self.listedState()
        let ghost = Pod(metadata: ObjectMeta(name: "ghost", namespace: "shop", resourceVersion: "51300"))
        let changed10 = state.apply(WatchEvent.deleted(ghost))
        #expect(!changed10)
        #expect(state.resourceVersion(of: Pod.self) == "51300")
    }

    @Test
    func podDefaultsWhereTheSpecIsSilent() {
        let container = Container(
            name: "app",
            ports: [ContainerPort(name: "admin", containerPort: 9901)],
            livenessProbe: Probe(httpGet: HTTPGetAction(port: .string("admin"))),
            readinessProbe: Probe(httpGet: HTTPGetAction(path: "/ready", port: .string("missing")))
        )
        var state = KubernetesMeshState()
        state.replace(
            with: KubernetesList(
                metadata: ListMeta(resourceVersion: "7"),
                items: [
                    Pod(
                        metadata: ObjectMeta(name: "solo", namespace: "edge"),
                        spec: PodSpec(containers: [container, Container(name: "lattice-proxy")]),
                        status: PodStatus(
                            phase: "Running",
                            podIP: "198.51.100.40",
                            conditions: [PodCondition(type: "Ready", status: "True")]
                        )
                    )
                ]
            )
        )
        let workload = state.snapshot().workload(namespace: "edge", name: "solo")
        #expect(workload?.serviceAccount == "default")
        #expect(workload?.addresses == ["198.51.100.40"])
        #expect(workload?.isMeshed == true)
        #expect(workload?.isReady == true)
        #expect(workload?.proxyAdminPort == 4191)
        // The unresolvable named port is dropped.
        #expect(workload?.probes == [ProbeSpec(port: 9901, path: "/")])
    }
}

extension KubernetesMeshStateTests {
    @Test
    func aNamedTargetPortOfAnUnnamedServicePortResolvesPerEndpoint() {
        var state = KubernetesMeshState()
        state.replace(with: KubernetesList<Pod>(metadata: ListMeta(resourceVersion: "1"), items: []))
        state.replace(with: KubernetesList<Namespace>(metadata: ListMeta(resourceVersion: "1"), items: []))
        state.replace(
            with: KubernetesList(
                metadata: ListMeta(resourceVersion: "2"),
                items: [
                    KubernetesService(
                        metadata: ObjectMeta(name: "cache", namespace: "edge"),
                        spec: ServiceSpec(
                            clusterIP: "198.51.100.220",
                            ports: [ServicePort(port: 6380, targetPort: .string("redis"))]
                        )
                    )
                ]
            )
        )
        state.replace(
            with: KubernetesList(
                metadata: ListMeta(resourceVersion: "3"),
                items: [
                    EndpointSlice(
                        metadata: ObjectMeta(
                            name: "cache-abcde",
                            namespace: "edge",
                            labels: ["kubernetes.io/service-name": "cache"]
                        ),
                        addressType: "IPv4",
                        endpoints: [Endpoint(addresses: ["198.51.100.50"], conditions: EndpointConditions(ready: true))],
                        ports: [EndpointPort(name: "", port: 6379)]
                    )
                ]
            )
        )
        #expect(state.hasSynced)
        let snapshot = state.snapshot()
        #expect(snapshot.services.first?.ports == [ServicePortSpec(port: 6380, name: "", targetPort: nil)])
        let plaintext: [String: String?] = ["198.51.100.50:6379": nil]
        #expect(self.resolve("cache.edge.svc.cluster.local:6380", in: snapshot) == plaintext)
    }
}
