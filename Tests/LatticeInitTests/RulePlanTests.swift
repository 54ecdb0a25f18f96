import Testing

@testable import LatticeInit

@Suite("lattice-init rules")
struct RulePlanTests {
    let empty = """
        *nat
        :PREROUTING ACCEPT [0:0]
        :INPUT ACCEPT [0:0]
        :OUTPUT ACCEPT [0:0]
        :POSTROUTING ACCEPT [0:0]
        COMMIT
        """

    @Test("install: Linkerd's shape, every rule named, the proxy's ports and UID, loopback and skips exempt")
    func install() {
        var s = InterceptionSettings()
        s.skipInboundPorts = [.single(22)]
        s.skipOutboundPorts = [.range(5432, 5433)]
        s.skipSubnets = ["198.51.100.0/24", "fd00::/8"]
        let script = RulePlan.installRedirect(s, family: .ipv4, current: self.empty)
        #expect(script == """
            *nat
            :LATTICE_INBOUND - [0:0]
            :LATTICE_OUTBOUND - [0:0]
            -A LATTICE_INBOUND -p tcp -m multiport --dports 4190,4191 -j RETURN -m comment --comment "lattice/skip-proxy-ports"
            -A LATTICE_INBOUND -p tcp -m multiport --dports 22 -j RETURN -m comment --comment "lattice/skip-inbound-ports"
            -A LATTICE_INBOUND -p tcp -j REDIRECT --to-ports 4143 -m comment --comment "lattice/redirect-inbound"
            -A LATTICE_OUTBOUND -m owner --uid-owner 2102 -j RETURN -m comment --comment "lattice/ignore-proxy-uid"
            -A LATTICE_OUTBOUND -o lo -j RETURN -m comment --comment "lattice/ignore-loopback"
            -A LATTICE_OUTBOUND -p tcp -m multiport --dports 5432:5433 -j RETURN -m comment --comment "lattice/skip-outbound-ports"
            -A LATTICE_OUTBOUND -d 198.51.100.0/24 -j RETURN -m comment --comment "lattice/skip-subnets"
            -A LATTICE_OUTBOUND -p tcp -j REDIRECT --to-ports 4140 -m comment --comment "lattice/redirect-outbound"
            -A PREROUTING -m comment --comment "lattice/install-inbound" -j LATTICE_INBOUND
            -A OUTPUT -m comment --comment "lattice/install-outbound" -j LATTICE_OUTBOUND
            COMMIT

            """)
        // IPv6 gets the IPv6 subnets only.
        let v6 = RulePlan.installRedirect(s, family: .ipv6, current: self.empty)
        #expect(v6.contains("-d fd00::/8") && !v6.contains("198.51.100.0/24"))
    }

    @Test("install twice: the chains are re-declared (flushed) and the jumps not added again")
    func idempotent() {
        let current = """
            *nat
            :PREROUTING ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :LATTICE_INBOUND - [0:0]
            :LATTICE_OUTBOUND - [0:0]
            -A PREROUTING -m comment --comment "lattice/install-inbound" -j LATTICE_INBOUND
            -A OUTPUT -m comment --comment "lattice/install-outbound" -j LATTICE_OUTBOUND
            COMMIT
            """
        let script = RulePlan.installRedirect(InterceptionSettings(), family: .ipv4, current: current)
        #expect(!script.contains("-A PREROUTING") && !script.contains("-A OUTPUT"))
        #expect(script.contains(":LATTICE_INBOUND - [0:0]"))
    }

    @Test("uninstall removes exactly Lattice's jumps and chains, and nothing when there are none")
    func uninstall() {
        let current = """
            *nat
            :PREROUTING ACCEPT [0:0]
            :OUTPUT ACCEPT [0:0]
            :LATTICE_INBOUND - [0:0]
            :LATTICE_OUTBOUND - [0:0]
            :KUBE-SERVICES - [0:0]
            -A PREROUTING -m comment --comment "kubernetes service portals" -j KUBE-SERVICES
            -A PREROUTING -m comment --comment "lattice/install-inbound" -j LATTICE_INBOUND
            -A OUTPUT -m comment --comment "lattice/install-outbound" -j LATTICE_OUTBOUND
            -A LATTICE_INBOUND -p tcp -j REDIRECT --to-ports 4143 -m comment --comment "lattice/redirect-inbound"
            COMMIT
            """
        let script = RulePlan.uninstall(table: "nat", chains: [RulePlan.inboundChain, RulePlan.outboundChain], current: current)
        #expect(script == """
            *nat
            -D PREROUTING -m comment --comment "lattice/install-inbound" -j LATTICE_INBOUND
            -D OUTPUT -m comment --comment "lattice/install-outbound" -j LATTICE_OUTBOUND
            -F LATTICE_INBOUND
            -F LATTICE_OUTBOUND
            -X LATTICE_INBOUND
            -X LATTICE_OUTBOUND
            COMMIT

            """)
        #expect(RulePlan.uninstall(table: "nat", chains: [RulePlan.inboundChain], current: self.empty) == nil)
    }

    @Test("multiport lists longer than fifteen slots are split (a range counts two)")
    func multiportSplit() {
        let ports = (1...20).map { PortSpec.single(8000 + $0) } + [.range(9000, 9010)]
        let groups = RulePlan.multiportGroups(ports)
        #expect(groups.count == 2)
        #expect(groups[0].split(separator: ",").count == 15)
        #expect(groups[1] == "8016,8017,8018,8019,8020,9000:9010")
    }

    @Test("IPv6 drop mode drops TCP except loopback, in filter")
    func ipv6Drop() {
        let script = RulePlan.installIPv6Drop(current: "*filter\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n")
        #expect(script.contains("-A LATTICE_IPV6_DROP -p tcp -m comment --comment \"lattice/ipv6-drop-tcp\" -j DROP"))
        #expect(script.contains("-A INPUT -m comment --comment \"lattice/ipv6-drop\" -j LATTICE_IPV6_DROP"))
        #expect(script.contains("-A OUTPUT -m comment --comment \"lattice/ipv6-drop\" -j LATTICE_IPV6_DROP"))
    }

    @Test("flags and LATTICE_INIT_* variables: flags win; bad values are named", arguments: [
        (["--skip-inbound-ports", "22,x"], [String: String](), "--skip-inbound-ports: 'x' is not a port"),
        (["--inbound-port", "70000"], [:], "--inbound-port '70000' is not a port"),
        ([], ["LATTICE_INIT_SKIP_SUBNETS": "10.0.0.0"], "'10.0.0.0' is not a CIDR"),
        ([], ["LATTICE_INIT_IPV6": "maybe"], "--ipv6 'maybe' is not one of redirect, drop, off"),
        (["--inbound-port", "4140"], [:], "must differ"),
    ])
    func badSettings(arguments: [String], environment: [String: String], expected: String) throws {
        let command = try InitCommand.parse(arguments)
        #expect {
            _ = try command.settings(environment: environment)
        } throws: { error in
            "\(error)".contains(expected)
        }
    }

    @Test("environment values apply when no flag is given")
    func environment() throws {
        let command = try InitCommand.parse(["--skip-outbound-ports", "443"])
        let settings = try command.settings(environment: [
            "LATTICE_INIT_SKIP_OUTBOUND_PORTS": "80", "LATTICE_INIT_SKIP_INBOUND_PORTS": "22,2222", "LATTICE_INIT_PROXY_UID": "1234",
        ])
        #expect(settings.skipOutboundPorts == [.single(443)])
        #expect(settings.skipInboundPorts == [.single(22), .single(2222)])
        #expect(settings.proxyUID == 1234)
    }
}
