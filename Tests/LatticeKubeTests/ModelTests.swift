import Foundation
import LatticeKube
import Testing

@Suite
struct ModelTests {
    @Test
    func decodesAPodListWithUnknownFields() throws {
        let list = try Fixture.decode("podlist.json", as: KubernetesList<Pod>.self)
        #expect(list.metadata.resourceVersion == "48251")
        try #require(list.items.count == 2)
        let pod = list.items[0]
        #expect(pod.metadata.name == "web-7d4b9c6f5-x2l8q")
        #expect(pod.metadata.namespace == "default")
        #expect(pod.metadata.labels?["app"] == "web")
        #expect(pod.metadata.annotations?["lattice.io/inject"] == "enabled")
        #expect(pod.metadata.ownerReferences?.first?.kind == "ReplicaSet")
        #expect(pod.metadata.ownerReferences?.first?.controller == true)
        #expect(pod.spec?.serviceAccountName == "web")
        #expect(pod.spec?.containers.map(\.name) == ["web"])
        #expect(
            pod.spec?.containers.first?.ports == [ContainerPort(name: "http", containerPort: 8080, protocol: "TCP")]
        )
        #expect(pod.spec?.initContainers?.map(\.name) == ["lattice-init", "lattice-proxy"])
        #expect(pod.spec?.initContainers?.last?.restartPolicy == "Always")
        #expect(pod.spec?.hostNetwork == nil)
        #expect(pod.status?.phase == "Running")
        #expect(pod.status?.podIP == "10.244.1.17")
        #expect(pod.status?.podIPs?.map(\.ip) == ["10.244.1.17", "fd00:10:244:1::11"])
        #expect(list.items[1].spec?.initContainers == nil)
    }

    @Test
    func decodesAnEndpointSlice() throws {
        let slice = try Fixture.decode("endpointslice.json", as: EndpointSlice.self)
        #expect(slice.addressType == "IPv4")
        #expect(slice.metadata.labels?["kubernetes.io/service-name"] == "web")
        try #require(slice.endpoints.count == 2)
        #expect(slice.endpoints[0].addresses == ["10.244.1.17"])
        #expect(slice.endpoints[0].conditions == EndpointConditions(ready: true, serving: true, terminating: false))
        #expect(slice.endpoints[0].targetRef?.name == "web-7d4b9c6f5-x2l8q")
        #expect(slice.endpoints[0].targetRef?.kind == "Pod")
        #expect(slice.endpoints[1].conditions?.ready == false)
        #expect(slice.ports == [EndpointPort(name: "http", port: 8080, protocol: "TCP", appProtocol: "http")])
    }

    @Test
    func anEndpointSliceWithNullEndpointsHasNone() throws {
        let json = #"{"metadata":{"name":"empty"},"addressType":"IPv6","endpoints":null,"ports":null}"#
        let slice = try JSONDecoder().decode(EndpointSlice.self, from: Data(json.utf8))
        #expect(slice.endpoints.isEmpty)
        #expect(slice.ports == nil)
    }

    @Test
    func decodesAServiceWithNamedAndNumericTargetPorts() throws {
        let service = try Fixture.decode("service.json", as: KubernetesService.self)
        #expect(service.spec?.clusterIP == "10.96.12.34")
        #expect(service.spec?.clusterIPs == ["10.96.12.34", "fd00:10:96::1234"])
        #expect(service.spec?.type == "ClusterIP")
        #expect(service.spec?.selector == ["app": "web"])
        #expect(service.spec?.ports?.map(\.targetPort) == [.string("http"), .int(9090)])
        #expect(service.spec?.ports?.first?.appProtocol == "http")
    }

    @Test
    func decodesANamespace() throws {
        let namespace = try Fixture.decode("namespace.json", as: Namespace.self)
        #expect(namespace.metadata.name == "default")
        #expect(namespace.metadata.annotations?["lattice.io/inject"] == "enabled")
        #expect(namespace.status?.phase == "Active")
    }

    @Test
    func anEmptyListDecodesWithNullItems() throws {
        let json = #"{"kind":"NamespaceList","apiVersion":"v1","metadata":{"resourceVersion":"7"},"items":null}"#
        let list = try JSONDecoder().decode(KubernetesList<Namespace>.self, from: Data(json.utf8))
        #expect(list.items.isEmpty)
        #expect(list.metadata.resourceVersion == "7")
    }

    @Test
    func encodesATokenReviewRequestAsTheAPIExpects() throws {
        let review = TokenReview(spec: TokenReviewSpec(token: "t", audiences: ["identity.lattice.io"]))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let json = String(decoding: try encoder.encode(review), as: UTF8.self)
        let expected =
            #"{"apiVersion":"authentication.k8s.io\/v1","kind":"TokenReview","#
            + #""spec":{"audiences":["identity.lattice.io"],"token":"t"}}"#
        #expect(json == expected)
    }

    @Test
    func decodesAStatus() throws {
        let status = try Fixture.decode("status-403.json", as: KubernetesStatus.self)
        #expect(status.kind == "Status")
        #expect(status.code == 403)
        #expect(status.reason == "Forbidden")
        #expect(status.details?.group == "authentication.k8s.io")
    }

    @Test(
        arguments: [
            (#"{"major":"1","minor":"29+","gitVersion":"v1.29.4-eks-036c24b"}"#, 1, 29),
            (#"{"major":"1","minor":"30","gitVersion":"v1.30.1"}"#, 1, 30),
            (#"{"major":"","minor":"","gitVersion":"v1.28.9-gke.1000000"}"#, 1, 28),
        ]
    )
    func parsesServerVersions(json: String, major: Int, minor: Int) throws {
        let version = try JSONDecoder().decode(ServerVersion.self, from: Data(json.utf8))
        #expect(version.major == major)
        #expect(version.minor == minor)
    }

    @Test
    func anUnparseableVersionIsRejected() {
        #expect(throws: DecodingError.self) {
            try JSONDecoder().decode(ServerVersion.self, from: Data(#"{"major":"x","minor":"y"}"#.utf8))
        }
    }

    @Test
    func versionComparison() {
        let version = ServerVersion(major: 1, minor: 29)
        #expect(version.isAtLeast(major: 1, minor: 29))
        #expect(version.isAtLeast(major: 1, minor: 28))
        #expect(!version.isAtLeast(major: 1, minor: 30))
        #expect(!version.isAtLeast(major: 2, minor: 0))
    }
}

@Suite
struct ServiceAccountNameTests {
    @Test
    func parsesAServiceAccountUsername() throws {
        let name = try ServiceAccountName(username: "system:serviceaccount:lattice:lattice-identity")
        #expect(name == ServiceAccountName(namespace: "lattice", name: "lattice-identity"))
        #expect(name.username == "system:serviceaccount:lattice:lattice-identity")
        #expect(name.description == "lattice/lattice-identity")
        #expect(try ServiceAccountName(username: "system:serviceaccount:default:app.v2").name == "app.v2")
    }

    @Test(
        arguments: [
            "system:node:ip-10-0-1-23",
            "system:serviceaccounts:default",
            "alice@example.com",
            "system:serviceaccount:default",
            "system:serviceaccount:default:web:extra",
            "system:serviceaccount::web",
            "system:serviceaccount:default:",
            "system:serviceaccount:Default:web",
            "system:serviceaccount:default:-web",
            "system:serviceaccount:kube_system:web",
        ]
    )
    func rejectsOtherUsernames(_ username: String) {
        let error = #expect(throws: KubernetesError(code: .notServiceAccount, reason: "")) {
            try ServiceAccountName(username: username)
        }
        #expect(error?.reason.contains(username) == true)
    }
}
