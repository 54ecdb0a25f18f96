import Foundation
import LatticeTestSupport
import Testing

/// lattice-controller refuses to run half-started: an address it can't listen on stops it at once, with the
/// address, the reason and the flag that moves it.
@Suite(.tags(.integration))
struct ControllerStartTests {
    /// Before the fix the controller logged nothing and kept running without its API when `--identity-addr` was
    /// taken (a test that started a controller on a port another test had just drawn waited 30 s for nothing).
    @Test(arguments: ["--identity-addr", "--admin-addr"])
    func anAddressInUseStopsTheControllerNamingIt(flag: String) async throws {
        try await TestFiles.withDirectory { dir in
            try ControllerProcess.makeRunbookCertificates(in: dir)
            try TestFiles.write("web-token  default/web\n", to: "\(dir)/tokens")
            let (port, result) = try await EchoServer.holdingAPort { port in
                var addresses = ["--identity-addr": "127.0.0.1:0", "--admin-addr": "127.0.0.1:0"]
                addresses[flag] = "127.0.0.1:\(port)"
                let arguments = addresses.flatMap { [$0.key, $0.value] } + [
                    "--issuer-certificate", "\(dir)/issuer.crt", "--issuer-key", "\(dir)/issuer.key",
                    "--trust-anchors", "\(dir)/ca.crt", "--tokens-file", "\(dir)/tokens",
                ]
                return (port, try ProcessRunner.run(ProcessRunner.executable("lattice-controller"), arguments, timeout: 30))
            }
            #expect(result.status != 0, "the controller ran on without its listener")
            #expect(result.stderr.contains("cannot listen on 127.0.0.1:\(port)"), "\(result.stderr)")
            #expect(result.stderr.contains("Address already in use") && result.stderr.contains(flag), "\(result.stderr)")
        }
    }
}
