"""sid affinity in front of round_robin: the sid is learned from the polling handshake's open
packet and pins later polling requests and the websocket upgrade, across workers and new
connections; without the layer, round_robin sends them to servers that do not know the session."""
import socket

from affinity_support import *  # noqa: F403


def upgrade(port, sid):
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    s.sendall((f"GET /socket.io/?EIO=4&transport=websocket&sid={sid} HTTP/1.1\r\nHost: x\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
               "Sec-WebSocket-Version: 13\r\n\r\n").encode())
    data = b""
    while b"hello" not in data or not data.endswith((b"known", b"unknown")):
        chunk = s.recv(4096)
        if not chunk:
            break
        data += chunk
    s.close()
    return data.decode("latin-1")


def run(affinity):
    backends = [EioBackend(f"e{i}").start() for i in range(3)]
    port = free_port()
    cfg = simple_config(port, [{"address": b.address, "name": b.name} for b in backends], strategy="round_robin",
                        extra_upstream="affinity: [sid]" if affinity else "").replace("workers: 1", "workers: 2")
    bad = 0
    with Tether(cfg, [port]):
        for n in range(15):
            s, h, body = get(port, "/socket.io/?EIO=4&transport=polling&t=a")
            check(s == 200 and body.startswith(b'0{"sid":"'), f"handshake: {s} {body}")
            sid = body.split(b'"')[3].decode()
            owner = sid.split("-")[0]
            for _ in range(3):
                s, h, body = get(port, f"/socket.io/?EIO=4&transport=polling&sid={sid}")
                if s != 200 or h.get("x-backend") != owner:
                    bad += 1
            hello = upgrade(port, sid)
            if f"hello {owner} known" not in hello:
                bad += 1
                if affinity:
                    fail(f"upgrade went elsewhere: {hello!r}")
    for b in backends:
        b.stop()
    return bad


def main():
    broken = run(affinity=False)
    check(broken > 20, f"round_robin should break sessions (broken {broken})")
    check(run(affinity=True) == 0, "sid affinity broke a session")
    print("ok")


main()
