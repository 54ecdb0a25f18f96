/// The iptables-restore input that installs or removes Lattice's rules, computed from what `iptables-save` shows now,
/// so running twice leaves one set of rules and `--uninstall` removes exactly Lattice's (and nothing else).
///
/// Shape (as Linkerd's proxy-init): in `nat`, PREROUTING jumps to LATTICE_INBOUND (the proxy's own ports and skipped
/// inbound ports return, everything else TCP is redirected to the inbound port) and OUTPUT to LATTICE_OUTBOUND (the
/// proxy's UID, loopback, skipped outbound ports and subnets return, everything else TCP goes to the outbound port).
/// Every rule carries a `lattice/…` comment naming it.
public enum RulePlan {
    public static let inboundChain = "LATTICE_INBOUND"
    public static let outboundChain = "LATTICE_OUTBOUND"
    public static let ipv6DropChain = "LATTICE_IPV6_DROP"
    /// multiport takes at most fifteen ports (a range counts two).
    static let multiportLimit = 15

    public enum Family: Sendable { case ipv4, ipv6 }

    /// The rules that redirect TCP in `nat` (IPv4, or IPv6 in redirect mode); `current` is `iptables-save -t nat`.
    public static func installRedirect(_ s: InterceptionSettings, family: Family, current: String) -> String {
        var lines = ["*nat", ":\(inboundChain) - [0:0]", ":\(outboundChain) - [0:0]"]
        func rule(_ chain: String, _ spec: String, _ comment: String) {
            lines.append("-A \(chain) \(spec) -m comment --comment \"lattice/\(comment)\"")
        }
        for group in self.multiportGroups(s.proxyPorts) {
            rule(inboundChain, "-p tcp -m multiport --dports \(group) -j RETURN", "skip-proxy-ports")
        }
        for group in self.multiportGroups(s.skipInboundPorts) {
            rule(inboundChain, "-p tcp -m multiport --dports \(group) -j RETURN", "skip-inbound-ports")
        }
        rule(inboundChain, "-p tcp -j REDIRECT --to-ports \(s.inboundPort)", "redirect-inbound")
        rule(outboundChain, "-m owner --uid-owner \(s.proxyUID) -j RETURN", "ignore-proxy-uid")
        rule(outboundChain, "-o lo -j RETURN", "ignore-loopback")
        for group in self.multiportGroups(s.skipOutboundPorts) {
            rule(outboundChain, "-p tcp -m multiport --dports \(group) -j RETURN", "skip-outbound-ports")
        }
        for subnet in s.skipSubnets where (family == .ipv6) == subnet.contains(":") {
            rule(outboundChain, "-d \(subnet) -j RETURN", "skip-subnets")
        }
        rule(outboundChain, "-p tcp -j REDIRECT --to-ports \(s.outboundPort)", "redirect-outbound")
        let jumps = [
            ("PREROUTING", inboundChain, "install-inbound"),
            ("OUTPUT", outboundChain, "install-outbound"),
        ]
        for (builtin, chain, comment) in jumps where self.jumpRules(from: builtin, to: chain, in: current).isEmpty {
            lines.append("-A \(builtin) -m comment --comment \"lattice/\(comment)\" -j \(chain)")
        }
        lines.append("COMMIT")
        return lines.joined(separator: "\n") + "\n"
    }

    /// IPv6 drop mode, in `filter`: IPv6 TCP in and out is dropped, loopback excepted.
    public static func installIPv6Drop(current: String) -> String {
        var lines = ["*filter", ":\(ipv6DropChain) - [0:0]"]
        lines.append("-A \(ipv6DropChain) -i lo -m comment --comment \"lattice/ipv6-allow-loopback-in\" -j RETURN")
        lines.append("-A \(ipv6DropChain) -o lo -m comment --comment \"lattice/ipv6-allow-loopback-out\" -j RETURN")
        lines.append("-A \(ipv6DropChain) -p tcp -m comment --comment \"lattice/ipv6-drop-tcp\" -j DROP")
        for builtin in ["INPUT", "OUTPUT"] where self.jumpRules(from: builtin, to: ipv6DropChain, in: current).isEmpty {
            lines.append("-A \(builtin) -m comment --comment \"lattice/ipv6-drop\" -j \(ipv6DropChain)")
        }
        lines.append("COMMIT")
        return lines.joined(separator: "\n") + "\n"
    }

    /// Removes Lattice's chains and the jumps to them from `table`, as `current` (its save output) shows them; nil
    /// when there is nothing of Lattice's there.
    public static func uninstall(table: String, chains: [String], current: String) -> String? {
        let present = chains.filter { chain in current.split(separator: "\n").contains { $0.hasPrefix(":\(chain) ") } }
        var lines: [String] = []
        for chain in chains {
            for builtin in ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING", "FORWARD"] {
                for rule in self.jumpRules(from: builtin, to: chain, in: current) {
                    lines.append("-D" + rule.dropFirst(2))
                }
            }
        }
        for chain in present { lines.append("-F \(chain)") }
        for chain in present { lines.append("-X \(chain)") }
        guard !lines.isEmpty else { return nil }
        return (["*\(table)"] + lines + ["COMMIT"]).joined(separator: "\n") + "\n"
    }

    /// The `-A BUILTIN … -j CHAIN` lines of `current`.
    static func jumpRules(from builtin: String, to chain: String, in current: String) -> [String] {
        current.split(separator: "\n").map(String.init).filter { line in
            line.hasPrefix("-A \(builtin) ") && (line.hasSuffix(" -j \(chain)") || line.contains(" -j \(chain) "))
        }
    }

    /// Comma-separated port groups of at most fifteen multiport slots each.
    static func multiportGroups(_ ports: [PortSpec]) -> [String] {
        var groups: [String] = []
        var current: [PortSpec] = []
        var weight = 0
        for port in ports {
            if weight + port.weight > self.multiportLimit {
                groups.append(current.map(\.description).joined(separator: ","))
                current = []
                weight = 0
            }
            current.append(port)
            weight += port.weight
        }
        if !current.isEmpty { groups.append(current.map(\.description).joined(separator: ",")) }
        return groups
    }
}
