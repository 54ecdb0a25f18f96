import FoundationEssentials
import LatticeAdmin
import ServiceLifecycle

#if canImport(Glibc)
import Glibc
#endif

/// Writes the controller's bound addresses as JSON (`{"identity":"host:port","admin":"host:port"}`, plus
/// `"webhook"` when the injector's webhook runs) once the listeners are up, so tests, scripts and `lattice demo` can find a controller started on port 0.
struct AddressesFileService: Service {
    let path: String
    let admin: AdminServer
    let identity: IdentityServer
    var webhook: AdmissionWebhookServer?

    func run() async throws {
        let adminAddress = try await self.admin.waitUntilBound()
        guard let identityAddress = await self.identity.waitUntilBound() else { return }
        var json = "{\"identity\":\"\(identityAddress)\",\"admin\":\"\(adminAddress.ipAddress ?? "?"):\(adminAddress.port ?? 0)\""
        if let webhook = self.webhook {
            let address = try await webhook.waitUntilBound()
            json += ",\"webhook\":\"\(address.ipAddress ?? "?"):\(address.port ?? 0)\""
        }
        json += "}\n"
        let temp = self.path + ".tmp"
        guard FileManager.default.createFile(atPath: temp, contents: Data(json.utf8)), rename(temp, self.path) == 0 else {
            throw AddressesFileError(path: self.path)
        }
        try? await gracefulShutdown()
    }
}

struct AddressesFileError: Error, CustomStringConvertible {
    let path: String
    var description: String { "\(self.path): cannot write the addresses file" }
}
