"""Routes with the real binary: exact paths, methods and header matches, fixed responses, redirects,
redirect_https, strip_prefix / rewrite_prefix (what the backend received and what the access log
shows), and `tether -t` warning about a shadowed route."""
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.backend import Backend  # noqa: E402
from support.harness import TETHER_BIN, Tether, free_port, wait_for  # noqa: E402


def exchange(port, data, keep_open=False):
    """Sends raw bytes; returns the bytes of one response (keep_open) or all until close."""
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(data)
    out = b""
    while True:
        chunk = s.recv(65536)
        if not chunk:
            break
        out += chunk
        if keep_open and b"\r\n\r\n" in out:
            head, body = out.split(b"\r\n\r\n", 1)
            length = [int(l.split(b":")[1]) for l in head.split(b"\r\n") if l.lower().startswith(b"content-length:")]
            if length and len(body) >= length[0]:
                break
    s.close()
    return out


def parse(raw):
    head, body = raw.split(b"\r\n\r\n", 1)
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split(" ")[1])
    return status, {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in lines[1:])}, body


def get(port, path, host="x", extra=b"", method=b"GET"):
    return parse(exchange(port, method + b" " + path + b" HTTP/1.1\r\nHost: " + host.encode() +
                          b"\r\nConnection: close\r\n" + extra + b"\r\n"))


class UpgradeServer:
    """Answers every request with 101 and then stays silent: a tunnel that only its idle timer ends."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.conns = []
        threading.Thread(target=self.serve, daemon=True).start()

    def serve(self):
        while True:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            data = b""
            while b"\r\n\r\n" not in data:
                chunk = c.recv(4096)
                if not chunk:
                    break
                data += chunk
            c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
            self.conns.append(c)

    def stop(self):
        self.sock.close()
        for c in self.conns:
            c.close()


class Routes(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.ws = UpgradeServer()
        cls.a = Backend("a").start()
        cls.b = Backend("b").start()
        cls.dir = tempfile.TemporaryDirectory(prefix="tether-routes-")
        cls.log = os.path.join(cls.dir.name, "access.log")
        cls.port, cls.plain80 = free_port(), free_port()
        cls.config = f"""
workers: 1
request_id: X-Request-Id
listeners:
  - {{name: web, address: 127.0.0.1:{cls.port}}}
  - {{name: http, address: 127.0.0.1:{cls.plain80}, redirect_https: true}}
upstreams:
  a: {{servers: ["{cls.a.address}"]}}
  b: {{servers: ["{cls.b.address}"]}}
  ws: {{servers: ["{cls.ws.address}"]}}
routes:
  - {{path_prefix: /ws-short/, upstream: ws, timeouts: {{tunnel_idle: 500ms}}}}
  - {{path_prefix: /ws-long/, upstream: ws}}
  - {{path: /healthz, respond: {{status: 200, body: "ok $request_id\\n", content_type: text/plain}}}}
  - {{path: /gone, respond: {{status: 410, body: "gone from $host\\n"}}}}
  - {{host: old.example, path_prefix: /, redirect: {{to: "https://new.example$request_uri", status: 301}}}}
  - {{path_prefix: /ruled/, strip_prefix: true, upstream: b, request_headers: {{set: {{X-Env: prod, X-Forwarded-Proto: https}}, add: {{X-From: "$client_ip"}}, remove: [X-Debug]}}, response_headers: {{set: {{X-Backend: hidden}}, add: {{Strict-Transport-Security: "max-age=31536000"}}}}}}
  - {{path_prefix: /slow/, strip_prefix: true, upstream: a, timeouts: {{upstream_response: 300ms}}, limits: {{max_body_bytes: 10B}}}}
  - {{path_prefix: /chat/, strip_prefix: true, upstream: b}}
  - {{path_prefix: /v1/, rewrite_prefix: /v2/, upstream: b}}
  - {{path_prefix: /, methods: [DELETE], upstream: b}}
  - {{path_prefix: /, headers: {{X-Canary: "1"}}, upstream: b}}
  - {{path_prefix: /, upstream: a}}
access_log: {{path: {cls.log}, format: json}}
"""
        cls.tether = Tether(cls.config, [cls.port, cls.plain80]).start()

    @classmethod
    def tearDownClass(cls):
        cls.tether.stop()
        cls.a.stop()
        cls.b.stop()
        cls.ws.stop()
        cls.dir.cleanup()

    def test_respond_answers_at_the_edge_and_keeps_the_connection(self):
        before = self.a.requests + self.b.requests
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        for _ in range(3):  # keep-alive: three answers on one connection
            s.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Request-Id: probe-7\r\n\r\n")
            raw = b""
            while not raw.endswith(b"ok probe-7\n"):
                chunk = s.recv(4096)
                self.assertTrue(chunk, "connection closed")
                raw += chunk
            status, h, body = parse(raw)
            self.assertEqual((status, body), (200, b"ok probe-7\n"))
            self.assertEqual(h["content-type"], "text/plain")
            self.assertEqual(h["x-request-id"], "probe-7")
            self.assertNotIn("connection", h)
        s.close()
        status, h, body = get(self.port, b"/gone", host="shop.example:8080", method=b"HEAD")
        self.assertEqual((status, body), (410, b""))
        self.assertEqual(h["content-length"], str(len("gone from shop.example\n")))
        self.assertEqual(self.a.requests + self.b.requests, before, "answered by tether alone")

    def test_redirects(self):
        status, h, _ = get(self.port, b"/p/q?r=1", host="old.example")
        self.assertEqual(status, 301)
        self.assertEqual(h["location"], "https://new.example/p/q?r=1")
        status, h, _ = get(self.plain80, b"/socket.io/?EIO=4", host="chat.example:80")
        self.assertEqual(status, 308)
        self.assertEqual(h["location"], "https://chat.example/socket.io/?EIO=4")
        # ACME HTTP-01 challenges are not redirected.
        status, _, body = get(self.plain80, b"/.well-known/acme-challenge/tok", host="chat.example")
        self.assertEqual(status, 200)

    def test_strip_and_rewrite_prefix_change_only_the_path(self):
        n = len(self.b.paths)
        status, _, body = get(self.port, b"/chat/headers?x=1", host="app.example")
        self.assertEqual(status, 200)
        info = json.loads(body)
        self.assertEqual(info["request_line"], "GET /headers?x=1 HTTP/1.1")
        self.assertEqual({k.lower(): v for k, v in info["headers"]}["host"], "app.example")
        get(self.port, b"/chat/")
        get(self.port, b"/v1/name")
        self.assertEqual(self.b.paths[n:], ["/headers?x=1", "/", "/v2/name"])

        def logged():
            if not os.path.exists(self.log):
                return False
            with open(self.log) as f:
                lines = [json.loads(l) for l in f.read().splitlines()]
            return any(l.get("upstream_url") == "/v2/name" and l["url"] == "/v1/name" for l in lines)
        self.assertTrue(wait_for(logged, timeout=5), "the access log shows both targets")

    def test_header_rules_apply_after_tethers_own_headers(self):
        status, h, body = get(self.port, b"/ruled/headers", extra=b"X-Debug: 1\r\nX-Env: dev\r\nX-Forwarded-Proto: ftp\r\n")
        self.assertEqual(status, 200)
        up = json.loads(body)["headers"]
        names = [k.lower() for k, _ in up]
        sent = {k.lower(): v for k, v in up}
        self.assertNotIn("x-debug", names)
        self.assertEqual(names.count("x-env"), 1)
        self.assertEqual(sent["x-env"], "prod")
        self.assertEqual(names.count("x-forwarded-proto"), 1)
        self.assertEqual(sent["x-forwarded-proto"], "https")  # set replaces tether's own value too
        self.assertEqual(sent["x-from"], "127.0.0.1")
        self.assertEqual(h["x-backend"], "hidden")
        self.assertEqual(h["strict-transport-security"], "max-age=31536000")
        self.assertRegex(h["x-request-id"], r"^[0-9a-f]{32}$")
        # Another route carries none of it.
        status, h, body = get(self.port, b"/headers", extra=b"X-Debug: 1\r\n")
        self.assertIn("x-debug", [k.lower() for k, _ in json.loads(body)["headers"]])
        self.assertNotIn("strict-transport-security", h)
        self.assertEqual(h["x-backend"], "a")

    def test_route_timeouts_and_limits_override_the_global_ones(self):
        status, _, _ = get(self.port, b"/slow/sleep?ms=1000")
        self.assertEqual(status, 504)  # the route's 300ms, not the global 60s
        self.assertEqual(get(self.port, b"/slow/sleep?ms=10")[0], 200)
        status, _, _ = parse(exchange(self.port, b"POST /slow/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 11\r\n\r\nhello world"))
        self.assertEqual(status, 413)
        status, _, body = parse(exchange(self.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 11\r\n\r\nhello world"))
        self.assertEqual((status, body), (200, b"hello world"))

    def test_a_tunnel_takes_tunnel_idle_from_its_route(self):
        def open_tunnel(path):
            s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
            s.sendall(b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                      b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            head = b""
            while b"\r\n\r\n" not in head:
                head += s.recv(4096)
            self.assertIn(b" 101 ", head.split(b"\r\n")[0])
            return s
        short, long_ = open_tunnel(b"/ws-short/"), open_tunnel(b"/ws-long/")
        t0 = time.monotonic()
        self.assertEqual(short.recv(100), b"")  # closed by the route's 500ms
        self.assertLess(time.monotonic() - t0, 3)
        long_.settimeout(1.0)
        with self.assertRaises(socket.timeout):  # the global 1h still holds
            long_.recv(100)
        short.close()
        long_.close()

    def test_routes_reload_with_sighup(self):
        with open(self.tether.config_path) as f:
            original = f.read()
        try:
            with open(self.tether.config_path, "w") as f:
                f.write(original.replace('body: "gone from $host\\n"', 'body: "moved on from $host\\n"'))
            self.tether.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: get(self.port, b"/gone", host="h")[2] == b"moved on from h\n", timeout=5))
        finally:
            with open(self.tether.config_path, "w") as f:
                f.write(original)
            self.tether.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: get(self.port, b"/gone", host="h")[2] == b"gone from h\n", timeout=5))

    def test_methods_and_headers_pick_the_route(self):
        na, nb = self.a.requests, self.b.requests
        self.assertEqual(get(self.port, b"/name")[2], b"a")
        self.assertEqual(get(self.port, b"/name", method=b"DELETE")[0], 200)
        self.assertEqual(get(self.port, b"/name", extra=b"X-Canary: 1\r\n")[2], b"b")
        self.assertEqual((self.a.requests - na, self.b.requests - nb), (1, 2))

    def test_check_warns_about_a_shadowed_route(self):
        path = os.path.join(self.dir.name, "shadow.yaml")
        with open(path, "w") as f:
            f.write(self.config.replace("  - {path_prefix: /, upstream: a}\n",
                                        "  - {path_prefix: /, upstream: a}\n  - {path_prefix: /late/, upstream: b}\n"))
        p = subprocess.run([TETHER_BIN, "-t", "-c", path], capture_output=True, text=True, timeout=30)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stderr, r"shadow\.yaml:\d+:\d+: this route never matches: the route at .*shadow\.yaml:\d+:\d+ takes all")


if __name__ == "__main__":
    unittest.main()
