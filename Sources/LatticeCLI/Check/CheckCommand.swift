import ArgumentParser
import Crypto
import Foundation
import GRPCCore
import GRPCNIOTransportHTTP2
import LatticeAPI
import LatticeIdentity
import LatticeKube
import LatticeModel
import X509

/// `lattice check`: the runbook's Step 5. Categories of checks, each a statement that holds or not, fatal or a
/// warning, with a hint; a table or JSON; a non-zero exit when a fatal check fails. Local mode: the mesh `lattice
/// demo` runs (its demo.json); `--kubernetes`: the cluster of the current kubeconfig context.
struct CheckCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Check certificates, the control plane and every proxy of a local mesh."
    )

    @OptionGroup var mesh: MeshOptions

    @Option(help: "Warn when a certificate expires within this many days.")
    var expiryWarningDays: Int = 60

    @Flag(help: "Check the mesh on a Kubernetes cluster (the current kubeconfig context, or --kubeconfig) instead of a local mesh.")
    var kubernetes = false

    @Option(help: "Kubeconfig for --kubernetes (default: $KUBECONFIG, then ~/.kube/config).")
    var kubeconfig: String?

    @Option(help: "Kubeconfig context for --kubernetes (default: the current one).")
    var context: String?

    @Option(help: "The control plane's namespace (with --kubernetes).")
    var controlPlaneNamespace: String = "lattice"

    func validate() throws {
        guard self.expiryWarningDays >= 0 else { throw ValidationError("--expiry-warning-days must be 0 or more") }
        if !self.kubernetes && (self.kubeconfig != nil || self.context != nil) {
            throw ValidationError("--kubeconfig and --context only apply with --kubernetes")
        }
    }

    func run() async throws {
        let window = TimeInterval(self.expiryWarningDays) * 86400
        let results: [CheckResult]
        if self.kubernetes {
            let config: KubernetesClientConfig
            do {
                config = try KubernetesClientConfig.kubeconfig(path: self.kubeconfig, context: self.context)
            } catch {
                let reason = (error as? KubernetesError)?.reason ?? "\(error)"
                throw CLIError("lattice check --kubernetes: no cluster to check: \(reason); point --kubeconfig (or $KUBECONFIG) at one, or pick a context with --context")
            }
            let client = try KubernetesClient(config: config)
            var names = KubernetesChecks.Names()
            names.namespace = self.controlPlaneNamespace
            results = await KubernetesChecks(reader: client, names: names, warningWindow: window, now: Date()).run()
            try? await client.shutdown()
        } else {
            results = await MeshChecks(manifest: try self.mesh.manifest(), warningWindow: window).run()
        }
        try self.report(results)
    }

    func report(_ results: [CheckResult]) throws {
        if self.mesh.json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: try encoder.encode(results), as: UTF8.self))
        } else {
            var category = ""
            for result in results {
                if result.category != category {
                    category = result.category
                    print("\n\(category)\n\(String(repeating: "-", count: category.count))")
                }
                let mark = result.passed ? "√" : (result.fatal ? "×" : "‼")
                print("\(mark) \(result.statement)")
                if !result.passed {
                    print("    \(result.detail)")
                    if let hint = result.hint { print("    see: \(hint)") }
                }
            }
            let failed = results.filter { !$0.passed && $0.fatal }.count
            let warned = results.filter { !$0.passed && !$0.fatal }.count
            print("\nStatus check results are \(failed == 0 ? "√" : "×") (\(results.count) checks, \(failed) failed, \(warned) warnings)")
        }
        if results.contains(where: { !$0.passed && $0.fatal }) { throw ExitCode(1) }
    }
}

/// One check's outcome.
struct CheckResult: Codable, Sendable {
    var category: String
    var statement: String
    var passed: Bool
    var fatal: Bool
    var detail: String
    var hint: String?
}

/// The local mesh's checks.
struct MeshChecks {
    let manifest: DemoManifest
    let warningWindow: TimeInterval

    func run() async -> [CheckResult] {
        var results: [CheckResult] = []
        func add(_ category: String, _ statement: String, fatal: Bool = true, hint: String? = nil, _ body: () async throws -> String?) async {
            do {
                if let problem = try await body() {
                    results.append(CheckResult(category: category, statement: statement, passed: false, fatal: fatal, detail: problem, hint: hint))
                } else {
                    results.append(CheckResult(category: category, statement: statement, passed: true, fatal: fatal, detail: "", hint: nil))
                }
            } catch {
                results.append(CheckResult(category: category, statement: statement, passed: false, fatal: fatal, detail: "\(error)", hint: hint))
            }
        }
        let now = Date()
        let certificates = "lattice-certificates"
        var anchors: TrustBundle?
        var issuer: Certificate?
        await add(certificates, "trust anchors are valid CA certificates", hint: "lattice certs create … --profile root-ca") {
            let bundle = try TrustBundle.load(path: self.manifest.trustAnchors)
            anchors = bundle
            for anchor in bundle.anchors {
                guard anchor.caConstraint.isCA else { return "\(anchor.subject) is not a CA" }
                guard anchor.notValidBefore <= now, anchor.notValidAfter > now else { return "\(anchor.subject) is not valid now" }
            }
            return nil
        }
        await add(certificates, "trust anchors use ECDSA P-256") {
            guard let anchors else { return "no trust anchors loaded" }
            let other = anchors.anchors.filter { !Self.isP256($0) }
            return other.isEmpty ? nil : "\(other.map { "\($0.subject)" }) use another key type"
        }
        await add(certificates, "trust anchors are valid for at least \(Int(self.warningWindow / 86400)) days", fatal: false, hint: "docs/certs.md (anchor rotation: add new, roll issuer, remove old)") {
            guard let anchors else { return "no trust anchors loaded" }
            let soon = anchors.anchors.filter { $0.notValidAfter.timeIntervalSince(now) < self.warningWindow }
            return soon.isEmpty ? nil : "expiring soon: \(soon.map { "\($0.subject) (\($0.notValidAfter))" })"
        }
        await add(certificates, "issuer certificate is a valid CA signed by a trust anchor", hint: "lattice certs verify ISSUER --anchors ANCHORS") {
            let chain = try CertificateLoader.certificates(path: self.manifest.issuerCertificate)
            guard let first = chain.first, let anchors else { return "no issuer certificate or no anchors" }
            issuer = first
            guard first.caConstraint.isCA else { return "the issuer is not a CA" }
            guard first.notValidBefore <= now, first.notValidAfter > now else { return "the issuer is not valid now (\(first.notValidBefore) – \(first.notValidAfter))" }
            let signed = anchors.anchors.contains { anchor in
                first.issuer == anchor.subject && anchor.publicKey.isValidSignature(first.signature, for: first)
            }
            return signed ? nil : "the issuer is not signed by any trust anchor"
        }
        await add(certificates, "issuer certificate uses ECDSA P-256") {
            guard let issuer else { return "no issuer loaded" }
            return Self.isP256(issuer) ? nil : "the issuer uses another key type"
        }
        await add(certificates, "issuer certificate is valid for at least \(Int(self.warningWindow / 86400)) days", fatal: false, hint: "runbook: issuer renewal (lattice certs create … --profile intermediate-ca)") {
            guard let issuer else { return "no issuer loaded" }
            let left = issuer.notValidAfter.timeIntervalSince(now)
            return left >= self.warningWindow ? nil : "the issuer expires \(issuer.notValidAfter) (in \(Int(left / 86400)) days)"
        }

        let control = "lattice-control-plane"
        var controllerVersion: String?
        await add(control, "controller is ready", hint: "the controller's log: \(self.manifest.controller.log)") {
            let status = try await AdminProbe.status(self.manifest.controller.admin, "/ready")
            controllerVersion = try await AdminProbe.metricLabel(self.manifest.controller.admin, "lattice_build_info", label: "version")
            return status == 200 ? nil : "/ready answered \(status)"
        }
        let client = ControlPlaneProbe(manifest: self.manifest)
        await add(control, "identity API answers over TLS with the controller's identity") { try await client.identity() }
        let sample = self.manifest.workloads.first { $0.app != nil }
        await add(control, "destination API answers") {
            guard let sample, let service = sample.app?.address else { return "no workload to ask about" }
            return try await client.destination(target: service)
        }
        await add(control, "policy API answers") {
            guard let sample else { return "no workload to ask about" }
            return try await client.policy(namespace: sample.namespace, workload: sample.name)
        }

        let data = "lattice-data-plane"
        let proxies = self.manifest.workloads.compactMap { w in w.proxy.map { (w, $0) } }
        await add(data, "every proxy is ready", hint: "each proxy's log in \(self.manifest.state)/logs") {
            var problems: [String] = []
            for (w, proxy) in proxies {
                let status = (try? await AdminProbe.status(proxy.admin, "/ready")) ?? 0
                if status != 200 { problems.append("\(w.name) (\(status == 0 ? "unreachable" : "\(status)"))") }
            }
            return problems.isEmpty ? nil : "not ready: \(problems.joined(separator: ", "))"
        }
        await add(data, "every proxy's certificate chains to a current trust anchor and carries its identity") {
            guard let anchors else { return "no trust anchors loaded" }
            var problems: [String] = []
            for (w, proxy) in proxies {
                if let problem = await ProxyCertificateProbe.check(inbound: proxy.inbound, identity: w.identity, anchors: anchors, now: now) {
                    problems.append("\(w.name): \(problem)")
                }
            }
            return problems.isEmpty ? nil : problems.joined(separator: "; ")
        }
        await add(data, "no proxy certificate is near expiry (more than 10 % of its life left)", fatal: false) {
            var problems: [String] = []
            for (w, proxy) in proxies {
                guard let expiry = try? await AdminProbe.metric(proxy.admin, "identity_cert_expiration_timestamp_seconds"), expiry > 0 else {
                    problems.append("\(w.name): no certificate expiry reported")
                    continue
                }
                if expiry - now.timeIntervalSince1970 < 0.1 * 86400 { problems.append("\(w.name): expires \(Date(timeIntervalSince1970: expiry))") }
            }
            return problems.isEmpty ? nil : problems.joined(separator: "; ")
        }
        await add(data, "no proxy is older than the controller", hint: "restart the workloads so they get the current proxy") {
            guard let controllerVersion else { return "the controller's version is unknown" }
            var problems: [String] = []
            for (w, proxy) in proxies {
                let version = try? await AdminProbe.metricLabel(proxy.admin, "lattice_build_info", label: "version")
                guard let version else {
                    problems.append("\(w.name): version unknown")
                    continue
                }
                if LatticeVersion.isOlder(version, than: controllerVersion) != false {
                    problems.append("\(w.name) runs \(version), the controller \(controllerVersion)")
                }
            }
            return problems.isEmpty ? nil : problems.joined(separator: "; ")
        }
        return results
    }

    static func isP256(_ certificate: Certificate) -> Bool {
        P256.Signing.PublicKey(certificate.publicKey) != nil
    }
}
