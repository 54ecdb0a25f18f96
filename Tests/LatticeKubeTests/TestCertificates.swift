import Foundation

/// A CA, a server certificate for 127.0.0.1 and a client certificate, generated per run with the `openssl` tool
/// (the test target cannot depend on swift-certificates, and committed certificates rot).
struct TestCertificates {
    var caPEM: String
    var serverCertificatePEM: String
    var serverKeyPEM: String
    var clientCertificatePEM: String
    var clientKeyPEM: String

    /// The `openssl` executable, if installed.
    static let openSSLPath: String? = ["/usr/bin/openssl", "/usr/local/bin/openssl", "/opt/homebrew/bin/openssl"]
        .first { FileManager.default.isExecutableFile(atPath: $0) }

    static var isAvailable: Bool {
        Self.openSSLPath != nil
    }

    /// Generates the certificates in `directory` (valid for one day from now).
    static func generate(in directory: String) throws -> TestCertificates {
        func path(_ name: String) -> String {
            directory + "/" + name
        }
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let ecKey = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes"]
        try Self.openSSL(
            ["req", "-x509"] + ecKey + [
                "-keyout", path("ca.key"), "-out", path("ca.crt"), "-subj", "/CN=lattice-test-ca", "-days", "1",
                "-addext", "basicConstraints=critical,CA:TRUE", "-addext", "keyUsage=critical,keyCertSign,cRLSign",
            ]
        )
        for (name, subject, extensions) in [
            ("server", "/CN=kube-apiserver", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n"),
            ("client", "/O=system:masters/CN=lattice-test", "extendedKeyUsage=clientAuth\n"),
        ] {
            try writeFile(path("\(name).ext"), extensions)
            try Self.openSSL(
                ["req"] + ecKey + ["-keyout", path("\(name).key"), "-out", path("\(name).csr"), "-subj", subject]
            )
            try Self.openSSL([
                "x509", "-req", "-in", path("\(name).csr"), "-CA", path("ca.crt"), "-CAkey", path("ca.key"),
                "-CAcreateserial", "-out", path("\(name).crt"), "-days", "1", "-extfile", path("\(name).ext"),
            ])
        }
        func read(_ name: String) throws -> String {
            try String(contentsOfFile: path(name), encoding: .utf8)
        }
        return TestCertificates(
            caPEM: try read("ca.crt"),
            serverCertificatePEM: try read("server.crt"),
            serverKeyPEM: try read("server.key"),
            clientCertificatePEM: try read("client.crt"),
            clientKeyPEM: try read("client.key")
        )
    }

    private static func openSSL(_ arguments: [String]) throws {
        guard let executable = Self.openSSLPath else {
            throw FixtureError(message: "openssl is not installed")
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = FileHandle.nullDevice
        let errors = Pipe()
        process.standardError = errors
        try process.run()
        let output = errors.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
            let message = String(decoding: output, as: UTF8.self)
            throw FixtureError(message: "openssl \(arguments.joined(separator: " ")) failed: \(message)")
        }
    }
}
