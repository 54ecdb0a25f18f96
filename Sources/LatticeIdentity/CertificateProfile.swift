/// The kinds of certificate Lattice makes, matching `step certificate create --profile …` so certificates made
/// by either tool work with both.
public enum CertificateProfile: String, CaseIterable, Sendable {
    /// Self-signed trust anchor: CA, pathlen 1, keyCertSign + cRLSign. Default lifetime 10 years.
    case rootCA = "root-ca"
    /// Issuer: CA, pathlen 0, signed by a root. Default lifetime one year (the runbook's `--not-after 8760h`).
    case intermediateCA = "intermediate-ca"
    /// Workload certificate: end entity, digitalSignature, serverAuth + clientAuth. Default lifetime 24 h.
    case leaf

    /// The lifetime used when none is given.
    public var defaultLifetime: Duration {
        switch self {
        case .rootCA: return .seconds(10 * 365 * 86_400)
        case .intermediateCA: return .seconds(365 * 86_400)
        case .leaf: return .seconds(86_400)
        }
    }

    /// The path length constraint a CA of this profile carries.
    public var maxPathLength: Int? {
        switch self {
        case .rootCA: return 1
        case .intermediateCA: return 0
        case .leaf: return nil
        }
    }
}
