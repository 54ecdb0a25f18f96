import LatticeInjector
import LatticeModel
import LatticeTestSupport
import Testing

/// One admission: a pod as the API server sends it, its namespace, the mesh config, native or classic.
struct InjectorCase: Sendable, CustomTestStringConvertible {
    let golden: String
    let input: String
    let namespace: NamespaceContext
    var config = MeshConfig()
    var native = false
    var testDescription: String { self.golden }

    static let akkoSelected = MeshConfig(inject: .init(namespaces: ["akko"]))
    static let trinoSelected = MeshConfig(
        inject: .init(services: [.init(name: "trino", namespace: "akko", matchLabels: ["app.kubernetes.io/name": "akko-trino"])])
    )

    static let all: [InjectorCase] = [
        .init(golden: "deployment-pod-classic", input: "deployment-pod.json", namespace: .init(name: "akko"), config: akkoSelected),
        .init(golden: "deployment-pod-native", input: "deployment-pod.json", namespace: .init(name: "akko"), config: akkoSelected, native: true),
        .init(
            golden: "statefulset-pod-native", input: "statefulset-pod.json",
            namespace: .init(name: "akko", annotations: ["lattice.io/inject": "enabled"]), native: true
        ),
        .init(
            golden: "statefulset-pod-classic", input: "statefulset-pod.json",
            namespace: .init(name: "akko", annotations: ["lattice.io/inject": "enabled"])
        ),
        .init(
            golden: "job-pod-native-namespace-linkerd-alias", input: "job-pod.json",
            namespace: .init(name: "batch", annotations: ["linkerd.io/inject": "enabled", "config.linkerd.io/default-inbound-policy": "all-authenticated"]),
            native: true
        ),
        .init(golden: "job-pod-classic-not-selected", input: "job-pod.json", namespace: .init(name: "batch")),
        .init(golden: "hostnetwork-pod", input: "hostnetwork-pod.json", namespace: .init(name: "monitoring")),
        .init(golden: "linkerd-proxy-pod", input: "linkerd-pod.json", namespace: .init(name: "akko"), config: akkoSelected),
        .init(golden: "already-injected-pod", input: "injected-pod.json", namespace: .init(name: "akko"), config: akkoSelected, native: true),
        .init(
            golden: "namespace-enabled-pod-disabled", input: "disabled-pod.json",
            namespace: .init(name: "akko", annotations: ["lattice.io/inject": "enabled"])
        ),
        .init(golden: "strategy-b-selector-match", input: "trino-pod.json", namespace: .init(name: "akko"), config: trinoSelected),
        .init(golden: "strategy-b-other-namespace", input: "trino-pod.json", namespace: .init(name: "staging"), config: trinoSelected),
        .init(
            golden: "restricted-pod-security-namespace", input: "deployment-pod.json",
            namespace: .init(name: "akko", labels: ["pod-security.kubernetes.io/enforce": "restricted"]), config: akkoSelected
        ),
        .init(golden: "linkerd-alias-annotations-native", input: "linkerd-aliases-pod.json", namespace: .init(name: "akko"), native: true),
        .init(golden: "resource-annotations-classic", input: "resources-pod.json", namespace: .init(name: "akko", annotations: ["lattice.io/inject": "enabled"])),
        .init(golden: "invalid-annotation", input: "invalid-annotation-pod.json", namespace: .init(name: "akko")),
    ]
}

@Suite struct PodInjectorGoldenTests {
    /// The patch and report, as the golden files hold them (YAML, so a change reads well in review).
    static func render(_ admission: PodAdmission) throws -> String {
        var report = JSONObject([
            "injected": .bool(admission.report.injected),
            "code": .string(admission.report.reason.code.rawValue),
            "message": .string(admission.report.reason.message),
            "workload": .string(admission.report.workload),
        ])
        if !admission.report.warnings.isEmpty {
            report["warnings"] = .array(admission.report.warnings.map { .string($0) })
        }
        let patch = try admission.patch.map { try JSONValue.parse($0) } ?? .null
        let document: JSONValue = ["report": .object(report), "patch": patch]
        return document.yamlText
    }

    @Test(arguments: InjectorCase.all)
    func patchAndReportMatchTheGolden(_ c: InjectorCase) throws {
        let injector = PodInjector(config: c.config, nativeSidecar: c.native)
        let admission = try injector.admissionPatch(forPodJSON: try Fixtures.bytes("injector/input/\(c.input)"), namespace: c.namespace)
        try Fixtures.expectGolden(try Self.render(admission), "injector/golden/\(c.golden).yaml")
        #expect((admission.patch != nil) == admission.report.injected)
    }

    /// Every injected pod, patched, is a valid Pod for its Kubernetes version (native sidecars need 1.29; classic
    /// ones must work on 1.27), and carries what the proxy and lattice-init need.
    @Test func patchedPodsValidateAgainstTheKubernetesSchemas() throws {
        var byVersion: [String: [JSONValue]] = [:]
        for c in InjectorCase.all {
            let input = try Fixtures.bytes("injector/input/\(c.input)")
            let injector = PodInjector(config: c.config, nativeSidecar: c.native)
            let admission = try injector.admissionPatch(forPodJSON: input, namespace: c.namespace)
            guard let patchBytes = admission.patch else { continue }
            let original = try JSONValue.parse(input)
            var pod = try JSONPatch(parsing: patchBytes).apply(to: original)
            try Self.expectWellFormed(pod, native: c.native, case: c.golden)
            // Uninjection takes exactly the injection back off.
            #expect(PodUninjector.uninject(pod).pod == original, "\(c.golden): uninject gives the original back")
            // kubernetes-validate names each object by metadata.name, which admission may not have yet.
            if pod.value(at: ["metadata", "name"]) == nil {
                let generated = (pod.value(at: ["metadata", "generateName"])?.stringValue ?? "pod-") + "x7k2p"
                guard case .object(var metadata)? = pod["metadata"] else { continue }
                metadata["name"] = .string(generated)
                pod.setValue(.object(metadata), at: ["metadata"])
            }
            byVersion[c.native ? "1.29.0" : "1.27.0", default: []].append(pod)
        }
        #expect(byVersion["1.29.0"]?.count ?? 0 >= 3)
        #expect(byVersion["1.27.0"]?.count ?? 0 >= 3)
        for (version, pods) in byVersion.sorted(by: { $0.key < $1.key }) {
            let failures = try KubernetesSchemas.validate(pods, version: version)
            #expect(failures.isEmpty, "Kubernetes \(version): \(failures.joined(separator: "\n"))")
        }
        // The native shape is not valid before 1.29: the schema check is doing its job.
        let native = try #require(byVersion["1.29.0"]?.first)
        #expect(!(try KubernetesSchemas.validate([native], version: "1.27.0")).isEmpty)
    }

    static func expectWellFormed(_ pod: JSONValue, native: Bool, case name: String) throws {
        let initContainers = pod.value(at: ["spec", "initContainers"])?.arrayValue ?? []
        let containers = pod.value(at: ["spec", "containers"])?.arrayValue ?? []
        #expect(initContainers.first?["name"] == "lattice-init", "\(name): lattice-init runs first")
        if native {
            #expect(initContainers.count >= 2 && initContainers[1]["name"] == "lattice-proxy", "\(name)")
            #expect(initContainers[1]["restartPolicy"] == "Always")
            #expect(!containers.contains { $0["name"] == "lattice-proxy" })
        } else {
            #expect(containers.first?["name"] == "lattice-proxy", "\(name): the classic proxy is the first container")
            #expect(!initContainers.contains { $0["name"] == "lattice-proxy" })
        }
        let names = (initContainers + containers).compactMap { $0["name"]?.stringValue }
        #expect(Set(names).count == names.count, "\(name): container names are unique")
        let volumes = pod.value(at: ["spec", "volumes"])?.arrayValue?.compactMap { $0["name"]?.stringValue } ?? []
        #expect(Set(volumes).count == volumes.count, "\(name): volume names are unique")
        #expect(volumes.contains("lattice-identity-token") && volumes.contains("lattice-identity-trust-roots"))
    }
}
