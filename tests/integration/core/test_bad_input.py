"""Proxy core, bad input: every malformed or hostile request gets a clear status and a short body,
the proxy keeps serving everyone else, and nothing reaches the backend that should not.
"""
import json
import os
import socket
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, raw_request, recv_until_close, simple_config  # noqa: E402


def status_of(raw):
    line = raw.split(b"\r\n", 1)[0]
    parts = line.split(b" ")
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None


class BadInput(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("b1").start()
        cls.port = free_port()
        extra = ("timeouts: {client_header: 1s}\n"
                 "limits: {max_header_bytes: 4KiB, max_body_bytes: 1KiB, max_connections: 50}\n")
        cls.tether = Tether(simple_config(cls.port, [cls.backend.address], extra=extra), [cls.port]).start()

    @classmethod
    def tearDownClass(cls):
        cls.tether.stop()
        cls.backend.stop()

    def expect(self, request, status, body_hint=None):
        before = self.backend.requests
        raw = raw_request(self.port, request)
        self.assertEqual(status_of(raw), status, raw[:200])
        self.assertIn(b"Connection: close", raw)
        if body_hint:
            self.assertIn(body_hint, raw)
        self.assertEqual(self.backend.requests, before, "a rejected request must not reach the backend")
        self.still_serving()

    def still_serving(self):
        raw = raw_request(self.port, b"GET /name HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        self.assertEqual(status_of(raw), 200)

    def test_garbage_is_400(self):
        self.expect(b"\x16\x03\x01\x00\xa5\x01\x00\x00\xa1\x03\x03garbage\r\n\r\n", 400, b"400 Bad Request")

    def test_bad_request_line_is_400(self):
        self.expect(b"GET /x HTTP/9.9\r\nHost: x\r\n\r\n", 400)
        self.expect(b"GET\r\n\r\n", 400)

    def test_header_too_large_is_431(self):
        self.expect(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n", 431, b"max_header_bytes")

    def test_body_too_large_is_413(self):
        self.expect(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2000\r\n\r\n" + b"a" * 2000, 413, b"max_body_bytes")

    def test_chunked_body_too_large_is_413(self):
        body = b"".join(b"100\r\n" + b"a" * 256 + b"\r\n" for _ in range(8)) + b"0\r\n\r\n"
        raw = raw_request(self.port, b"POST /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n" + body)
        # The head was forwarded before the body grew too large: the proxy cuts the exchange, and
        # either answers 413 (nothing sent yet) or closes the connection.
        self.assertIn(status_of(raw), (413, None))
        self.still_serving()

    def test_smuggling_shapes_are_400(self):
        shapes = [
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nContent-Length: 5\r\n\r\nabcde",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n\r\nabc",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\nabc",
            b"GET / HTTP/1.1\r\nHost: x\r\nX-Folded: a\r\n b\r\n\r\n",
            b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nabc\r\n0\r\n\r\n",
            b"GET / HTTP/1.1\r\nHost: x\r\nX: a\rb\r\n\r\n",
        ]
        for shape in shapes:
            with self.subTest(shape=shape[:60]):
                raw = raw_request(self.port, shape)
                self.assertEqual(status_of(raw), 400, raw[:200])
        self.still_serving()

    def test_framing_is_validated_before_anything_goes_upstream(self):
        # Each is answered by tether alone: the backend never sees a request (not even a head).
        cases = [
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: xchunked\r\n\r\n", 400),
            (b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n", 400),
            (b"GET /name HTTP/1.1\r\nHost: x\r\nHost: y\r\n\r\n", 400),
            (b"GET /name HTTP/1.1\r\nAccept: */*\r\n\r\n", 400),
            (b"GET /name HTTP/1.1\r\nHost: x\r\nX-Nul: a\x00b\r\n\r\n", 400),
            (b"GET http://user@x/name HTTP/1.1\r\nHost: x\r\n\r\n", 400),
            (b"GET /name HTTP/2.0\r\nHost: x\r\n\r\n", 505),
            (b"GET /name\r\n", 400),  # HTTP/0.9: at once, not 408 after client_header
            (b"GET /name HTTP/1.1\nHost: x\n\n", 400),
        ]
        for request, status in cases:
            with self.subTest(request=request[:60]):
                self.expect(request, status)

    def test_a_bad_chunk_never_smuggles_a_second_request(self):
        before = self.backend.paths
        raw = raw_request(self.port, b"POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                                     b"5\r\nhelloGET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n0\r\n\r\n")
        self.assertIn(status_of(raw), (400, 502, None))
        time.sleep(0.2)
        self.assertNotIn("/smuggled", self.backend.paths[len(before):])
        self.still_serving()

    def test_http10_with_transfer_encoding_closes_after_the_response(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"POST /echo HTTP/1.0\r\nConnection: keep-alive\r\nTransfer-Encoding: chunked\r\n\r\n"
                      b"3\r\nabc\r\n0\r\n\r\n")
            raw = recv_until_close(s)  # tether closes: the test would time out otherwise
        self.assertEqual(status_of(raw), 200)
        self.assertIn(b"Connection: close", raw)
        self.assertTrue(raw.endswith(b"abc"))

    def test_absolute_form_routes_on_the_path_with_the_authority_as_host(self):
        raw = raw_request(self.port, b"GET http://chat.example:8080/headers?x=1 HTTP/1.1\r\nHost: other\r\n"
                                     b"Connection: close\r\n\r\n")
        self.assertEqual(status_of(raw), 200, raw[:200])
        info = json.loads(raw.split(b"\r\n\r\n", 1)[1])
        self.assertEqual(info["request_line"], "GET /headers?x=1 HTTP/1.1")
        hosts = [v for k, v in info["headers"] if k.lower() == "host"]
        self.assertEqual(hosts, ["chat.example:8080"])

    def test_connect_method_refused(self):
        self.expect(b"CONNECT example.com:443 HTTP/1.1\r\nHost: example.com:443\r\n\r\n", 400)

    def test_slow_client_cut_by_client_header(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")  # never finishes the head
        start = time.time()
        data = recv_until_close(s)
        elapsed = time.time() - start
        self.assertEqual(status_of(data), 408)
        self.assertLess(elapsed, 3.5)
        s.close()
        self.still_serving()

    def test_idle_connection_without_request_closed(self):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        start = time.time()
        self.assertEqual(s.recv(10), b"")  # closed silently after client_header
        self.assertLess(time.time() - start, 3.5)
        s.close()

    def test_max_connections(self):
        held = []
        try:
            for _ in range(49):  # one slot left for the check below
                held.append(socket.create_connection(("127.0.0.1", self.port), timeout=5))
            time.sleep(0.2)
            extra = [socket.create_connection(("127.0.0.1", self.port), timeout=5) for _ in range(3)]
            refused = 0
            for e in extra[1:]:
                try:
                    e.sendall(b"GET /name HTTP/1.1\r\nHost: x\r\n\r\n")
                    raw = recv_until_close(e)
                    refused += status_of(raw) == 503 and b"Retry-After: 1\r\n" in raw
                except OSError:
                    pass
            self.assertGreaterEqual(refused, 2, "connections over max_connections are answered 503 and closed")
            # an existing connection is unharmed
            held[0].sendall(b"GET /name HTTP/1.1\r\nHost: x\r\n\r\n")
            self.assertEqual(status_of(held[0].recv(4096)), 200)
            for e in extra:
                e.close()
        finally:
            for h in held:
                h.close()
        time.sleep(0.2)
        self.still_serving()


if __name__ == "__main__":
    unittest.main(verbosity=2)
