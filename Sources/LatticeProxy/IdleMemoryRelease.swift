import Glibc
import Logging
import ServiceLifecycle

/// Gives memory back once the proxy has been idle for a while: the code pages the traffic brought back
/// (`MADV_DONTNEED` on the binary's read-execute mapping, as ``StartupPageRelease`` does after start) and the heap's
/// free pages (`malloc_trim`).
///
/// Most sidecars on a node are idle most of the time, yet each keeps the code its last burst of traffic touched:
/// measured, ~11 MB after start grows to ~26 MB after a varied load and stays there. Every `idleAfter` this compares
/// the proxy's activity (connections accepted plus HTTP requests seen); unchanged for a whole period, it gives back
/// (again at each idle period: what ran meanwhile, such as pooled connections expiring, brought pages back). A busy
/// proxy never does; one whose only traffic is long-lived opaque streams does, and refaults the few hundred pages of
/// code it runs from the page cache (minor faults). `LATTICE_PROXY_IDLE_RELEASE_AFTER` sets the
/// period; `0s` turns it off.
struct IdleMemoryRelease: Service {
    let activity: @Sendable () -> Int
    let idleAfter: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            var last = self.activity()
            while (try? await Task.sleep(for: self.idleAfter)) != nil {
                let now = self.activity()
                guard now == last else {
                    last = now
                    continue
                }
                let before = ProcessMemory.residentKiB()
                let released = ProcessMemory.releaseCodePages()
                ProcessMemory.trimHeap()
                let after = ProcessMemory.residentKiB()
                if before - after >= 256 {
                    self.logger.debug(
                        "idle: memory given back",
                        metadata: ["lattice.mappings": "\(released)", "lattice.rss_kib_before": "\(before)", "lattice.rss_kib_after": "\(after)"]
                    )
                }
            }
        }
    }
}
