"""A small HTTP/1.1 test backend with behaviours chosen by path, for tether's integration tests.

Run as a thread inside the test (Backend(name).start()) or as a process
(python3 backend.py PORT NAME). Every response names the backend in `X-Backend`, so tests can see
where the proxy sent a request. Paths:
  /name              body = backend name
  /echo              body = request body (Content-Length or chunked request)
  /headers           body = JSON of the request line and headers as received
  /bytes?n=N[&chunked=1]  N bytes of 'x', with Content-Length or chunked
  /sink              reads and counts the request body, answers the count
  /sleep?ms=N        answers after N ms
  /status?code=N     answers with status N
  /close-delimited   body without length, ends by closing the connection
  /malformed         a response that is not HTTP
  /reset             closes the connection without answering
  /health            200 ok (or 500 when the backend is set unhealthy; waits server.health_delay s)
"""
import json
import socket
import socketserver
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit, parse_qs


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):  # quiet
        pass

    def setup(self):
        super().setup()
        self.server.connections += 1
        self.server.active.add(self.connection)

    def finish(self):
        self.server.active.discard(self.connection)
        try:
            super().finish()
        except OSError:
            pass

    def _body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            out = bytearray()
            while True:
                line = self.rfile.readline()
                size = int(line.strip().split(b";")[0], 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return bytes(out)
                out += self.rfile.read(size)
                self.rfile.readline()
        n = int(self.headers.get("Content-Length", "0") or 0)
        return self.rfile.read(n) if n else b""

    def _send(self, code, body=b"", ctype="text/plain", extra=None):
        self.send_response(code)
        self.send_header("X-Backend", self.server.name)
        self.send_header("Content-Type", ctype)
        no_body = code in (204, 304) or code < 200
        if not no_body:
            self.send_header("Content-Length", str(len(body)))
        for k, v in (extra or {}).items():
            self.send_header(k, v)
        self.end_headers()
        if self.command != "HEAD" and not no_body:
            self.wfile.write(body)

    def handle_one(self):
        self.server.requests += 1
        self.server.paths.append(self.path)
        url = urlsplit(self.path)
        q = parse_qs(url.query)
        path = url.path
        if path == "/echo":
            return self._send(200, self._body())
        if path == "/sink":
            total = 0
            if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
                total = len(self._body())
            else:
                left = int(self.headers.get("Content-Length", "0") or 0)
                while left:
                    chunk = self.rfile.read(min(left, 1 << 16))
                    if not chunk:
                        break
                    total += len(chunk)
                    left -= len(chunk)
            return self._send(200, str(total).encode())
        body = self._body()
        if path == "/headers":
            info = {"request_line": self.requestline, "headers": [[k, v] for k, v in self.headers.items()],
                    "body": body.decode("latin-1")}
            return self._send(200, json.dumps(info).encode(), "application/json")
        if path == "/bytes":
            n = int(q.get("n", ["0"])[0])
            if q.get("chunked"):
                self.send_response(200)
                self.send_header("X-Backend", self.server.name)
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                block = b"x" * 65536
                left = n
                while left:
                    k = min(left, len(block))
                    self.wfile.write(b"%x\r\n" % k + block[:k] + b"\r\n")
                    left -= k
                self.wfile.write(b"0\r\n\r\n")
                return
            self.send_response(200)
            self.send_header("X-Backend", self.server.name)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            block = b"x" * 65536
            left = n if self.command != "HEAD" else 0
            while left:
                k = min(left, len(block))
                self.wfile.write(block[:k])
                left -= k
            return
        if path == "/sleep":
            time.sleep(int(q.get("ms", ["0"])[0]) / 1000)
            return self._send(200, b"slept")
        if path == "/status":
            return self._send(int(q.get("code", ["200"])[0]), b"status")
        if path == "/close-delimited":
            self.wfile.write(b"HTTP/1.1 200 OK\r\nX-Backend: " + self.server.name.encode() +
                             b"\r\nConnection: close\r\n\r\nuntil-close-body")
            self.close_connection = True
            return
        if path == "/malformed":
            self.wfile.write(b"this is not http\r\n\r\n")
            self.close_connection = True
            return
        if path == "/reset":
            self.close_connection = True
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            return
        if path == "/health":
            if self.server.health_delay:  # a hung health endpoint (health tests)
                time.sleep(self.server.health_delay)
                self.close_connection = True
                try:
                    return self._send(200 if self.server.healthy else 500, b"late")
                except OSError:  # the checker gave up and closed
                    return
            return self._send(200 if self.server.healthy else 500, b"ok" if self.server.healthy else b"sick")
        return self._send(200, self.server.name.encode())

    do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_OPTIONS = do_PATCH = handle_one


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Backend:
    def __init__(self, name, port=0, host="127.0.0.1"):
        self.server = _Server((host, port), Handler)
        self.server.name = name
        self.server.requests = 0
        self.server.paths = []  # every request target received, in order
        self.server.connections = 0
        self.server.active = set()
        self.server.healthy = True
        self.server.health_delay = 0  # seconds /health waits before answering
        self.name = name
        self.port = self.server.server_address[1]
        self.address = f"{host}:{self.port}"
        self.thread = None

    @property
    def requests(self):
        return self.server.requests

    @property
    def paths(self):
        return list(self.server.paths)

    @property
    def connections(self):
        return self.server.connections

    def start(self):
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def stop(self):
        """Stops listening and cuts every open connection, as a dying process would."""
        self.server.shutdown()
        self.server.server_close()
        for sock in list(self.server.active):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


if __name__ == "__main__":
    b = Backend(sys.argv[2], int(sys.argv[1]))
    print(f"backend {b.name} on {b.address}", flush=True)
    b.server.serve_forever()
