import FoundationEssentials
import LatticeIdentity

#if canImport(Glibc)
import Glibc
#endif

/// Writes a certificate and its key as a pair: both or neither, the key 0600 from its first byte.
enum SecureFileWriter {
    static func writePair(certificate: (path: String, text: String), key: (path: String, text: String))
        throws(IdentityError)
    {
        let keyTemp = try self.writeTemporary(key.text, beside: key.path, mode: 0o600)
        let certTemp: String
        do {
            certTemp = try self.writeTemporary(certificate.text, beside: certificate.path, mode: 0o644)
        } catch {
            unlink(keyTemp)
            throw error
        }
        guard rename(keyTemp, key.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(keyTemp)
            unlink(certTemp)
            throw IdentityError(.writeFailed, "\(key.path): cannot write: \(reason)")
        }
        guard rename(certTemp, certificate.path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(certTemp)
            unlink(key.path)
            throw IdentityError(.writeFailed, "\(certificate.path): cannot write: \(reason)")
        }
    }

    /// Writes a secret (a token) 0600 from its first byte, replacing `path` atomically.
    static func writeSecret(_ text: String, to path: String) throws(IdentityError) {
        let temp = try self.writeTemporary(text, beside: path, mode: 0o600)
        guard rename(temp, path) == 0 else {
            let reason = String(cString: strerror(errno))
            unlink(temp)
            throw IdentityError(.writeFailed, "\(path): cannot write: \(reason)")
        }
    }

    /// Writes `text` to a new temporary file next to `path`, created with `mode` (so a key is never readable by
    /// others, even for an instant).
    static func writeTemporary(_ text: String, beside path: String, mode: mode_t) throws(IdentityError) -> String {
        let temp = "\(path).tmp-\(getpid())-\(UInt32.random(in: 0...UInt32.max))"
        let fd = open(temp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode)
        guard fd >= 0 else {
            throw IdentityError(.writeFailed, "\(path): cannot create: \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        fchmod(fd, mode)
        let bytes = Array(text.utf8)
        var written = 0
        while written < bytes.count {
            let n = bytes[written...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            guard n > 0 else {
                let reason = String(cString: strerror(errno))
                unlink(temp)
                throw IdentityError(.writeFailed, "\(path): cannot write: \(reason)")
            }
            written += n
        }
        guard fsync(fd) == 0 else {
            unlink(temp)
            throw IdentityError(.writeFailed, "\(path): cannot flush to disk")
        }
        return temp
    }
}
