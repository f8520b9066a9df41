"""Helpers for the health integration tests: a steady keep-alive load, log waiting, backends as
killable processes, and raw TCP servers that hang, reset or die mid-response.
"""
import http.client
import os
import socket
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
from support.harness import wait_port  # noqa: E402

BACKEND_PY = os.path.join(HERE, "..", "support", "backend.py")


def spawn_backend(port, name):
    """A backend in its own process, so the test can SIGKILL it."""
    p = subprocess.Popen([sys.executable, BACKEND_PY, str(port), name], stdout=subprocess.DEVNULL,
                         stderr=subprocess.DEVNULL)
    wait_port(port)
    return p


def count_lines(tether, *needles):
    return sum(1 for line in tether.logs().splitlines() if all(n in line for n in needles))


def wait_log(tether, *needles, timeout=10.0, after=0):
    """Waits until more than `after` log lines contain every needle; returns the line."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        lines = [l for l in tether.logs().splitlines() if all(n in l for n in needles)]
        if len(lines) > after:
            return lines[after]
        time.sleep(0.01)
    raise AssertionError(f"no log line with {needles} within {timeout}s:\n{tether.logs()[-3000:]}")


def get(port, path="/name", method="GET", headers=None):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        return r.status, r.getheader("X-Backend"), r.read(), r
    finally:
        c.close()


class Load:
    """`clients` threads, each looping GETs on one keep-alive connection until stop() or `limit`
    seconds. Counts successes per backend and every failure (error or non-200)."""

    def __init__(self, port, clients=4, path="/name", limit=30.0):
        self.port, self.clients, self.path, self.limit = port, clients, path, limit
        self.ok = 0
        self.failures = []
        self.by_backend = {}
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.threads = []
        self.mark_time = None
        self.after_mark = {}

    def mark(self):
        """From now on also count per backend in after_mark."""
        with self.lock:
            self.after_mark = {}
            self.mark_time = time.time()

    def _run(self):
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
        end = time.time() + self.limit
        while not self.stopping.is_set() and time.time() < end:
            try:
                conn.request("GET", self.path)
                r = conn.getresponse()
                body = r.read()
                backend = r.getheader("X-Backend")
                with self.lock:
                    if r.status == 200:
                        self.ok += 1
                        self.by_backend[backend] = self.by_backend.get(backend, 0) + 1
                        if self.mark_time is not None:
                            self.after_mark[backend] = self.after_mark.get(backend, 0) + 1
                    else:
                        self.failures.append(f"status {r.status}: {body[:80]!r}")
            except (OSError, http.client.HTTPException) as e:
                with self.lock:
                    self.failures.append(repr(e))
                conn.close()
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
            time.sleep(0.002)
        conn.close()

    def start(self):
        for _ in range(self.clients):
            t = threading.Thread(target=self._run, daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def stop(self):
        self.stopping.set()
        for t in self.threads:
            t.join(10)


class RawServer:
    """A TCP server that reads one request head per connection, then: 'hang' (never answers),
    'reset' (RST), 'partial' (a response head and part of its body, then close) or 'ok' (a 200
    with Connection: close). Request heads are kept in `heads`."""

    def __init__(self, behaviour):
        self.behaviour = behaviour
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.connections = 0
        self.requests = 0
        self.closed = False
        self.conns = []
        self.heads = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while not self.closed:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.connections += 1
            self.conns.append(c)
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        data = b""
        try:
            while b"\r\n\r\n" not in data:
                chunk = c.recv(65536)
                if not chunk:
                    return
                data += chunk
            self.requests += 1
            self.heads.append(data.split(b"\r\n\r\n")[0].decode("latin-1"))
            if self.behaviour == "ok":
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok")
            elif self.behaviour == "hang":
                while c.recv(65536):
                    pass
            elif self.behaviour == "reset":
                c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            elif self.behaviour == "partial":
                c.sendall(b"HTTP/1.1 200 OK\r\nX-Backend: partial\r\nContent-Length: 100\r\n\r\nabc")
                time.sleep(0.05)
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.closed = True
        self.sock.close()
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass


def health_upstream(interval="200ms", timeout="150ms", rise=2, fall=3, type_="http", max_fails=None,
                    fail_timeout=None, initial=None):
    hc = f"health_check: {{type: {type_}, path: /health, interval: {interval}, timeout: {timeout}, rise: {rise}, fall: {fall}"
    if initial:
        hc += f", initial: {initial}"
    hc += "}\n"
    if max_fails is not None:
        hc += f"max_fails: {max_fails}\n"
    if fail_timeout is not None:
        hc += f"fail_timeout: {fail_timeout}\n"
    return hc
