import ArgumentParser
import FoundationEssentials
import LatticeIdentity
import LatticeModel

public enum OutputFormat: String, ExpressibleByArgument, Sendable {
    case table
    case json
}

/// `lattice certs inspect FILE…`: what each certificate says, and how long it has left.
public struct CertsInspectCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "inspect",
        abstract: "Show subject, issuer, SANs, serial, key, CA constraints, validity and fingerprint."
    )

    @Argument(help: "PEM files (certificates or bundles).")
    var files: [String]

    @Option(help: "table or json.")
    var format: OutputFormat = .table

    public init() {}

    public func run() throws {
        let now = Date()
        var all: [(file: String, summary: CertificateSummary)] = []
        for file in self.files {
            do {
                for certificate in try CertificateLoader.certificates(path: file) {
                    all.append((file, CertificateSummary(certificate, now: now)))
                }
            } catch {
                throw CLIError(error.reason)
            }
        }
        switch self.format {
        case .json:
            struct Entry: Encodable {
                let file: String
                let certificate: CertificateSummary
            }
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            encoder.dateEncodingStrategy = .iso8601
            let data = try encoder.encode(all.map { Entry(file: $0.file, certificate: $0.summary) })
            print(String(decoding: data, as: UTF8.self))
        case .table:
            for (index, entry) in all.enumerated() {
                if index > 0 { print("") }
                print(Self.render(entry.summary, file: entry.file))
            }
        }
    }

    static func render(_ s: CertificateSummary, file: String) -> String {
        let left =
            s.secondsLeft >= 0
            ? DurationText.format(.seconds(s.secondsLeft)) + " left"
            : "EXPIRED " + DurationText.format(.seconds(-s.secondsLeft)) + " ago"
        var lines = [
            "File:         \(file)",
            "Subject:      \(s.subject)",
            "Issuer:       \(s.issuer)",
            "Serial:       \(s.serial)",
            "Key:          \(s.keyType)",
            "CA:           \(s.isCA ? "yes" + (s.maxPathLength.map { ", pathlen \($0)" } ?? "") : "no")",
            "Not before:   \(s.notBefore.formatted(.iso8601))",
            "Not after:    \(s.notAfter.formatted(.iso8601)) (\(left))",
            "SHA-256:      \(s.sha256Fingerprint)",
        ]
        if !s.dnsNames.isEmpty { lines.insert("DNS SANs:     \(s.dnsNames.joined(separator: ", "))", at: 3) }
        if !s.uris.isEmpty { lines.insert("URI SANs:     \(s.uris.joined(separator: ", "))", at: 3) }
        return lines.joined(separator: "\n")
    }
}
