import Foundation

/// A small cluster on one machine (root only): a bridge in the root namespace at 198.51.100.1/24 and "pods" as
/// network namespaces on veth pairs with their own addresses from 198.51.100.0/24 (documentation range, no route off
/// the machine). Everything it makes — namespaces, links, processes — it removes in ``tearDown()``, which runs from
/// `deinit` too, so a failing test leaves nothing behind.
public final class PodNetwork: @unchecked Sendable {
    // Only touched from the test that owns it.
    public let name: String
    public let bridge: String
    public let hostAddress = "198.51.100.1"
    public private(set) var pods: [Pod] = []
    private var processes: [BackgroundProcess] = []
    private var tornDown = false

    public struct Pod: Sendable {
        public let name: String
        public let namespace: String
        public let address: String
    }

    /// True when this process may build network namespaces (root, with `ip` present).
    public static var isAvailable: Bool {
        getuid() == 0 && FileManager.default.isExecutableFile(atPath: self.ipPath)
    }

    public init() throws {
        let tag = String(format: "%04x", UInt16.random(in: 0...UInt16.max))
        self.name = "lt\(tag)"
        self.bridge = "lt\(tag)br"
        do {
            try Self.ip(["link", "add", self.bridge, "type", "bridge"])
            try Self.ip(["addr", "add", "\(self.hostAddress)/24", "dev", self.bridge])
            try Self.ip(["link", "set", self.bridge, "up"])
        } catch {
            self.tearDown()
            throw error
        }
    }

    deinit { self.tearDown() }

    /// Adds a pod at 198.51.100.`host`.
    @discardableResult
    public func addPod(_ name: String, host: Int) throws -> Pod {
        precondition((2...254).contains(host), "pod addresses are 198.51.100.2–254")
        let index = self.pods.count
        let namespace = "\(self.name)-\(name)"
        let outside = "\(self.name)v\(index)"
        let pod = Pod(name: name, namespace: namespace, address: "198.51.100.\(host)")
        try Self.ip(["netns", "add", namespace])
        self.pods.append(pod)
        try Self.ip(["link", "add", outside, "type", "veth", "peer", "name", "eth0", "netns", namespace])
        try Self.ip(["link", "set", outside, "master", self.bridge])
        try Self.ip(["link", "set", outside, "up"])
        try Self.ip(["-n", namespace, "addr", "add", "\(pod.address)/24", "dev", "eth0"])
        try Self.ip(["-n", namespace, "link", "set", "eth0", "up"])
        try Self.ip(["-n", namespace, "link", "set", "lo", "up"])
        return pod
    }

    /// The bridge's IPv6 address (documentation prefix 2001:db8::/32: nothing routes it off the machine).
    public let hostAddress6 = "2001:db8:5164::1"

    /// Gives the bridge and `pod` IPv6 addresses too (the pod's is `2001:db8:5164::<host>`, returned), with duplicate
    /// address detection off so they are usable at once.
    public func addIPv6(to pod: Pod) throws -> String {
        let host = pod.address.split(separator: ".").last.map(String.init) ?? "2"
        let address = "2001:db8:5164::\(host)"
        if !self.hasIPv6 {
            try Self.ip(["-6", "addr", "add", "\(self.hostAddress6)/64", "dev", self.bridge, "nodad"])
            self.hasIPv6 = true
        }
        try Self.ip(["-n", pod.namespace, "-6", "addr", "add", "\(address)/64", "dev", "eth0", "nodad"])
        return address
    }

    private var hasIPv6 = false

    /// Runs a command in `pod` to completion.
    public func run(in pod: Pod, _ command: [String], timeout: Double = 60) throws -> ProcessRunner.Result {
        try ProcessRunner.run(Self.ipPath, ["netns", "exec", pod.namespace] + command, timeout: timeout)
    }

    /// Starts a long-running command in `pod` (as `uid` when given), stopped at tear-down.
    @discardableResult
    public func start(in pod: Pod, _ command: [String], uid: Int? = nil, environment: [String: String] = [:], log: String)
        throws -> BackgroundProcess
    {
        var wrapped = ["netns", "exec", pod.namespace]
        if !environment.isEmpty { wrapped += ["/usr/bin/env"] + environment.map { "\($0.key)=\($0.value)" }.sorted() }
        if let uid { wrapped += ["/usr/bin/setpriv", "--reuid", "\(uid)", "--regid", "\(uid)", "--clear-groups"] }
        let process = try BackgroundProcess(Self.ipPath, wrapped + command, logPath: log)
        self.processes.append(process)
        return process
    }

    /// Stops every process, removes every namespace and the bridge. Safe to call twice.
    public func tearDown() {
        guard !self.tornDown else { return }
        self.tornDown = true
        for process in self.processes.reversed() { process.stop(grace: 3) }
        self.processes = []
        for pod in self.pods {
            // Anything still running in the namespace goes with it.
            if let pids = try? ProcessRunner.run(Self.ipPath, ["netns", "pids", pod.namespace], timeout: 10) {
                for pid in pids.stdout.split(separator: "\n").compactMap({ Int32($0) }) { kill(pid, SIGKILL) }
            }
            _ = try? ProcessRunner.run(Self.ipPath, ["netns", "del", pod.namespace], timeout: 10)
        }
        self.pods = []
        _ = try? ProcessRunner.run(Self.ipPath, ["link", "del", self.bridge], timeout: 10)
    }

    static var ipPath: String { FileManager.default.isExecutableFile(atPath: "/usr/sbin/ip") ? "/usr/sbin/ip" : "/sbin/ip" }

    static func ip(_ arguments: [String]) throws {
        let result = try ProcessRunner.run(self.ipPath, arguments, timeout: 20)
        guard result.status == 0 else {
            throw PodNetworkError("ip \(arguments.joined(separator: " ")): \(result.stderr)")
        }
    }
}

public struct PodNetworkError: Error, CustomStringConvertible {
    public let description: String
    public init(_ description: String) { self.description = description }
}
