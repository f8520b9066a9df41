"""The edge, end to end with the real binary: the PROXY protocol (curl for v1, raw sockets for v2),
forwarding headers by trust, request ids, per-client limits (429 with Retry-After) and 503 at
max_connections. Each case asserts what the client got and what the backend received."""
import json
import os
import shutil
import socket
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, raw_request, wait_for  # noqa: E402

V2_SIG = b"\r\n\r\n\x00\r\nQUIT\n"


def status_of(raw):
    parts = raw.split(b"\r\n", 1)[0].split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def head_of(raw):
    head = raw.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")[1:]
    return {k.strip().lower(): v.strip() for k, v in (l.split(":", 1) for l in head)}


def body_json(raw):
    return json.loads(raw.split(b"\r\n\r\n", 1)[1])


def upstream_headers(raw):
    return {k.lower(): v for k, v in body_json(raw)["headers"]}


def v2_header(src, sport, dst="10.0.0.1", dport=8080, command=1, tlv=b""):
    family = socket.AF_INET6 if ":" in src else socket.AF_INET
    addrs = socket.inet_pton(family, src) + socket.inet_pton(family, dst if family == socket.AF_INET else "::1")
    body = addrs + struct.pack("!HH", sport, dport) + tlv
    fam = 0x11 if family == socket.AF_INET else 0x21
    return V2_SIG + bytes([0x20 | command, fam]) + struct.pack("!H", len(body)) + body


def request(port, data, source="127.0.0.1", timeout=5.0):
    """Raw bytes from `source` (any 127/8 address); everything until the server closes."""
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    out = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
    except (socket.timeout, ConnectionResetError):
        pass
    finally:
        s.close()
    return out


GET_HEADERS = b"GET /headers HTTP/1.1\r\nHost: edge.example\r\nConnection: close\r\n\r\n"


def config(ports, backend, extra="", listener_extra=None):
    lines = ["workers: 2", "listeners:"]
    for i, p in enumerate(ports):
        lines += [f"  - name: l{i}", f"    address: 127.0.0.1:{p}"]
        lines += ["    " + l for l in (listener_extra[i] if listener_extra else "").splitlines() if l]
    lines += ["upstreams:", "  app:", f"    servers: [{backend.address}]"]
    return "\n".join(lines) + "\n" + extra


class ProxyProtocol(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("b1").start()
        cls.dir = tempfile.TemporaryDirectory(prefix="tether-edge-")
        cls.log = os.path.join(cls.dir.name, "access.log")
        cls.pp, cls.pp_trusted_elsewhere, cls.plain = free_port(), free_port(), free_port()
        cfg = config([cls.pp, cls.pp_trusted_elsewhere, cls.plain], cls.backend,
                     extra=f"timeouts: {{client_header: 1s}}\naccess_log: {{path: {cls.log}, format: json}}\n",
                     listener_extra=["proxy_protocol: true\ntrusted_proxies: [127.0.0.0/8]\n",
                                     "proxy_protocol: true\ntrusted_proxies: [10.0.0.0/8]\n", ""])
        cls.tether = Tether(cfg, [cls.pp, cls.pp_trusted_elsewhere, cls.plain]).start()

    @classmethod
    def tearDownClass(cls):
        cls.tether.stop()
        cls.backend.stop()
        cls.dir.cleanup()

    def log_lines(self, n):
        def enough():
            return os.path.exists(self.log) and len(open(self.log).read().splitlines()) >= n
        self.assertTrue(wait_for(enough, timeout=5), "access log lines missing")
        return [json.loads(l) for l in open(self.log).read().splitlines()]

    def test_v1_with_curl_the_source_is_the_client(self):
        if not shutil.which("curl"):
            self.skipTest("curl not installed")
        out = subprocess.run(["curl", "-s", "--haproxy-protocol", f"http://127.0.0.1:{self.pp}/headers"],
                             capture_output=True, timeout=10)
        self.assertEqual(out.returncode, 0, out.stderr)
        h = {k.lower(): v for k, v in json.loads(out.stdout)["headers"]}
        # curl's v1 header names its own socket: 127.0.0.1 (the peer, but via PROXY).
        self.assertEqual(h["x-real-ip"], "127.0.0.1")
        raw = request(self.pp, b"PROXY TCP4 203.0.113.7 127.0.0.1 40000 80\r\n" + GET_HEADERS)
        self.assertEqual(status_of(raw), 200, raw[:200])
        h = upstream_headers(raw)
        self.assertEqual(h["x-real-ip"], "203.0.113.7")
        self.assertEqual(h["x-forwarded-for"], "203.0.113.7")
        line = [l for l in self.log_lines(2) if l["client"] == "203.0.113.7"]
        self.assertEqual(len(line), 1, "the access log names the PROXY source")

    def test_v2_ipv4_ipv6_split_and_local(self):
        raw = request(self.pp, v2_header("198.51.100.9", 5555, tlv=b"\x04\x00\x02hi") + GET_HEADERS)
        self.assertEqual(upstream_headers(raw)["x-real-ip"], "198.51.100.9")
        raw = request(self.pp, v2_header("2001:db8::42", 5555) + GET_HEADERS)
        self.assertEqual(upstream_headers(raw)["x-real-ip"], "2001:db8::42")
        # The header arriving a few bytes at a time.
        s = socket.create_connection(("127.0.0.1", self.pp), timeout=5)
        data = v2_header("192.0.2.33", 1) + GET_HEADERS
        for i in range(0, 40, 4):
            s.sendall(data[i:i + 4])
            time.sleep(0.01)
        s.sendall(data[40:])
        raw = b""
        while chunk := s.recv(65536):
            raw += chunk
        s.close()
        self.assertEqual(upstream_headers(raw)["x-real-ip"], "192.0.2.33")
        # LOCAL (the balancer's own health check): the peer stays the client.
        local = V2_SIG + bytes([0x20, 0x00]) + b"\x00\x00"
        raw = request(self.pp, local + GET_HEADERS)
        self.assertEqual(upstream_headers(raw)["x-real-ip"], "127.0.0.1")

    def test_without_a_valid_header_the_connection_is_closed_unanswered(self):
        before = self.backend.requests
        for bad in (GET_HEADERS, b"PROXY TCP4 1.2.3.4 5.6.7.8 1\r\n" + GET_HEADERS,
                    V2_SIG + b"\x21\x11\x00\x04abcd" + GET_HEADERS, b"PROXY " + b"1" * 200):
            self.assertEqual(request(self.pp, bad), b"", bad[:40])
        self.assertEqual(self.backend.requests, before)

    def test_peer_not_in_trusted_proxies_is_closed(self):
        raw = request(self.pp_trusted_elsewhere, b"PROXY TCP4 203.0.113.7 127.0.0.1 1 80\r\n" + GET_HEADERS)
        self.assertEqual(raw, b"")

    def test_header_timeout_applies_to_the_proxy_header(self):
        s = socket.create_connection(("127.0.0.1", self.pp), timeout=5)
        s.sendall(b"PROXY TCP4 ")
        t0 = time.monotonic()
        self.assertEqual(s.recv(100), b"")  # closed at client_header (1 s)
        self.assertLess(time.monotonic() - t0, 3.5)
        s.close()

    def test_plain_listener_is_unaffected(self):
        raw = request(self.plain, GET_HEADERS)
        self.assertEqual(upstream_headers(raw)["x-real-ip"], "127.0.0.1")


class ForwardingTrust(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("b1").start()
        cls.trusting, cls.untrusting = free_port(), free_port()
        cfg = config([cls.trusting, cls.untrusting], cls.backend,
                     listener_extra=["trusted_proxies: [127.0.0.0/8, 10.0.0.0/8]\n", ""])
        cls.tether = Tether(cfg, [cls.trusting, cls.untrusting]).start()

    @classmethod
    def tearDownClass(cls):
        cls.tether.stop()
        cls.backend.stop()

    FORWARDED = (b"GET /headers HTTP/1.1\r\nHost: edge.example\r\nConnection: close\r\n"
                 b"X-Forwarded-For: 198.51.100.1, 203.0.113.50, 10.1.2.3\r\nX-Forwarded-Proto: https\r\n"
                 b"X-Forwarded-Host: www.example\r\nX-Real-IP: 6.6.6.6\r\n\r\n")

    def test_trusted_peer_keeps_the_chain_and_names_the_client(self):
        h = upstream_headers(request(self.trusting, self.FORWARDED))
        self.assertEqual(h["x-forwarded-for"], "198.51.100.1, 203.0.113.50, 10.1.2.3, 127.0.0.1")
        self.assertEqual(h["x-forwarded-proto"], "https")
        self.assertEqual(h["x-forwarded-host"], "www.example")
        self.assertEqual(h["x-real-ip"], "203.0.113.50")  # the right-most untrusted entry

    def test_untrusted_peer_cannot_forge_them(self):
        h = upstream_headers(request(self.untrusting, self.FORWARDED))
        self.assertEqual(h["x-forwarded-for"], "127.0.0.1")
        self.assertEqual(h["x-forwarded-proto"], "http")
        self.assertEqual(h["x-forwarded-host"], "edge.example")
        self.assertEqual(h["x-real-ip"], "127.0.0.1")


class RequestIds(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("b1").start()
        cls.dir = tempfile.TemporaryDirectory(prefix="tether-edge-")
        cls.log = os.path.join(cls.dir.name, "access.log")
        cls.port = free_port()
        cfg = config([cls.port], cls.backend, extra=(f"request_id: X-Request-Id\n"
                                                     f"routes: [{{path_prefix: /headers, upstream: app}}]\n"
                                                     f"access_log: {{path: {cls.log}, format: combined}}\n"))
        cls.tether = Tether(cfg, [cls.port]).start()

    @classmethod
    def tearDownClass(cls):
        cls.tether.stop()
        cls.backend.stop()
        cls.dir.cleanup()

    def get(self, extra=b"", path=b"/headers"):
        return request(self.port, b"GET " + path + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra + b"\r\n")

    def test_a_sane_client_id_is_kept_end_to_end(self):
        raw = self.get(b"X-Request-Id: trace-0af7651916cd43dd\r\n")
        self.assertEqual(head_of(raw)["x-request-id"], "trace-0af7651916cd43dd")
        self.assertEqual(upstream_headers(raw)["x-request-id"], "trace-0af7651916cd43dd")

    def test_missing_or_insane_ids_are_generated(self):
        ids = set()
        for extra in (b"", b"X-Request-Id: has space\r\n", b"X-Request-Id: " + b"a" * 129 + b"\r\n"):
            raw = self.get(extra)
            rid = head_of(raw)["x-request-id"]
            self.assertRegex(rid, r"^[0-9a-f]{32}$")
            self.assertEqual(upstream_headers(raw)["x-request-id"], rid, "one id, upstream and back")
            ids.add(rid)
        self.assertEqual(len(ids), 3)

    def test_local_answers_and_the_access_log_carry_it(self):
        raw = self.get(b"X-Request-Id: lost-1\r\n", path=b"/nowhere")
        self.assertEqual(status_of(raw), 404)
        self.assertEqual(head_of(raw)["x-request-id"], "lost-1")
        self.get(b"X-Request-Id: logged-2\r\n")

        def logged():
            text = open(self.log).read() if os.path.exists(self.log) else ""
            return '"lost-1"' in text and '"logged-2"' in text
        self.assertTrue(wait_for(logged, timeout=5), "request ids missing from the access log")


class PerClientLimits(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("b1").start()
        cls.port, cls.pp = free_port(), free_port()
        cfg = config([cls.port, cls.pp], cls.backend,
                     extra="limits: {per_client: {connections: 3, requests_per_second: 5, burst: 8}}\n",
                     listener_extra=["", "proxy_protocol: true\n"])
        cls.tether = Tether(cfg, [cls.port, cls.pp]).start()

    @classmethod
    def tearDownClass(cls):
        cls.tether.stop()
        cls.backend.stop()

    def connect(self, source, port=None):
        s = socket.socket()
        s.settimeout(5)
        s.bind((source, 0))
        s.connect(("127.0.0.1", port or self.port))
        return s

    def test_connection_cap_answers_429_and_frees_on_close(self):
        held = [self.connect("127.0.0.21") for _ in range(3)]
        time.sleep(0.2)  # the workers have counted them
        extra = self.connect("127.0.0.21")
        raw = b""
        while chunk := extra.recv(4096):
            raw += chunk
        extra.close()
        self.assertEqual(status_of(raw), 429, raw)
        self.assertEqual(head_of(raw)["retry-after"], "1")
        self.assertEqual(head_of(raw)["connection"], "close")
        # Another client is unaffected.
        self.assertEqual(status_of(request(self.port, GET_HEADERS, source="127.0.0.22")), 200)
        held.pop().close()
        time.sleep(0.2)
        self.assertEqual(status_of(request(self.port, GET_HEADERS, source="127.0.0.21")), 200)
        for s in held:
            s.close()

    def test_request_rate_answers_429_with_retry_after_then_recovers(self):
        before = self.backend.requests
        codes = []
        for _ in range(12):
            codes.append(status_of(request(self.port, GET_HEADERS, source="127.0.0.31")))
        self.assertEqual(codes[:8], [200] * 8, "the burst")
        self.assertIn(429, codes[8:])
        self.assertEqual(set(codes), {200, 429})
        self.assertEqual(self.backend.requests - before, codes.count(200), "limited requests never reach the backend")
        time.sleep(1.1)
        self.assertEqual(status_of(request(self.port, GET_HEADERS, source="127.0.0.31")), 200)

    def test_limits_key_on_the_proxy_source(self):
        held = [self.connect("127.0.0.41", self.pp) for _ in range(3)]
        for s in held:
            s.sendall(b"PROXY TCP4 203.0.113.99 127.0.0.1 1 80\r\n")
        time.sleep(0.2)
        raw = request(self.pp, b"PROXY TCP4 203.0.113.99 127.0.0.1 1 80\r\n" + GET_HEADERS, source="127.0.0.41")
        self.assertEqual(status_of(raw), 429)
        raw = request(self.pp, b"PROXY TCP4 203.0.113.100 127.0.0.1 1 80\r\n" + GET_HEADERS, source="127.0.0.41")
        self.assertEqual(status_of(raw), 200, "another PROXY source from the same balancer is its own client")
        for s in held:
            s.close()


class MaxConnections(unittest.TestCase):
    def test_past_max_connections_503_with_retry_after(self):
        backend = Backend("b1").start()
        port = free_port()
        try:
            with Tether(config([port], backend, extra="limits: {max_connections: 2}\n"), [port]):
                held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2)]
                time.sleep(0.2)
                raw = raw_request(port, GET_HEADERS)
                self.assertEqual(status_of(raw), 503, raw)
                self.assertEqual(head_of(raw)["retry-after"], "1")
                for s in held:
                    s.close()
                self.assertTrue(wait_for(lambda: status_of(raw_request(port, GET_HEADERS)) == 200, timeout=5))
        finally:
            backend.stop()


if __name__ == "__main__":
    unittest.main()
