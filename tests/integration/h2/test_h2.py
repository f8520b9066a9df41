"""HTTP/2 to clients with real clients (curl --http2 and --http2-prior-knowledge, nghttp, h2load)
and raw frames (h2frames.py): ALPN h2 on a TLS listener and h2c on a plain one, with HTTP/1.1
still served on both ports; cookie affinity, bodies larger than the flow-control windows, a
reload under an in-flight stream; and the protections: rapid reset, CONTINUATION flood, HPACK
bomb, oversized header lists, PING / empty DATA floods, a missing preface, a zero-window stall.
"""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, wait_for  # noqa: E402
import h2frames as h2  # noqa: E402


def run(*cmd, timeout=60):
    return subprocess.run(cmd, capture_output=True, timeout=timeout)


def config(d, plain, secure, http1_only, admin, servers, redirect):
    return f"""workers: 1
listeners:
  - name: plain
    address: 127.0.0.1:{plain}
    http2: {{max_header_list_bytes: 8KiB, initial_window_bytes: 1MiB, connection_window_bytes: 4MiB}}
  - name: secure
    address: 127.0.0.1:{secure}
    http2: true
    tls: {{cert: {d}/cert.pem, key: {d}/key.pem}}
  - name: http1
    address: 127.0.0.1:{http1_only}
    tls: {{cert: {d}/cert.pem, key: {d}/key.pem}}
  - name: redirect
    address: 127.0.0.1:{redirect}
    redirect_https: true
    http2: true
upstreams:
  app:
    affinity: [cookie]
    retries: 1
    servers:
{"".join(f"      - address: {s}" + chr(10) for s in servers)}
routes:
  - path_prefix: /local
    respond: {{status: 200, body: "local answer"}}
  - upstream: app
timeouts:
  client_header: 1s
limits:
  max_body_bytes: 1GiB
access_log: {{path: {d}/access.log, format: combined}}
admin:
  address: 127.0.0.1:{admin}
"""


class H2(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        d = cls.dir.name
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1", "-keyout", f"{d}/key.pem", "-out", f"{d}/cert.pem")
        cls.b1, cls.b2 = Backend("b1").start(), Backend("b2").start()
        cls.plain, cls.secure, cls.http1, cls.admin, cls.redirect = free_port(), free_port(), free_port(), free_port(), free_port()
        cls.config_text = config(d, cls.plain, cls.secure, cls.http1, cls.admin, [cls.b1.address, cls.b2.address], cls.redirect)
        cls.tether = Tether(cls.config_text, [cls.plain, cls.secure, cls.http1, cls.admin, cls.redirect]).start()

    @classmethod
    def tearDownClass(cls):
        cls.tether.stop()
        cls.b1.stop()
        cls.b2.stop()
        cls.dir.cleanup()

    def curl(self, *args, url):
        r = run("curl", "-sS", "-k", "--max-time", "20", "-w", "\n%{http_version} %{http_code}", *args, url)
        self.assertEqual(r.returncode, 0, r.stderr)
        body, _, tail = r.stdout.rpartition(b"\n")
        version, code = tail.decode().split()
        return version, int(code), body

    def metrics(self):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/metrics", timeout=5) as r:
            return r.read().decode()

    def metric(self, name):
        m = re.search(r"^" + re.escape(name) + r" (\S+)$", self.metrics(), re.M)
        return float(m.group(1)) if m else None

    # ---- clients -------------------------------------------------------------------------------

    def test_tls_alpn_offers_h2(self):
        version, code, body = self.curl("--http2", url=f"https://127.0.0.1:{self.secure}/name")
        self.assertEqual((version, code), ("2", 200))
        self.assertIn(body, (b"b1", b"b2"))

    def test_h2c_prior_knowledge(self):
        version, code, body = self.curl("--http2-prior-knowledge", url=f"http://127.0.0.1:{self.plain}/name")
        self.assertEqual((version, code), ("2", 200))
        self.assertIn(body, (b"b1", b"b2"))

    def test_http11_on_the_same_ports(self):
        self.assertEqual(self.curl("--http1.1", url=f"http://127.0.0.1:{self.plain}/name")[:2], ("1.1", 200))
        self.assertEqual(self.curl("--http1.1", url=f"https://127.0.0.1:{self.secure}/name")[:2], ("1.1", 200))
        # A listener without http2 keeps offering only http/1.1.
        self.assertEqual(self.curl("--http2", url=f"https://127.0.0.1:{self.http1}/name")[:2], ("1.1", 200))

    def test_request_reaches_upstream_as_http11(self):
        _, code, body = self.curl("--http2-prior-knowledge", "-H", "X-Test: yes", "-b", "a=1; b=2",
                                  url=f"http://127.0.0.1:{self.plain}/headers?q=1")
        self.assertEqual(code, 200)
        seen = json.loads(body)
        self.assertEqual(seen["request_line"], "GET /headers?q=1 HTTP/1.1")
        headers = {k.lower(): v for k, v in seen["headers"]}
        self.assertEqual(headers["host"], f"127.0.0.1:{self.plain}")
        self.assertEqual(headers["x-test"], "yes")
        self.assertEqual(headers["cookie"], "a=1; b=2")
        self.assertEqual(headers["x-forwarded-proto"], "http")

    def test_route_answer_over_h2(self):
        version, code, body = self.curl("--http2-prior-knowledge", url=f"http://127.0.0.1:{self.plain}/local")
        self.assertEqual((version, code, body), ("2", 200, b"local answer"))

    def test_redirect_https_over_h2c(self):
        r = run("curl", "-sS", "--http2-prior-knowledge", "-o", "/dev/null", "-w", "%{http_version} %{http_code} %{redirect_url}",
                f"http://localhost:{self.redirect}/a?b=1")
        self.assertEqual(r.stdout.decode(), f"2 308 https://localhost/a?b=1")

    def test_nghttp(self):
        r = run("nghttp", "-v", f"https://127.0.0.1:{self.secure}/name")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(b":status: 200", r.stdout)
        self.assertIn(b"recv (stream_id=13) x-backend:", r.stdout)

    def test_h2load_bounded(self):
        for url in (f"https://127.0.0.1:{self.secure}/name", f"http://127.0.0.1:{self.plain}/name"):
            r = run("h2load", "-c", "4", "-m", "8", "-n", "400", url)
            self.assertIn(b"400 succeeded, 0 failed, 0 errored", r.stdout, r.stdout)

    def test_cookie_affinity(self):
        jar = os.path.join(self.dir.name, "jar")
        url = f"https://127.0.0.1:{self.secure}/name"
        _, _, first = self.curl("--http2", "-c", jar, url=url)
        with open(jar) as f:
            self.assertIn("tether_sid", f.read())
        for _ in range(6):
            self.assertEqual(self.curl("--http2", "-b", jar, url=url)[2], first)

    def test_post_larger_than_windows(self):
        body = os.urandom(3 * 1024 * 1024)  # 48 stream windows, 3 connection windows
        path = os.path.join(self.dir.name, "body")
        with open(path, "wb") as f:
            f.write(body)
        for url in (f"https://127.0.0.1:{self.secure}/echo", f"http://127.0.0.1:{self.plain}/echo"):
            r = run("curl", "-sS", "-k", "--http2" if url.startswith("https") else "--http2-prior-knowledge",
                    "--data-binary", f"@{path}", "-H", "Content-Type: application/octet-stream", url)
            self.assertEqual(r.returncode, 0, r.stderr)
            self.assertEqual(len(r.stdout), len(body))
            self.assertTrue(r.stdout == body)
        # Without a content-length the body goes upstream chunked.
        r = run("nghttp", "-d", path, f"http://127.0.0.1:{self.plain}/sink")
        self.assertEqual(r.stdout.strip(), str(len(body)).encode())

    def test_large_response_streams(self):
        version, code, body = self.curl("--http2", url=f"https://127.0.0.1:{self.secure}/bytes?n=5000000&chunked=1")
        self.assertEqual((version, code, len(body)), ("2", 200, 5000000))

    def test_header_list_too_large_is_431(self):
        _, code, _ = self.curl("--http2-prior-knowledge", "-H", "X-Big: " + "a" * 12000, url=f"http://127.0.0.1:{self.plain}/name")
        self.assertEqual(code, 431)
        # Refused before its head was read: logged without a method or URL.
        log = os.path.join(self.dir.name, "access.log")
        self.assertTrue(wait_for(lambda: '"- - HTTP/2.0" 431' in open(log).read(), 3))

    def test_reload_keeps_inflight_stream(self):
        p = subprocess.Popen(["curl", "-sS", "--http2-prior-knowledge", "-w", "\n%{http_code}", f"http://127.0.0.1:{self.plain}/sleep?ms=1500"],
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        time.sleep(0.4)
        self.tether.proc.send_signal(signal.SIGHUP)
        out, err = p.communicate(timeout=20)
        self.assertEqual(out.rsplit(b"\n", 1)[-1], b"200", err)
        self.assertEqual(self.curl("--http2-prior-knowledge", url=f"http://127.0.0.1:{self.plain}/name")[1], 200)

    def test_metrics_and_access_log(self):
        self.curl("--http2-prior-knowledge", url=f"http://127.0.0.1:{self.plain}/name?log=h2")
        self.assertGreater(self.metric('tether_downstream_requests_total{protocol="HTTP/2"}'), 0)
        self.assertIsNotNone(self.metric("tether_h2_streams_active"))
        self.assertTrue(wait_for(lambda: "GET /name?log=h2 HTTP/2.0" in open(os.path.join(self.dir.name, "access.log")).read(), 3))

    # ---- raw frames ----------------------------------------------------------------------------

    def test_raw_request(self):
        s = h2.connect(self.plain)
        s.sendall(h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 1, h2.request_block("/name")))
        r = h2.Reader(s)
        self.assertTrue(r.until(lambda r: r.ended(1)))
        self.assertIn(r.body(1), (b"b1", b"b2"))
        s.close()

    def flood(self, s, data):
        """Sends `data` (tether may close mid-way) and reads until the connection is closed."""
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass
        r = h2.Reader(s)
        r.until(lambda r: r.closed, 5)
        return r

    def test_rapid_reset_gets_enhance_your_calm(self):
        before = self.b1.requests + self.b2.requests
        s = h2.connect(self.plain)
        burst = b""
        for i in range(400):
            sid = 2 * i + 1
            burst += h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, sid, h2.request_block("/sleep?ms=300"))
            burst += h2.frame(h2.RST_STREAM, 0, sid, (8).to_bytes(4, "big"))  # CANCEL
        r = self.flood(s, burst)
        self.assertEqual(r.goaway()[1], h2.ENHANCE_YOUR_CALM)
        self.assertTrue(r.closed)
        s.close()
        # The connection ended long before 400 requests could reach the upstreams.
        time.sleep(0.5)
        self.assertLess(self.b1.requests + self.b2.requests - before, 200)
        self.assertGreaterEqual(self.metric("tether_h2_flood_closes_total"), 1)

    def test_continuation_flood_closes(self):
        s = h2.connect(self.plain)
        out = h2.frame(h2.HEADERS, 0, 1, h2.request_block("/name"))
        for i in range(100):
            out += h2.frame(h2.CONTINUATION, 0, 1, h2.literal(f"x-c{i}", "v"))
        r = self.flood(s, out)
        self.assertTrue(r.closed)
        self.assertIsNotNone(r.goaway())
        self.assertFalse(r.of(h2.HEADERS, 1))
        s.close()

    def test_hpack_bomb_closes(self):
        s = h2.connect(self.plain)
        block = h2.request_block("/name") + h2.literal("x-bomb", "a" * 4000, indexed=True) + b"\xbe" * 3000
        r = self.flood(s, h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 1, block))
        self.assertTrue(r.closed)
        self.assertEqual(r.goaway()[1], h2.ENHANCE_YOUR_CALM)
        s.close()

    def test_ping_flood_closes(self):
        s = h2.connect(self.plain)
        r = self.flood(s, b"".join(h2.frame(h2.PING, 0, 0, i.to_bytes(8, "big")) for i in range(2000)))
        self.assertEqual(r.goaway()[1], h2.ENHANCE_YOUR_CALM)
        s.close()

    def test_empty_data_flood_closes(self):
        s = h2.connect(self.plain)
        out = h2.frame(h2.HEADERS, h2.END_HEADERS, 1, h2.request_block("/sink", method="POST"))
        out += h2.frame(h2.DATA, 0, 1) * 2000
        r = self.flood(s, out)
        self.assertEqual(r.goaway()[1], h2.ENHANCE_YOUR_CALM)
        s.close()

    def test_missing_preface_times_out(self):
        s = h2.socket.create_connection(("127.0.0.1", self.plain), timeout=5)
        s.sendall(h2.PREFACE[:10])
        r = h2.Reader(s)
        start = time.time()
        r.until(lambda r: r.closed, 5)
        self.assertTrue(r.closed)
        self.assertLess(time.time() - start, 4)
        s.close()

    def test_response_backpressure_when_client_does_not_read(self):
        # The client never opens its window past the first 64 KiB: tether must stop reading the
        # upstream instead of holding the 60 MB body.
        before = self.tether.rss_kib()
        s = h2.connect(self.plain)
        s.sendall(h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 1, h2.request_block("/bytes?n=60000000")))
        time.sleep(0.7)
        grown = self.tether.rss_kib() - before
        s.close()
        self.assertLess(grown, 16 * 1024, f"RSS grew {grown} KiB")

    def test_request_body_backpressure_when_upstream_does_not_read(self):
        # /sleep does not read its request body: tether acknowledges body bytes only as the
        # upstream takes them, so the client can send little more than the socket buffers hold.
        s = h2.connect(self.plain)
        total = 50 * 1024 * 1024
        s.sendall(h2.frame(h2.HEADERS, h2.END_HEADERS, 1, h2.request_block("/sleep?ms=4000", method="POST",
                                                                            extra=[("content-length", str(total))])))
        r = h2.Reader(s)
        r.until(lambda r: r.of(h2.SETTINGS), 2)
        sent, conn_credit, stream_credit, seen = 0, 65535, 1024 * 1024, 0
        chunk = b"x" * 16384
        start = time.time()
        at_half = None
        while time.time() < start + 3:
            if at_half is None and time.time() > start + 1.5:
                at_half = sent
            while conn_credit >= len(chunk) and stream_credit >= len(chunk):
                s.sendall(h2.frame(h2.DATA, 0, 1, chunk))
                sent += len(chunk)
                conn_credit -= len(chunk)
                stream_credit -= len(chunk)
            r.until(lambda r: len(r.frames) > seen, 0.05)
            for t, _, sid, p in r.frames[seen:]:
                if t == h2.WINDOW_UPDATE:
                    inc = int.from_bytes(p[:4], "big") & 0x7FFFFFFF
                    if sid == 0:
                        conn_credit += inc
                    else:
                        stream_credit += inc
            seen = len(r.frames)
        s.close()
        # The stream window and the socket buffers on the way (which loopback autotuning grows to
        # several MB), then the windows stay shut: nothing more in the second half. Without flow
        # control as backpressure the whole 50 MB goes in well under a second.
        self.assertGreater(at_half, 60000)
        self.assertLess(sent, 24 * 1024 * 1024, f"{at_half} bytes in 1.5 s, {sent} in 3 s")
        self.assertLess(sent - at_half, 2 * 1024 * 1024, f"{at_half} bytes in 1.5 s, {sent} in 3 s")

    def test_zero_window_stall_is_closed(self):
        s = h2.connect(self.plain, window=0)
        s.sendall(h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 1, h2.request_block("/bytes?n=200000")))
        r = h2.Reader(s)
        start = time.time()
        r.until(lambda r: r.closed, 6)
        self.assertTrue(r.closed)
        self.assertLess(time.time() - start, 5)
        self.assertEqual(r.body(1), b"")
        s.close()


class Shutdown(unittest.TestCase):
    def test_sigterm_sends_goaway_and_finishes_streams(self):
        b = Backend("b1").start()
        port = free_port()
        text = f"workers: 1\nlisteners:\n  - address: 127.0.0.1:{port}\n    http2: true\n" \
               f"upstreams:\n  app:\n    servers:\n      - address: {b.address}\n"
        t = Tether(text, [port]).start()
        try:
            s = h2.connect(port)
            s.sendall(h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 1, h2.request_block("/sleep?ms=800")))
            time.sleep(0.3)
            t.proc.send_signal(signal.SIGTERM)
            r = h2.Reader(s)
            self.assertTrue(r.until(lambda r: r.goaway() is not None, 5))
            self.assertEqual(r.goaway(), (1, 0))  # stream 1 is served; NO_ERROR
            self.assertTrue(r.until(lambda r: r.ended(1), 5))
            self.assertEqual(r.body(1), b"slept")
            self.assertTrue(r.of(h2.HEADERS, 1))
            self.assertFalse(r.of(h2.RST_STREAM, 1))
            r.until(lambda r: r.closed, 5)
            self.assertTrue(r.closed)
            s.close()
            self.assertEqual(t.proc.wait(10), 0)
        finally:
            t.stop()
            b.stop()


if __name__ == "__main__":
    unittest.main()
