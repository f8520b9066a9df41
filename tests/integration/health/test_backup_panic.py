"""Health: backup servers serve only while every primary is down; when every server (backups
included) is down the proxy answers 503 with Retry-After at once instead of queueing; servers
coming back take their traffic back.
"""
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from health_support import get, wait_log, health_upstream  # noqa: E402
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, simple_config  # noqa: E402


class BackupAndPanic(unittest.TestCase):
    def test_backup_only_when_primaries_down_then_503(self):
        p1, p2, bk = Backend("p1").start(), Backend("p2").start(), Backend("bk").start()
        port = free_port()
        cfg = simple_config(port, [p1.address, p2.address, {"address": bk.address, "backup": "true"}], retries=2,
                            extra_upstream=health_upstream(interval="200ms", rise=1, fall=2, max_fails=1))
        try:
            with Tether(cfg, [port]) as t:
                self.assertEqual({get(port)[1] for _ in range(20)}, {"p1", "p2"}, "backup idle while primaries are up")

                p1.stop()
                wait_log(t, "server_down", f"server={p1.address}", timeout=5)
                time.sleep(0.1)
                self.assertEqual({get(port)[1] for _ in range(10)}, {"p2"}, "one primary left: still no backup")

                p2.stop()
                wait_log(t, "server_down", f"server={p2.address}", timeout=5)
                time.sleep(0.1)
                results = [get(port)[:2] for _ in range(10)]
                self.assertEqual(set(results), {(200, "bk")}, "every primary down: the backup serves")

                bk.stop()
                wait_log(t, "server_down", f"server={bk.address}", timeout=5)
                wait_log(t, "upstream_all_down", timeout=5)
                time.sleep(0.1)
                start = time.time()
                status, _, body, r = get(port)
                self.assertEqual(status, 503)
                self.assertLess(time.time() - start, 0.5, "answered at once, not queued")
                self.assertEqual(r.getheader("Retry-After"), "1")
                self.assertIn(b"no upstream server is available", body)

                bk = Backend("bk", port=bk.port).start()
                wait_log(t, "server_up", f"server={bk.address}", timeout=5)
                time.sleep(0.1)
                self.assertEqual({get(port)[1] for _ in range(5)}, {"bk"})

                p1 = Backend("p1", port=p1.port).start()
                wait_log(t, "server_up", f"server={p1.address}", timeout=5)
                time.sleep(0.1)
                self.assertEqual({get(port)[1] for _ in range(10)}, {"p1"}, "a primary is back: backup idle again")
        finally:
            p1.stop()
            p2.stop()
            bk.stop()

    def test_passive_only_upstream_marks_down_for_fail_timeout(self):
        # No health_check section: nginx semantics. Two refused connects within fail_timeout mark
        # the server down for fail_timeout, then it is tried again.
        a = Backend("a").start()
        dead = f"127.0.0.1:{free_port()}"
        port = free_port()
        cfg = simple_config(port, [dead, a.address], retries=1, extra_upstream="max_fails: 2\nfail_timeout: 1s\n")
        try:
            with Tether(cfg, [port]) as t:
                for _ in range(6):
                    self.assertEqual(get(port)[:2], (200, "a"))
                line = wait_log(t, "server_down", f"server={dead}", timeout=3)
                self.assertIn("max_fails", line)
                line = wait_log(t, "server_up", f"server={dead}", timeout=3)
                self.assertIn("fail_timeout", line)
        finally:
            a.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
