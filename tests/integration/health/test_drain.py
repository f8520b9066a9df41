"""Health: a server with `state: drain` gets no new sessions but is not down (it keeps being
checked, and nothing is logged as down). Clients pinned to it by cookie/sid keep it until they
finish: see docs/failure-semantics.md.
"""
import os
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from health_support import count_lines, get, health_upstream  # noqa: E402
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, simple_config  # noqa: E402


class Drain(unittest.TestCase):
    def test_drained_server_gets_no_new_requests(self):
        a, b = Backend("a").start(), Backend("b").start()
        port = free_port()
        cfg = simple_config(port, [{"address": a.address, "state": "drain"}, b.address],
                            extra_upstream=health_upstream(interval="100ms"))
        try:
            with Tether(cfg, [port]) as t:
                self.assertEqual({get(port)[:2] for _ in range(20)}, {(200, "b")})
                self.assertEqual(count_lines(t, "server_down"), 0, "draining is not down")
                self.assertGreater(a.requests, 0, "a drained server is still health-checked")
        finally:
            a.stop()
            b.stop()

    def test_admin_down_state(self):
        a, b = Backend("a").start(), Backend("b").start()
        port = free_port()
        cfg = simple_config(port, [{"address": a.address, "state": "down"}, b.address])
        try:
            with Tether(cfg, [port]):
                self.assertEqual({get(port)[:2] for _ in range(10)}, {(200, "b")})
                self.assertEqual(a.requests, 0)
        finally:
            a.stop()
            b.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
