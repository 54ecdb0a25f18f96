import LatticeModel
import LatticePolicy

extension MeshConfig {
    /// Every value that would give injected pods a proxy or lattice-init that stops at start, one sentence each naming
    /// the key, the value and what it must be. Empty when the config is usable. The injector trusts its config (it
    /// checks only annotations per pod), so whoever loads one — the controller from the `lattice-config` ConfigMap,
    /// `lattice install`, `lattice inject --config` — calls this first and refuses a config with problems.
    public var problems: [String] {
        var out: [String] = []
        func port(_ key: String, _ value: Int) {
            if !(1...65535).contains(value) { out.append("proxy.\(key) \(value) is not a port (1–65535)") }
        }
        func ports(_ key: String, _ text: String) {
            if case .failure(let error) = PortRanges.parse(text) { out.append("proxy.\(key): \(error)") }
        }
        func quantity(_ key: String, _ value: String?) {
            if let value, !Quantity.isValid(value) {
                out.append("proxy.resources.\(key) '\(value)' is not a Kubernetes quantity (e.g. 100m, 64Mi)")
            }
        }
        let proxy = self.proxy
        port("inboundPort", proxy.inboundPort)
        port("outboundPort", proxy.outboundPort)
        port("adminPort", proxy.adminPort)
        if Set([proxy.inboundPort, proxy.outboundPort, proxy.adminPort]).count != 3 {
            out.append("proxy.inboundPort, outboundPort and adminPort must differ (\(proxy.inboundPort), \(proxy.outboundPort), \(proxy.adminPort))")
        }
        if proxy.uid <= 0 {
            out.append("proxy.uid \(proxy.uid) must be a non-root UID (lattice-init exempts it; root's traffic would bypass the proxy)")
        }
        if proxy.maxConnections < 1 { out.append("proxy.maxConnections \(proxy.maxConnections) must be at least 1") }
        if !PodSettings.logLevels.contains(proxy.logLevel) {
            out.append("proxy.logLevel '\(proxy.logLevel)' is not one of trace, debug, info, notice, warning, error, critical")
        }
        if !["Always", "IfNotPresent", "Never"].contains(proxy.imagePullPolicy) {
            out.append("proxy.imagePullPolicy '\(proxy.imagePullPolicy)' is not Always, IfNotPresent or Never")
        }
        if proxy.image.isEmpty { out.append("proxy.image is empty") }
        if proxy.initImage.isEmpty { out.append("proxy.initImage is empty") }
        ports("opaquePorts", proxy.opaquePorts)
        ports("skipInboundPorts", proxy.skipInboundPorts)
        ports("skipOutboundPorts", proxy.skipOutboundPorts)
        quantity("cpuRequest", proxy.resources.cpuRequest)
        quantity("cpuLimit", proxy.resources.cpuLimit)
        quantity("memoryRequest", proxy.resources.memoryRequest)
        quantity("memoryLimit", proxy.resources.memoryLimit)
        do {
            _ = try DefaultInboundPolicy.parse(self.defaultInboundPolicy)
        } catch {
            out.append("defaultInboundPolicy '\(self.defaultInboundPolicy)': \(error.reason)")
        }
        for network in self.clusterNetworks where !network.contains("/") || (try? IPNetwork(network)) == nil {
            out.append("clusterNetworks: '\(network)' is not a CIDR (e.g. 10.0.0.0/8)")
        }
        if HostPort(parsing: self.controller.address) == nil {
            out.append("controller.address '\(self.controller.address)' is not HOST:PORT")
        }
        if !DNSName.isLabel(self.controller.namespace) {
            out.append("controller.namespace '\(self.controller.namespace)' is not a namespace name")
        }
        if self.controller.identity.isEmpty { out.append("controller.identity is empty") }
        for service in self.inject.services where service.matchLabels.isEmpty {
            out.append("inject.services '\(service.name)' has no matchLabels: it would select no pod")
        }
        return out
    }
}
