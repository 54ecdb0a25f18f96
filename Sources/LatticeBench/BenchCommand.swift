import ArgumentParser

/// `lattice-bench`: load generators and in-process measurements for `bench/`.
public struct BenchCommand: AsyncParsableCommand {
    public static let configuration = CommandConfiguration(
        commandName: "lattice-bench",
        abstract: "Measurements for Lattice's benchmark suite (bench/).",
        subcommands: [IdentitySigningBench.self, DiscoveryStreamsBench.self, AdmissionBench.self]
    )

    public init() {}
}
