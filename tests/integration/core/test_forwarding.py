"""Proxy core, happy paths: what a client of tether sees when backends behave.

Round-robin spread by weight, keep-alive reuse on both sides, header rewriting, request and
response bodies in every framing, pipelining, HTTP/1.0 clients, routing by host and path.
"""
import http.client
import json
import os
import socket
import sys
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, raw_request, simple_config  # noqa: E402


def get(conn, path, **kw):
    conn.request("GET", path, **kw)
    r = conn.getresponse()
    return r, r.read()


class Forwarding(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.b1 = Backend("b1").start()
        cls.b2 = Backend("b2").start()
        cls.port = free_port()
        cfg = simple_config(cls.port, [{"address": cls.b1.address, "weight": 3}, {"address": cls.b2.address, "weight": 1}])
        cls.tether = Tether(cfg, [cls.port]).start()

    @classmethod
    def tearDownClass(cls):
        cls.tether.stop()
        cls.b1.stop()
        cls.b2.stop()

    def conn(self):
        return http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)

    def test_round_robin_follows_weights(self):
        c = self.conn()
        seen = [get(c, "/name")[1].decode() for _ in range(400)]
        self.assertEqual(seen.count("b1"), 300)
        self.assertEqual(seen.count("b2"), 100)
        # smooth: never more than three b1 in a row with weights 3:1
        self.assertNotIn("b1b1b1b1", "".join(seen))

    def test_keepalive_reused_on_both_sides(self):
        before = self.b1.connections + self.b2.connections
        c = self.conn()
        for _ in range(100):
            r, _ = get(c, "/name")
            self.assertEqual(r.status, 200)
            self.assertFalse(r.will_close)
        opened = self.b1.connections + self.b2.connections - before
        self.assertLessEqual(opened, 2, "upstream connections must be pooled, not opened per request")

    def test_headers_rewritten(self):
        c = self.conn()
        r, body = get(c, "/headers", headers={"Host": "chat.example.com", "X-Forwarded-For": "203.0.113.9",
                                             "X-Real-IP": "6.6.6.6", "Connection": "keep-alive, X-Secret",
                                             "X-Secret": "drop-me", "Keep-Alive": "timeout=5", "TE": "trailers",
                                             "Proxy-Connection": "keep-alive", "Upgrade": "h2c", "X-App": "kept"})
        info = json.loads(body)
        h = {k.lower(): v for k, v in info["headers"]}
        self.assertEqual(info["request_line"], "GET /headers HTTP/1.1")
        self.assertEqual(h["host"], "chat.example.com")
        self.assertEqual(h["x-forwarded-for"], "127.0.0.1")  # an untrusted client cannot extend the chain
        self.assertEqual(h["x-real-ip"], "127.0.0.1")
        self.assertEqual(h["x-forwarded-proto"], "http")
        self.assertEqual(h["x-forwarded-host"], "chat.example.com")
        self.assertEqual(h["x-app"], "kept")
        for hop in ("connection", "x-secret", "keep-alive", "te", "proxy-connection", "upgrade"):
            self.assertNotIn(hop, h)

    def test_response_hop_by_hop_removed(self):
        raw = raw_request(self.port, b"GET /name HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        head = raw.split(b"\r\n\r\n")[0].decode()
        self.assertIn("Connection: close", head)
        self.assertNotIn("Keep-Alive", head)

    def test_request_bodies(self):
        c = self.conn()
        c.request("POST", "/echo", body=b"a" * 100_000)
        r = c.getresponse()
        self.assertEqual(r.read(), b"a" * 100_000)
        # chunked request body, re-chunked towards the upstream
        c.request("POST", "/echo", body=iter([b"hello ", b"chunked ", b"world"]), encode_chunked=True)
        r = c.getresponse()
        self.assertEqual(r.read(), b"hello chunked world")

    def test_response_framings(self):
        c = self.conn()
        r, body = get(c, "/bytes?n=300000")
        self.assertEqual((r.status, len(body), r.getheader("Content-Length")), (200, 300000, "300000"))
        r, body = get(c, "/bytes?n=300000&chunked=1")
        self.assertEqual((len(body), r.getheader("Transfer-Encoding")), (300000, "chunked"))
        # a body delimited by the upstream closing is re-framed as chunked for an HTTP/1.1 client,
        # so the client connection survives
        r, body = get(c, "/close-delimited")
        self.assertEqual(body, b"until-close-body")
        self.assertEqual(r.getheader("Transfer-Encoding"), "chunked")
        r, body = get(c, "/name")
        self.assertEqual(r.status, 200)

    def test_head_and_no_body_statuses(self):
        c = self.conn()
        c.request("HEAD", "/bytes?n=5000")
        r = c.getresponse()
        self.assertEqual((r.status, r.read()), (200, b""))
        r, body = get(c, "/status?code=204")
        self.assertEqual((r.status, body), (204, b""))
        r, body = get(c, "/name")  # connection still in sync
        self.assertIn(body, (b"b1", b"b2"))

    def test_pipelined_requests_answered_in_order(self):
        reqs = b"".join(b"GET /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n%02d" % i for i in range(10))
        reqs += b"GET /name HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"
        raw = raw_request(self.port, reqs)
        self.assertEqual(raw.count(b"HTTP/1.1 200 OK"), 11)
        bodies = [part.split(b"\r\n\r\n", 1)[1][:2] for part in raw.split(b"HTTP/1.1 200 OK")[1:11]]
        self.assertEqual(bodies, [b"%02d" % i for i in range(10)])

    def test_http10_client(self):
        raw = raw_request(self.port, b"GET /bytes?n=10&chunked=1 HTTP/1.0\r\n\r\n")
        head, body = raw.split(b"\r\n\r\n", 1)
        self.assertIn(b"200 OK", head)
        self.assertNotIn(b"chunked", head.lower())  # 1.0 clients never get chunked
        self.assertEqual(body, b"x" * 10)
        # keep-alive on request
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"GET /name HTTP/1.0\r\nConnection: keep-alive\r\n\r\n")
        data = b""
        while b"\r\n\r\n" not in data or not (data.endswith(b"b1") or data.endswith(b"b2")):
            data += s.recv(4096)
        self.assertIn(b"Connection: keep-alive", data)
        s.sendall(b"GET /name HTTP/1.0\r\n\r\n")
        self.assertIn(b"200 OK", s.recv(4096))
        s.close()

    def test_expect_100_continue(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n")
        first = s.recv(4096)
        self.assertTrue(first.startswith(b"HTTP/1.1 100"), first)
        s.sendall(b"hello")
        data = first
        while not data.endswith(b"hello"):
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
        self.assertTrue(data.endswith(b"hello"), data)
        s.close()


class Routing(unittest.TestCase):
    def test_host_and_path_routes(self):
        api, web, wild = Backend("api").start(), Backend("web").start(), Backend("wild").start()
        port = free_port()
        cfg = f"""
listeners: [{{address: "127.0.0.1:{port}"}}]
upstreams:
  api: {{servers: ["{api.address}"]}}
  web: {{servers: ["{web.address}"]}}
  wild: {{servers: ["{wild.address}"]}}
routes:
  - {{host: "chat.example.com", path_prefix: /api/, upstream: api}}
  - {{host: "chat.example.com", upstream: web}}
  - {{host: "*.example.org", upstream: wild}}
"""
        try:
            with Tether(cfg, [port]):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                self.assertEqual(get(c, "/api/x", headers={"Host": "chat.example.com"})[1], b"api")
                self.assertEqual(get(c, "/index", headers={"Host": "CHAT.example.com:8080"})[1], b"web")
                self.assertEqual(get(c, "/", headers={"Host": "a.example.org"})[1], b"wild")
                r, body = get(c, "/", headers={"Host": "example.org"})
                self.assertEqual(r.status, 404)
                self.assertIn(b"no route", body)
        finally:
            for b in (api, web, wild):
                b.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
