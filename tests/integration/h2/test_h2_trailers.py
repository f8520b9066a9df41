"""Trailers and interim responses through tether, HTTP/2 and HTTP/1.1 clients alike, against a
raw HTTP/1.1 upstream (below) that records every request as it arrived and answers by path:
  /trailers   a chunked body followed by trailer fields (one of them forbidden as a trailer)
  /early      103 Early Hints with Link headers, then 200
  /continue   100 Continue, then 200
  anything    200 "ok" (the request is recorded)
Request trailers: an h2 trailing HEADERS becomes the trailer section of the chunked upstream body,
is dropped when the request had a content-length, loses the fields that may not be trailers, and
past max_header_list_bytes gets the stream answered 431;
an HTTP/1.1 client's chunked trailers pass the same way. Response trailers: a trailing HEADERS
frame with END_STREAM for h2 clients (nghttp -v decodes it), the chunked trailer section for
HTTP/1.1 clients. Interim responses reach h2 clients as HEADERS before the final one.
"""
import os
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from support.harness import Tether, free_port, raw_request, wait_for  # noqa: E402
import h2frames as h2  # noqa: E402


class RawUpstream:
    """A threaded HTTP/1.1 server that keeps each request's raw head, body and trailer lines."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.address = "127.0.0.1:%d" % self.sock.getsockname()[1]
        self.requests = []   # dicts: head (str), body (bytes), trailers (list of str), chunked (bool)
        self.stopped = False

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self.stopped = True
        self.sock.close()

    def _accept(self):
        while not self.stopped:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        f = c.makefile("rb")
        try:
            while True:
                req = self._read(f)
                if req is None:
                    return
                self.requests.append(req)
                self._answer(c, req)
        except (OSError, ValueError):
            pass
        finally:
            c.close()

    @staticmethod
    def _read(f):
        lines = []
        while True:
            line = f.readline()
            if not line:
                return None
            if line == b"\r\n":
                break
            lines.append(line.decode("latin-1").rstrip("\r\n"))
        head = "\r\n".join(lines)
        headers = {l.split(":", 1)[0].strip().lower(): l.split(":", 1)[1].strip() for l in lines[1:]}
        req = {"head": head, "headers": headers, "body": b"", "trailers": [], "chunked": False}
        if headers.get("transfer-encoding", "").lower() == "chunked":
            req["chunked"] = True
            while True:
                size = int(f.readline().split(b";")[0].strip(), 16)
                if size == 0:
                    break
                req["body"] += f.read(size)
                f.readline()
            while True:
                line = f.readline()
                if line in (b"\r\n", b""):
                    break
                req["trailers"].append(line.decode("latin-1").rstrip("\r\n"))
        elif headers.get("content-length"):
            req["body"] = f.read(int(headers["content-length"]))
        return req

    @staticmethod
    def _answer(c, req):
        path = req["head"].split(" ")[1]
        if path.startswith("/trailers"):
            c.sendall(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTrailer: X-Checksum\r\n\r\n"
                      b"5\r\nhello\r\n6\r\n world\r\n0\r\nX-Checksum: abc123\r\nContent-Length: 99\r\nX-Note: done \r\n\r\n")
        elif path.startswith("/early"):
            c.sendall(b"HTTP/1.1 103 Early Hints\r\nLink: </style.css>; rel=preload; as=style\r\n"
                      b"Link: </app.js>; rel=preload; as=script\r\n\r\n")
            time.sleep(0.3)
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal")
        elif path.startswith("/continue"):
            c.sendall(b"HTTP/1.1 100 Continue\r\n\r\n")
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nfinal")
        else:
            c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")


def run(*cmd, timeout=30):
    return subprocess.run(cmd, capture_output=True, timeout=timeout)


class Trailers(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.up = RawUpstream().start()
        cls.port = free_port()
        text = (f"workers: 1\nlisteners:\n  - address: 127.0.0.1:{cls.port}\n    http2: {{max_header_list_bytes: 2KiB}}\n"
                f"upstreams:\n  app:\n    servers:\n      - address: {cls.up.address}\n")
        cls.tether = Tether(text, [cls.port]).start()

    @classmethod
    def tearDownClass(cls):
        cls.tether.stop()
        cls.up.stop()

    def recorded(self, path):
        self.assertTrue(wait_for(lambda: any(r["head"].split(" ")[1] == path for r in self.up.requests), 5), path)
        return [r for r in self.up.requests if r["head"].split(" ")[1] == path][-1]

    def h2_post(self, path, extra, trailer_fields):
        s = h2.connect(self.port)
        s.sendall(h2.frame(h2.HEADERS, h2.END_HEADERS, 1, h2.request_block(path, method="POST", extra=extra)))
        s.sendall(h2.frame(h2.DATA, 0, 1, b"abc"))
        block = b"".join(h2.literal(n, v) for n, v in trailer_fields)
        s.sendall(h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 1, block))
        r = h2.Reader(s)
        self.assertTrue(r.until(lambda r: r.ended(1)))
        s.close()
        return r

    # ---- request trailers ----------------------------------------------------------------------

    def test_h2_request_trailers_reach_upstream_in_chunked_body(self):
        r = self.h2_post("/rt-chunked", [], [("x-checksum", "42"), ("x-trace", "a b"), ("authorization", "Bearer t"),
                                              ("cookie", "c=1")])
        self.assertEqual(r.body(1), b"ok")
        req = self.recorded("/rt-chunked")
        self.assertTrue(req["chunked"])
        self.assertEqual(req["body"], b"abc")
        self.assertEqual(req["trailers"], ["x-checksum: 42", "x-trace: a b"])  # forbidden ones left out

    def test_h2_request_trailers_dropped_with_content_length(self):
        r = self.h2_post("/rt-length", [("content-length", "3")], [("x-checksum", "42")])
        self.assertEqual(r.body(1), b"ok")
        req = self.recorded("/rt-length")
        self.assertFalse(req["chunked"])
        self.assertEqual(req["body"], b"abc")
        self.assertNotIn("x-checksum", req["head"].lower())

    def test_h2_pseudo_header_in_trailers_resets_the_stream(self):
        s = h2.connect(self.port)
        s.sendall(h2.frame(h2.HEADERS, h2.END_HEADERS, 1, h2.request_block("/rt-pseudo", method="POST")))
        s.sendall(h2.frame(h2.DATA, 0, 1, b"abc"))
        s.sendall(h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 1, h2.literal(":path", "/evil")))
        r = h2.Reader(s)
        self.assertTrue(r.until(lambda r: r.of(h2.RST_STREAM, 1)))
        # The connection stays usable.
        s.sendall(h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 3, h2.request_block("/after")))
        self.assertTrue(r.until(lambda r: r.ended(3)))
        self.assertEqual(r.body(3), b"ok")
        s.close()
        time.sleep(0.2)
        self.assertFalse(any("/evil" in t for q in self.up.requests for t in q["trailers"]))

    def test_h2_request_trailers_past_the_limit_are_431(self):
        r = self.h2_post("/rt-big", [], [("x-big", "b" * 3000)])
        self.assertTrue(r.body(1).startswith(b"431 Request Header Fields Too Large"), r.body(1))
        time.sleep(0.2)
        self.assertFalse(any("x-big" in t for q in self.up.requests for t in q["trailers"]))

    def test_http11_request_trailers_pass_through(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"POST /rt-http11 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                  b"3\r\nabc\r\n0\r\nX-Checksum: 7\r\nHost: evil\r\n\r\n")
        out = b""
        while b"ok" not in out:
            chunk = s.recv(4096)
            if not chunk:
                break
            out += chunk
        s.close()
        req = self.recorded("/rt-http11")
        self.assertEqual(req["body"], b"abc")
        self.assertEqual(req["trailers"], ["x-checksum: 7"])

    # ---- response trailers ---------------------------------------------------------------------

    def test_h2_response_trailers_as_trailing_headers(self):
        r = run("nghttp", "-v", f"http://127.0.0.1:{self.port}/trailers")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        self.assertIn("hello world", out)
        # The body's DATA does not end the stream; a second HEADERS frame (the trailers) does.
        lines = out.splitlines()
        heads = [i for i, l in enumerate(lines) if "recv HEADERS frame" in l and "stream_id=13" in l]
        data = [i for i, l in enumerate(lines) if "recv DATA frame" in l]
        self.assertEqual(len(heads), 2, out)
        self.assertTrue(data and heads[0] < data[-1] < heads[1], out)
        self.assertIn("END_STREAM", lines[heads[1] + 1], out)
        self.assertNotIn("END_STREAM", lines[data[-1] + 1], out)
        # nghttp prints a frame's fields before the frame: the trailers sit between the two.
        trailers = "\n".join(lines[data[-1]:heads[1]])
        self.assertIn("x-checksum: abc123", trailers)
        self.assertIn("x-note: done", trailers)
        self.assertNotIn("content-length: 99", out)

    def test_h2_response_trailers_raw_frames(self):
        s = h2.connect(self.port)
        s.sendall(h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 1, h2.request_block("/trailers")))
        r = h2.Reader(s)
        self.assertTrue(r.until(lambda r: r.ended(1)))
        s.close()
        self.assertEqual(r.body(1), b"hello world")
        heads = r.of(h2.HEADERS, 1)
        self.assertEqual(len(heads), 2)
        self.assertTrue(heads[1][1] & h2.END_STREAM)
        self.assertFalse(any(f & h2.END_STREAM for _, f, _, _ in r.of(h2.DATA, 1)))

    def test_http11_response_trailers_pass_through(self):
        out = raw_request(self.port, b"GET /trailers HTTP/1.1\r\nHost: x\r\nTE: trailers\r\nConnection: close\r\n\r\n")
        head, _, body = out.partition(b"\r\n\r\n")
        self.assertIn(b"transfer-encoding: chunked", head.lower())
        self.assertTrue(body.endswith(b"0\r\nx-checksum: abc123\r\nx-note: done\r\n\r\n"), body)
        self.assertNotIn(b"content-length: 99", body.lower())

    # ---- interim responses ---------------------------------------------------------------------

    def test_h2_early_hints_before_final_response(self):
        r = run("nghttp", "-v", f"http://127.0.0.1:{self.port}/early")
        self.assertEqual(r.returncode, 0, r.stderr)
        out = r.stdout.decode()
        i103, i200 = out.find(":status: 103"), out.find(":status: 200")
        self.assertGreaterEqual(i103, 0, out)
        self.assertGreater(i200, i103, out)
        hints = out[i103:i200]
        self.assertIn("link: </style.css>; rel=preload; as=style", hints)
        self.assertIn("link: </app.js>; rel=preload; as=script", hints)
        self.assertIn("final", out[i200:])

    def test_h2_100_continue_relayed(self):
        s = h2.connect(self.port)
        s.sendall(h2.frame(h2.HEADERS, h2.END_STREAM | h2.END_HEADERS, 1, h2.request_block("/continue")))
        r = h2.Reader(s)
        self.assertTrue(r.until(lambda r: r.ended(1)))
        s.close()
        heads = r.of(h2.HEADERS, 1)
        self.assertEqual(len(heads), 2)  # the interim one without END_STREAM, then the final one
        self.assertFalse(heads[0][1] & h2.END_STREAM)
        self.assertEqual(r.body(1), b"final")

    def test_http11_early_hints_relayed(self):
        out = raw_request(self.port, b"GET /early HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertTrue(out.startswith(b"HTTP/1.1 103 "), out)
        self.assertIn(b"Link: </style.css>; rel=preload; as=style\r\n", out)
        self.assertIn(b"HTTP/1.1 200 ", out)


if __name__ == "__main__":
    unittest.main()
