import ArgumentParser
import Foundation
import LatticeCommandLine
import LatticePolicy

/// `lattice-init`: installs (or, with `--uninstall`, removes) the rules that send a pod's TCP through its proxy.
/// Every flag may instead come from `LATTICE_INIT_<FLAG>` (e.g. `LATTICE_INIT_SKIP_INBOUND_PORTS`), which is how the
/// injector passes the pod's annotations; a flag wins over its variable.
public struct InitCommand: ParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lattice-init",
        abstract: "Redirect a pod's TCP through its lattice-proxy (iptables, nft or legacy backend)."
    )

    @Option(help: "The proxy's inbound port.") var inboundPort: Int?
    @Option(help: "The proxy's outbound port.") var outboundPort: Int?
    @Option(help: "The proxy's UID: its own connections are never redirected.") var proxyUid: Int?
    @Option(help: "The proxy's own ports, never redirected inbound (default 4190,4191).") var proxyPorts: String?
    @Option(help: "Inbound ports that bypass the proxy (ports and ranges: 22,8000-8010).") var skipInboundPorts: String?
    @Option(help: "Outbound ports that bypass the proxy.") var skipOutboundPorts: String?
    @Option(help: "Destination CIDRs that bypass the proxy (comma-separated).") var skipSubnets: String?
    @Option(help: "IPv6 TCP: redirect (same rules in ip6tables), drop (the default: nothing bypasses the proxy unencrypted) or off.")
    var ipv6: String?
    @Option(help: "iptables backend: auto (the one already holding rules, else nft), nft or legacy.") var mode: String?
    @Flag(help: "Print the rules it would install (or remove) and change nothing.") var dryRun = false
    @Flag(help: "Remove exactly Lattice's rules (rollback), leaving everything else.") var uninstall = false

    public init() {}

    public func run() throws {
        let environment = ProcessInfo.processInfo.environment
        let settings: InterceptionSettings
        let mode: Firewall.Mode
        do throws(InitError) {
            settings = try self.settings(environment: environment)
            mode = try self.firewallMode(environment: environment)
        } catch {
            throw ValidationError(error.reason)
        }
        if !self.dryRun {
            try Self.requireNetAdmin()
        }
        let families: [RulePlan.Family] = settings.ipv6 == .off ? [.ipv4] : [.ipv4, .ipv6]
        for family in families {
            let firewall = Firewall(mode: mode, family: family)
            if family == .ipv6 && Firewall.locate(firewall.restoreTool) == nil {
                throw CLIFailure("\(firewall.restoreTool) not found: IPv6 can't be handled, and --ipv6 \(settings.ipv6.rawValue) needs it (use --ipv6 off only where the pod has no IPv6)")
            }
            try self.apply(settings, firewall: firewall)
        }
    }

    private func apply(_ settings: InterceptionSettings, firewall: Firewall) throws {
        let label = "\(firewall.mode.rawValue) \(firewall.family == .ipv4 ? "IPv4" : "IPv6")"
        let redirects = firewall.family == .ipv4 || settings.ipv6 == .redirect
        var scripts: [(table: String, script: String)] = []
        let nat = try firewall.save(table: "nat")
        let filter = firewall.family == .ipv6 ? try firewall.save(table: "filter") : ""
        if self.uninstall {
            if let script = RulePlan.uninstall(table: "nat", chains: [RulePlan.inboundChain, RulePlan.outboundChain], current: nat) {
                scripts.append(("nat", script))
            }
            if firewall.family == .ipv6, let script = RulePlan.uninstall(table: "filter", chains: [RulePlan.ipv6DropChain], current: filter) {
                scripts.append(("filter", script))
            }
        } else if redirects {
            scripts.append(("nat", RulePlan.installRedirect(settings, family: firewall.family, current: nat)))
            if firewall.family == .ipv6, let script = RulePlan.uninstall(table: "filter", chains: [RulePlan.ipv6DropChain], current: filter) {
                scripts.append(("filter", script))
            }
        } else {
            // IPv6 in drop mode: no redirect rules of ours may linger from an earlier redirect mode.
            if let script = RulePlan.uninstall(table: "nat", chains: [RulePlan.inboundChain, RulePlan.outboundChain], current: nat) {
                scripts.append(("nat", script))
            }
            scripts.append(("filter", RulePlan.installIPv6Drop(current: filter)))
        }
        if scripts.isEmpty {
            print("# \(label): no Lattice rules present; nothing to remove")
            return
        }
        for (table, script) in scripts {
            if self.dryRun {
                print("# \(label), table \(table): \(firewall.restoreTool) --noflush would apply:")
                print(script, terminator: "")
            } else {
                do {
                    try firewall.restore(script)
                } catch {
                    throw CLIFailure(error.reason)
                }
                print("\(self.uninstall ? "removed" : "installed") Lattice's \(label) rules in table \(table)")
            }
        }
    }

    func settings(environment: [String: String]) throws(InitError) -> InterceptionSettings {
        func value(_ flag: String?, _ name: String) -> String? {
            if let flag { return flag }
            let v = environment["LATTICE_INIT_\(name)"]
            return (v?.isEmpty ?? true) ? nil : v
        }
        func port(_ flag: Int?, _ name: String, _ fallback: Int) throws(InitError) -> Int {
            let text = flag.map(String.init) ?? value(nil, name)
            guard let text else { return fallback }
            guard let p = Int(text), (1...65535).contains(p) else {
                throw InitError("--\(name.lowercased().replacingOccurrences(of: "_", with: "-")) '\(text)' is not a port (1–65535)")
            }
            return p
        }
        func ports(_ flag: String?, _ name: String) throws(InitError) -> [PortSpec]? {
            guard let text = value(flag, name) else { return nil }
            switch PortSpec.parseList(text) {
            case .success(let list): return list
            case .failure(let error):
                throw InitError("--\(name.lowercased().replacingOccurrences(of: "_", with: "-")): \(error.reason)")
            }
        }
        var s = InterceptionSettings()
        s.inboundPort = try port(self.inboundPort, "INBOUND_PORT", s.inboundPort)
        s.outboundPort = try port(self.outboundPort, "OUTBOUND_PORT", s.outboundPort)
        if let text = self.proxyUid.map(String.init) ?? value(nil, "PROXY_UID") {
            guard let uid = Int(text), uid >= 0 else { throw InitError("--proxy-uid '\(text)' is not a UID") }
            s.proxyUID = uid
        }
        s.proxyPorts = try ports(self.proxyPorts, "PROXY_PORTS") ?? s.proxyPorts
        s.skipInboundPorts = try ports(self.skipInboundPorts, "SKIP_INBOUND_PORTS") ?? []
        s.skipOutboundPorts = try ports(self.skipOutboundPorts, "SKIP_OUTBOUND_PORTS") ?? []
        if let text = value(self.skipSubnets, "SKIP_SUBNETS") {
            s.skipSubnets = try text.split(separator: ",").map { $0.filter { $0 != " " } }.filter { !$0.isEmpty }.map {
                (cidr) throws(InitError) -> String in
                guard Self.isCIDR(cidr) else {
                    throw InitError("--skip-subnets: '\(cidr)' is not a CIDR (e.g. 198.51.100.0/24 or fd00::/8)")
                }
                return cidr
            }
        }
        if let text = value(self.ipv6, "IPV6") {
            guard let mode = InterceptionSettings.IPv6Mode(rawValue: text) else {
                throw InitError("--ipv6 '\(text)' is not one of redirect, drop, off")
            }
            s.ipv6 = mode
        }
        if s.inboundPort == s.outboundPort {
            throw InitError("--inbound-port and --outbound-port are both \(s.inboundPort): they must differ")
        }
        return s
    }

    func firewallMode(environment: [String: String]) throws(InitError) -> Firewall.Mode {
        let text = self.mode ?? environment["LATTICE_INIT_MODE"] ?? "auto"
        if text == "auto" || text.isEmpty { return try Firewall.detect() }
        guard let mode = Firewall.Mode(rawValue: text) else { throw InitError("--mode '\(text)' is not one of auto, nft, legacy") }
        return mode
    }

    /// `ADDRESS/PREFIX` as iptables takes it (the prefix written out), checked by the mesh's own network parser.
    static func isCIDR(_ text: String) -> Bool {
        text.contains("/") && (try? IPNetwork(text)) != nil
    }

    /// Fails early, and clearly, without NET_ADMIN (root has it; an init container gets it from its securityContext).
    static func requireNetAdmin() throws {
        guard let status = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
            let mask = UInt64(line.split(separator: "\t").last ?? "", radix: 16)
        else { return }
        let netAdmin: UInt64 = 1 << 12
        if mask & netAdmin == 0 {
            throw CLIFailure(
                "lattice-init lacks the NET_ADMIN capability, which changing iptables rules needs: add NET_ADMIN and "
                    + "NET_RAW to the init container's securityContext.capabilities (or run it as root); --dry-run shows the rules without it"
            )
        }
    }
}

/// A failure reported as one line; exit status 1.
struct CLIFailure: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
}
