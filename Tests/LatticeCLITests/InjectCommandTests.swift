import ArgumentParser
import Foundation
import LatticeCLI
import LatticeInjector
import LatticeTestSupport
import Testing

/// `lattice inject` / `lattice uninject`, parsed as the CLI parses them and run against in-memory inputs.
@Suite struct InjectCommandTests {
    static let configMap = """
        # The app's settings: kept exactly as written.
        apiVersion: v1
        kind: ConfigMap
        metadata:
          name: web-config   # trailing comment
          namespace: akko
        data:
          "settings.yaml": |
            replicas: 3
            port:   8080
          flag: 'yes'
          list: [ a,  b ]

        """

    static let deployment = """
        apiVersion: apps/v1
        kind: Deployment
        metadata:
          name: web
          namespace: akko
          labels: {app.kubernetes.io/name: web}
        spec:
          replicas: 2
          selector:
            matchLabels: {app.kubernetes.io/name: web}
          template:
            metadata:
              labels: {app.kubernetes.io/name: web}
            spec:
              containers:
              - name: web
                image: ghcr.io/akko/web:1.8.2
                ports: [{name: http, containerPort: 8080}]
                readinessProbe: {httpGet: {path: /ready, port: http}}

        """

    static let cronJob = """
        apiVersion: batch/v1
        kind: CronJob
        metadata: {name: report}
        spec:
          schedule: "0 3 * * *"
          jobTemplate:
            spec:
              template:
                spec:
                  restartPolicy: Never
                  initContainers: [{name: wait, image: busybox}]
                  volumes: [{name: tmp, emptyDir: {}}]
                  containers: [{name: report, image: ghcr.io/akko/report:2.0.0}]

        """

    static let statefulSet = """
        {"apiVersion": "apps/v1", "kind": "StatefulSet", "metadata": {"name": "db"},
         "spec": {"serviceName": "db", "selector": {"matchLabels": {"app": "db"}},
                  "template": {"metadata": {"labels": {"app": "db"}, "annotations": {"note": "x"}},
                               "spec": {"containers": [{"name": "postgres", "image": "postgres:16"}]}}}}

        """

    static let list = """
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Service
          metadata: {name: web}
          spec: {ports: [{port: 80}]}
        - apiVersion: apps/v1
          kind: DaemonSet
          metadata: {name: agent}
          spec:
            selector: {matchLabels: {app: agent}}
            template:
              metadata: {labels: {app: agent}}
              spec: {containers: [{name: agent, image: agent:1}]}
        - apiVersion: v1
          kind: Pod
          metadata: {name: debug}
          spec: {hostNetwork: true, containers: [{name: sh, image: busybox}]}

        """

    static let stream = [configMap, deployment, cronJob, statefulSet, list].joined(separator: "---\n")

    static func run(_ arguments: [String], inputs: [String: String]) throws -> (output: String, reports: String) {
        let command = try LatticeCommand.parseAsRoot(arguments)
        let read: (String) throws -> String = { path in
            guard let text = inputs[path] else { throw CLIError("\(path): no such input") }
            return text
        }
        switch command {
        case let inject as InjectCommand: return try inject.execute(read: read)
        case let uninject as UninjectCommand: return try uninject.execute(read: read)
        default: throw CLIError("not inject or uninject: \(type(of: command))")
        }
    }

    /// The documents of a stream, parsed (empty documents left out).
    static func objects(_ text: String) throws -> [JSONValue] {
        try ManifestStream(splitting: text).documents.compactMap { try JSONValue.parseYAML($0.text) }
    }

    @Test func manualInjectThenUninjectGivesTheOriginalObjectsBack() throws {
        for arguments in [["inject", "--manual", "-"], ["inject", "--manual", "--native-sidecar", "-"], ["inject", "-"]] {
            let injected = try Self.run(arguments, inputs: ["-": Self.stream])
            #expect(injected.output != Self.stream)
            let uninjected = try Self.run(["uninject", "-"], inputs: ["-": injected.output])
            #expect(try Self.objects(uninjected.output) == (try Self.objects(Self.stream)), "\(arguments)")
        }
    }

    @Test func nonWorkloadsComeBackByteForByte() throws {
        for arguments in [["inject", "--manual", "-"], ["inject", "-"], ["uninject", "-"]] {
            let result = try Self.run(arguments, inputs: ["-": Self.stream])
            let documents = ManifestStream(splitting: result.output).documents
            #expect(documents.first?.text == Self.configMap, "\(arguments)")
        }
        // A stream without workloads is returned exactly.
        let plain = Self.configMap + "---\n# only a comment\n---\n" + Self.configMap
        #expect(try Self.run(["inject", "--manual", "-"], inputs: ["-": plain]).output == plain)
    }

    @Test func defaultInjectOnlyAnnotatesThePodTemplates() throws {
        let result = try Self.run(["inject", "-"], inputs: ["-": Self.stream])
        let objects = try Self.objects(result.output)
        let deployment = try #require(objects.first { $0["kind"] == "Deployment" })
        #expect(deployment.value(at: ["spec", "template", "metadata", "annotations"]) == ["lattice.io/inject": "enabled"])
        #expect(deployment.value(at: ["spec", "template", "spec", "containers"])?.arrayValue?.count == 1)
        let cron = try #require(objects.first { $0["kind"] == "CronJob" })
        #expect(cron.value(at: ["spec", "jobTemplate", "spec", "template", "metadata", "annotations", "lattice.io/inject"]) == "enabled")
        let sts = try #require(objects.first { $0["kind"] == "StatefulSet" })
        #expect(sts.value(at: ["spec", "template", "metadata", "annotations"]) == ["note": "x", "lattice.io/inject": "enabled"])
        #expect(result.reports.split(separator: "\n") == [
            "deployment/web injected (requested by lattice inject)",
            "cronjob/report injected (requested by lattice inject)",
            "statefulset/db injected (requested by lattice inject)",
            "daemonset/agent injected (requested by lattice inject)",
            "pod/debug skipped: the pod uses hostNetwork, where lattice-init would rewrite the node's own iptables; set lattice.io/inject: disabled on it, or run it off the host network to mesh it [host_network]",
        ])
    }

    @Test func manualInjectAddsTheContainersAndUsesTheConfigFile() throws {
        let config = """
            proxy:
              image: registry.example/lattice-proxy:9.9.9
              uid: 2200
            controller: {namespace: mesh}
            """
        let result = try Self.run(
            ["inject", "--manual", "--config", "mesh.yaml", "app.yaml"],
            inputs: ["app.yaml": Self.deployment, "mesh.yaml": config]
        )
        let deployment = try #require(try Self.objects(result.output).first)
        let containers = deployment.value(at: ["spec", "template", "spec", "containers"])?.arrayValue ?? []
        #expect(containers.compactMap { $0["name"]?.stringValue } == ["lattice-proxy", "web"])
        #expect(containers.first?["image"] == "registry.example/lattice-proxy:9.9.9")
        #expect(containers.first?.value(at: ["securityContext", "runAsUser"]) == .integer(2200))
        #expect(deployment.value(at: ["spec", "template", "metadata", "labels", "lattice.io/control-plane-ns"]) == "mesh")
        // The probe's named port became its number for the proxy.
        let env = containers.first?["env"]?.arrayValue ?? []
        #expect(env.contains(["name": "LATTICE_PROXY_INBOUND_PROBES", "value": "8080:/ready"]))
        // Injecting twice changes nothing the second time.
        let again = try Self.run(["inject", "--manual", "-"], inputs: ["-": result.output])
        #expect(again.output == result.output)
        #expect(again.reports.contains("already has a lattice-proxy container"))
    }

    @Test func anUnusableConfigFileIsRefusedNamingTheKey() throws {
        #expect(throws: CLIError.self) {
            try Self.run(["inject", "--manual", "--config", "m.yaml", "-"], inputs: ["-": Self.deployment, "m.yaml": "proxy: {uid: 0}"])
        }
        do {
            _ = try Self.run(["inject", "--manual", "--config", "m.yaml", "-"], inputs: ["-": Self.deployment, "m.yaml": "proxy: {uid: 0}"])
        } catch {
            #expect("\(error)".hasPrefix("--config m.yaml: proxy.uid 0 must be a non-root UID"))
        }
    }

    @Test func severalFilesAreJoinedAsOneStream() throws {
        let result = try Self.run(["inject", "a.yaml", "b.yaml"], inputs: ["a.yaml": Self.configMap, "b.yaml": Self.deployment])
        #expect(try Self.objects(result.output).count == 2)
        #expect(result.output.hasPrefix(Self.configMap + "---\n"))
    }

    @Test(arguments: [
        ("a: [1, 2\nb: }", "document 1: not YAML"),
        ("kind: ConfigMap\n---\n- just\n- a list\n", "document 2: the document is a list, not a Kubernetes object"),
        ("---\nkind: Deployment\nmetadata: {name: web}\nspec: {replicas: 1}\n", "document 1: Deployment has no pod template at spec.template"),
        ("kind: List\nitems:\n- kind: Job\n  spec: {template: {metadata: {}}}\n", "document 1, List item 0: Job's pod template has no spec"),
        ("kind: Pod\nmetadata: {name: p}\nspec: {containers: {}}\n", "document 1: pod/p: spec.containers is an object, not a list"),
    ])
    func badInputIsAnErrorNamingTheDocumentAndNothingIsWritten(_ input: String, _ expected: String) throws {
        do {
            _ = try Self.run(["inject", "--manual", "-"], inputs: ["-": input])
            Issue.record("accepted: \(input)")
        } catch {
            let text = "\(error)"
            #expect(text.contains("standard input, "), "\(text)")
            #expect(text.contains(expected), "\(text)")
            #expect(text.hasSuffix("nothing was written"))
        }
    }

    @Test func configAndNativeSidecarNeedManual() {
        #expect(throws: (any Error).self) { try LatticeCommand.parseAsRoot(["inject", "--native-sidecar", "-"]) }
        #expect(throws: (any Error).self) { try LatticeCommand.parseAsRoot(["inject", "--config", "c.yaml", "-"]) }
    }
}

/// The real `lattice` binary: standard input in, YAML on stdout, reports on stderr, a non-zero exit and no output on
/// bad input.
@Suite struct InjectBinaryTests {
    static func lattice(_ arguments: String, stdin text: String) throws -> ProcessRunner.Result {
        let binary = ProcessRunner.executable("lattice")
        try #require(FileManager.default.isExecutableFile(atPath: binary), "\(binary) is not built")
        let directory = try TestFiles.makeDirectory("lattice-inject")
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try TestFiles.write(text, to: "\(directory)/in.yaml")
        return try ProcessRunner.run("/bin/sh", ["-c", "exec '\(binary)' \(arguments) < '\(directory)/in.yaml'"])
    }

    @Test func injectReadsStandardInputAndUninjectUndoesIt() throws {
        let injected = try Self.lattice("inject --manual -", stdin: InjectCommandTests.stream)
        #expect(injected.status == 0, "\(injected.stderr)")
        #expect(injected.stderr.contains("deployment/web injected"))
        #expect(injected.stderr.contains("pod/debug skipped: the pod uses hostNetwork"))
        #expect(injected.stdout.hasPrefix(InjectCommandTests.configMap))
        let uninjected = try Self.lattice("uninject -", stdin: injected.stdout)
        #expect(uninjected.status == 0, "\(uninjected.stderr)")
        #expect(try InjectCommandTests.objects(uninjected.stdout) == (try InjectCommandTests.objects(InjectCommandTests.stream)))
    }

    @Test func badInputExitsNonZeroAndWritesNothing() throws {
        let result = try Self.lattice("inject -", stdin: InjectCommandTests.deployment + "---\n- not an object\n")
        #expect(result.status != 0)
        #expect(result.stdout.isEmpty)
        #expect(result.stderr.contains("standard input, document 2: the document is a list, not a Kubernetes object; nothing was written"))
    }
}
