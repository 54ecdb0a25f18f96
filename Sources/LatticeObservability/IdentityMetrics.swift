import Metrics

/// The identity service's metrics, with a handle made up front for every label value.
///
/// - `lattice_identity_certificates_issued_total{result}`: each Certify call, `ok` or the refusal's code.
/// - `lattice_identity_signing_duration_seconds`: time to validate and sign a CSR, without authentication (histogram).
/// - `lattice_identity_issuer_expiration_timestamp_seconds`: the current issuer's notAfter (Unix seconds).
/// - `lattice_identity_issuer_reloads_total{result}`: changed issuer files validated: `ok`, or the refusal's code.
/// - `lattice_identity_issuer_ready`: 1 while a valid issuer is loaded.
public struct IdentityMetrics: Sendable {
    /// The `result` label values of issued certificates.
    public static let issueResults = [
        "ok", "unauthenticated", "identity_mismatch", "invalid_identity", "malformed_csr", "csr_too_large",
        "csr_signature_invalid", "unsupported_key", "wrong_san", "multiple_sans", "rate_limited", "issuer_unavailable",
        "authenticator_unavailable", "internal",
    ]
    /// The `result` label values of issuer reloads.
    public static let reloadResults = [
        "ok", "unreadable_file", "malformed_pem", "malformed_certificate", "malformed_key", "unsupported_key",
        "key_mismatch", "not_a_ca", "path_length_exceeded", "expired", "not_yet_valid", "untrusted", "other",
    ]

    private let issued: [String: Counter]
    private let reloads: [String: Counter]
    public let signingDuration: Metrics.Timer
    public let issuerExpiry: Gauge
    public let issuerReady: Gauge

    public init(factory: any MetricsFactory) {
        var issued: [String: Counter] = [:]
        for result in Self.issueResults {
            issued[result] = Counter(
                label: "lattice_identity_certificates_issued_total",
                dimensions: [("result", result)],
                factory: factory
            )
        }
        var reloads: [String: Counter] = [:]
        for result in Self.reloadResults {
            reloads[result] = Counter(
                label: "lattice_identity_issuer_reloads_total",
                dimensions: [("result", result)],
                factory: factory
            )
        }
        self.issued = issued
        self.reloads = reloads
        self.signingDuration = Metrics.Timer(label: "lattice_identity_signing_duration_seconds", factory: factory)
        self.issuerExpiry = Gauge(label: "lattice_identity_issuer_expiration_timestamp_seconds", factory: factory)
        self.issuerReady = Gauge(label: "lattice_identity_issuer_ready", factory: factory)
    }

    /// Counts one Certify outcome; an unknown result is counted as `internal`.
    public func countIssue(_ result: String) {
        (self.issued[result] ?? self.issued["internal"]!).increment()
    }

    /// Counts one issuer reload outcome; an unknown result is counted as `other`.
    public func countReload(_ result: String) {
        (self.reloads[result] ?? self.reloads["other"]!).increment()
    }
}
