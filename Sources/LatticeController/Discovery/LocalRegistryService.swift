import FoundationEssentials
import LatticeDiscovery
import Logging
import ServiceLifecycle

/// The local discovery backend: reads the registry file, publishes it, and re-reads it whenever it changes (polled,
/// like the issuer files). A file that cannot be used is reported with what is wrong and where; the last good
/// registry stays in force, so a typo never empties the mesh.
public struct LocalRegistryService: Service {
    private let path: String
    private let store: DiscoveryStore
    private let interval: Duration
    private let metrics: DiscoveryMetrics
    private let logger: Logger

    public init(path: String, store: DiscoveryStore, interval: Duration, metrics: DiscoveryMetrics, logger: Logger) {
        self.path = path
        self.store = store
        self.interval = interval
        self.metrics = metrics
        self.logger = logger
    }

    /// Reads and parses the file once (the command checks it before starting, so a bad first file is a clear error).
    public static func load(path: String) throws(RegistryError) -> MeshSnapshot {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw RegistryError("\(path): cannot read the registry file")
        }
        do {
            return try LocalRegistry.parse(String(decoding: data, as: UTF8.self))
        } catch {
            throw RegistryError("\(path): \(error.reason)")
        }
    }

    public func run() async throws {
        var lastContents: Data?
        var wasUnreadable = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            if let data = FileManager.default.contents(atPath: self.path) {
                wasUnreadable = false
                if data != lastContents {
                    lastContents = data
                    do {
                        let snapshot = try LocalRegistry.parse(String(decoding: data, as: UTF8.self))
                        self.metrics.registryOK.increment()
                        if self.store.publish(snapshot) { self.metrics.snapshots.increment() }
                        self.logger.info(
                            "registry loaded",
                            metadata: ["path": "\(self.path)", "workloads": "\(snapshot.workloads.count)", "services": "\(snapshot.services.count)"]
                        )
                    } catch {
                        self.metrics.registryInvalid.increment()
                        self.logger.error(
                            "registry file refused; the last good one stays in force",
                            metadata: ["path": "\(self.path)", "reason": "\(error.reason)"]
                        )
                    }
                }
            } else if !wasUnreadable {
                wasUnreadable = true
                self.metrics.registryUnreadable.increment()
                self.logger.warning("registry file unreadable; the last good one stays in force", metadata: ["path": "\(self.path)"])
            }
            try? await Task.sleep(for: self.interval)
        }
    }
}
