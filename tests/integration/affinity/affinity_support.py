"""Helpers for the affinity integration tests: request helpers and a fake Engine.IO backend.

EioBackend answers like an Engine.IO v4 server closely enough for routing tests:
  GET ...?EIO=4&transport=polling          -> 200 `0{"sid":"<name>-<n>",...}` (the open packet)
  GET ...?EIO=4&transport=polling&sid=S    -> 200 "6" if S is one of its sessions, else 400
                                              {"code":1,"message":"Session ID unknown"}
  Upgrade: websocket ...&sid=S             -> 101, then "hello <name> <S known?>" on the tunnel
and counts requests per outcome.
"""
import http.client
import os
import socketserver
import sys
import threading
from http.server import BaseHTTPRequestHandler
from urllib.parse import urlsplit, parse_qs

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
from support.harness import Tether, free_port, wait_port, simple_config, raw_request  # noqa: E402,F401
from support.backend import Backend  # noqa: E402,F401


def get(port, path="/name", headers=None):
    """One request on a fresh connection: (status, headers dict lower-case (multi joined by '\\n'), body)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", path, headers=headers or {})
    r = c.getresponse()
    body = r.read()
    hdrs = {}
    for k, v in r.getheaders():
        k = k.lower()
        hdrs[k] = hdrs[k] + "\n" + v if k in hdrs else v
    c.close()
    return r.status, hdrs, body


def cookie_value(set_cookie, name="tether_sid"):
    for part in set_cookie.split(";"):
        k, _, v = part.strip().partition("=")
        if k == name:
            return v
    return None


class _EioHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def do_GET(self):
        srv = self.server
        q = parse_qs(urlsplit(self.path).query)
        sid = q.get("sid", [None])[0]
        if self.headers.get("Upgrade", "").lower() == "websocket":
            self.send_response(101)
            self.send_header("Upgrade", "websocket")
            self.send_header("Connection", "Upgrade")
            self.end_headers()
            self.wfile.write(f"hello {srv.name} {'known' if sid in srv.sids else 'unknown'}".encode())
            self.wfile.flush()
            self.close_connection = True
            return
        if "EIO" in q and sid is None:
            with srv.lock:
                srv.count += 1
                sid = f"{srv.name}-{srv.count}"
                srv.sids.add(sid)
            body = ('0{"sid":"%s","upgrades":["websocket"],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}' % sid).encode()
            return self._send(200, body)
        if sid is not None:
            if sid in srv.sids:
                srv.ok += 1
                return self._send(200, b"6")
            srv.unknown += 1
            return self._send(400, b'{"code":1,"message":"Session ID unknown"}')
        return self._send(200, srv.name.encode())

    def _send(self, code, body):
        self.send_response(code)
        self.send_header("X-Backend", self.server.name)
        self.send_header("Content-Type", "text/plain; charset=UTF-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(socketserver.ThreadingMixIn, socketserver.TCPServer):
    daemon_threads = True
    allow_reuse_address = True


class EioBackend:
    def __init__(self, name):
        self.server = _Server(("127.0.0.1", 0), _EioHandler)
        s = self.server
        s.name, s.sids, s.count, s.ok, s.unknown, s.lock = name, set(), 0, 0, 0, threading.Lock()
        self.name = name
        self.address = f"127.0.0.1:{s.server_address[1]}"

    def start(self):
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def stop(self):
        self.server.shutdown()
        self.server.server_close()


def fail(msg):
    print("FAIL:", msg)
    sys.exit(1)


def check(cond, msg):
    if not cond:
        fail(msg)
