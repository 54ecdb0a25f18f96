import ArgumentParser
import Foundation
import LatticeInjector
import Yams

/// `lattice inject FILE…`: opts the workloads of manifests into the mesh, printing the manifests to stdout and one
/// line per workload to stderr.
public struct InjectCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "inject",
        abstract: "Add Lattice to the workloads of Kubernetes manifests (YAML or JSON; '-' reads stdin).",
        discussion: """
            By default each pod template gets the annotation lattice.io/inject: enabled, and the webhook adds the \
            sidecar when the pods are created. --manual adds the lattice-init and lattice-proxy containers here \
            instead. Documents that are not workloads (Deployment, StatefulSet, DaemonSet, Job, CronJob, ReplicaSet, \
            Pod) are written back exactly as they were.
            """
    )

    @Argument(help: "Manifest files, or - for standard input.")
    var files: [String]

    @Flag(help: "Add the sidecar containers now, instead of the annotation the webhook acts on.")
    var manual = false

    @Option(help: "With --manual: a mesh config YAML file (the lattice-config ConfigMap's config.yaml); default: the defaults.")
    var config: String?

    @Flag(help: "With --manual: add the proxy as a native sidecar (Kubernetes ≥ 1.29); default: the config's proxy.nativeSidecar (auto means classic here).")
    var nativeSidecar = false

    public init() {}

    public func validate() throws {
        if !self.manual && (self.config != nil || self.nativeSidecar) {
            throw ValidationError("--config and --native-sidecar only apply with --manual")
        }
    }

    public func run() throws {
        let result = try self.execute(read: ManifestInput.read)
        FileHandle.standardError.write(Data(result.reports.utf8))
        FileHandle.standardOutput.write(Data(result.output.utf8))
    }

    /// The output and report text for the inputs `read` gives; nothing is written on error.
    public func execute(read: (String) throws -> String) throws -> (output: String, reports: String) {
        let operation: ManifestTransformer.Operation
        if self.manual {
            var mesh = MeshConfig()
            if let path = self.config {
                let text = try read(path)
                do {
                    mesh = try YAMLDecoder().decode(MeshConfig.self, from: text)
                } catch {
                    throw CLIError("--config \(path): not a mesh config: \(error)")
                }
                let problems = mesh.problems
                if !problems.isEmpty {
                    throw CLIError("--config \(path): \(problems.joined(separator: "; "))")
                }
            }
            let native = self.nativeSidecar || mesh.proxy.nativeSidecar.isNative(clusterSupportsNativeSidecars: false)
            operation = .manual(PodInjector(config: mesh, nativeSidecar: native))
        } else {
            operation = .annotate
        }
        return try ManifestInput.transform(self.files, with: ManifestTransformer(operation: operation), read: read)
    }
}
