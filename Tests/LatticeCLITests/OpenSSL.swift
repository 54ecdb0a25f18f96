import Foundation
import LatticeTestSupport
import Testing

/// The real `openssl`, to prove interop in both directions.
enum OpenSSL {
    static let path = "/usr/bin/openssl"

    @discardableResult
    static func run(_ arguments: [String], in directory: String) throws -> ProcessRunner.Result {
        let result = try ProcessRunner.run(self.path, arguments, currentDirectory: directory)
        try #require(result.status == 0, "openssl \(arguments.joined(separator: " ")) failed: \(result.stderr)")
        return result
    }

    /// A root and an intermediate in the shape of `step certificate create --profile root-ca|intermediate-ca`
    /// (step itself is not installable here): P-256 keys in SEC1 form, CA pathlen 1 / 0, keyCertSign + cRLSign,
    /// SKI/AKI.
    static func makeStepStyleChain(in directory: String, rsaIssuer: Bool = false) throws {
        try self.run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "root.key"], in: directory)
        try self.run(
            [
                "req", "-x509", "-new", "-key", "root.key", "-subj", "/CN=root.linkerd.cluster.local", "-days", "3650",
                "-out", "root.crt", "-addext", "basicConstraints=critical,CA:TRUE,pathlen:1",
                "-addext", "keyUsage=critical,keyCertSign,cRLSign", "-addext", "subjectKeyIdentifier=hash",
            ],
            in: directory
        )
        if rsaIssuer {
            try self.run(["genrsa", "-out", "issuer.key", "2048"], in: directory)
        } else {
            try self.run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "issuer.key"], in: directory)
        }
        try self.run(
            ["req", "-new", "-key", "issuer.key", "-subj", "/CN=identity.linkerd.cluster.local", "-out", "issuer.csr"],
            in: directory
        )
        try TestFiles.write(
            """
            basicConstraints=critical,CA:TRUE,pathlen:0
            keyUsage=critical,keyCertSign,cRLSign
            subjectKeyIdentifier=hash
            authorityKeyIdentifier=keyid
            """,
            to: "\(directory)/issuer.ext"
        )
        try self.run(
            [
                "x509", "-req", "-in", "issuer.csr", "-CA", "root.crt", "-CAkey", "root.key", "-CAcreateserial",
                "-days", "365", "-out", "issuer.crt", "-extfile", "issuer.ext",
            ],
            in: directory
        )
    }
}
