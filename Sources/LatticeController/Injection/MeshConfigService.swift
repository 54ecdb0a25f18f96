import FoundationEssentials
import LatticeInjector
import LatticeKube
import Logging
import ServiceLifecycle
import Synchronization

/// The mesh configuration the injector works from, kept current.
///
/// The base is the `config.yaml` of the `lattice-config` ConfigMap, mounted as a file (`--mesh-config`); in
/// Kubernetes mode the `inject:` selections of every ConfigMap labelled `lattice.io/mesh-config=true` are added, each
/// only for its own namespace (what the `akko-mtls` chart renders). Both are read again every interval: the file
/// changes when the kubelet refreshes the mount, the labelled ConfigMaps are listed (a cheap, label-selected list
/// served from the API server's cache). A document that can't be read is reported and the last good configuration
/// stays in force.
public final class MeshConfigService: Service, Sendable {
    public static let configMapsPath = "/api/v1/configmaps"

    private let path: String?
    private let api: (any KubernetesAPI)?
    private let interval: Duration
    private let logger: Logger
    private let state: Mutex<MeshConfig>
    private let base: Mutex<MeshConfig>

    /// Reads the file once, so a broken configuration fails the controller's start with its reason.
    public init(path: String?, api: (any KubernetesAPI)?, interval: Duration, logger: Logger) throws(MeshConfigError) {
        self.path = path
        self.api = api
        self.interval = interval
        self.logger = logger
        let initial = try path.map { path throws(MeshConfigError) in try Self.read(path) } ?? MeshConfig()
        self.state = Mutex(initial)
        self.base = Mutex(initial)
    }

    /// The configuration in force now.
    public var current: MeshConfig { self.state.withLock { $0 } }

    public func run() async throws {
        await self.refresh()
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            try? await Task.sleep(for: self.interval)
            await self.refresh()
        }
    }

    /// Reads the file and the labelled ConfigMaps once and installs the result.
    public func refresh() async {
        if let path = self.path {
            do {
                let config = try Self.read(path)
                self.base.withLock { $0 = config }
            } catch {
                self.logger.warning("the mesh configuration file is unusable; keeping the last good one", metadata: ["error.message": "\(error)"])
            }
        }
        var selections: [(namespace: String, selection: MeshConfig.InjectionSelection)] = []
        if let api = self.api {
            do {
                let list = try await api.list(
                    Self.configMapsPath,
                    of: ConfigMap.self,
                    options: ListOptions(labelSelector: "\(MeshConfig.selectionLabel)=true")
                )
                // `lattice-config` itself carries the label too; it is the base, read from the mounted file.
                for item in list.items where item.metadata.name != MeshConfig.configMapName {
                    let name = "\(item.metadata.namespace ?? "?")/\(item.metadata.name ?? "?")"
                    guard let namespace = item.metadata.namespace, let text = item.data?[MeshConfig.configMapKey] else {
                        self.logger.warning("a labelled ConfigMap has no \(MeshConfig.configMapKey); ignored", metadata: ["k8s.configmap": "\(name)"])
                        continue
                    }
                    do {
                        selections.append((namespace, try MeshConfig.parse(text, source: "configmap \(name)").inject))
                    } catch {
                        self.logger.warning("a labelled ConfigMap is unusable; ignored", metadata: ["error.message": "\(error)"])
                    }
                }
            } catch {
                // Keep the selections in force: an API outage must not un-select workloads.
                self.logger.warning("cannot list the mesh-config ConfigMaps; keeping the last ones", metadata: ["error.message": "\(error)"])
                return
            }
        }
        let merged = self.base.withLock { $0 }.adding(selections: selections)
        let changed = self.state.withLock { state in
            defer { state = merged }
            return state != merged
        }
        if changed {
            self.logger.info(
                "mesh configuration loaded",
                metadata: [
                    "lattice.inject.namespaces": "\(merged.inject.namespaces.joined(separator: ","))",
                    "lattice.inject.services": "\(merged.inject.services.map { "\($0.namespace ?? "*")/\($0.name)" }.joined(separator: ","))",
                ]
            )
        }
    }

    static func read(_ path: String) throws(MeshConfigError) -> MeshConfig {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw MeshConfigError(source: path, reason: "cannot read it (\(error)); mount the lattice-config ConfigMap there or drop --mesh-config")
        }
        let config = try MeshConfig.parse(text, source: path)
        // The injector trusts its configuration: one that would give pods a proxy that can't start is refused here.
        let problems = config.problems
        guard problems.isEmpty else { throw MeshConfigError(source: path, reason: problems.joined(separator: "; ")) }
        return config
    }
}
