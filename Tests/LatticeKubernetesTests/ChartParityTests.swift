import Foundation
import LatticeManifests
import LatticeTestSupport
import Testing

/// One source of truth: the charts and `lattice install` (LatticeManifests, in process) render the same objects for
/// the same values, with generated secrets masked; both charts lint; `lattice install`'s output validates against
/// the Kubernetes 1.27 schemas. Needs python3 with helm-python-sdk and kubernetes-validate (scripts/test installs
/// them).
@Suite(.serialized) struct ChartParityTests {
    /// Renders the control-plane chart and `lattice install` (credentials through `--identity-*-file`, the rest
    /// through `--set`-equivalent values) and returns their differences.
    func compareControlPlane(
        _ tool: ChartTool,
        values: ValueTree,
        highAvailability: Bool = false,
        namespace: String = "lattice"
    ) async throws -> [String] {
        let f = try InstallFixture()
        let anchors = try tool.file("ca.crt", f.anchorsPEM)
        let issuer = try tool.file("issuer.crt", f.issuerPEM)
        let key = try tool.file("issuer.key", f.issuerKeyPEM)
        let userValues = try tool.file("values.yaml", values.yamlDocument())
        let install = ControlPlaneInstall(
            layers: ValuesLayers(files: [userValues]),
            highAvailability: highAvailability,
            namespace: namespace,
            trustAnchorsFile: anchors,
            issuerCertificateFile: issuer,
            issuerKeyFile: key
        )
        let manifests = try await install.render(now: f.now)
        // Helm: `-f values-ha.yaml -f values.yaml --set installNamespace=true --set-file …` in one tree.
        var chartValues = highAvailability ? InstallValues.highAvailability : ValueTree.emptyObject
        chartValues = chartValues.merged(with: values).merged(with: ["installNamespace": true]).merged(with: f.credentials)
        let chart = try tool.render(chart: "lattice-control-plane", values: chartValues, name: "lattice-control-plane", namespace: namespace)
        #expect(chart.count == manifests.count, "the chart renders \(chart.count) objects, lattice install \(manifests.count)")
        return ChartTool.differences(chart: chart, install: try tool.normalize(manifests))
    }

    @Test func defaultValues() async throws {
        try await ChartTool.withTool { tool in
            let differences = try await self.compareControlPlane(tool, values: .emptyObject)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        }
    }

    @Test func highAvailabilityValues() async throws {
        try await ChartTool.withTool { tool in
            let differences = try await self.compareControlPlane(tool, values: .emptyObject, highAvailability: true)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        }
    }

    @Test func customValuesInAnotherNamespace() async throws {
        let values: ValueTree = [
            "identityTrustDomain": "mesh.example",
            "clusterDomain": "k8s.example",
            "clusterNetworks": "10.0.0.0/8, 192.168.0.0/16",
            "defaultInboundPolicy": "audit",
            "identity": ["issuer": ["issuanceLifetime": "12h"]],
            "controller": [
                "replicas": 2, "logLevel": "debug", "perPeerRate": .double(2.5), "maxInFlight": 1_000_000,
                "resources": ["requests": ["cpu": 1, "memory": ""], "limits": ["cpu": "2", "memory": "1Gi"]],
                "nodeSelector": ["disk": "ssd"], "tolerations": [["key": "dedicated", "operator": "Exists"]],
                "podDisruptionBudget": ["enabled": true, "maxUnavailable": 1],
            ],
            "proxy": [
                "nativeSidecar": true, "uid": 2200, "logLevel": "warning", "maxConnections": 2_000_000,
                "resources": ["requests": ["cpu": "", "memory": "48Mi"], "limits": ["cpu": "500m", "memory": ""]],
                "skipOutboundPorts": "3306,8000-8010",
            ],
            "webhook": ["failurePolicy": "Fail", "timeoutSeconds": 5],
            "monitoring": ["podMonitor": ["interval": "30s", "labels": ["release": "kube-prometheus"]]],
            "injectTarget": ["namespace": "akko", "release": "akko", "selectors": ["trino": ["app": "trino"]]],
            "global": ["serviceMesh": ["linkerdInject": ["aden": true, "keycloak": false], "inject": ["trino": "true"]]],
        ]
        try await ChartTool.withTool { tool in
            let differences = try await self.compareControlPlane(tool, values: values, namespace: "mesh")
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        }
    }

    @Test func withoutThePodMonitorAndWithStrategyA() async throws {
        let values: ValueTree = [
            "monitoring": ["podMonitor": ["enabled": false]],
            "injectNamespace": true, "injectTarget": ["namespace": "akko"],
        ]
        try await ChartTool.withTool { tool in
            let differences = try await self.compareControlPlane(tool, values: values)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        }
    }

    @Test func bothStrategiesFailTheSameWayInTheChartAndInLatticeInstall() async throws {
        let values: ValueTree = [
            "injectNamespace": true, "injectTarget": ["namespace": "akko"],
            "global": ["serviceMesh": ["linkerdInject": ["aden": true]]],
        ]
        try await ChartTool.withTool { tool in
            let f = try InstallFixture()
            let swift = #expect(throws: ManifestsError.self) {
                try InstallValues.decode(InstallValues.defaults.merged(with: values).merged(with: f.credentials))
                    .injection.selection(namespaceKey: "injectTarget.namespace")
            }
            let chart = #expect(throws: ChartTool.Failure.self) {
                try tool.render(chart: "lattice-control-plane", values: values.merged(with: f.credentials), name: "l", namespace: "lattice")
            }
            let message = try #require(swift?.reason)
            #expect(chart?.stderr.contains(message) == true, "chart: \(chart?.stderr ?? "")\nswift: \(message)")
        }
    }

    // MARK: - akko-mtls

    func compareMeshInjection(_ tool: ChartTool, values: ValueTree) throws -> [String] {
        let chart = try tool.render(chart: "akko-mtls", values: values, name: "akko", namespace: "akko")
        let swift = try MeshInjectionRenderer(release: "akko", namespace: "akko").render(values)
        return ChartTool.differences(chart: chart, install: swift.isEmpty ? [:] : try tool.normalize(swift))
    }

    @Test(arguments: [
        ValueTree.emptyObject,
        ["enabled": true],
        ["enabled": true, "injectNamespace": true],
        ["enabled": true, "global": ["serviceMesh": ["linkerdInject": ["aden": true, "keycloak": false, "postgres": false, "trino": false]]]],
        [
            "enabled": true, "selectors": ["trino": ["app.kubernetes.io/name": "trino", "component": "coordinator"]],
            "global": ["serviceMesh": ["inject": ["trino": true, "aden": "true"], "linkerdInject": ["aden": true]]],
        ],
    ] as [ValueTree])
    func akkoMTLS(_ values: ValueTree) async throws {
        try await ChartTool.withTool { tool in
            let differences = try self.compareMeshInjection(tool, values: values)
            #expect(differences.isEmpty, "\(differences.joined(separator: "\n"))")
        }
    }

    @Test func akkoMTLSRefusesBothStrategiesWithLatticeInstallsMessage() async throws {
        let values: ValueTree = [
            "enabled": true, "injectNamespace": true,
            "global": ["serviceMesh": ["linkerdInject": ["aden": true, "trino": true]]],
        ]
        try await ChartTool.withTool { tool in
            let swift = #expect(throws: ManifestsError.self) {
                try MeshInjectionRenderer(release: "akko", namespace: "akko").render(values)
            }
            let chart = #expect(throws: ChartTool.Failure.self) {
                try tool.render(chart: "akko-mtls", values: values, name: "akko", namespace: "akko")
            }
            let message = try #require(swift?.reason)
            #expect(message.contains("global.serviceMesh.linkerdInject.aden, global.serviceMesh.linkerdInject.trino"))
            #expect(chart?.stderr.contains(message) == true, "chart: \(chart?.stderr ?? "")\nswift: \(message)")
        }
    }

    @Test func bothChartsShareOneInjectionTemplate() throws {
        func block(_ chart: String) throws -> String {
            let text = try TestFiles.read(Repository.path("charts/\(chart)/templates/_helpers.tpl"))
            guard let start = text.range(of: "{{- define \"lattice.injection\" -}}") else {
                throw TestFailure("\(chart) has no lattice.injection template")
            }
            let rest = text[start.lowerBound...]
            guard let end = rest.range(of: "\n{{- end -}}\n", options: .backwards) else { throw TestFailure("unterminated") }
            return String(rest[..<end.upperBound])
        }
        #expect(try block("lattice-control-plane") == block("akko-mtls"))
    }

    @Test func withoutThePythonPackagesTheToolSaysWhatToInstall() throws {
        // -S: no site-packages, as on a machine where they were never installed.
        let python = try #require(ProcessRunner.which("python3"))
        let result = try ProcessRunner.run(python, ["-S", Repository.path("scripts/chart-tool.py"), "lint", "chart", "values"])
        #expect(result.status == 4)
        #expect(result.stderr.contains("pip install kubernetes-validate helm-python-sdk"))
    }

    // MARK: - Lint and schemas

    @Test func bothChartsLintStrictly() async throws {
        try await ChartTool.withTool { tool in
            let f = try InstallFixture()
            _ = try tool.run(["lint", Repository.path("charts/lattice-control-plane"), try tool.file("cp.json", f.credentials.json)])
            _ = try tool.run([
                "lint", Repository.path("charts/lattice-control-plane"),
                try tool.file("ha.json", InstallValues.highAvailability.merged(with: f.credentials).json),
            ])
            let akko: ValueTree = ["enabled": true, "global": ["serviceMesh": ["linkerdInject": ["aden": true]]]]
            _ = try tool.run(["lint", Repository.path("charts/akko-mtls"), try tool.file("akko.json", akko.json), "--namespace", "akko"])
        }
    }

    @Test func aValueOfTheWrongTypeFailsTheChartsSchemaToo() async throws {
        try await ChartTool.withTool { tool in
            let f = try InstallFixture()
            let values = f.credentials.merged(with: ["controller": ["replicas": "three"]])
            let failure = #expect(throws: ChartTool.Failure.self) {
                try tool.render(chart: "lattice-control-plane", values: values, name: "l", namespace: "lattice")
            }
            #expect(failure?.stderr.contains("/controller/replicas") == true)
            #expect(throws: ManifestsError.self) { try InstallValues.decode(InstallValues.defaults.merged(with: values)) }
        }
    }

    @Test(arguments: [false, true])
    func latticeInstallValidatesAgainstTheKubernetes127Schemas(highAvailability: Bool) async throws {
        try await ChartTool.withTool { tool in
            let f = try InstallFixture()
            let install = ControlPlaneInstall(
                highAvailability: highAvailability,
                trustAnchorsFile: try tool.file("ca.crt", f.anchorsPEM),
                issuerCertificateFile: try tool.file("issuer.crt", f.issuerPEM),
                issuerKeyFile: try tool.file("issuer.key", f.issuerKeyPEM)
            )
            let manifests = try await install.render(now: f.now)
            let report = try tool.run(["validate", try tool.file("install.yaml", manifests.yaml), "--kubernetes-version", "1.27.0"])
            let parsed = try #require(try JSONSerialization.jsonObject(with: Data(report.utf8)) as? [String: [String]])
            #expect(parsed["failed"] == [])
            // The Prometheus Operator's PodMonitor is a CRD: the Kubernetes schemas don't have it.
            #expect(parsed["no_schema"] == ["PodMonitor/lattice-proxies"])
            #expect(parsed["validated"]?.count == manifests.count - 1)
        }
    }
}
