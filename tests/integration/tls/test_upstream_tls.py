"""TLS to upstreams (upstreams.NAME.tls) against nginx with `ssl` and certificates this test makes
with `openssl ca`: verified requests, keep-alive reuse and session resumption, WebSocket through a
TLS upstream, health checks over TLS, client certificates, and refusals (expired certificate,
wrong CA, wrong name) that give 502 with a log line naming the upstream, server and reason.
"""
import os
import re
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from support.harness import TETHER_BIN, Tether, free_port, wait_for  # noqa: E402
from tls_certs import Ca, Nginx, run  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def get(url, timeout=10):
    """(status, body) of a GET; HTTP errors are answers too."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class UpstreamTls(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        d = cls.dir.name
        ca = Ca(d)
        cls.ca = ca.pem
        good = ca.issue("good", "localhost", "DNS:localhost,IP:127.0.0.1")
        expired = ca.issue("expired", "localhost", "DNS:localhost,IP:127.0.0.1", start="20200101000000Z", end="20200102000000Z")
        cls.client = ca.issue("client", "tether-client")
        os.makedirs(f"{d}/other")
        cls.other_ca = Ca(f"{d}/other", subject="/CN=another CA").pem
        cls.p_good, cls.p_expired, cls.p_mtls = free_port(), free_port(), free_port()
        body = 'return 200 "conn=$connection requests=$connection_requests reused=$ssl_session_reused sni=$ssl_server_name client=$ssl_client_s_dn proto=$ssl_protocol\\n";'
        cls.nginx = Nginx(f"{d}/nginx", f"""
  server {{
    listen 127.0.0.1:{cls.p_good} ssl;
    ssl_protocols TLSv1.2 TLSv1.3;
    ssl_certificate {good[0]}; ssl_certificate_key {good[1]};
    location / {{ {body} }}
  }}
  server {{
    listen 127.0.0.1:{cls.p_expired} ssl;
    ssl_certificate {expired[0]}; ssl_certificate_key {expired[1]};
    location / {{ {body} }}
  }}
  server {{
    listen 127.0.0.1:{cls.p_mtls} ssl;
    ssl_certificate {good[0]}; ssl_certificate_key {good[1]};
    ssl_client_certificate {ca.pem}; ssl_verify_client on;
    location / {{ {body} }}
  }}
""").start([cls.p_good, cls.p_expired, cls.p_mtls])
        cls.port, cls.admin, cls.p_ws = free_port(), free_port(), free_port()
        g, e, m = cls.p_good, cls.p_expired, cls.p_mtls
        cls.config = f"""
workers: 1
listeners: [{{name: web, address: 127.0.0.1:{cls.port}}}]
admin: {{address: 127.0.0.1:{cls.admin}}}
upstreams:
  good: {{tls: {{ca: {ca.pem}, sni: localhost}}, servers: ["127.0.0.1:{g}"]}}
  byip: {{tls: {{ca: {ca.pem}}}, keepalive: 0, servers: ["127.0.0.1:{g}"]}}
  byname: {{tls: {{ca: {ca.pem}}}, servers: ["localhost:{g}"]}}
  expired: {{tls: {{ca: {ca.pem}}}, servers: ["127.0.0.1:{e}"]}}
  wrongca: {{tls: {{ca: {cls.other_ca}}}, servers: ["127.0.0.1:{g}"]}}
  wrongname: {{tls: {{ca: {ca.pem}, sni: other.example}}, servers: ["127.0.0.1:{g}"]}}
  noverify: {{tls: {{verify: false}}, servers: ["127.0.0.1:{e}"]}}
  mtls: {{tls: {{ca: {ca.pem}, cert: {cls.client[0]}, key: {cls.client[1]}}}, servers: ["127.0.0.1:{m}"]}}
  nocert: {{tls: {{ca: {ca.pem}}}, servers: ["127.0.0.1:{m}"]}}
  ws: {{tls: {{ca: {ca.pem}}}, servers: ["127.0.0.1:{cls.p_ws}"]}}
  checked:
    tls: {{ca: {ca.pem}}}
    health_check: {{path: /health, interval: 100ms, timeout: 1s, rise: 1, fall: 1}}
    servers: ["127.0.0.1:{g}", "127.0.0.1:{e}"]
routes:
""" + "".join(f"  - {{path_prefix: /{n}/, strip_prefix: true, upstream: {n}}}\n" for n in
              ["good", "byip", "byname", "expired", "wrongca", "wrongname", "noverify", "mtls", "nocert", "ws", "checked"])
        cls.tether = Tether(cls.config, [cls.port, cls.admin]).start()

    @classmethod
    def tearDownClass(cls):
        cls.tether.stop()
        cls.nginx.stop()
        cls.dir.cleanup()

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def metric(self, name, **labels):
        with urllib.request.urlopen(f"http://127.0.0.1:{self.admin}/metrics", timeout=5) as r:
            text = r.read().decode()
        want = ",".join(f'{k}="{v}"' for k, v in sorted(labels.items()))
        for line in text.splitlines():
            if line.startswith(name + "{"):
                got = ",".join(sorted(line[len(name) + 1:line.index("}")].split(",")))
                if got == want:
                    return float(line.rsplit(" ", 1)[1])
        return None

    def fields(self, body):
        return dict(kv.split("=", 1) for kv in body.split())

    def test_requests_go_over_tls_and_reuse_the_pooled_connection(self):
        seen = []
        for _ in range(4):
            status, body = get(self.url("/good/x"))
            self.assertEqual(status, 200, body)
            seen.append(self.fields(body))
        self.assertEqual(seen[0]["sni"], "localhost", "the configured sni is sent")
        self.assertEqual(len({f["conn"] for f in seen}), 1, f"one pooled TLS connection serves them all: {seen}")
        self.assertEqual([int(f["requests"]) for f in seen], list(range(int(seen[0]["requests"]), int(seen[0]["requests"]) + 4)))

    def test_new_connections_resume_the_session(self):
        bodies = [self.fields(get(self.url("/byip/"))[1]) for _ in range(3)]
        self.assertEqual(len({b["conn"] for b in bodies}), 3, "keepalive: 0 makes a new connection per request")
        self.assertEqual(bodies[0]["sni"], "", "no SNI for an IP literal without sni")
        self.assertEqual(bodies[0]["proto"], "TLSv1.3")
        self.assertEqual([b["reused"] for b in bodies[1:]], ["r", "r"], "later connections resume the session")
        self.assertGreaterEqual(self.metric("tether_upstream_tls_handshakes_total", upstream="byip", result="resumed"), 2)
        self.assertGreaterEqual(self.metric("tether_upstream_tls_handshakes_total", upstream="byip", result="full"), 1)

    def test_a_host_name_server_sends_and_verifies_its_name(self):
        status, body = get(self.url("/byname/"))
        self.assertEqual(status, 200, body)
        self.assertEqual(self.fields(body)["sni"], "localhost", "the address's host name is the default SNI")

    def refused(self, name, reason):
        before = self.metric("tether_upstream_tls_handshakes_total", upstream=name, result="failed") or 0
        status, body = get(self.url(f"/{name}/"))
        self.assertEqual(status, 502, body)
        self.assertNotIn("conn=", body, "never answered by the upstream")
        self.assertTrue(wait_for(lambda: re.search(rf'upstream_tls_failed upstream={name} server=127\.0\.0\.1:\d+ reason="{reason}"',
                                                   self.tether.logs()), 5), self.tether.logs()[-2000:])
        self.assertGreater(self.metric("tether_upstream_tls_handshakes_total", upstream=name, result="failed"), before)

    def test_expired_certificate_is_502_with_a_log_line(self):
        self.refused("expired", "certificate has expired")

    def test_wrong_ca_is_502(self):
        self.refused("wrongca", "unable to get local issuer certificate")

    def test_wrong_name_is_502(self):
        self.refused("wrongname", "hostname mismatch")

    def test_verify_false_accepts_any_certificate(self):
        status, body = get(self.url("/noverify/"))
        self.assertEqual(status, 200, body)

    def test_client_certificate_is_presented(self):
        status, body = get(self.url("/mtls/"))
        self.assertEqual(status, 200, body)
        self.assertEqual(self.fields(body)["client"], "CN=tether-client")
        status, body = get(self.url("/nocert/"))
        self.assertEqual(status, 400, "nginx refuses a request without a client certificate")
        self.assertIn("No required SSL certificate was sent", body)

    def test_websocket_through_a_tls_upstream(self):
        p = subprocess.run(["node", os.path.join(HERE, "ws_tls_upstream.js"), str(self.p_ws), str(self.port), *self.client_free_cert()],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(p.stdout.strip(), "ok", p.stderr)

    def client_free_cert(self):
        return [f"{self.dir.name}/good.pem", f"{self.dir.name}/good.key"]

    def test_health_checks_run_over_tls(self):
        g, e = f"127.0.0.1:{self.p_good}", f"127.0.0.1:{self.p_expired}"
        self.assertTrue(wait_for(lambda: self.metric("tether_server_up", upstream="checked", server=e) == 0, 5), "expired: down")
        self.assertEqual(self.metric("tether_server_up", upstream="checked", server=g), 1)
        self.assertGreater(self.metric("tether_health_checks_total", upstream="checked", server=g, result="success"), 0)
        self.assertRegex(self.tether.logs(), r'server_down upstream=checked server=127\.0\.0\.1:\d+ reason=".*tls: certificate has expired"')
        for _ in range(4):
            status, body = get(self.url("/checked/"))
            self.assertEqual(status, 200, "only the healthy server gets requests")

    def test_config_errors_name_the_key(self):
        d = self.dir.name
        cases = [
            (f"cert: {self.client[0]}, key: {self.client[1]}", f"cert: {self.client[0]}, key: {d}/good.key",
             "the key does not match the certificate"),
            (f"cert: {self.client[0]}, key: {self.client[1]}", f"cert: {self.client[0]}", "tls.cert and tls.key go together"),
            (f"tls: {{ca: {self.other_ca}}}", f"tls: {{ca: {d}/missing.pem}}", "missing.pem': no such file or directory"),
        ]
        with open(f"{d}/text.pem", "w") as f:
            f.write("not a certificate\n")
        cases.append((f"tls: {{ca: {self.ca}}}, keepalive", f"tls: {{ca: {d}/text.pem}}, keepalive", "text.pem'"))
        for old, new, reason in cases:
            text = self.config.replace(old, new, 1)
            self.assertNotEqual(text, self.config)
            path = os.path.join(d, "bad.yaml")
            with open(path, "w") as f:
                f.write(text)
            p = run(TETHER_BIN, "-t", "-c", path)
            self.assertEqual(p.returncode, 1, p.stderr)
            line = next(i for i, t in enumerate(text.splitlines(), 1) if new.splitlines()[0] in t)
            self.assertRegex(p.stderr.splitlines()[0], rf"^{re.escape(path)}:{line}:\d+: .*{re.escape(reason)}")


if __name__ == "__main__":
    unittest.main()
