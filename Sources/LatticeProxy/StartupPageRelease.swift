import Glibc
import Logging
import ServiceLifecycle

/// Gives back the code pages only start-up used, once the proxy is ready.
///
/// A sidecar's resident memory is mostly its own binary's code pages (the static Swift runtime, BoringSSL, NIO):
/// argument and certificate parsing, TLS context set-up and the first handshakes touch far more code than the data path
/// runs afterwards, and the kernel's fault-around maps whole neighbourhoods of it. Once ready (plus a settle time),
/// this drops the executable's read-execute mapping (its code and constants, one segment) with `MADV_DONTNEED`: those
/// are clean copies of the file, still in the page cache (shared with every other proxy on the node), so whatever runs
/// again comes back with a minor fault and only the working set stays resident. Nothing relocated is touched: the
/// binary has no text relocations, and the RELRO and writable mappings are left alone (dropping them would undo
/// the start-up relocations).
/// `LATTICE_PROXY_RELEASE_STARTUP_PAGES=false` turns it off.
struct StartupPageRelease: Service {
    let isReady: @Sendable () -> Bool
    let settle: Duration
    let logger: Logger

    func run() async throws {
        await cancelWhenGracefulShutdown {
            while !self.isReady() {
                guard (try? await Task.sleep(for: .milliseconds(100))) != nil else { return }
            }
            guard (try? await Task.sleep(for: self.settle)) != nil else { return }
            let before = ProcessMemory.residentKiB()
            let released = ProcessMemory.releaseCodePages()
            self.logger.debug(
                "start-up code pages released",
                metadata: ["lattice.mappings": "\(released)", "lattice.rss_kib_before": "\(before)", "lattice.rss_kib_after": "\(ProcessMemory.residentKiB())"]
            )
            // The service's work is done; it must not end the group, so it waits for shutdown.
            try? await gracefulShutdown()
        }
    }
}
