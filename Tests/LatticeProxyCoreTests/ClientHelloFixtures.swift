import NIOCore

/// TLS ClientHello records for the detector tests.
///
/// The captured ones were recorded on loopback from OpenSSL 3.0's `openssl s_client` (a listener that stored the
/// first record it received):
/// `openssl s_client -servername web.default.serviceaccount.identity.lattice.cluster.local -connect 127.0.0.1:PORT`
/// and the same with `-noservername`.
enum ClientHelloFixtures {
    /// The SNI of ``withServerName``.
    static let serverName = "web.default.serviceaccount.identity.lattice.cluster.local"

    /// A 363-byte TLS 1.3 ClientHello with SNI ``serverName``.
    static let withServerName = ByteBuffer(
        hex: """
            160301016601000162030307cbf5d543df0948856cf8a5f5b6376e8ce6280325ddad62a20aba3d038af36020409b8681
            db188461bb5c4e7a2e3def8d785d5be08816ec60ee6dc399c6361116003e130213031301c02cc030009fcca9cca8ccaa
            c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff010000db
            0000003e003c0000397765622e64656661756c742e736572766963656163636f756e742e6964656e746974792e6c6174
            746963652e636c75737465722e6c6f63616c000b000403000102000a00160014001d0017001e00190018010001010102
            01030104002300000016000000170000000d002a0028040305030603080708080809080a080b08040805080604010501
            0601030303010302040205020602002b0009080304030303020301002d00020101003300260024001d0020be3fb036da
            9659334897e3c9ef7beff18b5a38b8ece355fc033cab1994e02107
            """
    )

    /// A 297-byte TLS 1.3 ClientHello without SNI.
    static let withoutServerName = ByteBuffer(
        hex: """
            160301012401000120030358ba89b03cf1559ca7b008f6626b9657558d3ef2a6860d3ebc8ae00316e92cb32018549ea1
            926154eb4128c9374d544779ba3d87707ac8070bbe1348810e7da32e003e130213031301c02cc030009fcca9cca8ccaa
            c02bc02f009ec024c028006bc023c0270067c00ac0140039c009c0130033009d009c003d003c0035002f00ff01000099
            000b000403000102000a00160014001d0017001e0019001801000101010201030104002300000016000000170000000d
            002a0028040305030603080708080809080a080b080408050806040105010601030303010302040205020602002b0009
            080304030303020301002d00020101003300260024001d0020d5bc032b811c6909e1c05de310b4fa073973fa0197330c
            17584a302458302653
            """
    )
}

extension ByteBuffer {
    /// Decodes a hex string; whitespace and newlines are ignored.
    init(hex: String) {
        let digits = hex.unicodeScalars.compactMap { Int(String($0), radix: 16) }
        precondition(digits.count.isMultiple(of: 2), "odd number of hex digits")
        self.init()
        for index in stride(from: 0, to: digits.count, by: 2) {
            self.writeInteger(UInt8(digits[index] << 4 | digits[index + 1]))
        }
    }
}
