import LatticeDiscovery
import LatticeKube

extension KubernetesMeshState {
    /// The names of the proxy container an injected Pod has (Lattice's, or Linkerd's for Pods injected by it).
    public static let proxyContainerNames: Set<String> = ["lattice-proxy", "linkerd-proxy"]
    /// The names the proxy's admin port goes by.
    static let proxyAdminPortNames: Set<String> = ["lattice-admin", "linkerd-admin"]
    /// The proxy's admin port when its container does not name one.
    public static let defaultProxyAdminPort = 4191
    /// The label naming an EndpointSlice's Service.
    public static let serviceNameLabel = "kubernetes.io/service-name"

    /// The mesh as the cluster describes it now, sorted by namespace and name so that equal states give equal
    /// snapshots.
    ///
    /// Pods that have finished (`Succeeded`, `Failed`) or have no IP yet are left out, and so are `ExternalName`
    /// Services, which have no endpoints to resolve.
    public func snapshot() -> MeshSnapshot {
        let workloads = self.pods.objects.values.compactMap(Self.workload(of:))
            .sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }

        var slicesByService: [String: [EndpointSlice]] = [:]
        for slice in self.endpointSlices.objects.values {
            guard let namespace = slice.metadata.namespace,
                let service = slice.metadata.labels?[Self.serviceNameLabel]
            else { continue }
            slicesByService["\(namespace)/\(service)", default: []].append(slice)
        }
        let services = self.services.objects.values.compactMap { service -> MeshService? in
            guard let namespace = service.metadata.namespace, let name = service.metadata.name else { return nil }
            return Self.meshService(of: service, slices: slicesByService["\(namespace)/\(name)"] ?? [])
        }
        .sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }

        var namespaceAnnotations: [String: [String: String]] = [:]
        for namespace in self.namespaces.objects.values {
            guard let name = namespace.metadata.name else { continue }
            namespaceAnnotations[name] = namespace.metadata.annotations ?? [:]
        }
        return MeshSnapshot(workloads: workloads, services: services, namespaceAnnotations: namespaceAnnotations)
    }

    /// The workload a Pod is, or nil when it cannot be reached (finished, or no IP yet).
    static func workload(of pod: Pod) -> MeshWorkload? {
        guard let name = pod.metadata.name, let namespace = pod.metadata.namespace else { return nil }
        let phase = pod.status?.phase
        if phase == "Succeeded" || phase == "Failed" { return nil }
        var addresses = pod.status?.podIPs?.map(\.ip).filter { !$0.isEmpty } ?? []
        if addresses.isEmpty, let ip = pod.status?.podIP, !ip.isEmpty { addresses = [ip] }
        guard !addresses.isEmpty else { return nil }

        let spec = pod.spec ?? PodSpec()
        let allContainers = spec.containers + (spec.initContainers ?? [])
        let proxy = allContainers.first { Self.proxyContainerNames.contains($0.name) }
        let appContainers = spec.containers.filter { !Self.proxyContainerNames.contains($0.name) }

        var ports: [WorkloadPort] = []
        for container in appContainers {
            for port in container.ports ?? [] where !ports.contains(where: { $0.port == port.containerPort }) {
                ports.append(WorkloadPort(port: port.containerPort, name: port.name))
            }
        }
        var probes: [ProbeSpec] = []
        for container in appContainers {
            for probe in [container.livenessProbe, container.readinessProbe, container.startupProbe] {
                guard let action = probe?.httpGet,
                    let port = Self.probePort(action.port, container: container, appContainers: appContainers)
                else { continue }
                let path = action.path.flatMap { $0.isEmpty ? nil : $0 } ?? "/"
                let spec = ProbeSpec(port: port, path: path)
                if !probes.contains(spec) { probes.append(spec) }
            }
        }
        let adminPort = proxy.map { proxy in
            proxy.ports?.first { $0.name.map(Self.proxyAdminPortNames.contains) ?? false }?.containerPort
                ?? Self.defaultProxyAdminPort
        }
        let isReady = phase == "Running" && (pod.status?.isReadyConditionTrue ?? false)
            && pod.metadata.deletionTimestamp == nil
        return MeshWorkload(
            name: name,
            namespace: namespace,
            serviceAccount: spec.serviceAccountName.flatMap { $0.isEmpty ? nil : $0 } ?? "default",
            addresses: addresses,
            ports: ports,
            labels: pod.metadata.labels ?? [:],
            annotations: pod.metadata.annotations ?? [:],
            isMeshed: proxy != nil,
            proxyInboundPort: nil,
            proxyAdminPort: adminPort,
            probes: probes,
            isReady: isReady
        )
    }

    /// A probe's port: a number, or a container port's name (the probing container's first, then any app
    /// container's).
    private static func probePort(_ port: IntOrString, container: Container, appContainers: [Container]) -> Int? {
        switch port {
        case .int(let number):
            return (1...65535).contains(number) ? number : nil
        case .string(let name):
            if let number = Int(name), (1...65535).contains(number) { return number }
            for candidate in [container] + appContainers {
                if let match = candidate.ports?.first(where: { $0.name == name }) { return match.containerPort }
            }
            return nil
        }
    }

    /// The mesh service a Service is, with the endpoints of its EndpointSlices; nil for an `ExternalName` Service.
    static func meshService(of service: KubernetesService, slices: [EndpointSlice]) -> MeshService? {
        guard let name = service.metadata.name, let namespace = service.metadata.namespace else { return nil }
        let spec = service.spec ?? ServiceSpec()
        if spec.type == "ExternalName" { return nil }
        let clusterIPs = (spec.clusterIPs ?? spec.clusterIP.map { [$0] } ?? [])
            .filter { !$0.isEmpty && $0 != "None" }

        let ports = (spec.ports ?? []).map { port -> ServicePortSpec in
            var targetPort: Int?
            var portName = port.name.flatMap { $0.isEmpty ? nil : $0 }
            switch port.targetPort {
            case .int(let number)?:
                targetPort = number
            case .string(let target)?:
                if let number = Int(target) {
                    targetPort = number
                } else if portName == nil {
                    // A named target port is resolved per endpoint from its slice's ports, where the Service's
                    // only (unnamed) port is the one named "".
                    portName = ""
                }
            case nil:
                break
            }
            return ServicePortSpec(port: port.port, name: portName, targetPort: targetPort, appProtocol: port.appProtocol)
        }

        var endpoints: [String: ServiceEndpoint] = [:]
        let orderedSlices = slices.sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }
        for slice in orderedSlices where slice.addressType == "IPv4" || slice.addressType == "IPv6" {
            var slicePorts: [String: Int] = [:]
            for port in slice.ports ?? [] {
                guard let number = port.port else { continue }
                slicePorts[port.name ?? ""] = number
            }
            for endpoint in slice.endpoints {
                let workloadName = endpoint.targetRef.flatMap { $0.kind == "Pod" ? $0.name : nil }
                // A missing `ready` means unknown, which the API says to treat as ready.
                let isReady = endpoint.conditions?.ready ?? true
                for address in endpoint.addresses where !address.isEmpty {
                    // While the controller moves an endpoint between slices it may be listed twice: ready wins.
                    if let existing = endpoints[address], existing.isReady || !isReady { continue }
                    endpoints[address] = ServiceEndpoint(
                        address: address,
                        workloadName: workloadName,
                        ports: slicePorts,
                        isReady: isReady
                    )
                }
            }
        }
        return MeshService(
            name: name,
            namespace: namespace,
            clusterIPs: clusterIPs,
            ports: ports,
            endpoints: endpoints.values.sorted { $0.address < $1.address },
            annotations: service.metadata.annotations ?? [:]
        )
    }
}
