"""GET /metrics on the admin listener: every documented metric is exposed in Prometheus text
format, and the counters move with proxied traffic (requests by server and code, durations,
bytes, connections, tunnels, retries, a dead server marked down by passive detection).
tether_health_checks_total and tether_affinity_total are tested where checks and affinity layers
are configured (health/test_operator_view.py)."""
import http.client
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from admin_support import UpgradeBackend, admin_call, admin_config, open_tunnel, scrape, value  # noqa: E402
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port  # noqa: E402

REQUIRED = {
    "tether_requests_total": "counter",
    "tether_request_duration_seconds": "histogram",
    "tether_upstream_connect_duration_seconds": "histogram",
    "tether_downstream_connections": "gauge",
    "tether_tunnels_active": "gauge",
    "tether_tunnels_total": "counter",
    "tether_bytes_total": "counter",
    "tether_server_up": "gauge",
    "tether_server_admin_state": "gauge",
    "tether_upstream_members": "gauge",
    "tether_retries_total": "counter",
    "tether_config_reloads_total": "counter",
    "tether_build_info": "gauge",
    "tether_access_log_dropped_total": "counter",
}


class Metrics(unittest.TestCase):
    def test_every_metric_is_exposed_and_counters_move(self):
        a, b = Backend("a").start(), Backend("b").start()
        ws = UpgradeBackend()
        dead = f"127.0.0.1:{free_port()}"
        port, admin = free_port(), free_port()
        try:
            with Tether(admin_config(port, admin, [a.address, b.address, dead, ws.address], retries=3),
                        [port, admin]) as t:
                types, samples = scrape(admin)
                for name, kind in REQUIRED.items():
                    if name != "tether_requests_total":  # its series appear with the first response
                        self.assertEqual(types.get(name), kind, f"{name} missing or wrong type")
                self.assertEqual(value(samples, "tether_build_info"), 1)
                self.assertEqual(len([s for s in samples if s[0] == "tether_build_info" and s[1].get("version")]), 1)
                for result in ("success", "failure"):
                    self.assertEqual(value(samples, "tether_config_reloads_total", result=result), 0)
                self.assertEqual(value(samples, "tether_server_up", upstream="app", server=a.address), 1)
                self.assertEqual(value(samples, "tether_server_up", upstream="app", server=dead), 1, "not known dead yet")
                self.assertEqual(value(samples, "tether_upstream_members", upstream="app"), 4)
                self.assertNotIn("tether_health_checks_total", types, "no health_check: no probe counters")
                self.assertEqual(value(samples, "tether_requests_total"), 0)

                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                for _ in range(40):
                    c.request("GET", "/name")
                    r = c.getresponse()
                    r.read()
                    self.assertEqual(r.status, 200)
                c.request("GET", "/status?code=404")
                c.getresponse().read()
                types, samples = scrape(admin)
                for name, kind in REQUIRED.items():
                    self.assertEqual(types.get(name), kind, f"{name} missing or wrong type")
                # Round-robin over 4 servers, the dead one is retried onto the next.
                served = value(samples, "tether_requests_total", upstream="app", server=a.address, code=200) + \
                    value(samples, "tether_requests_total", upstream="app", server=b.address, code=200) + \
                    value(samples, "tether_requests_total", upstream="app", server=ws.address, code=200)
                self.assertEqual(served, 40)
                self.assertGreater(value(samples, "tether_requests_total", upstream="app", server=a.address, code=200), 0)
                self.assertEqual(value(samples, "tether_requests_total", code=404), 1)
                self.assertGreater(value(samples, "tether_retries_total", upstream="app"), 0)
                self.assertEqual(value(samples, "tether_request_duration_seconds_count", upstream="app"), 41)
                self.assertEqual(value(samples, "tether_request_duration_seconds_bucket", upstream="app", le="+Inf"), 41)
                self.assertGreater(value(samples, "tether_request_duration_seconds_sum", upstream="app"), 0)
                self.assertGreater(value(samples, "tether_upstream_connect_duration_seconds_count", upstream="app"), 0)
                self.assertGreater(value(samples, "tether_bytes_total", direction="downstream_rx"), 40 * 20)
                self.assertGreater(value(samples, "tether_bytes_total", direction="upstream_rx"), 40 * 20)
                self.assertEqual(value(samples, "tether_downstream_connections", listener="web"), 1)
                # Its connects failed max_fails (3) times: passive detection took it down.
                self.assertEqual(value(samples, "tether_server_up", upstream="app", server=dead), 0)
                self.assertEqual(value(samples, "tether_server_up", upstream="app", server=a.address), 1)
                c.close()

                # A request answered before routing counts under upstream="none".
                raw = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                raw.putrequest("GET", "/", skip_host=True)
                raw.putheader("Host", "x")
                raw.putheader("Content-Length", "1")
                raw.putheader("Transfer-Encoding", "chunked")
                raw.endheaders()
                self.assertEqual(raw.getresponse().status, 400)
                raw.close()
                _, samples = scrape(admin)
                self.assertEqual(value(samples, "tether_requests_total", upstream="none", server="none", code=400), 1)

                # Tunnels: opened, counted per server, gone when closed.
                tunnels = []
                for _ in range(8):  # round-robin: at least one lands on the upgrade backend
                    try:
                        tunnels.append(open_tunnel(port))
                    except AssertionError:
                        pass
                self.assertGreater(len(tunnels), 0)
                _, samples = scrape(admin)
                self.assertEqual(value(samples, "tether_tunnels_active", upstream="app", server=ws.address), len(tunnels))
                self.assertEqual(value(samples, "tether_tunnels_total", upstream="app"), len(tunnels))
                self.assertEqual(value(samples, "tether_requests_total", server=ws.address, code=101), len(tunnels))
                for s in tunnels:
                    s.close()
                deadline = time.time() + 5
                while time.time() < deadline:
                    _, samples = scrape(admin)
                    if value(samples, "tether_tunnels_active") == 0 and value(samples, "tether_downstream_connections") == 0:
                        break
                    time.sleep(0.05)
                self.assertEqual(value(samples, "tether_tunnels_active"), 0)
                self.assertEqual(value(samples, "tether_downstream_connections"), 0)
                self.assertEqual(value(samples, "tether_tunnels_total", upstream="app"), len(tunnels))
                self.assertIn("admin_listening", t.logs())
        finally:
            a.stop()
            b.stop()
            ws.stop()

    def test_counters_are_summed_over_workers(self):
        a = Backend("a").start()
        port, admin = free_port(), free_port()
        cfg = admin_config(port, admin, [a.address]).replace("workers: 1", "workers: 4")
        try:
            with Tether(cfg, [port, admin]):
                for _ in range(30):  # new connection each time: the kernel spreads them over workers
                    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    c.request("GET", "/name")
                    c.getresponse().read()
                    c.close()
                _, samples = scrape(admin)
                self.assertEqual(value(samples, "tether_requests_total", upstream="app", code=200), 30)
                self.assertEqual(value(samples, "tether_request_duration_seconds_count", upstream="app"), 30)
        finally:
            a.stop()

    def test_admin_is_not_on_the_public_listener(self):
        a = Backend("a").start()
        port, admin = free_port(), free_port()
        try:
            with Tether(admin_config(port, admin, [a.address]), [port, admin]):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/metrics")
                r = c.getresponse()
                self.assertEqual(r.getheader("X-Backend"), "a", "/metrics on the public listener is proxied")
                self.assertEqual(admin_call(admin, "GET", "/nope")[0], 404)
                self.assertEqual(admin_call(admin, "DELETE", "/metrics")[0], 405)
        finally:
            a.stop()


if __name__ == "__main__":
    unittest.main()
