"""Health: kill -9 a backend under a steady keep-alive GET load -> zero failed requests; the dead
server is marked down at once by passive detection (or within fall x interval by the active
check alone); restarting it brings it back within rise x interval and it gets traffic again.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from health_support import Load, spawn_backend, wait_log, health_upstream  # noqa: E402
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, simple_config  # noqa: E402

INTERVAL = 0.2
RISE, FALL = 2, 3
# Probes are scheduled interval +-10% apart and the first one of a run may be up to one interval
# away, so "within N x interval" is checked with one extra interval plus scheduling slack.
SLACK = INTERVAL + 0.4


class KillDuringLoad(unittest.TestCase):
    def test_kill9_under_load_zero_failures_passive_down_then_rise(self):
        port_a = free_port()
        a = spawn_backend(port_a, "a")
        b, c = Backend("b").start(), Backend("c").start()
        port = free_port()
        cfg = simple_config(port, [f"127.0.0.1:{port_a}", b.address, c.address], retries=2,
                            extra_upstream=health_upstream(rise=RISE, fall=FALL, max_fails=1))
        # Two workers: a passive report from one must take the server out of both.
        cfg = cfg.replace("workers: 1", "workers: 2")
        load = None
        try:
            with Tether(cfg, [port]) as t:
                load = Load(port, clients=6).start()
                time.sleep(1.0)
                self.assertGreater(load.by_backend.get("a", 0), 0, "a served before the kill")
                killed = time.time()
                a.kill()  # SIGKILL
                a.wait()
                line = wait_log(t, "server_down", f"server=127.0.0.1:{port_a}", timeout=5)
                down_after = time.time() - killed
                self.assertIn("max_fails", line, "passive detection saw it first")
                self.assertLess(down_after, 0.5, "passive detection marks it down at once")
                time.sleep(0.5)
                load.mark()
                time.sleep(0.5)
                self.assertEqual(load.after_mark.get("a", 0), 0, "no traffic to the dead server")

                restarted = time.time()
                a = spawn_backend(port_a, "a")
                line = wait_log(t, "server_up", f"server=127.0.0.1:{port_a}", timeout=5)
                up_after = time.time() - restarted
                self.assertLess(up_after, RISE * INTERVAL + SLACK, line)
                load.mark()
                time.sleep(0.8)
                load.stop()
                self.assertGreater(load.after_mark.get("a", 0), 0, "new requests go to it again")
                self.assertEqual(load.failures, [], "zero failed requests seen by the clients")
                self.assertGreater(load.ok, 200)
                self.assertEqual(t.logs().count("server_down"), 1, "one log line per change")
        finally:
            if load:
                load.stop()
            a.kill()
            a.wait()
            b.stop()
            c.stop()

    def test_active_check_alone_marks_down_within_fall_x_interval(self):
        # Passive detection off (max_fails: 0) and a tcp check: only the probes can see it.
        port_a = free_port()
        a = spawn_backend(port_a, "a")
        b = Backend("b").start()
        port = free_port()
        cfg = simple_config(port, [f"127.0.0.1:{port_a}", b.address], retries=1,
                            extra_upstream=health_upstream(type_="tcp", rise=RISE, fall=FALL, max_fails=0))
        load = None
        try:
            with Tether(cfg, [port]) as t:
                load = Load(port, clients=2).start()
                time.sleep(0.5)
                killed = time.time()
                a.kill()
                a.wait()
                line = wait_log(t, "server_down", f"server=127.0.0.1:{port_a}", timeout=5)
                self.assertLess(time.time() - killed, FALL * INTERVAL + SLACK, line)
                self.assertIn("consecutive failed checks", line)
                self.assertIn("ECONNREFUSED", line)
                restarted = time.time()
                a = spawn_backend(port_a, "a")
                line = wait_log(t, "server_up", f"server=127.0.0.1:{port_a}", timeout=5)
                self.assertLess(time.time() - restarted, RISE * INTERVAL + SLACK, line)
                load.stop()
                self.assertEqual(load.failures, [], "retries hide the dead server from clients")
        finally:
            if load:
                load.stop()
            a.kill()
            a.wait()
            b.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
