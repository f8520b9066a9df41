"""Proxy core, streaming: 100 MB up and 100 MB down through tether, in every framing, with the
proxy's memory flat — bodies are streamed with backpressure, never buffered whole.
"""
import os
import socket
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, simple_config  # noqa: E402

SIZE = 100 * 1024 * 1024
MAX_GROWTH_KIB = 8 * 1024  # far below the body size: proves nothing is buffered whole


class RssSampler(threading.Thread):
    def __init__(self, tether):
        super().__init__(daemon=True)
        self.tether, self.peak, self.stop_flag = tether, 0, False

    def run(self):
        while not self.stop_flag:
            self.peak = max(self.peak, self.tether.rss_kib())
            time.sleep(0.01)


def read_response(sock):
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        if not chunk:
            raise AssertionError("connection closed before the response head")
        data += chunk
    head, body = data.split(b"\r\n\r\n", 1)
    return head, body


class Streaming(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.backend = Backend("b").start()
        cls.port = free_port()
        extra = "limits: {max_body_bytes: 1GiB}\n"
        cls.tether = Tether(simple_config(cls.port, [cls.backend.address], extra=extra), [cls.port]).start()

    @classmethod
    def tearDownClass(cls):
        cls.tether.stop()
        cls.backend.stop()

    def measure(self, fn):
        base = self.tether.rss_kib()
        sampler = RssSampler(self.tether)
        sampler.start()
        try:
            fn()
        finally:
            sampler.stop_flag = True
            sampler.join()
        growth = sampler.peak - base
        self.assertLess(growth, MAX_GROWTH_KIB, f"RSS grew by {growth} KiB while streaming {SIZE >> 20} MiB")

    def download(self, chunked, slow_reader=False):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        q = f"/bytes?n={SIZE}" + ("&chunked=1" if chunked else "")
        s.sendall(f"GET {q} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        head, body = read_response(s)
        self.assertIn(b"200 OK", head)
        total = len(body)
        if slow_reader:
            time.sleep(1.0)  # let the proxy hit backpressure while nobody reads
        while True:
            chunk = s.recv(1 << 20)
            if not chunk:
                break
            total += len(chunk)
        s.close()
        if chunked:  # framing overhead: count only payload by re-parsing would be slow; bound it
            self.assertGreater(total, SIZE)
        else:
            self.assertEqual(total, SIZE)

    def upload(self, chunked):
        s = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        if chunked:
            s.sendall(b"POST /sink HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n")
        else:
            s.sendall(f"POST /sink HTTP/1.1\r\nHost: x\r\nContent-Length: {SIZE}\r\nConnection: close\r\n\r\n".encode())
        block = b"u" * (1 << 20)
        for _ in range(SIZE // len(block)):
            s.sendall((b"%x\r\n" % len(block) + block + b"\r\n") if chunked else block)
        if chunked:
            s.sendall(b"0\r\n\r\n")
        head, body = read_response(s)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            body += chunk
        s.close()
        self.assertIn(b"200 OK", head)
        self.assertEqual(int(body), SIZE)

    def test_download_content_length(self):
        self.measure(lambda: self.download(chunked=False))

    def test_download_chunked_slow_reader(self):
        self.measure(lambda: self.download(chunked=True, slow_reader=True))

    def test_upload_content_length(self):
        self.measure(lambda: self.upload(chunked=False))

    def test_upload_chunked(self):
        self.measure(lambda: self.upload(chunked=True))


if __name__ == "__main__":
    unittest.main(verbosity=2)
