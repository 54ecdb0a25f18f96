import Logging

#if canImport(Glibc)
import Glibc
#endif

/// The `lattice-proxy` entry point: configuration from the environment, one log line per problem, exit 2 on a
/// configuration error (so a misconfigured sidecar fails its pod visibly instead of running half-configured).
public enum ProxyMain {
    public static func run() async {
        var environment: [String: String] = [:]
        var pointer = environ
        while let entry = pointer.pointee {
            let text = String(cString: entry)
            if let eq = text.firstIndex(of: "=") {
                environment[String(text[..<eq])] = String(text[text.index(after: eq)...])
            }
            pointer += 1
        }
        if CommandLine.arguments.dropFirst().first == "await-ready" {
            exit(AwaitReady.run(environment: environment))
        }
        let config: ProxyConfig
        do {
            config = try ProxyConfig(environment: environment)
        } catch {
            let line = Array("lattice-proxy: configuration error: \(error)\n".utf8)
            _ = line.withUnsafeBytes { write(2, $0.baseAddress, $0.count) }
            exit(2)
        }
        let level = Logger.Level(rawValue: config.logLevel) ?? .info
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = level
            return handler
        }
        let logger = Logger(label: "lattice.proxy")
        do {
            try await ProxyRuntime(config: config, logger: logger).run()
        } catch {
            logger.critical("lattice-proxy stopped: \(error)")
            exit(1)
        }
    }
}
