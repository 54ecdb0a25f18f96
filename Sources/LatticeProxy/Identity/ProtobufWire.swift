/// Just enough of the protobuf wire format for the identity API's two messages, so the sidecar needs neither
/// SwiftProtobuf nor Foundation (see docs/identity.md for the messages).
enum ProtobufWire {
    static func appendVarint(_ value: UInt64, to out: inout [UInt8]) {
        var v = value
        while v >= 0x80 {
            out.append(UInt8(v & 0x7f) | 0x80)
            v >>= 7
        }
        out.append(UInt8(v))
    }

    static func appendBytesField(_ field: UInt64, _ bytes: [UInt8], to out: inout [UInt8]) {
        self.appendVarint(field << 3 | 2, to: &out)
        self.appendVarint(UInt64(bytes.count), to: &out)
        out += bytes
    }

    static func appendVarintField(_ field: UInt64, _ value: UInt64, to out: inout [UInt8]) {
        self.appendVarint(field << 3, to: &out)
        self.appendVarint(value, to: &out)
    }

    /// The values of a repeated varint field: packed (one length-delimited run, proto3's default) or one per field.
    static func repeatedVarints(_ value: Value) throws -> [UInt64] {
        switch value {
        case .varint(let v): return [v]
        case .bytes(let packed):
            var out: [UInt64] = []
            var index = packed.startIndex
            while index < packed.endIndex { out.append(try self.readVarint(packed, at: &index)) }
            return out
        }
    }

    /// Reads one varint of `bytes` at `index`, moving it past.
    static func readVarint(_ bytes: ArraySlice<UInt8>, at index: inout Int) throws -> UInt64 {
        var result: UInt64 = 0
        var shift: UInt64 = 0
        while true {
            guard index < bytes.endIndex, shift < 64 else { throw MalformedMessage() }
            let byte = bytes[index]
            index += 1
            result |= UInt64(byte & 0x7f) << shift
            if byte & 0x80 == 0 { return result }
            shift += 7
        }
    }

    /// One field of a message: its number and either a varint or a length-delimited payload.
    enum Value {
        case varint(UInt64)
        case bytes(ArraySlice<UInt8>)
    }

    struct MalformedMessage: Error {}

    /// Calls `body` for each field of `message`; skips 32- and 64-bit fields.
    static func forEachField(
        in message: ArraySlice<UInt8>,
        _ body: (UInt64, Value) throws -> Void
    ) throws {
        var index = message.startIndex
        func readVarint() throws -> UInt64 { try Self.readVarint(message, at: &index) }
        while index < message.endIndex {
            let key = try readVarint()
            let field = key >> 3
            switch key & 7 {
            case 0:
                try body(field, .varint(try readVarint()))
            case 2:
                let length = try readVarint()
                guard length <= UInt64(message.endIndex - index) else { throw MalformedMessage() }
                let end = index + Int(length)
                try body(field, .bytes(message[index..<end]))
                index = end
            case 1:
                guard message.endIndex - index >= 8 else { throw MalformedMessage() }
                index += 8
            case 5:
                guard message.endIndex - index >= 4 else { throw MalformedMessage() }
                index += 4
            default:
                throw MalformedMessage()
            }
        }
    }
}

/// `lattice.identity.v1.CertifyRequest`.
struct CertifyRequestMessage {
    var identity: String
    var token: [UInt8]
    var csr: [UInt8]

    func encoded() -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(self.token.count + self.csr.count + self.identity.utf8.count + 16)
        ProtobufWire.appendBytesField(1, Array(self.identity.utf8), to: &out)
        ProtobufWire.appendBytesField(2, self.token, to: &out)
        ProtobufWire.appendBytesField(3, self.csr, to: &out)
        return out
    }
}

/// `lattice.identity.v1.CertifyResponse`.
struct CertifyResponseMessage {
    var leaf: [UInt8] = []
    var intermediates: [[UInt8]] = []
    var validUntilSeconds: Int64 = 0

    init(decoding bytes: ArraySlice<UInt8>) throws {
        try ProtobufWire.forEachField(in: bytes) { field, value in
            switch (field, value) {
            case (1, .bytes(let b)): self.leaf = Array(b)
            case (2, .bytes(let b)): self.intermediates.append(Array(b))
            case (3, .bytes(let timestamp)):
                try ProtobufWire.forEachField(in: timestamp) { f, v in
                    if f == 1, case .varint(let seconds) = v { self.validUntilSeconds = Int64(bitPattern: seconds) }
                }
            default: break
            }
        }
    }
}
