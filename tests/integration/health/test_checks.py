"""Health: active http checks take out a server answering 500 to /health and one whose /health
times out, log each change once with its reason, and bring them back after `rise` successes.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from health_support import RawServer, count_lines, get, wait_log, health_upstream  # noqa: E402
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, simple_config  # noqa: E402


class ActiveChecks(unittest.TestCase):
    def test_500_and_timeout_are_taken_out_and_come_back(self):
        a, b, c = Backend("a").start(), Backend("b").start(), Backend("c").start()
        port = free_port()
        cfg = simple_config(port, [a.address, b.address, c.address],
                            extra_upstream=health_upstream(interval="200ms", timeout="150ms", rise=2, fall=2, max_fails=0))
        try:
            with Tether(cfg, [port]) as t:
                seen = {get(port)[1] for _ in range(9)}
                self.assertEqual(seen, {"a", "b", "c"})

                a.server.healthy = False  # /health answers 500
                line = wait_log(t, "server_down", f"server={a.address}", timeout=5)
                self.assertIn("status 500", line)
                b.server.health_delay = 1.0  # /health hangs past the 150ms timeout
                line = wait_log(t, "server_down", f"server={b.address}", timeout=5)
                self.assertIn("timeout", line)
                time.sleep(0.1)  # the snapshot reaches the worker
                for _ in range(12):
                    status, backend, _, _ = get(port)
                    self.assertEqual((status, backend), (200, "c"))

                a.server.healthy = True
                b.server.health_delay = 0
                wait_log(t, "server_up", f"server={a.address}", timeout=5)
                wait_log(t, "server_up", f"server={b.address}", timeout=5)
                time.sleep(0.1)
                self.assertEqual({get(port)[1] for _ in range(9)}, {"a", "b", "c"})
                self.assertEqual(count_lines(t, "server_down"), 2, "one line per change")
                self.assertEqual(count_lines(t, "server_up"), 2)
        finally:
            a.stop()
            b.stop()
            c.stop()

    def test_initial_down_waits_for_rise_and_expect_status(self):
        a = Backend("a").start()
        port = free_port()
        extra = ("health_check: {type: http, path: '/status?code=404', host: health.local, interval: 100ms, "
                 "timeout: 100ms, rise: 3, fall: 1, expect_status: [404], initial: down}\n")
        cfg = simple_config(port, [a.address], extra_upstream=extra)
        try:
            with Tether(cfg, [port]) as t:
                status, _, body, r = get(port)
                self.assertEqual(status, 503, "initial: down until `rise` good checks")
                self.assertIsNotNone(r.getheader("Retry-After"))
                line = wait_log(t, "server_up", f"server={a.address}", timeout=5)
                self.assertIn("rise 3", line)
                time.sleep(0.1)
                self.assertEqual(get(port)[0], 200)
        finally:
            a.stop()

    def test_probe_request_carries_path_and_host(self):
        raw = RawServer("ok")
        port = free_port()
        extra = "health_check: {type: http, path: /hc, host: health.local, interval: 100ms}\n"
        try:
            with Tether(simple_config(port, [raw.address], extra_upstream=extra), [port]):
                deadline = time.time() + 3
                while time.time() < deadline and not raw.heads:
                    time.sleep(0.02)
                self.assertTrue(raw.heads, "probed")
                head = raw.heads[0].split("\r\n")
                self.assertEqual(head[0], "GET /hc HTTP/1.1")
                self.assertIn("Host: health.local", head)
        finally:
            raw.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
