"""Free loopback ports for the chat bench scripts: SINGLES separate ports, then the first of RUN
consecutive free ones that overlaps none of them. Prints them on one line.

Usage: python3 bench/chat/free_ports.py SINGLES RUN
"""
import socket
import sys


def free(port):
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def any_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


singles, run = int(sys.argv[1]), int(sys.argv[2])
taken = [any_port() for _ in range(singles)]
while True:
    base = any_port()
    span = range(base, base + run)
    if base + run <= 65535 and all(free(p) for p in span) and not set(taken) & set(span):
        break
print(*taken, base)
