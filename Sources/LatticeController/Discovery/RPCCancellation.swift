import GRPCCore

/// Runs a streaming RPC's body until it returns or the RPC is cancelled: the client reset the stream (a proxy that
/// stopped watching a destination), its connection broke, or the server is shutting down.
///
/// gRPC signals cancellation through the `ServerContext`'s handle, not by cancelling the handler's task, so a stream
/// that only waits for the next change would otherwise outlive its client until the answer happens to change (and
/// hold its place in `lattice_discovery_streams` meanwhile). Here the body runs in a child task that is cancelled
/// when the RPC is.
func untilRPCCancelled(_ body: @escaping @Sendable () async throws -> Void) async throws {
    let (cancelled, signal) = AsyncStream.makeStream(of: Void.self)
    try await withThrowingTaskGroup(of: Void.self) { group in
        group.addTask { try await body() }
        group.addTask {
            for await _ in cancelled {}
            throw CancellationError()
        }
        defer { group.cancelAll() }
        try await withRPCCancellationHandler {
            _ = try await group.next()
        } onCancelRPC: {
            signal.finish()
        }
    }
}
