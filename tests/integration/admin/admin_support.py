"""Helpers for the admin tests: a config with an admin listener, HTTP calls to it, a Prometheus
text parser, and an upgrade-capable backend (101 then echo) for tunnel metrics."""
import http.client
import json
import os
import re
import socket
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.harness import simple_config  # noqa: E402


def admin_config(listen_port, admin_port, servers, token=None, extra="", **kw):
    admin = f"admin:\n  address: 127.0.0.1:{admin_port}\n"
    if token:
        admin += f"  token: {token}\n"
    return simple_config(listen_port, servers, extra=admin + extra, **kw)


def admin_call(port, method, path, token=None, timeout=5):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=timeout)
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    c.request(method, path, headers=headers)
    r = c.getresponse()
    body = r.read()
    c.close()
    return r.status, dict((k.lower(), v) for k, v in r.getheaders()), body


def status(port, token=None):
    code, _, body = admin_call(port, "GET", "/status", token)
    assert code == 200, (code, body)
    return json.loads(body)


_SAMPLE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})?\s+(\S+)$')
_LABEL = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"')


def scrape(port, token=None):
    """Returns (families {name: type}, samples [(name, {labels}, value)])."""
    code, headers, body = admin_call(port, "GET", "/metrics", token)
    assert code == 200, (code, body)
    assert headers["content-type"].startswith("text/plain; version=0.0.4"), headers
    types, samples = {}, []
    for line in body.decode().splitlines():
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ", 3)
            types[name] = kind
        elif line and not line.startswith("#"):
            m = _SAMPLE.match(line)
            assert m, f"bad sample line {line!r}"
            labels = dict(_LABEL.findall(m.group(3) or ""))
            samples.append((m.group(1), labels, float(m.group(4))))
    return types, samples


def value(samples, name, **labels):
    """Sum of the samples named `name` whose labels include `labels`."""
    return sum(v for n, l, v in samples if n == name and all(l.get(k) == str(x) for k, x in labels.items()))


class UpgradeBackend:
    """Answers any request carrying Upgrade with 101, then echoes bytes until the peer closes."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.address = f"127.0.0.1:{self.port}"
        self.running = True
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self):
        while self.running:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(c,), daemon=True).start()

    def _serve(self, c):
        buf = b""
        try:
            while b"\r\n\r\n" not in buf:
                d = c.recv(4096)
                if not d:
                    return
                buf += d
            head, _, rest = buf.partition(b"\r\n\r\n")
            if b"upgrade:" in head.lower():
                c.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n" + rest)
                while True:
                    d = c.recv(4096)
                    if not d:
                        break
                    c.sendall(d)
            else:
                c.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        except OSError:
            pass
        finally:
            c.close()

    def stop(self):
        self.running = False
        self.sock.close()


def open_tunnel(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall(b"GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n")
    got = b""
    while b"\r\n\r\n" not in got:
        got += s.recv(4096)
    assert got.startswith(b"HTTP/1.1 101"), got
    s.sendall(b"ping")
    echoed = b""
    while len(echoed) < 4:
        echoed += s.recv(4096)
    assert echoed == b"ping", echoed
    return s
