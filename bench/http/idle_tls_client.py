"""Holds K idle TLS keep-alive connections to 127.0.0.1:PORT: each completes its handshake and
one GET, then stays open. Prints "ready" once all K are idle, then holds them for HOLD seconds
(or until stdin closes) so the caller can read the proxy's memory. Loopback only.

Usage: idle_tls_client.py PORT K [HOLD=30]
"""
import socket
import ssl
import sys
import time

port, count = int(sys.argv[1]), int(sys.argv[2])
hold = float(sys.argv[3]) if len(sys.argv) > 3 else 30
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
conns = []
for _ in range(count):
    s = ctx.wrap_socket(socket.create_connection(("127.0.0.1", port)))
    s.sendall(b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n")
    data = b""
    while b"\r\n\r\n" not in data or not data.endswith(b"\n"):
        chunk = s.recv(65536)
        if not chunk:
            sys.exit("closed by the proxy")
        data += chunk
    conns.append(s)
print("ready", flush=True)
time.sleep(hold)
