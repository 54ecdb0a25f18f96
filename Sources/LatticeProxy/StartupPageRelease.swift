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
            let before = Self.residentKiB()
            let released = Self.releaseExecutablePages()
            self.logger.debug(
                "start-up code pages released",
                metadata: ["lattice.mappings": "\(released)", "lattice.rss_kib_before": "\(before)", "lattice.rss_kib_after": "\(Self.residentKiB())"]
            )
            // The service's work is done; it must not end the group, so it waits for shutdown.
            try? await gracefulShutdown()
        }
    }

    /// `MADV_DONTNEED` on the executable's read-execute mapping; returns how many mappings were released.
    static func releaseExecutablePages() -> Int {
        guard let executable = Self.executablePath(), let maps = Self.read("/proc/self/maps") else { return 0 }
        var released = 0
        for line in maps.split(separator: "\n") {
            let fields = line.split(separator: " ", omittingEmptySubsequences: true)
            // address perms offset dev inode path
            guard fields.count >= 6, String(fields[5...].joined(separator: " ")) == executable else { continue }
            let permissions = fields[1]
            // Code only: a read-only data mapping may be RELRO (relocated at start, then made read-only), whose
            // private copy must not be dropped.
            guard permissions == "r-xp" else { continue }
            let bounds = fields[0].split(separator: "-")
            guard bounds.count == 2, let start = UInt(bounds[0], radix: 16), let end = UInt(bounds[1], radix: 16), end > start,
                let address = UnsafeMutableRawPointer(bitPattern: start)
            else { continue }
            if madvise(address, Int(end - start), MADV_DONTNEED) == 0 { released += 1 }
        }
        return released
    }

    static func executablePath() -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        let count = readlink("/proc/self/exe", &buffer, buffer.count - 1)
        guard count > 0 else { return nil }
        return String(decoding: buffer[0..<count].map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    static func residentKiB() -> Int {
        guard let status = Self.read("/proc/self/status") else { return 0 }
        let line = status.split(separator: "\n").first { $0.hasPrefix("VmRSS:") }
        return line.flatMap { $0.split(separator: " ", omittingEmptySubsequences: true).dropFirst().first }.flatMap { Int($0) } ?? 0
    }

    static func read(_ path: String) -> String? {
        guard let file = fopen(path, "r") else { return nil }
        defer { fclose(file) }
        var text: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let count = fread(&chunk, 1, chunk.count, file)
            if count <= 0 { break }
            text += chunk[0..<count]
        }
        return String(decoding: text, as: UTF8.self)
    }
}
