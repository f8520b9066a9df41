"""The admin API: /status JSON shape, bearer token (401 without), POST drain/disable/enable
changing where new requests go, the admin section's config validation."""
import http.client
import os
import socket
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from admin_support import admin_call, admin_config, open_tunnel, status, UpgradeBackend  # noqa: E402
from support.backend import Backend  # noqa: E402
from support.harness import TETHER_BIN, Tether, free_port, recv_until_close  # noqa: E402


def names(port, n):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    out = []
    for _ in range(n):
        c.request("GET", "/name")
        r = c.getresponse()
        out.append((r.status, r.read().decode()))
    c.close()
    return out


class StatusJson(unittest.TestCase):
    def test_shape(self):
        a, b = Backend("a").start(), Backend("b").start()
        port, admin = free_port(), free_port()
        servers = [a.address, {"address": b.address, "name": "bee", "weight": 3}]
        try:
            with Tether(admin_config(port, admin, servers), [port, admin]):
                names(port, 8)
                st = status(admin)
                for key in ("version", "generation", "workers", "uptime_seconds", "listeners", "upstreams"):
                    self.assertIn(key, st)
                self.assertEqual(st["generation"], 1)
                self.assertEqual(st["listeners"][0]["name"], "web")
                self.assertEqual(len(st["upstreams"]), 1)
                u = st["upstreams"][0]
                self.assertEqual((u["name"], u["strategy"]), ("app", "round_robin"))
                self.assertEqual(u["requests"], 8)
                self.assertEqual(u["affinity"], {"hit": 0, "miss": 0, "repinned": 0})
                self.assertEqual([s["name"] for s in u["servers"]], [a.address, "bee"])
                self.assertEqual([s["weight"] for s in u["servers"]], [1, 3])
                for s in u["servers"]:
                    self.assertEqual(s["health"], "up")
                    self.assertEqual(s["admin_state"], "enabled")
                    for key in ("address", "backup", "active_connections", "tunnels", "requests", "responses"):
                        self.assertIn(key, s)
                self.assertEqual([s["requests"] for s in u["servers"]], [2, 6])  # weights 1:3
                self.assertEqual(u["servers"][1]["responses"]["2xx"], 6)
        finally:
            a.stop()
            b.stop()

    def test_live_tunnels_per_server(self):
        ws = UpgradeBackend()
        port, admin = free_port(), free_port()
        try:
            with Tether(admin_config(port, admin, [ws.address]), [port, admin]):
                t = [open_tunnel(port), open_tunnel(port)]
                s = status(admin)["upstreams"][0]["servers"][0]
                self.assertEqual(s["tunnels"], 2)
                self.assertEqual(s["active_connections"], 2)
                self.assertEqual(status(admin)["listeners"][0]["connections"], 2)
                for x in t:
                    x.close()
        finally:
            ws.stop()


class Token(unittest.TestCase):
    def test_token_required_when_set(self):
        a = Backend("a").start()
        port, admin = free_port(), free_port()
        try:
            with Tether(admin_config(port, admin, [a.address], token="s3cret"), [port, admin]):
                for path in ("/metrics", "/status"):
                    code, headers, _ = admin_call(admin, "GET", path)
                    self.assertEqual(code, 401)
                    self.assertIn("Bearer", headers.get("www-authenticate", ""))
                    self.assertEqual(admin_call(admin, "GET", path, token="wrong")[0], 401)
                    self.assertEqual(admin_call(admin, "GET", path, token="s3cret")[0], 200)
                self.assertEqual(admin_call(admin, "POST", f"/upstreams/app/servers/{a.address}/drain")[0], 401)
                self.assertEqual(status(admin, token="s3cret")["upstreams"][0]["servers"][0]["admin_state"], "enabled")
                # The page shell loads without the token (it holds no data) and asks for it.
                code, headers, body = admin_call(admin, "GET", "/")
                self.assertEqual(code, 200)
                self.assertIn(b"tokenbox", body)
        finally:
            a.stop()


class ServerState(unittest.TestCase):
    def test_drain_disable_enable_change_routing(self):
        a, b = Backend("a").start(), Backend("b").start()
        port, admin = free_port(), free_port()
        try:
            with Tether(admin_config(port, admin, [a.address, {"address": b.address, "name": "bee"}]), [port, admin]):
                self.assertEqual({n for _, n in names(port, 6)}, {"a", "b"})
                code, _, body = admin_call(admin, "POST", "/upstreams/app/servers/bee/drain")
                self.assertEqual(code, 200, body)
                self.assertIn(b'"admin_state":"drain"', body)
                self.assertEqual(names(port, 6), [(200, "a")] * 6, "a drained server takes no new requests")
                self.assertEqual(status(admin)["upstreams"][0]["servers"][1]["admin_state"], "drain")
                # By address too, percent-encoded or not.
                addr = a.address.replace(":", "%3A")
                self.assertEqual(admin_call(admin, "POST", f"/upstreams/app/servers/{addr}/disable")[0], 200)
                self.assertEqual({s for s, _ in names(port, 3)}, {503}, "nothing left to take new requests")
                self.assertEqual(admin_call(admin, "POST", "/upstreams/app/servers/bee/enable")[0], 200)
                self.assertEqual(names(port, 4), [(200, "b")] * 4)
                self.assertEqual(admin_call(admin, "POST", f"/upstreams/app/servers/{a.address}/enable")[0], 200)
                self.assertEqual({n for _, n in names(port, 6)}, {"a", "b"})
                # Errors.
                self.assertEqual(admin_call(admin, "POST", "/upstreams/nope/servers/bee/drain")[0], 404)
                self.assertEqual(admin_call(admin, "POST", "/upstreams/app/servers/nope/drain")[0], 404)
                self.assertEqual(admin_call(admin, "POST", "/upstreams/app/servers/bee/explode")[0], 404)
                self.assertEqual(admin_call(admin, "GET", "/upstreams/app/servers/bee/drain")[0], 405)
        finally:
            a.stop()
            b.stop()

    def test_drain_keeps_open_tunnels(self):
        ws = UpgradeBackend()
        port, admin = free_port(), free_port()
        try:
            with Tether(admin_config(port, admin, [ws.address]), [port, admin]):
                t = open_tunnel(port)
                self.assertEqual(admin_call(admin, "POST", f"/upstreams/app/servers/{ws.address}/drain")[0], 200)
                t.sendall(b"still")
                got = b""
                while len(got) < 5:
                    got += t.recv(100)
                self.assertEqual(got, b"still")
                t.close()
        finally:
            ws.stop()


class AdminHttp(unittest.TestCase):
    def test_keep_alive_pipelining_and_bad_requests(self):
        a = Backend("a").start()
        port, admin = free_port(), free_port()
        try:
            with Tether(admin_config(port, admin, [a.address]), [port, admin]):
                s = socket.create_connection(("127.0.0.1", admin), timeout=5)
                s.sendall(b"GET /status HTTP/1.1\r\nHost: x\r\n\r\nHEAD /metrics HTTP/1.1\r\nHost: x\r\n\r\n"
                          b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                got = recv_until_close(s)
                self.assertEqual(got.count(b"HTTP/1.1 200 OK"), 3)
                self.assertIn(b"application/json", got)
                self.assertIn(b"# TYPE tether_build_info gauge", got)
                # HEAD: the GET's Content-Length, no body (so the next response follows at once).
                head = got.split(b"HTTP/1.1 200 OK")[2]
                self.assertNotIn(b"Content-Length: 0\r\n", head)
                self.assertTrue(head.endswith(b"\r\n\r\n"))
                s = socket.create_connection(("127.0.0.1", admin), timeout=5)
                s.sendall(b"NOT HTTP AT ALL\r\n\r\n")
                self.assertTrue(s.recv(100).startswith(b"HTTP/1.1 400"))
        finally:
            a.stop()


class ConfigValidation(unittest.TestCase):
    def check(self, text):
        with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as f:
            f.write(text)
        try:
            p = subprocess.run([TETHER_BIN, "-t", "-c", f.name], capture_output=True, text=True, timeout=10)
            return p.returncode, p.stderr
        finally:
            os.unlink(f.name)

    def test_admin_section(self):
        port = free_port()
        rc, err = self.check(admin_config(port, free_port(), ["127.0.0.1:1"], token="x"))
        self.assertEqual(rc, 0, err)
        rc, err = self.check(admin_config(port, port, ["127.0.0.1:1"]))
        self.assertEqual(rc, 1)
        self.assertIn("admin.address must differ", err)
        rc, err = self.check(admin_config(port, free_port(), ["127.0.0.1:1"]) + "  tokne: x\n")
        self.assertEqual(rc, 1)
        self.assertRegex(err, r":\d+:\d+: unknown key 'tokne' in admin")
        rc, err = self.check(admin_config(port, free_port(), ["127.0.0.1:1"], extra="access_log: {path: /tmp/x.log, format: xml}\n"))
        self.assertEqual(rc, 1)
        self.assertIn("access_log.format must be json or combined", err)


if __name__ == "__main__":
    unittest.main()
