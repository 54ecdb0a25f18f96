import NIOCore

/// Builds TLS ClientHello records byte by byte, for cases no real client sends.
struct ClientHelloBuilder {
    /// One extension: its type and its body.
    struct Extension {
        var type: UInt16
        var body: [UInt8]
    }

    var recordVersion: UInt16 = 0x0301
    var handshakeType: UInt8 = 1
    var sessionID: [UInt8] = Array(repeating: 0xAB, count: 32)
    var cipherSuites: [UInt16] = [0x1301, 0x1302, 0x1303]
    var extensions: [Extension] = []

    /// A builder whose only extension is an SNI with one `host_name`.
    init(serverName: String? = nil) {
        if let serverName {
            self.extensions = [Self.serverName([(0, Array(serverName.utf8))])]
        }
    }

    /// A server_name extension with the given `(name_type, name)` entries.
    static func serverName(_ entries: [(type: UInt8, name: [UInt8])]) -> Extension {
        var list: [UInt8] = []
        for entry in entries {
            list.append(entry.type)
            list += Self.u16(entry.name.count) + entry.name
        }
        return Extension(type: 0, body: Self.u16(list.count) + list)
    }

    /// A filler extension of `count` zero bytes (padding, type 21).
    static func padding(_ count: Int) -> Extension {
        Extension(type: 21, body: Array(repeating: 0, count: count))
    }

    /// The handshake message: type, u24 length, ClientHello body.
    var handshakeMessage: [UInt8] {
        var body: [UInt8] = [0x03, 0x03] + Array(repeating: 0x42, count: 32)
        body.append(UInt8(self.sessionID.count))
        body += self.sessionID
        body += Self.u16(self.cipherSuites.count * 2) + self.cipherSuites.flatMap { Self.u16(Int($0)) }
        body += [1, 0]  // compression methods: null
        let extensions = self.extensions.flatMap { Self.u16(Int($0.type)) + Self.u16($0.body.count) + $0.body }
        body += Self.u16(extensions.count) + extensions
        return [self.handshakeType, UInt8(body.count >> 16), UInt8(body.count >> 8 & 0xFF), UInt8(body.count & 0xFF)]
            + body
    }

    /// The handshake message in one record.
    var record: ByteBuffer {
        Self.records([self.handshakeMessage], version: self.recordVersion)
    }

    /// The handshake message fragmented into two records, the first holding `firstLength` bytes of it.
    func twoRecords(firstLength: Int) -> ByteBuffer {
        let message = self.handshakeMessage
        return Self.records(
            [Array(message[..<firstLength]), Array(message[firstLength...])],
            version: self.recordVersion
        )
    }

    private static func records(_ fragments: [[UInt8]], version: UInt16) -> ByteBuffer {
        var buffer = ByteBuffer()
        for fragment in fragments {
            buffer.writeInteger(UInt8(0x16))
            buffer.writeInteger(version)
            buffer.writeInteger(UInt16(fragment.count))
            buffer.writeBytes(fragment)
        }
        return buffer
    }

    private static func u16(_ value: Int) -> [UInt8] {
        [UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
    }
}
