"""Proxy core, failing upstreams and lifecycle: refused connections move to the next server, then
502; silence is 504; garbage is 502; SIGTERM lets in-flight requests finish (and serves a request arriving on an idle keep-alive connection within 1 s); `-t` reports config
errors with file:line:column.
"""
import http.client
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.backend import Backend  # noqa: E402
from support.harness import TETHER_BIN, Tether, free_port, raw_request, recv_until_close, simple_config  # noqa: E402


def status_of(raw):
    parts = raw.split(b"\r\n", 1)[0].split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


def dead_address():
    return f"127.0.0.1:{free_port()}"  # nothing listens there: connect is refused


class UpstreamFailures(unittest.TestCase):
    def test_refused_server_skipped_then_502(self):
        live = Backend("live").start()
        port = free_port()
        try:
            with Tether(simple_config(port, [dead_address(), live.address], retries=1), [port]):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                for _ in range(10):  # every request succeeds although one server is dead
                    c.request("GET", "/name")
                    r = c.getresponse()
                    self.assertEqual((r.status, r.read()), (200, b"live"))
            with Tether(simple_config(port, [dead_address(), dead_address()], retries=1), [port]):
                raw = raw_request(port, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertEqual(status_of(raw), 502)
                self.assertIn(b"Bad Gateway", raw)
            with Tether(simple_config(port, [dead_address(), live.address], retries=0), [port]):
                statuses = {status_of(raw_request(port, b"GET /name HTTP/1.1\r\nHost: x\r\n\r\n")) for _ in range(4)}
                self.assertEqual(statuses, {200, 502}, "retries: 0 means no second server")
        finally:
            live.stop()

    def test_slow_upstream_is_504(self):
        b = Backend("slow").start()
        port = free_port()
        try:
            extra = "timeouts: {upstream_response: 500ms}\n"
            with Tether(simple_config(port, [b.address], extra=extra), [port]):
                start = time.time()
                raw = raw_request(port, b"GET /sleep?ms=3000 HTTP/1.1\r\nHost: x\r\n\r\n")
                self.assertEqual(status_of(raw), 504)
                self.assertLess(time.time() - start, 2.5)
                raw = raw_request(port, b"GET /sleep?ms=100 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                self.assertEqual(status_of(raw), 200)
        finally:
            b.stop()

    def test_malformed_and_reset_responses_are_502(self):
        b = Backend("bad").start()
        port = free_port()
        try:
            with Tether(simple_config(port, [b.address], retries=0), [port]):
                self.assertEqual(status_of(raw_request(port, b"GET /malformed HTTP/1.1\r\nHost: x\r\n\r\n")), 502)
                self.assertEqual(status_of(raw_request(port, b"POST /reset HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx")), 502)
                self.assertEqual(status_of(raw_request(port, b"GET /name HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")), 200)
        finally:
            b.stop()

    def test_backend_restart_does_not_fail_requests(self):
        # Pooled connections to a backend that restarted are stale; the proxy must replay the
        # request on a fresh connection rather than fail it.
        b = Backend("one").start()
        port = free_port()
        try:
            with Tether(simple_config(port, [b.address], retries=0), [port]):
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                c.request("GET", "/name")
                self.assertEqual(c.getresponse().read(), b"one")
                addr_port = b.port
                b.stop()
                b = Backend("two", port=addr_port).start()
                c.request("GET", "/name")
                r = c.getresponse()
                self.assertEqual((r.status, r.read()), (200, b"two"))
        finally:
            b.stop()


class Lifecycle(unittest.TestCase):
    def test_sigterm_lets_inflight_requests_finish(self):
        b = Backend("b").start()
        port = free_port()
        t = Tether(simple_config(port, [b.address], extra="timeouts: {shutdown: 5s}\n"), [port]).start()
        try:
            result = {}

            def slow():
                result["raw"] = raw_request(port, b"GET /sleep?ms=1000 HTTP/1.1\r\nHost: x\r\n\r\n", timeout=10)

            th = threading.Thread(target=slow)
            th.start()
            time.sleep(0.3)
            idle = socket.create_connection(("127.0.0.1", port), timeout=5)
            idle.sendall(b"GET /name HTTP/1.1\r\nHost: x\r\n\r\n")
            got = b""
            while not got.endswith(b"\r\n\r\nb"):
                got += idle.recv(4096)
            quiet = socket.create_connection(("127.0.0.1", port), timeout=5)
            quiet.sendall(b"GET /name HTTP/1.1\r\nHost: x\r\n\r\n")
            got_quiet = b""
            while not got_quiet.endswith(b"\r\n\r\nb"):
                got_quiet += quiet.recv(4096)
            t.proc.send_signal(signal.SIGTERM)
            stopped_at = time.time()
            # A request already on its way on an idle keep-alive connection is served, with
            # Connection: close, instead of being cut.
            time.sleep(0.1)
            idle.sendall(b"GET /name HTTP/1.1\r\nHost: x\r\n\r\n")
            late = recv_until_close(idle)
            self.assertEqual(status_of(late), 200)
            self.assertIn(b"Connection: close", late)
            # An idle connection that sends nothing is closed after the grace (1 s).
            self.assertEqual(quiet.recv(10), b"")
            self.assertLess(time.time() - stopped_at, 2.5)
            with self.assertRaises(OSError):  # no longer accepting
                socket.create_connection(("127.0.0.1", port), timeout=1).recv(1)
            th.join(10)
            self.assertEqual(status_of(result["raw"]), 200)
            self.assertIn(b"Connection: close", result["raw"])
            self.assertEqual(t.proc.wait(10), 0)
        finally:
            t.stop()
            b.stop()

    def test_config_check(self):
        cases = {
            "workers: 1\nlisteners: [{address: '127.0.0.1:80x'}]\n": ":2:23: listener address",
            "listeners: [{address: '127.0.0.1:8080'}]\nupstreams:\n  a:\n    servers: [127.0.0.1:1]\n    stratgy: x\n": ":5:5: unknown key 'stratgy'",
            "listeners: [{address: '127.0.0.1:8080'}]\nupstreams:\n  a: {strategy: magic, servers: [127.0.0.1:1]}\n": "unknown strategy 'magic'",
            "listeners: [{address: '127.0.0.1:8080'}]\nupstreams:\n  a: {servers: [127.0.0.1:1]}\ntimeouts: {connect: 5}\n": "timeouts.connect must be a duration",
            "listeners: [{address: '127.0.0.1:8080'}]\nupstreams:\n  a: {servers: [127.0.0.1:1]}\n  b: {servers: [127.0.0.1:2]}\n": "'routes' is required",
            "listeners: [{address: '127.0.0.1:8080'}]\nupstreams:\n  a: {servers: [127.0.0.1:1]}\nroutes: [{upstream: c}]\n": "unknown upstream 'c'",
            "listeners: [{address: '127.0.0.1:8080'\n": "tether.yaml:",
        }
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "tether.yaml")
            for text, expected in cases.items():
                with self.subTest(expected=expected):
                    with open(path, "w") as f:
                        f.write(text)
                    p = subprocess.run([TETHER_BIN, "-t", "-c", path], capture_output=True, text=True)
                    self.assertEqual(p.returncode, 1)
                    self.assertIn(path, p.stderr)
                    self.assertIn(expected, p.stderr)
            with open(path, "w") as f:
                f.write("listeners: [{address: '127.0.0.1:8080'}]\nupstreams:\n  a: {servers: [127.0.0.1:1]}\n")
            p = subprocess.run([TETHER_BIN, "-t", "-c", path], capture_output=True, text=True)
            self.assertEqual(p.returncode, 0, p.stderr)
        repo_conf = os.path.join(os.path.dirname(__file__), "..", "..", "..", "conf", "tether.yaml")
        self.assertEqual(subprocess.run([TETHER_BIN, "-t", "-c", repo_conf], capture_output=True).returncode, 0)
        p = subprocess.run([TETHER_BIN, "--version"], capture_output=True, text=True)
        self.assertTrue(p.stdout.startswith("tether "))

    def test_listen_failure_is_reported(self):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "t.yaml")
            with open(path, "w") as f:
                f.write(f"listeners: [{{address: '127.0.0.1:{port}'}}]\nupstreams:\n  a: {{servers: [127.0.0.1:1]}}\n")
            p = subprocess.run([TETHER_BIN, "-c", path], capture_output=True, text=True, timeout=10)
            self.assertEqual(p.returncode, 1)
            self.assertIn("cannot listen", p.stderr)
        s.close()


if __name__ == "__main__":
    unittest.main(verbosity=2)
