/// `h2raw.py`: the pieces of a raw HTTP/2 client in Python that tests script with, to send what no real client
/// sends (a forbidden header, windows opened wide, no reads at all) and to see every frame that comes back.
public enum RawHTTP2Client {
    public static let module = #"""
        # The pieces of a raw HTTP/2 client (prior knowledge, h2c) for tests.
        PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"

        def frame(kind, flags, stream, payload=b""):
            return len(payload).to_bytes(3, "big") + bytes([kind, flags]) + stream.to_bytes(4, "big") + payload

        def get(stream, path=b"/", extra=b""):
            """HEADERS ending the stream: GET path, scheme http, authority api; extra: more HPACK-encoded fields."""
            return frame(1, 5, stream, b"\x82\x86\x04" + bytes([len(path)]) + path + b"\x01\x03api" + extra)

        def take_frames(buf):
            """The whole frames at the front of buf, as (kind, flags, stream, payload), and the bytes after them."""
            frames = []
            while len(buf) >= 9 and len(buf) >= 9 + int.from_bytes(buf[:3], "big"):
                length, kind, flags = int.from_bytes(buf[:3], "big"), buf[3], buf[4]
                frames.append((kind, flags, int.from_bytes(buf[5:9], "big") & 0x7FFFFFFF, buf[9:9 + length]))
                buf = buf[9 + length:]
            return frames, buf

        def acknowledge(sock, kind, flags, payload):
            """ACKs a SETTINGS or a PING, as every HTTP/2 endpoint must."""
            if kind == 4 and not flags & 1: sock.sendall(frame(4, 1, 0))
            if kind == 6 and not flags & 1: sock.sendall(frame(6, 1, 0, payload))
        """#

    /// Writes `h2raw.py` into `directory`, where a script run from there imports it.
    public static func install(in directory: String) throws {
        try TestFiles.write(Self.module, to: "\(directory)/h2raw.py")
    }
}
