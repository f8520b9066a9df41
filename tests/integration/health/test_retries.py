"""Health: retries. Idempotent requests (GET HEAD OPTIONS PUT DELETE) move to another server after
a reset or a response timeout that happened before any response byte reached the client; other
methods do not; nothing is retried once bytes were sent downstream; no server is tried twice.

The failing server is the only primary and the good one a backup, so every request meets the
failing server first and its retry can only go to the backup.
"""
import http.client
import os
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from health_support import RawServer, get  # noqa: E402
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, simple_config  # noqa: E402

EXTRA = "timeouts: {upstream_response: 300ms}\n"


def config(port, bad, good, retries=1):
    return simple_config(port, [bad.address, {"address": good.address, "backup": "true"}], retries=retries,
                         extra_upstream="max_fails: 0\n", extra=EXTRA)


class Retries(unittest.TestCase):
    def test_reset_before_response(self):
        bad, good = RawServer("reset"), Backend("good").start()
        port = free_port()
        try:
            with Tether(config(port, bad, good), [port]):
                for method in ("GET", "HEAD", "OPTIONS", "PUT", "DELETE"):
                    status, backend, _, _ = get(port, method=method)
                    self.assertEqual((status, backend), (200, "good"), method)
                before = good.requests
                self.assertEqual(get(port, method="POST")[0], 502, "POST is not retried after a reset")
                self.assertEqual(get(port, method="PATCH")[0], 502)
                self.assertEqual(good.requests, before)
        finally:
            bad.stop()
            good.stop()

    def test_timeout_before_response(self):
        bad, good = RawServer("hang"), Backend("good").start()
        port = free_port()
        try:
            with Tether(config(port, bad, good), [port]):
                status, backend, _, _ = get(port)
                self.assertEqual((status, backend), (200, "good"))
                before = good.requests
                self.assertEqual(get(port, method="POST")[0], 504, "POST is not retried after a timeout")
                self.assertEqual(good.requests, before)
        finally:
            bad.stop()
            good.stop()

    def test_never_after_bytes_went_downstream(self):
        bad, good = RawServer("partial"), Backend("good").start()
        port = free_port()
        try:
            with Tether(config(port, bad, good), [port]):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/name")
                r = c.getresponse()
                self.assertEqual(r.getheader("X-Backend"), "partial")
                with self.assertRaises(http.client.IncompleteRead):
                    r.read()
                c.close()
                time.sleep(0.1)
                self.assertEqual(good.requests, 0, "no replay once the client has bytes")
        finally:
            bad.stop()
            good.stop()

    def test_no_server_is_tried_twice(self):
        r1, r2 = RawServer("reset"), RawServer("reset")
        port = free_port()
        try:
            cfg = simple_config(port, [r1.address, r2.address], retries=5, extra_upstream="max_fails: 0\n", extra=EXTRA)
            with Tether(cfg, [port]):
                self.assertEqual(get(port)[0], 502)
                self.assertEqual((r1.requests, r2.requests), (1, 1), "each server once, although retries: 5")
        finally:
            r1.stop()
            r2.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
