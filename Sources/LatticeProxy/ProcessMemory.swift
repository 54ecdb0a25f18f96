import Glibc

/// The process's own memory, as the proxy's memory services see and give it back: resident size, the binary's code
/// pages (clean copies of the file, refaulted from the page cache when they run again) and the heap's free pages.
enum ProcessMemory {
    /// `MADV_DONTNEED` on the executable's read-execute mapping; returns how many mappings were released.
    static func releaseCodePages() -> Int {
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

    private static func executablePath() -> String? {
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

    private static func read(_ path: String) -> String? {
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

    /// glibc's `malloc_trim`, looked up at run time: it is declared in <malloc.h>, which the Glibc module doesn't
    /// export. Absent (another C library), nothing is trimmed.
    private static let mallocTrim: (@convention(c) (Int) -> Int32)? = {
        guard let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "malloc_trim") else { return nil }
        return unsafeBitCast(symbol, to: (@convention(c) (Int) -> Int32).self)
    }()

    /// `malloc_trim(0)`: every wholly free page of every arena back to the kernel (`MADV_DONTNEED`).
    static func trimHeap() {
        _ = Self.mallocTrim?(0)
    }
}
