"""Sends exactly N keep-alive GET requests over C connections (sequentially per connection) and
checks every answer is 200. Used to count instructions per proxied request under callgrind,
where wrk's time-bounded runs would give a varying request count.

Usage: count_client.py PORT N [C=8] [tls]   (tls: over TLS, certificate not verified)
"""
import socket
import ssl
import sys
import threading

port, total = int(sys.argv[1]), int(sys.argv[2])
conns = int(sys.argv[3]) if len(sys.argv) > 3 else 8
use_tls = len(sys.argv) > 4 and sys.argv[4] == "tls"
tls_context = ssl.create_default_context()
tls_context.check_hostname = False
tls_context.verify_mode = ssl.CERT_NONE
REQ = b"GET / HTTP/1.1\r\nHost: bench\r\n\r\n"
failures = []


def run(n):
    s = socket.create_connection(("127.0.0.1", port))
    if use_tls:
        s = tls_context.wrap_socket(s)
    buf = b""
    for _ in range(n):
        s.sendall(REQ)
        while True:
            end = buf.find(b"\r\n\r\n")
            if end >= 0:
                head = buf[:end]
                length = 0
                for line in head.split(b"\r\n")[1:]:
                    k, _, v = line.partition(b":")
                    if k.strip().lower() == b"content-length":
                        length = int(v)
                if len(buf) >= end + 4 + length:
                    if not head.startswith(b"HTTP/1.1 200"):
                        failures.append(head[:40])
                    buf = buf[end + 4 + length:]
                    break
            chunk = s.recv(65536)
            if not chunk:
                failures.append(b"closed")
                return
            buf += chunk
    s.close()


threads = [threading.Thread(target=run, args=(total // conns,)) for _ in range(conns)]
for t in threads:
    t.start()
for t in threads:
    t.join()
if failures:
    sys.exit(f"{len(failures)} failures: {failures[:3]}")
