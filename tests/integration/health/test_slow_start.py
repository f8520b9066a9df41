"""Health: with `slow_start`, a server coming back up gets a small share of new requests at first
(10% of its weight) and its full share once slow_start has passed.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from health_support import get, wait_log, health_upstream  # noqa: E402
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, simple_config  # noqa: E402


def share_of(port, name, n):
    return sum(1 for _ in range(n) if get(port)[1] == name) / n


class SlowStart(unittest.TestCase):
    def test_recovered_server_ramps_up(self):
        a, b = Backend("a").start(), Backend("b").start()
        port = free_port()
        extra = health_upstream(interval="100ms", rise=1, fall=1, max_fails=0) + "slow_start: 6s\n"
        cfg = simple_config(port, [a.address, b.address], extra_upstream=extra)
        try:
            with Tether(cfg, [port]) as t:
                self.assertAlmostEqual(share_of(port, "a", 20), 0.5, delta=0.1, msg="no ramp at start")
                a.server.healthy = False
                wait_log(t, "server_down", f"server={a.address}", timeout=5)
                a.server.healthy = True
                wait_log(t, "server_up", f"server={a.address}", timeout=5)
                time.sleep(0.05)
                early = share_of(port, "a", 40)
                self.assertLess(early, 0.3, f"just recovered: a small share, got {early}")
                time.sleep(6.2)
                late = share_of(port, "a", 40)
                self.assertAlmostEqual(late, 0.5, delta=0.1, msg=f"after slow_start: full share, got {late}")
        finally:
            a.stop()
            b.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
