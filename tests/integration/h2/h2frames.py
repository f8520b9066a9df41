"""A tiny HTTP/2 frame writer and reader for raw-socket tests (no `h2` package): frames, a
literal-only HPACK encoder, and a reader that collects frames until a condition or a timeout.
The server's HPACK blocks are not decoded; tests look at frame types, stream ids and GOAWAY codes.
"""
import socket
import struct
import time

PREFACE = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"
DATA, HEADERS, PRIORITY, RST_STREAM, SETTINGS, PUSH_PROMISE, PING, GOAWAY, WINDOW_UPDATE, CONTINUATION = range(10)
END_STREAM, ACK, END_HEADERS = 0x1, 0x1, 0x4
ENHANCE_YOUR_CALM = 0xB


def frame(ftype, flags, stream, payload=b""):
    return struct.pack(">I", len(payload))[1:] + bytes([ftype, flags]) + struct.pack(">I", stream) + payload


def hpack_int(value, prefix_bits, first=0):
    limit = (1 << prefix_bits) - 1
    if value < limit:
        return bytes([first | value])
    out = bytearray([first | limit])
    value -= limit
    while value >= 128:
        out.append((value & 0x7F) | 0x80)
        value >>= 7
    out.append(value)
    return bytes(out)


def literal(name, value, indexed=False):
    """Literal header field with a new name: without indexing, or with incremental indexing."""
    name, value = name.encode(), value.encode() if isinstance(value, str) else value
    return (b"\x40" if indexed else b"\x00") + hpack_int(len(name), 7) + name + hpack_int(len(value), 7) + value


def request_block(path, method="GET", authority="localhost", extra=()):
    block = literal(":method", method) + literal(":scheme", "http") + literal(":path", path) + literal(":authority", authority)
    for n, v in extra:
        block += literal(n, v)
    return block


def settings(**entries):
    ids = {"max_concurrent_streams": 3, "initial_window_size": 4}
    return frame(SETTINGS, 0, 0, b"".join(struct.pack(">HI", ids[k], v) for k, v in entries.items()))


def connect(port, window=None):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(PREFACE + (settings(initial_window_size=window) if window is not None else settings()))
    return s


class Reader:
    def __init__(self, sock):
        self.sock = sock
        self.buf = b""
        self.frames = []   # (type, flags, stream, payload)
        self.closed = False

    def _parse(self):
        while len(self.buf) >= 9:
            length = int.from_bytes(self.buf[:3], "big")
            if len(self.buf) < 9 + length:
                return
            ftype, flags = self.buf[3], self.buf[4]
            stream = int.from_bytes(self.buf[5:9], "big") & 0x7FFFFFFF
            self.frames.append((ftype, flags, stream, self.buf[9:9 + length]))
            self.buf = self.buf[9 + length:]

    def until(self, cond, timeout=5.0):
        """Reads until cond(self) is true, the peer closes, or the timeout; returns cond(self)."""
        end = time.time() + timeout
        while not cond(self) and not self.closed and time.time() < end:
            self.sock.settimeout(max(0.01, end - time.time()))
            try:
                data = self.sock.recv(65536)
            except socket.timeout:
                break
            except (ConnectionResetError, BrokenPipeError):
                data = b""
            if not data:
                self.closed = True
                break
            self.buf += data
            self._parse()
        return cond(self)

    def goaway(self):
        """(last_stream_id, error_code) of the first GOAWAY received, or None."""
        for t, _, _, p in self.frames:
            if t == GOAWAY:
                return int.from_bytes(p[:4], "big") & 0x7FFFFFFF, int.from_bytes(p[4:8], "big")
        return None

    def of(self, ftype, stream=None):
        return [f for f in self.frames if f[0] == ftype and (stream is None or f[2] == stream)]

    def body(self, stream):
        return b"".join(p for t, _, s, p in self.frames if t == DATA and s == stream)

    def ended(self, stream):
        return any(s == stream and (t in (DATA, HEADERS) and f & END_STREAM or t == RST_STREAM) for t, f, s, _ in self.frames)
