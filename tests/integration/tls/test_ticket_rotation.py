"""Session ticket keys: the process's own keys rotate every tls.session_ticket_rotation (3s here);
a ticket resumes during the next rotation (and is re-issued under the current key) but not after
two, with TLS 1.2 (`openssl s_client -sess_out/-sess_in`, and Python's ssl sessions, which also
carry a re-issued ticket) and TLS 1.3 (Python's ssl sessions).
A session_ticket_keys file may hold several keys: the first seals, every one opens.
"""
import os
import socket
import ssl
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from support.backend import Backend  # noqa: E402
from support.harness import TETHER_BIN, Tether, free_port  # noqa: E402
from tls_certs import Ca, resumed_tls12, run  # noqa: E402

ROTATION = 3.0  # seconds; rotation N covers [N x 3s, (N+1) x 3s) of Unix time


def next_rotation(offset=0.3):
    """Sleeps until `offset` seconds into the next rotation; returns its number."""
    now = time.time()
    n = int(now // ROTATION) + 1
    time.sleep(n * ROTATION + offset - now)
    return n


class TicketRotation(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        d = cls.dir.name
        ca = Ca(d)
        cls.ca = ca.pem
        cls.cert, cls.key = ca.issue("default", "localhost", "DNS:localhost,IP:127.0.0.1")
        cls.backend = Backend("b1").start()
        cls.contexts = {}

    @classmethod
    def tearDownClass(cls):
        cls.backend.stop()
        cls.dir.cleanup()

    def config(self, port, tls_extra):
        return f"""
listeners:
  - name: secure
    address: 127.0.0.1:{port}
    tls: {{cert: {self.cert}, key: {self.key}{tls_extra}}}
upstreams:
  app: {{servers: ["{self.backend.address}"]}}
"""

    def s_client(self, port, sess_in=None, sess_out=None):
        """One TLS 1.2 handshake; True when it resumed."""
        return resumed_tls12(self, port, sess_in, sess_out)

    def py(self, port, version, session=None):
        """One request with Python's ssl at `version` (one context per version, as sessions need);
        (resumed, the session to resume next time, with any ticket the server re-issued)."""
        ctx = self.contexts.get(version)
        if not ctx:
            ctx = self.contexts[version] = ssl.create_default_context(cafile=self.ca)
            ctx.minimum_version = ctx.maximum_version = version
        with socket.create_connection(("127.0.0.1", port), timeout=5) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost", session=session) as s:
                s.sendall(b"GET /name HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
                self.assertIn(b"200 OK", data)
                return s.session_reused, s.session

    def test_tickets_resume_for_one_rotation_not_two(self):
        d = self.dir.name
        port = free_port()
        v12, v13 = ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3
        with Tether(self.config(port, ", session_ticket_rotation: 3s"), [port]):
            next_rotation()
            first = f"{d}/first.pem"
            self.assertFalse(self.s_client(port, sess_out=first))
            sessions = {v: self.py(port, v)[1] for v in (v12, v13)}
            self.assertTrue(self.s_client(port, sess_in=first), "same rotation: resumed")
            next_rotation()
            self.assertTrue(self.s_client(port, sess_in=first), "one rotation later: still resumed")
            renewed = {}
            for v in (v12, v13):
                reused, renewed[v] = self.py(port, v, sessions[v])
                self.assertTrue(reused, f"{v.name}: one rotation later, still resumed")
            next_rotation()
            self.assertFalse(self.s_client(port, sess_in=first), "two rotations later: a full handshake")
            for v in (v12, v13):
                self.assertFalse(self.py(port, v, sessions[v])[0], f"{v.name}: two rotations later, a full handshake")
                self.assertTrue(self.py(port, v, renewed[v])[0], f"{v.name}: the ticket re-issued a rotation ago resumes")

    def test_a_keys_file_with_several_keys(self):
        d = self.dir.name
        a, b = os.urandom(80), os.urandom(80)
        for name, data in (("b.keys", b), ("ab.keys", a + b), ("a.keys", a), ("bad.keys", a + b[:40])):
            with open(f"{d}/{name}", "wb") as f:
                f.write(data)
        ports = [free_port(), free_port(), free_port()]
        v12 = ssl.TLSVersion.TLSv1_2
        with Tether(self.config(ports[0], f", session_ticket_keys: {d}/b.keys"), [ports[0]]), \
                Tether(self.config(ports[1], f", session_ticket_keys: {d}/ab.keys"), [ports[1]]), \
                Tether(self.config(ports[2], f", session_ticket_keys: {d}/a.keys"), [ports[2]]):
            old = self.py(ports[0], v12)[1]  # sealed under b
            reused, renewed = self.py(ports[1], v12, old)
            self.assertTrue(reused, "a later key in the file opens it")
            self.assertTrue(self.py(ports[2], v12, renewed)[0], "re-issued under the file's first key")
            self.assertFalse(self.py(ports[2], v12, old)[0], "a file without that key does not open it")
        path = f"{d}/check.yaml"
        for extra, message in ((f", session_ticket_keys: {d}/bad.keys", "must hold one to 16 keys of 80 bytes each, got 120 bytes"),
                               (f", session_ticket_keys: {d}/a.keys, session_ticket_rotation: 1h",
                                "tls.session_ticket_rotation is for the process's own keys"),
                               (", session_ticket_rotation: 10ms", "must be at least 1s")):
            with open(path, "w") as f:
                f.write(self.config(ports[0], extra))
            p = run(TETHER_BIN, "-t", "-c", path)
            self.assertEqual(p.returncode, 1, p.stderr)
            self.assertIn(message, p.stderr)


if __name__ == "__main__":
    unittest.main()
