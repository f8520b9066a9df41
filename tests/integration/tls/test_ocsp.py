"""OCSP stapling (listeners[].tls.ocsp, sni[].ocsp): a response made by `openssl ocsp` from the test
CA's index is stapled for clients that ask (`openssl s_client -status`); a stale one (nextUpdate
passed), one for another certificate and a file that is not an OCSP response are not stapled, and
each is a warning at start, on reload and in `tether -t`. A reload re-reads the files.
"""
import datetime
import os
import signal
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.dirname(__file__))
from support.backend import Backend  # noqa: E402
from support.harness import TETHER_BIN, Tether, free_port, wait_for  # noqa: E402
from tls_certs import Ca, run  # noqa: E402


def read(path):
    with open(path, "rb") as f:
        return f.read()


def ocsp_response(ca, cert, out):
    """A `good` response for `cert`, signed by the CA, valid one day (openssl ocsp from the CA's index)."""
    p = run("openssl", "ocsp", "-index", f"{ca.d}/index.txt", "-rsigner", ca.pem, "-rkey", ca.key, "-CA", ca.pem,
            "-issuer", ca.pem, "-cert", cert, "-respout", out, "-ndays", "1")
    assert p.returncode == 0 and os.path.getsize(out) > 0, p.stderr


def stale_response(ca, cert, out):
    """A `good` response whose nextUpdate passed an hour ago (openssl ocsp cannot date one back)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.x509 import ocsp
    issuer, leaf = (x509.load_pem_x509_certificate(read(p)) for p in (ca.pem, cert))
    key = serialization.load_pem_private_key(read(ca.key), None)
    now = datetime.datetime.utcnow()
    b = ocsp.OCSPResponseBuilder().add_response(
        cert=leaf, issuer=issuer, algorithm=hashes.SHA1(), cert_status=ocsp.OCSPCertStatus.GOOD,
        this_update=now - datetime.timedelta(days=2), next_update=now - datetime.timedelta(hours=1),
        revocation_time=None, revocation_reason=None).responder_id(ocsp.OCSPResponderEncoding.HASH, issuer)
    with open(out, "wb") as f:
        f.write(b.sign(key, hashes.SHA256()).public_bytes(serialization.Encoding.DER))


class Ocsp(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.TemporaryDirectory()
        d = cls.dir.name
        cls.ca = ca = Ca(d)
        for name, cn in (("default", "localhost"), ("sni", "chat.example.test")):
            pem, _ = ca.issue(name, cn, f"DNS:{cn}")
            with open(f"{d}/{name}.chain.pem", "wb") as f:  # leaf + issuer: the issuer identifies the response
                f.write(read(pem) + read(ca.pem))
        ocsp_response(ca, f"{d}/default.pem", f"{d}/default.der")
        ocsp_response(ca, f"{d}/default.pem", f"{d}/other.der")  # for the default certificate, not the SNI one
        cls.backend = Backend("b1").start()
        cls.port = free_port()
        cls.config = f"""
listeners:
  - name: secure
    address: 127.0.0.1:{cls.port}
    tls:
      cert: {d}/default.chain.pem
      key: {d}/default.key
      ocsp: {d}/default.der
      sni:
        - {{names: [chat.example.test], cert: {d}/sni.chain.pem, key: {d}/sni.key, ocsp: {d}/other.der}}
upstreams:
  app: {{servers: ["{cls.backend.address}"]}}
"""

    @classmethod
    def tearDownClass(cls):
        cls.backend.stop()
        cls.dir.cleanup()

    def status(self, port, name):
        p = run("openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", name, "-status", input="")
        self.assertIn("Verify return code", p.stdout, p.stderr)
        return p.stdout

    def check(self, text):
        path = os.path.join(self.dir.name, "check.yaml")
        with open(path, "w") as f:
            f.write(text)
        return run(TETHER_BIN, "-t", "-c", path)

    def test_stapled_when_asked_and_checked_against_the_certificate(self):
        d = self.dir.name
        p = self.check(self.config)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"OCSP response {d}/other.der for certificate {d}/sni.chain.pem is not stapled: not for this certificate", p.stderr)
        self.assertNotIn("default.der", p.stderr, "the good response is not warned about")
        with Tether(self.config, [self.port]) as t:
            out = self.status(self.port, "localhost")
            self.assertIn("OCSP Response Status: successful", out)
            self.assertIn("Cert Status: good", out)
            out = self.status(self.port, "chat.example.test")
            self.assertIn("OCSP response: no response sent", out, "a response for another certificate is never stapled")
            self.assertRegex(t.logs(), r'tls_ocsp_skipped listener=secure cert=\S*sni.chain.pem ocsp=\S*other.der reason="not for this certificate"')
            p = run("openssl", "s_client", "-connect", f"127.0.0.1:{self.port}", "-servername", "localhost", input="")
            self.assertNotIn("OCSP Response Status", p.stdout, "nothing stapled for a client that did not ask")

    def test_stale_and_garbage_are_skipped_and_reload_rereads(self):
        d = self.dir.name
        cfg = self.config.replace(f"{d}/default.der", f"{d}/live.der")
        stale_response(self.ca, f"{d}/default.pem", f"{d}/live.der")
        p = self.check(cfg)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertRegex(p.stderr, rf"OCSP response {d}/live.der for certificate .* is not stapled: stale: nextUpdate \S+Z has passed")
        with Tether(cfg, [self.port]) as t:
            self.assertIn("OCSP response: no response sent", self.status(self.port, "localhost"))
            self.assertIn("stale: nextUpdate", t.logs())
            # A fresh response, then a reload: stapled.
            ocsp_response(self.ca, f"{d}/default.pem", f"{d}/live.der")
            t.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: t.logs().count(' reloaded ') >= 1, 10))
            time.sleep(0.3)
            self.assertIn("Cert Status: good", self.status(self.port, "localhost"))
            # Garbage, then a reload: warned, nothing stapled, still serving.
            with open(f"{d}/live.der", "wb") as f:
                f.write(b"not an OCSP response")
            t.proc.send_signal(signal.SIGHUP)
            self.assertTrue(wait_for(lambda: t.logs().count(' reloaded ') >= 2, 10))
            time.sleep(0.3)
            self.assertIn("not a DER OCSP response", t.logs())
            self.assertIn("OCSP response: no response sent", self.status(self.port, "localhost"))
            self.assertIsNone(t.proc.poll())
        missing = self.check(self.config.replace(f"{d}/default.der", f"{d}/missing.der"))
        self.assertEqual(missing.returncode, 1)
        self.assertIn("tls.ocsp", missing.stderr)
        self.assertIn("no such file or directory", missing.stderr)


if __name__ == "__main__":
    unittest.main()
