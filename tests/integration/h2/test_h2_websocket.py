"""WebSocket over HTTP/2 (RFC 8441) with raw frames (h2frames.py) on an h2c listener: the server
advertises SETTINGS_ENABLE_CONNECT_PROTOCOL; an extended CONNECT reaches a raw WebSocket echo
backend as the HTTP/1.1 handshake (GET, Upgrade, a fresh key, the subprotocol passed through),
is answered 200, and a masked text frame sent in DATA comes back echoed in DATA; the client's
END_STREAM half-closes the upstream and the backend's close ends the stream; RST_STREAM closes
the upstream; a client that does not read stops the upstream (flow control as backpressure); a
silent tunnel is reset after the route's tunnel_idle; a refused handshake reaches the client as a
normal response; a plain CONNECT is still refused; the access log shows the CONNECT as HTTP/2.0
and the tunnel metrics count it.
"""
import base64
import hashlib
import os
import re
import socket
import struct
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support.harness import Tether, free_port, wait_for  # noqa: E402
import h2frames as h2  # noqa: E402

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
ENABLE_CONNECT_PROTOCOL = 0x8
STATUS_200, STATUS_400 = 0x88, 0x8C  # HPACK static table indexes 8 and 12, as nghttp2 sends them


class EchoBackend:
    """A raw WebSocket echo server: records each handshake head, answers 101 (or 403 for paths
    starting with /refuse), echoes every frame unmasked, and records when its peer ended."""

    def __init__(self):
        self.lst = socket.socket()
        self.lst.bind(("127.0.0.1", 0))
        self.lst.listen(16)
        self.port = self.lst.getsockname()[1]
        self.heads = []
        self.events = []
        self.flooded = 0  # bytes a /flood tunnel got into its socket
        threading.Thread(target=self.accept_loop, daemon=True).start()

    def accept_loop(self):
        while True:
            try:
                c, _ = self.lst.accept()
            except OSError:
                return
            threading.Thread(target=self.serve, args=(c,), daemon=True).start()

    def serve(self, c):
        c.settimeout(20)
        try:
            data = b""
            while b"\r\n\r\n" not in data:
                d = c.recv(4096)
                if not d:
                    return
                data += d
            head, _, rest = data.partition(b"\r\n\r\n")
            text = head.decode()
            self.heads.append(text)
            if text.split(" ")[1].startswith("/refuse"):
                c.sendall(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 7\r\n\r\nrefused")
                return
            key = re.search(r"(?im)^sec-websocket-key: *(\S+)", text).group(1).encode()
            accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
            proto = re.search(r"(?im)^sec-websocket-protocol: *([^,\r\n]+)", text)
            c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      b"Sec-WebSocket-Accept: " + accept + b"\r\n" +
                      (b"Sec-WebSocket-Protocol: " + proto.group(1).encode() + b"\r\n" if proto else b"") + b"\r\n")
            if text.split(" ")[1].startswith("/flood"):
                c.settimeout(0.5)
                chunk = b"\x82\x7e\xff\xff" + b"x" * 65535  # binary frames of 64 KiB
                while True:
                    try:
                        self.flooded += c.send(chunk)
                    except socket.timeout:
                        continue  # blocked: the proxy stopped reading
            buf = rest
            while True:
                while len(buf) >= 6:
                    n = buf[1] & 0x7F
                    assert n < 126 and buf[1] & 0x80, "short masked frames only"
                    if len(buf) < 6 + n:
                        break
                    mask, payload = buf[2:6], bytes(b ^ buf[2 + (i % 4)] for i, b in enumerate(buf[6:6 + n]))
                    opcode = buf[0] & 0x0F
                    buf = buf[6 + n:]
                    c.sendall(bytes([0x80 | opcode, n]) + payload)
                    if opcode == 8:
                        self.events.append("close frame")
                d = c.recv(4096)
                if not d:
                    self.events.append("eof")
                    return
                buf += d
        except OSError:
            self.events.append("error")
        finally:
            c.close()

    def stop(self):
        self.lst.close()


def ws_frame(opcode, payload):
    mask = os.urandom(4)
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


def extended_connect(path, protocol="websocket", extra=()):
    return (h2.literal(":method", "CONNECT") + h2.literal(":protocol", protocol) + h2.literal(":scheme", "http") +
            h2.literal(":path", path) + h2.literal(":authority", "localhost") + h2.literal("sec-websocket-version", "13") +
            b"".join(h2.literal(n, v) for n, v in extra))


class WebSocketOverH2(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        cls.backend = EchoBackend()
        cls.port, cls.admin = free_port(), free_port()
        cfg = f"""workers: 1
listeners:
  - address: 127.0.0.1:{cls.port}
    http2: true
upstreams:
  app:
    servers: ['127.0.0.1:{cls.backend.port}']
routes:
  - path_prefix: /quiet
    upstream: app
    timeouts: {{tunnel_idle: 1s}}
  - upstream: app
timeouts:
  client_header: 500ms
access_log: {{path: {cls.dir.name}/access.log, format: combined}}
admin:
  address: 127.0.0.1:{cls.admin}
"""
        cls.tether = Tether(cfg, [cls.port, cls.admin]).start()

    @classmethod
    def tearDownClass(cls):
        cls.tether.stop()
        cls.backend.stop()
        cls.dir.cleanup()

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/metrics", timeout=5) as r:
            return r.read().decode()

    def metric(self, name):
        m = re.search(r"^" + re.escape(name) + r" (\S+)$", self.metrics(), re.M)
        return float(m.group(1)) if m else 0.0

    def open(self, path, extra=()):
        s = h2.connect(self.port)
        r = h2.Reader(s)
        s.sendall(h2.frame(h2.HEADERS, h2.END_HEADERS, 1, extended_connect(path, extra=extra)))
        self.assertTrue(r.until(lambda r: r.of(h2.HEADERS, 1)), r.frames)
        return s, r

    def test_settings_advertise_extended_connect(self):
        s = h2.connect(self.port)
        r = h2.Reader(s)
        self.assertTrue(r.until(lambda r: any(t == h2.SETTINGS and not f & h2.ACK for t, f, _, _ in r.frames)))
        payload = next(p for t, f, _, p in r.frames if t == h2.SETTINGS and not f & h2.ACK)
        entries = dict(struct.unpack(">HI", payload[i:i + 6]) for i in range(0, len(payload), 6))
        self.assertEqual(entries.get(ENABLE_CONNECT_PROTOCOL), 1)
        s.close()

    def test_echo_over_extended_connect(self):
        total = self.metric('tether_tunnels_total{upstream="app"}')
        s, r = self.open("/chat?room=1", extra=[("sec-websocket-protocol", "chat, superchat")])
        block = r.of(h2.HEADERS, 1)[0][3]
        self.assertEqual(block[0], STATUS_200, block)
        self.assertFalse(r.ended(1))
        head = self.backend.heads[-1]
        self.assertTrue(head.startswith("GET /chat?room=1 HTTP/1.1\r\n"), head)
        self.assertRegex(head, r"(?im)^upgrade: websocket\r?$")
        self.assertRegex(head, r"(?im)^connection: upgrade\r?$")
        self.assertRegex(head, r"(?im)^sec-websocket-version: 13\r?$")
        key = re.search(r"(?im)^sec-websocket-key: *(\S+)\r?$", head).group(1)
        self.assertEqual(len(base64.b64decode(key)), 16)
        self.assertEqual(len(re.findall(r"(?im)^sec-websocket-version:", head)), 1)
        self.assertRegex(head, r"(?im)^sec-websocket-protocol: chat, superchat\r?$")
        # The chosen subprotocol comes back in the 200: "chat" as nghttp2 Huffman-codes it.
        self.assertIn(b"\x83\x24\xe3\x4f", block)
        wait_for(lambda: self.metric('tether_tunnels_total{upstream="app"}') == total + 1)
        self.assertEqual(self.metric('tether_tunnels_total{upstream="app"}'), total + 1)

        # A masked text frame in DATA comes back echoed (unmasked) in DATA, twice.
        for text in (b"hello over h2", b"second message"):
            before = len(r.body(1))
            s.sendall(h2.frame(h2.DATA, 0, 1, ws_frame(1, text)))
            self.assertTrue(r.until(lambda r: len(r.body(1)) >= before + 2 + len(text)), r.frames)
            self.assertEqual(r.body(1)[before:], bytes([0x81, len(text)]) + text)

        # Close frame, then END_STREAM: the backend sees EOF, closes, and the stream ends.
        s.sendall(h2.frame(h2.DATA, h2.END_STREAM, 1, ws_frame(8, b"\x03\xe8")))
        self.assertTrue(r.until(lambda r: r.ended(1)), r.frames)
        self.assertFalse(r.of(h2.RST_STREAM, 1), r.frames)
        self.assertTrue(r.body(1).endswith(b"\x88\x02\x03\xe8"))
        self.assertTrue(wait_for(lambda: "eof" in self.backend.events))
        # The connection stays usable for other streams.
        s.sendall(h2.frame(h2.HEADERS, h2.END_HEADERS | h2.END_STREAM, 3, h2.request_block("/refuse/x")))
        self.assertTrue(r.until(lambda r: r.ended(3)))
        self.assertEqual(r.body(3), b"refused")
        s.close()

        line = re.compile(r'"CONNECT /chat\?room=1 HTTP/2\.0" 200 ')
        wait_for(lambda: line.search(self.access_log()))  # the log is written in batches
        self.assertRegex(self.access_log(), line)

    def access_log(self):
        with open(os.path.join(self.dir.name, "access.log")) as f:
            return f.read()

    def test_client_that_does_not_read_stops_the_upstream(self):
        # The client never sends WINDOW_UPDATE: after its 64 KiB stream window, tether keeps at most
        # a stream buffer and stops reading, so the backend's sending stalls on socket buffers.
        s, r = self.open("/flood")
        time.sleep(1.5)
        at_half = self.backend.flooded
        time.sleep(1.5)
        total = self.backend.flooded
        s.close()
        self.assertGreater(at_half, 65536)
        self.assertLess(total, 32 * 1024 * 1024, f"{at_half} bytes in 1.5 s, {total} in 3 s")
        self.assertLess(total - at_half, 1024 * 1024, f"{at_half} bytes in 1.5 s, {total} in 3 s")

    def test_client_reset_closes_the_upstream(self):
        s, r = self.open("/reset")
        active = 'tether_tunnels_active{server="127.0.0.1:%d",upstream="app"}' % self.backend.port
        self.assertTrue(wait_for(lambda: self.metric(active) == 1), self.metrics())
        events = len(self.backend.events)
        s.sendall(h2.frame(h2.RST_STREAM, 0, 1, struct.pack(">I", 8)))  # CANCEL
        self.assertTrue(wait_for(lambda: len(self.backend.events) > events))
        self.assertIn(self.backend.events[-1], ("eof", "error"))
        self.assertTrue(wait_for(lambda: self.metric(active) == 0))
        s.close()

    def test_idle_tunnel_is_reset_after_tunnel_idle(self):
        s, r = self.open("/quiet")
        self.assertEqual(r.of(h2.HEADERS, 1)[0][3][0], STATUS_200)
        start = time.time()
        self.assertTrue(r.until(lambda r: r.of(h2.RST_STREAM, 1), timeout=5), r.frames)
        self.assertGreater(time.time() - start, 0.9)
        s.close()

    def test_refused_handshake_is_a_normal_response(self):
        s, r = self.open("/refuse")
        self.assertTrue(r.until(lambda r: r.ended(1)))
        self.assertNotEqual(r.of(h2.HEADERS, 1)[0][3][0], STATUS_200)
        self.assertEqual(r.body(1), b"refused")
        s.close()

    def test_plain_connect_and_other_protocols_are_refused(self):
        s = h2.connect(self.port)
        r = h2.Reader(s)
        plain = h2.literal(":method", "CONNECT") + h2.literal(":authority", "example.com:443")
        s.sendall(h2.frame(h2.HEADERS, h2.END_HEADERS, 1, plain))
        s.sendall(h2.frame(h2.HEADERS, h2.END_HEADERS, 3, extended_connect("/x", protocol="not-websocket")))
        self.assertTrue(r.until(lambda r: r.ended(1) and r.ended(3)), r.frames)
        self.assertEqual(r.of(h2.HEADERS, 1)[0][3][0], STATUS_400)
        self.assertEqual(r.of(h2.HEADERS, 3)[0][3][0], STATUS_400)
        s.close()


if __name__ == "__main__":
    unittest.main()
