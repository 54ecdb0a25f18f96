import LatticeIdentity
import LatticeInjector
import Synchronization

/// The last ``PodInjector`` built, reused while the configuration it was built for is the one in force.
final class InjectorCache: Sendable {
    private struct Entry {
        var config: MeshConfig
        var nativeSidecar: Bool
        var injector: PodInjector
    }

    private let entry = Mutex<Entry?>(nil)
    private let digest = Mutex<(bundle: TrustBundle, digest: String)?>(nil)

    /// The bundle's digest, computed once per bundle (anchors change on rotation, reviews come with every pod).
    func digest(of bundle: TrustBundle) -> String {
        self.digest.withLock { cached in
            if let cached, cached.bundle == bundle { return cached.digest }
            let digest = bundle.digest
            cached = (bundle, digest)
            return digest
        }
    }

    func injector(for config: MeshConfig, nativeSidecar: Bool) -> PodInjector {
        self.entry.withLock { entry in
            if let current = entry, current.nativeSidecar == nativeSidecar, current.config == config {
                return current.injector
            }
            let injector = PodInjector(config: config, nativeSidecar: nativeSidecar)
            entry = Entry(config: config, nativeSidecar: nativeSidecar, injector: injector)
            return injector
        }
    }
}
