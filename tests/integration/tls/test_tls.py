"""TLS termination with real clients: curl --cacert, openssl s_client, Python's ssl module and npm
`ws` over wss, against certificates this test generates (a CA, a default and an SNI certificate).
"""
import calendar
import json
import os
import re
import signal
import socket
import ssl
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from support.backend import Backend  # noqa: E402
from support.harness import TETHER_BIN, Tether, free_port, wait_for  # noqa: E402
from tls_certs import resumed_tls12, run  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def make_certs(d):
    """A CA, plus leaf certificates for localhost (default) and chat.example.test (SNI)."""
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=tether test CA",
        "-keyout", f"{d}/ca.key", "-out", f"{d}/ca.pem", check=True)
    for name, san in (("default", "DNS:localhost,IP:127.0.0.1"), ("sni", "DNS:chat.example.test")):
        run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/CN={name}", "-keyout", f"{d}/{name}.key",
            "-out", f"{d}/{name}.csr", check=True)
        with open(f"{d}/{name}.ext", "w") as f:
            f.write(f"subjectAltName={san}\n")
        run("openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/ca.pem", "-CAkey", f"{d}/ca.key",
            "-CAcreateserial", "-days", "2", "-extfile", f"{d}/{name}.ext", "-out", f"{d}/{name}.pem", check=True)


class Tls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        d = cls.dir.name
        make_certs(d)
        cls.backend = Backend("b1").start()
        cls.port, cls.plain, cls.proxied = free_port(), free_port(), free_port()
        cls.config = f"""
listeners:
  - name: plain
    address: 127.0.0.1:{cls.plain}
  - name: secure
    address: 127.0.0.1:{cls.port}
    tls:
      cert: {d}/default.pem
      key: {d}/default.key
      min_version: TLSv1.2
      sni:
        - {{names: [chat.example.test], cert: {d}/sni.pem, key: {d}/sni.key}}
  - name: behind-balancer
    address: 127.0.0.1:{cls.proxied}
    proxy_protocol: true
    tls: {{cert: {d}/default.pem, key: {d}/default.key}}
upstreams:
  app: {{servers: ["{cls.backend.address}"]}}
timeouts: {{client_header: 2s}}
"""
        cls.tether = Tether(cls.config, [cls.port, cls.plain, cls.proxied]).start()

    @classmethod
    def tearDownClass(cls):
        cls.tether.stop()
        cls.backend.stop()
        cls.dir.cleanup()

    def ca(self):
        return f"{self.dir.name}/ca.pem"

    def test_curl_https_with_forwarded_proto(self):
        p = run("curl", "-s", "--cacert", self.ca(), f"https://localhost:{self.port}/headers")
        self.assertEqual(p.returncode, 0, p.stderr)
        headers = {k.lower(): v for k, v in json.loads(p.stdout)["headers"]}
        self.assertEqual(headers["x-forwarded-proto"], "https")
        p = run("curl", "-s", f"http://127.0.0.1:{self.plain}/headers")
        self.assertEqual({k.lower(): v for k, v in json.loads(p.stdout)["headers"]}["x-forwarded-proto"], "http")

    def test_proxy_protocol_header_before_the_handshake(self):
        ctx = ssl.create_default_context(cafile=self.ca())
        with socket.create_connection(("127.0.0.1", self.proxied), timeout=10) as raw:
            raw.sendall(b"PROXY TCP6 2001:db8::5 ::1 4321 443\r\n")
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                s.sendall(b"GET /headers HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
                data = b""
                while chunk := s.recv(65536):
                    data += chunk
        headers = {k.lower(): v for k, v in json.loads(data.split(b"\r\n\r\n", 1)[1])["headers"]}
        self.assertEqual(headers["x-real-ip"], "2001:db8::5")
        self.assertEqual(headers["x-forwarded-for"], "2001:db8::5")
        self.assertEqual(headers["x-forwarded-proto"], "https")
        # curl's own v1 header, then TLS.
        p = run("curl", "-s", "--haproxy-protocol", "--cacert", self.ca(), f"https://localhost:{self.proxied}/headers")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertEqual({k.lower(): v for k, v in json.loads(p.stdout)["headers"]}["x-real-ip"], "127.0.0.1")

    def test_keepalive_and_large_bodies_over_tls(self):
        ctx = ssl.create_default_context(cafile=self.ca())
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as s:
                self.assertEqual(s.selected_alpn_protocol(), None)  # none offered
                for n in (10, 300000, 2_000_000):
                    s.sendall(f"GET /bytes?n={n} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
                    data = b""
                    while b"\r\n\r\n" not in data:
                        data += s.recv(65536)
                    head, body = data.split(b"\r\n\r\n", 1)
                    while len(body) < n:
                        body += s.recv(65536)
                    self.assertIn(b"200 OK", head)
                    self.assertEqual(len(body), n)

    def test_alpn_http11_and_sni_certificate(self):
        ctx = ssl.create_default_context(cafile=self.ca())
        ctx.set_alpn_protocols(["h2", "http/1.1"])
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="chat.example.test") as s:
                self.assertEqual(s.selected_alpn_protocol(), "http/1.1")
                self.assertEqual(dict(x[0] for x in s.getpeercert()["subject"])["commonName"], "sni")
        p = run("openssl", "s_client", "-connect", f"127.0.0.1:{self.port}", "-servername", "localhost",
                "-CAfile", self.ca(), "-verify_return_error", input="")
        self.assertIn("Verify return code: 0 (ok)", p.stdout)
        self.assertIn("CN = default", p.stdout)

    def test_handshake_across_a_reload_uses_the_sni_table(self):
        # A connection accepted before a reload whose ClientHello arrives after it: the reload
        # replaced (and released) the listener's TLS context; the handshake must still pick the
        # SNI certificate (under ASan, a freed SNI table fails this test).
        ctx = ssl.create_default_context(cafile=self.ca())
        with socket.create_connection(("127.0.0.1", self.port), timeout=10) as raw:
            time.sleep(0.2)  # accepted by a worker
            before = self.tether.logs().count("reloaded")
            self.tether.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: self.tether.logs().count("reloaded") > before, 10), "reloaded")
            time.sleep(0.3)  # every worker applied it
            with ctx.wrap_socket(raw, server_hostname="chat.example.test") as s:
                self.assertEqual(dict(x[0] for x in s.getpeercert()["subject"])["commonName"], "sni")
                s.sendall(b"GET / HTTP/1.1\r\nHost: chat.example.test\r\nConnection: close\r\n\r\n")
                self.assertTrue(s.recv(64).startswith(b"HTTP/1.1 "))

    def test_min_version_and_garbage(self):
        p = run("openssl", "s_client", "-connect", f"127.0.0.1:{self.port}", "-tls1_1", input="")
        self.assertNotEqual(p.returncode, 0)
        # plain HTTP to the TLS port: closed, and the proxy keeps serving
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            try:
                data = s.recv(100)
            except ConnectionResetError:
                data = b""
            self.assertNotIn(b"HTTP/1.1 200", data)
        p = run("curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", self.ca(), f"https://localhost:{self.port}/")
        self.assertEqual(p.stdout, "200")

    def test_stalled_handshake_is_cut(self):
        with socket.create_connection(("127.0.0.1", self.port), timeout=5) as s:
            s.sendall(b"\x16\x03\x01")  # the start of a ClientHello, then nothing
            self.assertEqual(s.recv(10), b"")  # closed by client_header (2s)

    def test_wss_through_tether(self):
        node_port = free_port()
        cfg = self.config.replace(f'servers: ["{self.backend.address}"]', f'servers: ["127.0.0.1:{node_port}"]')
        tls_port, plain = free_port(), free_port()
        cfg = cfg.replace(str(self.port), str(tls_port)).replace(str(self.plain), str(plain))
        with Tether(cfg, [tls_port, plain]):
            p = run("node", os.path.join(HERE, "wss_echo.js"), str(node_port), str(tls_port), self.ca())
            self.assertEqual(p.stdout.strip(), "ok", p.stderr)

    def check_fails(self, replace_from, replace_to, expected):
        """`tether -t` on the config with one path replaced: exit 1, FILE:LINE:COL of that key, reason."""
        path = os.path.join(self.dir.name, "bad.yaml")
        with open(path, "w") as f:
            f.write(self.config.replace(replace_from, replace_to, 1))
        p = run(TETHER_BIN, "-t", "-c", path)
        self.assertEqual(p.returncode, 1, p.stderr)
        first = p.stderr.splitlines()[0]
        line = next(i for i, text in enumerate(self.config.replace(replace_from, replace_to, 1).splitlines(), 1)
                    if replace_to in text)
        self.assertRegex(first, rf"^{re.escape(path)}:{line}:\d+: ")
        self.assertIn(expected, first)
        self.assertNotIn("unknown OpenSSL error", p.stderr)
        return first

    def test_bad_certificate_fails_config_check(self):
        first = self.check_fails("default.key", "sni.key", "the key does not match the certificate")
        self.assertIn("sni.key", first)

    def test_missing_and_non_pem_files_are_named_with_a_plain_reason(self):
        self.check_fails("default.key", "missing.key", "missing.key': no such file or directory")
        with open(os.path.join(self.dir.name, "text.pem"), "w") as f:
            f.write("not a certificate\n")
        self.check_fails("default.pem", "text.pem", "text.pem': not a PEM file")

    def resumed(self, port, sess_in=None, sess_out=None):
        """One TLS 1.2 handshake with openssl s_client; True when it resumed the session."""
        return resumed_tls12(self, port, sess_in, sess_out)

    def test_sessions_resume_within_a_process_across_reloads_and_between_replicas(self):
        d = self.dir.name
        p = run("openssl", "s_client", "-connect", f"127.0.0.1:{self.port}", "-servername", "localhost", "-tls1_2",
                "-reconnect", input="")
        self.assertGreaterEqual(p.stdout.count("Reused, TLSv1.2"), 5, "s_client -reconnect resumes every reconnection")
        sess = os.path.join(d, "session.pem")
        self.assertFalse(self.resumed(self.port, sess_out=sess))
        self.assertTrue(self.resumed(self.port, sess_in=sess), "a ticket from this process resumes")
        before = self.tether.logs().count("reloaded")
        self.tether.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: self.tether.logs().count("reloaded") > before, 10), "reloaded")
        time.sleep(0.3)  # every worker applied it
        self.assertTrue(self.resumed(self.port, sess_in=sess), "the ticket still resumes after a reload")

        # Two replicas sharing tls.session_ticket_keys resume each other's sessions.
        with open(os.path.join(d, "ticket.keys"), "wb") as f:
            f.write(os.urandom(80))
        ports = [free_port(), free_port()]
        cfgs = [f"""
listeners:
  - name: replica
    address: 127.0.0.1:{p}
    tls: {{cert: {d}/default.pem, key: {d}/default.key, session_ticket_keys: {d}/ticket.keys}}
upstreams:
  app: {{servers: ["{self.backend.address}"]}}
""" for p in ports]
        path = os.path.join(d, "replica.yaml")
        with open(path, "w") as f:
            f.write(cfgs[0].replace(f"{d}/ticket.keys", "ticket.keys"))
        p = run(TETHER_BIN, "-t", "-c", path)
        self.assertEqual(p.returncode, 0, f"a relative keys path is the config folder's: {p.stderr}")
        with Tether(cfgs[0], [ports[0]]), Tether(cfgs[1], [ports[1]]):
            shared = os.path.join(d, "replica.pem")
            self.assertFalse(self.resumed(ports[0], sess_out=shared))
            self.assertTrue(self.resumed(ports[1], sess_in=shared), "replica B resumes A's session")
            self.assertFalse(self.resumed(self.port, sess_in=shared), "a process with other keys does not")

        with open(os.path.join(d, "short.keys"), "wb") as f:
            f.write(os.urandom(48))
        with open(path, "w") as f:
            f.write(cfgs[0].replace(f"{d}/ticket.keys", "short.keys"))
        p = run(TETHER_BIN, "-t", "-c", path)
        self.assertEqual(p.returncode, 1)
        self.assertIn("must hold one to 16 keys of 80 bytes each, got 48 bytes", p.stderr)

    def test_client_certificates_required_and_optional(self):
        """mTLS: the verified subject reaches the upstream (a client's own header never does);
        no certificate or one from another CA is refused, counted and logged with the reason."""
        d = self.dir.name
        run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=other CA",
            "-keyout", f"{d}/other-ca.key", "-out", f"{d}/other-ca.pem", check=True)
        for name, ca in (("client", "ca"), ("stranger", "other-ca")):
            run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", f"/O=tether tests/CN={name}",
                "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr", check=True)
            run("openssl", "x509", "-req", "-in", f"{d}/{name}.csr", "-CA", f"{d}/{ca}.pem", "-CAkey", f"{d}/{ca}.key",
                "-CAcreateserial", "-days", "2", "-out", f"{d}/{name}.pem", check=True)
        admin, required, optional = free_port(), free_port(), free_port()
        cfg = f"""
listeners:
  - name: required
    address: 127.0.0.1:{required}
    tls: {{cert: {d}/default.pem, key: {d}/default.key, client_ca: {d}/ca.pem}}
  - name: optional
    address: 127.0.0.1:{optional}
    tls: {{cert: {d}/default.pem, key: {d}/default.key, client_ca: {d}/ca.pem, verify_client: optional}}
admin:
  address: 127.0.0.1:{admin}
upstreams:
  app: {{servers: ["{self.backend.address}"]}}
"""

        def fetch(port, *extra):
            p = run("curl", "-s", "--cacert", self.ca(), "-H", "X-Client-Cert-Subject: CN=admin", *extra,
                    f"https://localhost:{port}/headers")
            if p.returncode != 0:
                return None
            return [v for k, v in json.loads(p.stdout)["headers"] if k.lower() == "x-client-cert-subject"]
        mine = ("--cert", f"{d}/client.pem", "--key", f"{d}/client.key")
        stranger = ("--cert", f"{d}/stranger.pem", "--key", f"{d}/stranger.key")
        with Tether(cfg, [required, optional, admin]) as t:
            self.assertEqual(fetch(required, *mine), ["CN=client,O=tether tests"], "only the verified subject")
            self.assertIsNone(fetch(required), "required: no certificate, no connection")
            self.assertIsNone(fetch(required, *stranger), "a certificate from another CA is refused")
            self.assertEqual(fetch(optional), [], "optional: none sent, none forwarded (the forged one removed)")
            self.assertEqual(fetch(optional, *mine), ["CN=client,O=tether tests"])
            self.assertIsNone(fetch(optional, *stranger), "optional: a certificate sent must verify")
            self.assertTrue(wait_for(lambda: t.logs().count("tls_client_cert_rejected") >= 3, 5), t.logs()[-2000:])
            logs = t.logs()
            self.assertIn("no client certificate", logs)
            self.assertIn("unable to get local issuer certificate", logs)
            body = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
            m = re.search(r'^tether_tls_handshakes_total\{(?=[^}]*result="client_cert_failed")[^}]*\} (\S+)$', body, re.M)
            self.assertIsNotNone(m, body[-1500:])
            self.assertEqual(int(float(m.group(1))), 3)
        self.check_fails("min_version: TLSv1.2", "verify_client: sometimes", "tls.verify_client must be optional or required")

    def test_certificate_expiry_in_check_log_and_metrics(self):
        """Certificates valid 2 days: `tether -t` and the start log warn, /metrics has notAfter."""
        d = self.dir.name
        ends = {}
        for name in ("default", "sni"):
            out = run("openssl", "x509", "-enddate", "-noout", "-in", f"{d}/{name}.pem", check=True).stdout.strip()
            ends[name] = calendar.timegm(time.strptime(out.split("=", 1)[1], "%b %d %H:%M:%S %Y %Z"))
        path = os.path.join(d, "check.yaml")
        with open(path, "w") as f:
            f.write(self.config)
        p = run(TETHER_BIN, "-t", "-c", path)
        self.assertEqual(p.returncode, 0, p.stderr)
        stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(ends["default"]))
        self.assertRegex(p.stderr, re.escape(f"tether: warning: listener secure: certificate {d}/default.pem expires {stamp}")
                         + r" \(in [12] days?\)")
        self.assertIn(f"listener secure: certificate {d}/sni.pem expires", p.stderr)
        self.assertIn(f"listener behind-balancer: certificate {d}/default.pem expires", p.stderr)

        admin, port = free_port(), free_port()
        cfg = f"""
listeners:
  - name: edge
    address: 127.0.0.1:{port}
    tls: {{cert: {d}/default.pem, key: {d}/default.key, sni: [{{names: [chat.example.test], cert: {d}/sni.pem, key: {d}/sni.key}}]}}
admin:
  address: 127.0.0.1:{admin}
upstreams:
  app: {{servers: ["{self.backend.address}"]}}
"""
        with Tether(cfg, [port, admin]) as t:
            body = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
            for name in ("default", "sni"):
                m = re.search(rf'^tether_tls_cert_not_after_seconds\{{(?=[^}}]*cert="{re.escape(d)}/{name}.pem")'
                              rf'(?=[^}}]*listener="edge")[^}}]*\}} (\S+)$', body, re.M)
                self.assertIsNotNone(m, body[-2000:])
                self.assertEqual(int(float(m.group(1))), ends[name])
            self.assertIn("tls_cert_expires_soon", t.logs())
            self.assertIn(f"cert={d}/default.pem", t.logs())

            # Handshakes by result and version: one full and one resumed TLS 1.2, one TLS 1.3,
            # one that fails (garbage instead of a ClientHello).
            sess = os.path.join(d, "metrics-session.pem")
            self.assertFalse(self.resumed(port, sess_out=sess))
            self.assertTrue(self.resumed(port, sess_in=sess))
            run("openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-tls1_3", input="")
            with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
                s.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                s.settimeout(5)
                try:
                    s.recv(100)
                except OSError:
                    pass

            def handshakes():
                body = urllib.request.urlopen(f"http://127.0.0.1:{admin}/metrics", timeout=5).read().decode()
                out = {}
                for m in re.finditer(r'^tether_tls_handshakes_total\{([^}]*)\} (\S+)$', body, re.M):
                    labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
                    out[(labels["result"], labels["version"])] = int(float(m.group(2)))
                return out
            self.assertTrue(wait_for(lambda: handshakes().get(("failed", "none"), 0) == 1, 5), handshakes())
            h = handshakes()
            self.assertEqual(h[("full", "TLSv1.2")], 1, h)
            self.assertEqual(h[("resumed", "TLSv1.2")], 1, h)
            self.assertEqual(h[("full", "TLSv1.3")], 1, h)
            self.assertEqual(h[("resumed", "TLSv1.3")], 0, h)


if __name__ == "__main__":
    unittest.main(verbosity=2)
