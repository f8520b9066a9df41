"""The operator view tells the truth: a backend killed under a health-checked upstream shows
tether_server_up 0 within fall x interval, "health": "down" in /status, and the probe counters
move; a reload that reorders, adds and removes servers keeps the dead server excluded and marked
down, probes and lists the new one, and drops the removed one from /metrics and /status; the
affinity counters count hits, misses and re-pins."""
import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(HERE, "..", "admin"))
from admin_support import admin_call, scrape, status, value  # noqa: E402
from health_support import get, health_upstream, spawn_backend, wait_log  # noqa: E402
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, simple_config, wait_for  # noqa: E402

INTERVAL, FALL = 0.2, 2


def config(port, admin, servers, extra_upstream=""):
    hc = health_upstream(rise=2, fall=FALL, max_fails=0)  # active checks only: the timing is fall x interval
    return simple_config(port, servers, retries=2, extra_upstream=hc + extra_upstream,
                         extra=f"admin:\n  address: 127.0.0.1:{admin}\n")


def reload(t, text):
    with open(t.config_path, "w") as f:
        f.write(text)
    code, _, body = admin_call(t.admin_port, "POST", "/reload")
    assert code == 200, body


def servers_of(admin):
    return {s["name"]: s for s in status(admin)["upstreams"][0]["servers"]}



class OperatorView(unittest.TestCase):
    def test_kill_then_layout_changing_reload(self):
        port_a = free_port()
        a = spawn_backend(port_a, "a")
        b, c = Backend("b").start(), Backend("c").start()
        addr_a = f"127.0.0.1:{port_a}"
        port, admin = free_port(), free_port()
        try:
            with Tether(config(port, admin, [addr_a, b.address]), [port, admin]) as t:
                t.admin_port = admin
                self.assertTrue(wait_for(lambda: servers_of(admin)[addr_a]["health_checks"]["success"] >= 2))
                _, samples = scrape(admin)
                self.assertEqual(value(samples, "tether_server_up", upstream="app", server=addr_a), 1)
                self.assertEqual(value(samples, "tether_upstream_members", upstream="app"), 2)
                self.assertGreater(value(samples, "tether_health_checks_total", upstream="app", server=addr_a, result="success"), 0)

                a.kill()
                a.wait()
                killed = time.time()
                wait_log(t, "server_down", f"server={addr_a}", timeout=5)
                self.assertTrue(wait_for(lambda: value(scrape(admin)[1], "tether_server_up", upstream="app", server=addr_a) == 0,
                                         timeout=FALL * INTERVAL + 2))
                self.assertLess(time.time() - killed, FALL * INTERVAL * 1.1 + INTERVAL + 1.0)
                s = servers_of(admin)[addr_a]
                self.assertEqual(s["health"], "down")
                self.assertGreaterEqual(s["health_checks"]["failure"], FALL)
                self.assertEqual(servers_of(admin)[b.address]["health"], "up")
                for _ in range(6):
                    self.assertEqual(get(port)[:2], (200, "b"))

                # Reload: c added in front, the dead a moved to the end, b removed.
                reload(t, config(port, admin, [c.address, addr_a]))
                self.assertTrue(wait_for(lambda: set(servers_of(admin)) == {c.address, addr_a}))
                view = servers_of(admin)
                self.assertEqual(view[addr_a]["health"], "down", "a kept its verdict across the reload")
                self.assertTrue(wait_for(lambda: servers_of(admin)[c.address]["health_checks"]["success"] >= 1),
                                "the new server is probed")
                for _ in range(6):
                    self.assertEqual(get(port)[:2], (200, "c"), "health exclusion still works after the reload")
                _, samples = scrape(admin)
                self.assertEqual(value(samples, "tether_server_up", upstream="app", server=addr_a), 0)
                self.assertEqual(value(samples, "tether_server_up", upstream="app", server=c.address), 1)
                self.assertEqual(value(samples, "tether_upstream_members", upstream="app"), 2)
                self.assertFalse([s for s in samples if s[1].get("server") == b.address], "b's series are gone")
                self.assertGreater(value(samples, "tether_health_checks_total", upstream="app", server=addr_a, result="failure"), FALL)

                # a comes back on the same port: rise x interval later it is up and serves again.
                a = spawn_backend(port_a, "a")
                self.assertTrue(wait_for(lambda: servers_of(admin)[addr_a]["health"] == "up", timeout=5))
                self.assertIn("a", {get(port)[1] for _ in range(6)})
        finally:
            a.kill()
            a.wait()
            b.stop()
            c.stop()

    def test_health_check_edits_apply_on_reload(self):
        b = Backend("b").start()
        port, admin = free_port(), free_port()
        try:
            plain = simple_config(port, [b.address], extra=f"admin:\n  address: 127.0.0.1:{admin}\n")
            with Tether(plain, [port, admin]) as t:
                t.admin_port = admin
                self.assertNotIn("health_checks", servers_of(admin)[b.address])
                reload(t, config(port, admin, [b.address]))
                self.assertTrue(wait_for(lambda: servers_of(admin)[b.address].get("health_checks", {}).get("success", 0) >= 2),
                                "probes start after a reload that adds health_check")
                wait_log(t, "health_check_started")
        finally:
            b.stop()

    def test_affinity_counters(self):
        b, c = Backend("b").start(), Backend("c").start()
        port, admin = free_port(), free_port()
        try:
            cfg = simple_config(port, [{"address": b.address, "name": "bee"}, {"address": c.address, "name": "cee"}],
                                extra_upstream="affinity: [cookie]", extra=f"admin:\n  address: 127.0.0.1:{admin}\n")
            with Tether(cfg, [port, admin]):
                status_, backend, _, r = get(port)
                self.assertEqual(status_, 200)
                cookie = r.getheader("Set-Cookie").split(";")[0]
                for _ in range(3):
                    self.assertEqual(get(port, headers={"Cookie": cookie})[1], backend)  # hits
                get(port, headers={"Cookie": "tether_sid=0123456789abcdef"})  # names no server: a miss
                name = "bee" if backend == "b" else "cee"
                self.assertEqual(admin_call(admin, "POST", f"/upstreams/app/servers/{name}/disable")[0], 200)
                self.assertNotEqual(get(port, headers={"Cookie": cookie})[1], backend)  # re-pinned
                _, samples = scrape(admin)
                self.assertEqual(value(samples, "tether_affinity_total", upstream="app", result="hit"), 3)
                self.assertEqual(value(samples, "tether_affinity_total", upstream="app", result="miss"), 1)
                self.assertEqual(value(samples, "tether_affinity_total", upstream="app", result="repinned"), 1)
                self.assertEqual(status(admin)["upstreams"][0]["affinity"], {"hit": 3, "miss": 1, "repinned": 1})
                self.assertEqual(value(samples, "tether_server_admin_state", upstream="app", server=name, state="disabled"), 1)
        finally:
            b.stop()
            c.stop()


if __name__ == "__main__":
    unittest.main()
