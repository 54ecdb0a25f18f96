import LatticeKubeDiscovery
import ServiceLifecycle

/// Runs the Kubernetes discovery backend (list and watch of Pods, Services, EndpointSlices and Namespaces) in the
/// controller's service group, until shutdown.
struct KubernetesDiscoveryService: Service {
    let backend: KubernetesDiscoveryBackend

    func run() async throws {
        try await cancelWhenGracefulShutdown {
            try await self.backend.run()
        }
    }
}
