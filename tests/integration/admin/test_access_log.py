"""The optional access log: off by default; json and combined formats; lines reach the file
within the flush interval without blocking traffic."""
import http.client
import json
import os
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, raw_request, simple_config  # noqa: E402


def traffic(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    for path in ("/name", "/bytes?n=1000", "/status?code=404"):
        c.request("GET", path, headers={"User-Agent": "test \"agent\"", "Referer": "http://ref/"})
        c.getresponse().read()
    c.close()


def read_lines(path, n, timeout=5):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if os.path.exists(path):
            with open(path) as f:
                lines = f.read().splitlines()
            if len(lines) >= n:
                return lines
        time.sleep(0.05)
    raise AssertionError(f"fewer than {n} lines in {path}")


class AccessLog(unittest.TestCase):
    def tmp(self):
        d = tempfile.TemporaryDirectory(prefix="tether-access-")
        self.addCleanup(d.cleanup)
        return d.name

    def test_json(self):
        b = Backend("b").start()
        port = free_port()
        d = self.tmp()
        path = os.path.join(d, "access.log")
        try:
            with Tether(simple_config(port, [b.address], extra=f"access_log: {{path: {path}, format: json}}\n"), [port]):
                traffic(port)
                lines = [json.loads(l) for l in read_lines(path, 3)]
                self.assertEqual([l["status"] for l in lines], [200, 200, 404])
                self.assertEqual([l["url"] for l in lines], ["/name", "/bytes?n=1000", "/status?code=404"])
                self.assertEqual(lines[1]["bytes"], 1000)
                self.assertEqual(lines[0]["method"], "GET")
                self.assertEqual(lines[0]["client"], "127.0.0.1")
                self.assertEqual(lines[0]["upstream"], "app")
                self.assertEqual(lines[0]["server"], b.address)
                self.assertEqual(lines[0]["user_agent"], 'test "agent"')
                self.assertEqual(lines[0]["referer"], "http://ref/")
                self.assertGreaterEqual(lines[0]["duration_ms"], 0)
                self.assertRegex(lines[0]["time"], r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
                # An unparsable request after a good one does not inherit its fields.
                raw_request(port, b"GET /name HTTP/1.1\r\nHost: x\r\n\r\nBAD REQUEST\r\n\r\n")
                lines = [json.loads(l) for l in read_lines(path, 5)]
                self.assertEqual((lines[3]["status"], lines[3]["url"]), (200, "/name"))
                self.assertEqual((lines[4]["status"], lines[4]["url"], lines[4]["method"], lines[4]["upstream"]), (400, "-", "-", "-"))
        finally:
            b.stop()

    def test_combined(self):
        b = Backend("b").start()
        port = free_port()
        d = self.tmp()
        path = os.path.join(d, "access.log")
        try:
            with Tether(simple_config(port, [b.address], extra=f"access_log: {{path: {path}, format: combined}}\n"), [port]):
                traffic(port)
                lines = read_lines(path, 3)
                self.assertRegex(lines[0], r'^127\.0\.0\.1 - - \[\d\d/\w{3}/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET /name HTTP/1\.1" 200 1 "http://ref/" "test \\x22agent\\x22"$')
                self.assertIn('"GET /bytes?n=1000 HTTP/1.1" 200 1000 ', lines[1])
                self.assertIn('" 404 ', lines[2])
        finally:
            b.stop()

    def test_off_by_default_and_unroutable_requests(self):
        b = Backend("b").start()
        port = free_port()
        d = self.tmp()
        try:
            with Tether(simple_config(port, [b.address]), [port]):
                traffic(port)
            self.assertEqual(os.listdir(d), [])
        finally:
            b.stop()

    def test_flushed_at_shutdown(self):
        b = Backend("b").start()
        port = free_port()
        path = os.path.join(self.tmp(), "access.log")
        try:
            t = Tether(simple_config(port, [b.address], extra=f"access_log: {{path: {path}}}\n"), [port]).start()
            traffic(port)
            self.assertEqual(t.stop(), 0)
            with open(path) as f:
                self.assertEqual(len(f.read().splitlines()), 3)
        finally:
            b.stop()


if __name__ == "__main__":
    unittest.main()
