import Foundation

/// The iptables tools of one backend (nft or legacy) and family, run as processes.
public struct Firewall: Sendable {
    public enum Mode: String, CaseIterable, Sendable {
        case nft
        case legacy
    }

    public let mode: Mode
    public let family: RulePlan.Family

    public init(mode: Mode, family: RulePlan.Family) {
        self.mode = mode
        self.family = family
    }

    var prefix: String { self.family == .ipv4 ? "iptables" : "ip6tables" }
    public var saveTool: String { "\(self.prefix)-\(self.mode.rawValue)-save" }
    public var restoreTool: String { "\(self.prefix)-\(self.mode.rawValue)-restore" }

    /// `… -save -t TABLE`.
    public func save(table: String) throws(InitError) -> String {
        let result = try Self.run(self.saveTool, ["-t", table], input: nil)
        guard result.status == 0 else { throw Self.failure(self.saveTool, result) }
        return result.stdout
    }

    /// `… -restore --noflush -w 5` with `script`.
    public func restore(_ script: String) throws(InitError) {
        let result = try Self.run(self.restoreTool, ["--noflush", "-w", "5"], input: script)
        guard result.status == 0 else { throw Self.failure(self.restoreTool, result) }
    }

    /// Picks the backend as Linkerd's proxy-init does: the one that already holds rules in this namespace (the
    /// node's kube-proxy mode shows there), else nft when its tools exist, else legacy.
    public static func detect() throws(InitError) -> Mode {
        func ruleCount(_ mode: Mode) -> Int? {
            guard Self.locate("iptables-\(mode.rawValue)-save") != nil,
                let result = try? Self.run("iptables-\(mode.rawValue)-save", [], input: nil), result.status == 0
            else { return nil }
            return result.stdout.split(separator: "\n").filter { $0.hasPrefix("-A ") }.count
        }
        let legacy = ruleCount(.legacy)
        let nft = ruleCount(.nft)
        if let legacy, legacy > 0, (nft ?? 0) == 0 { return .legacy }
        if nft != nil { return .nft }
        if legacy != nil { return .legacy }
        throw InitError("neither iptables-nft nor iptables-legacy is installed (Debian: apt-get install iptables)")
    }

    struct Output {
        var status: Int32
        var stdout: String
        var stderr: String
    }

    static func locate(_ tool: String) -> String? {
        for directory in ["/usr/sbin", "/sbin", "/usr/bin", "/bin"] {
            let path = "\(directory)/\(tool)"
            if FileManager.default.isExecutableFile(atPath: path) { return path }
        }
        return nil
    }

    static func run(_ tool: String, _ arguments: [String], input: String?) throws(InitError) -> Output {
        guard let path = self.locate(tool) else {
            throw InitError("\(tool) not found (Debian: apt-get install iptables)")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: path)
        process.arguments = arguments
        let stdout = Pipe()
        let stderr = Pipe()
        let stdin = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = stdin
        do {
            try process.run()
        } catch {
            throw InitError("cannot run \(path): \(error)")
        }
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
        let out = stdout.fileHandleForReading.readDataToEndOfFile()
        let err = stderr.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        return Output(
            status: process.terminationStatus,
            stdout: String(decoding: out, as: UTF8.self),
            stderr: String(decoding: err, as: UTF8.self)
        )
    }

    static func failure(_ tool: String, _ result: Output) -> InitError {
        let text = result.stderr.trimmingCharacters(in: .whitespacesAndNewlines)
        if text.contains("Permission denied") || text.contains("Operation not permitted") || text.contains("you must be root") {
            return InitError(
                "\(tool): not permitted (\(text)). lattice-init needs the NET_ADMIN and NET_RAW capabilities in the "
                    + "pod's network namespace: add them to the init container's securityContext.capabilities, or run it as root"
            )
        }
        return InitError("\(tool) failed (exit \(result.status)): \(text)")
    }
}
