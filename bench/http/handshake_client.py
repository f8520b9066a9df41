"""Opens N TLS connections to 127.0.0.1:PORT from P processes, one `Connection: close` GET on
each, and prints one JSON line: connections, how many were resumed, failures and seconds.
With `resume`, each process offers the session of its previous connection (TLS 1.2 ticket or
TLS 1.3 PSK), so every connection after a process's first should resume; without it, every
connection is a full handshake. The certificate is not verified (the benchmark's are
self-signed). Loopback only, bounded by N.

Usage: handshake_client.py PORT N [P=4] [resume] [tls1.2|tls1.3]
"""
import json
import multiprocessing
import socket
import ssl
import sys
import time

REQ = b"GET / HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"


def run(port, n, resume, version, out):
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    if version:
        ctx.minimum_version = ctx.maximum_version = version
    session, done, reused, failed = None, 0, 0, 0
    for _ in range(n):
        try:
            raw = socket.create_connection(("127.0.0.1", port))
            raw.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # the GET must not wait for an ACK
            s = ctx.wrap_socket(raw, session=session if resume else None)
            s.sendall(REQ)
            data = b""
            while True:
                chunk = s.recv(65536)
                if not chunk:
                    break
                data += chunk
            if not data.startswith(b"HTTP/1.1 200"):
                failed += 1
            done += 1
            reused += 1 if s.session_reused else 0
            session = s.session  # TLS 1.3 tickets arrive with the response
            s.close()
        except (OSError, ssl.SSLError):
            failed += 1
    out.put((done, reused, failed))


def main():
    port, total = int(sys.argv[1]), int(sys.argv[2])
    procs = int(sys.argv[3]) if len(sys.argv) > 3 else 4
    resume = "resume" in sys.argv[4:]
    version = ssl.TLSVersion.TLSv1_2 if "tls1.2" in sys.argv[4:] else ssl.TLSVersion.TLSv1_3 if "tls1.3" in sys.argv[4:] else None
    out = multiprocessing.Queue()
    start = time.monotonic()
    workers = [multiprocessing.Process(target=run, args=(port, total // procs, resume, version, out)) for _ in range(procs)]
    for w in workers:
        w.start()
    results = [out.get() for _ in workers]
    for w in workers:
        w.join()
    seconds = time.monotonic() - start
    done, reused, failed = (sum(r[i] for r in results) for i in range(3))
    print(json.dumps({"connections": done, "resumed": reused, "failed": failed, "seconds": round(seconds, 3)}))


if __name__ == "__main__":
    main()
