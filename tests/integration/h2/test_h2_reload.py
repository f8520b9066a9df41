"""HTTP/2 connections across reloads (raw frames, h2frames.py): a reload that changes the
listener's http2 settings (max_concurrent_streams here), turns http2 off, removes the listener or
changes its certificate sends GOAWAY(NO_ERROR) to the listener's open h2 connections; their
in-flight stream still completes, then they close, and a new connection gets the new SETTINGS. A
reload that leaves the listener alone sends no GOAWAY and the connection keeps serving.
"""
import os
import shutil
import signal
import socket
import ssl
import struct
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, wait_for  # noqa: E402
import h2frames as h2  # noqa: E402


def config(port, backend, streams, http2=True, extra_route=""):
    h2line = f"    http2: {{max_concurrent_streams: {streams}}}\n" if http2 else ""
    return (f"workers: 1\nlisteners:\n  - address: 127.0.0.1:{port}\n{h2line}"
            f"upstreams:\n  app:\n    servers:\n      - address: {backend}\n"
            f"routes:\n{extra_route}  - upstream: app\n")


def server_settings(r):
    """The entries of the server's first non-ACK SETTINGS frame, as {id: value}."""
    for t, f, _, p in r.frames:
        if t == h2.SETTINGS and not f & h2.ACK:
            return {struct.unpack(">H", p[i:i + 2])[0]: struct.unpack(">I", p[i + 2:i + 6])[0] for i in range(0, len(p), 6)}
    return None


MAX_CONCURRENT_STREAMS = 3


class Reload(unittest.TestCase):
    def setUp(self):
        self.backend = Backend("b1").start()
        self.port = free_port()
        self.tether = Tether(config(self.port, self.backend.address, 100), [self.port]).start()
        self.reloads = 0

    def tearDown(self):
        self.tether.stop()
        self.backend.stop()

    def reload(self, text):
        with open(self.tether.config_path, "w") as f:
            f.write(text)
        self.tether.proc.send_signal(signal.SIGHUP)
        self.reloads += 1
        self.assertTrue(wait_for(lambda: self.tether.logs().count(" reloaded ") == self.reloads, 10), self.tether.logs())

    def open_with_sleep(self, ms):
        s = h2.connect(self.port)
        s.sendall(h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 1, h2.request_block(f"/sleep?ms={ms}")))
        r = h2.Reader(s)
        self.assertTrue(r.until(lambda r: server_settings(r) is not None))
        time.sleep(0.2)  # the stream is with the upstream
        return s, r

    def assert_goaway_then_finish(self, s, r):
        self.assertTrue(r.until(lambda r: r.goaway() is not None, 5))
        self.assertEqual(r.goaway(), (1, 0))  # stream 1 is served; NO_ERROR
        self.assertFalse(r.ended(1))          # sent while the stream was in flight
        self.assertTrue(r.until(lambda r: r.ended(1), 5))
        self.assertEqual(r.body(1), b"slept")
        self.assertFalse(r.of(h2.RST_STREAM, 1))
        r.until(lambda r: r.closed, 5)
        self.assertTrue(r.closed)
        s.close()

    def test_changed_http2_settings_send_goaway(self):
        s, r = self.open_with_sleep(1200)
        self.assertEqual(server_settings(r)[MAX_CONCURRENT_STREAMS], 100)
        self.reload(config(self.port, self.backend.address, 50))
        self.assert_goaway_then_finish(s, r)
        # A new connection gets the new SETTINGS and is served.
        s2 = h2.connect(self.port)
        s2.sendall(h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 1, h2.request_block("/name")))
        r2 = h2.Reader(s2)
        self.assertTrue(r2.until(lambda r: r.ended(1)))
        self.assertEqual(server_settings(r2)[MAX_CONCURRENT_STREAMS], 50)
        self.assertEqual(r2.body(1), b"b1")
        self.assertIsNone(r2.goaway())
        s2.close()

    def test_http2_turned_off_sends_goaway(self):
        s, r = self.open_with_sleep(1000)
        self.reload(config(self.port, self.backend.address, 100, http2=False))
        self.assert_goaway_then_finish(s, r)

    def test_removed_listener_sends_goaway(self):
        other = free_port()
        two = config(self.port, self.backend.address, 100).replace(
            "upstreams:", f"  - address: 127.0.0.1:{other}\n    http2: true\nupstreams:", 1)
        self.reload(two)
        self.assertTrue(wait_for(lambda: self.tether.logs().count("listener_added") == 1, 5))
        s, r = self.open_with_sleep(1000)
        # The first listener goes; the other one stays.
        self.reload(two.replace(f"  - address: 127.0.0.1:{self.port}\n    http2: {{max_concurrent_streams: 100}}\n", "", 1))
        self.assert_goaway_then_finish(s, r)

    def test_unchanged_listener_keeps_serving_without_goaway(self):
        s, r = self.open_with_sleep(600)
        # Routes change (a new local answer), the listener does not.
        route = "  - path_prefix: /local\n    respond: {status: 200, body: \"generation 2\"}\n"
        self.reload(config(self.port, self.backend.address, 100, extra_route=route))
        self.assertTrue(r.until(lambda r: r.ended(1), 5))
        self.assertEqual(r.body(1), b"slept")
        # The same connection serves a new stream, on the new configuration.
        s.sendall(h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 3, h2.request_block("/local")))
        self.assertTrue(r.until(lambda r: r.ended(3), 5))
        self.assertEqual(r.body(3), b"generation 2")
        r.until(lambda r: r.goaway() is not None, 1)
        self.assertIsNone(r.goaway())
        self.assertFalse(r.closed)
        s.close()


def tls_connect(port):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    ctx.set_alpn_protocols(["h2"])
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=5), server_hostname="localhost")
    assert s.selected_alpn_protocol() == "h2"
    s.sendall(h2.PREFACE + h2.settings())
    return s


class ReloadTls(unittest.TestCase):
    """The listener's certificate: the same one under other file names keeps the connection,
    another one sends GOAWAY."""

    def test_certificate_change_sends_goaway(self):
        d = tempfile.TemporaryDirectory()
        for name in ("a", "b"):
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
                            "-keyout", f"{d.name}/{name}.key", "-out", f"{d.name}/{name}.pem"], capture_output=True, check=True)
        shutil.copy(f"{d.name}/a.pem", f"{d.name}/c.pem")
        shutil.copy(f"{d.name}/a.key", f"{d.name}/c.key")
        b = Backend("b1").start()
        port = free_port()

        def text(name):
            return (f"workers: 1\nlisteners:\n  - address: 127.0.0.1:{port}\n    http2: true\n"
                    f"    tls: {{cert: {d.name}/{name}.pem, key: {d.name}/{name}.key}}\n"
                    f"upstreams:\n  app:\n    servers:\n      - address: {b.address}\n")

        t = Tether(text("a"), [port]).start()
        try:
            for reload_no, (name, goaway) in enumerate((("c", False), ("b", True)), start=1):
                s = tls_connect(port)
                s.sendall(h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 1, h2.request_block("/sleep?ms=800")))
                r = h2.Reader(s)
                self.assertTrue(r.until(lambda r: server_settings(r) is not None))
                time.sleep(0.2)
                with open(t.config_path, "w") as f:
                    f.write(text(name))
                t.proc.send_signal(signal.SIGHUP)
                self.assertTrue(wait_for(lambda: t.logs().count(" reloaded ") == reload_no, 10))
                self.assertTrue(r.until(lambda r: r.ended(1), 5))
                self.assertEqual(r.body(1), b"slept")
                r.until(lambda r: r.closed, 1)
                if goaway:
                    self.assertEqual(r.goaway(), (1, 0), name)
                    self.assertTrue(r.closed)
                else:
                    self.assertIsNone(r.goaway(), name)
                    self.assertFalse(r.closed)
                s.close()
        finally:
            t.stop()
            b.stop()
            d.cleanup()


if __name__ == "__main__":
    unittest.main()
