"""Health with several workers: probes run once per process (not once per worker), and a verdict
reached by the checker — from probes or from one worker's passive report — reaches every worker.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from health_support import Load, count_lines, wait_log, health_upstream  # noqa: E402
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, simple_config  # noqa: E402


class Workers(unittest.TestCase):
    def test_probes_once_per_process_and_state_reaches_every_worker(self):
        a, b = Backend("a").start(), Backend("b").start()
        port = free_port()
        cfg = simple_config(port, [a.address, b.address], extra_upstream=health_upstream(interval="200ms", rise=1, fall=1, max_fails=0))
        cfg = cfg.replace("workers: 1", "workers: 4")
        load = None
        try:
            with Tether(cfg, [port]) as t:
                time.sleep(0.3)
                before = b.requests
                time.sleep(2.0)
                probes = b.requests - before  # b gets no traffic here: only probes
                self.assertGreaterEqual(probes, 7)
                self.assertLessEqual(probes, 13, f"{probes} probes in 2s at 200ms: once per process, not per worker")
                self.assertEqual(count_lines(t, "health_check_started"), 1)

                # Many connections spread over the 4 workers (SO_REUSEPORT); all must stop using a.
                a.server.healthy = False
                wait_log(t, "server_down", f"server={a.address}", timeout=5)
                time.sleep(0.1)
                load = Load(port, clients=16, limit=10).start()
                time.sleep(1.0)
                load.stop()
                self.assertEqual(load.failures, [])
                self.assertEqual(set(load.by_backend), {"b"}, "every worker follows the verdict")
                self.assertEqual(count_lines(t, "server_down"), 1, "logged once, not once per worker")
        finally:
            if load:
                load.stop()
            a.stop()
            b.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
