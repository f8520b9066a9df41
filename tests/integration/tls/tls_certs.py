"""Certificates for the TLS integration tests, made with the openssl command line into a temp dir:
a CA run with `openssl ca` (its index is what `openssl ocsp` answers from), leaf certificates it
signs (valid, expired, client), and a second, unrelated CA; and `resumed_tls12`, one TLS 1.2
handshake with `openssl s_client` that tells whether it resumed a session.
"""
import os
import subprocess

CA_CONF = """[ca]
default_ca = test_ca
[test_ca]
dir = {d}
database = {d}/index.txt
new_certs_dir = {d}/newcerts
certificate = {d}/{name}.pem
private_key = {d}/{name}.key
serial = {d}/{name}.serial
default_md = sha256
policy = any
copy_extensions = copy
unique_subject = no
default_days = 2
[any]
commonName = supplied
"""


def run(*cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True, timeout=30, **kw)


def resumed_tls12(test, port, sess_in=None, sess_out=None):
    """One TLS 1.2 handshake with openssl s_client (asserted on `test`); True when it resumed the session."""
    args = ["openssl", "s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", "-tls1_2"]
    if sess_in:
        args += ["-sess_in", sess_in]
    if sess_out:
        args += ["-sess_out", sess_out]
    p = run(*args, input="")
    test.assertIn("Protocol  : TLSv1.2", p.stdout, p.stderr)
    return "Reused, TLSv1.2" in p.stdout


class Ca:
    """A CA in directory `d` named `name` (files NAME.pem, NAME.key)."""

    def __init__(self, d, name="ca", subject="/CN=tether test CA"):
        self.d, self.name = d, name
        self.pem, self.key = f"{d}/{name}.pem", f"{d}/{name}.key"
        os.makedirs(f"{d}/newcerts", exist_ok=True)
        self.conf = f"{d}/{name}.cnf"
        with open(self.conf, "w") as f:
            f.write(CA_CONF.format(d=d, name=name))
        open(f"{d}/index.txt", "a").close()
        with open(f"{d}/{name}.serial", "w") as f:
            f.write("1000\n")
        run("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "2",
            "-subj", subject, "-keyout", self.key, "-out", self.pem, check=True)

    def issue(self, name, cn, san=None, start=None, end=None):
        """Signs a new key for `cn` (subjectAltName `san`); `start`/`end` as YYYYMMDDHHMMSSZ. Returns (pem, key)."""
        d = self.d
        req = ["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
               "-subj", f"/CN={cn}", "-keyout", f"{d}/{name}.key", "-out", f"{d}/{name}.csr"]
        if san:
            req += ["-addext", f"subjectAltName={san}"]
        run(*req, check=True)
        ca = ["openssl", "ca", "-batch", "-notext", "-config", self.conf, "-in", f"{d}/{name}.csr", "-out", f"{d}/{name}.pem"]
        if start:
            ca += ["-startdate", start]
        if end:
            ca += ["-enddate", end]
        p = run(*ca)
        assert p.returncode == 0, p.stderr
        return f"{d}/{name}.pem", f"{d}/{name}.key"


NGINX_CONF = """daemon off;
master_process off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log info;
events {{ worker_connections 256; }}
http {{
  access_log {d}/access.log;
  client_body_temp_path {d}/tmp_body;
  proxy_temp_path {d}/tmp_proxy;
  fastcgi_temp_path {d}/tmp_fastcgi;
  uwsgi_temp_path {d}/tmp_uwsgi;
  scgi_temp_path {d}/tmp_scgi;
  keepalive_requests 1000;
{servers}
}}
"""


class Nginx:
    """nginx in the foreground (one process) with `servers` (server blocks) inside `http`."""

    def __init__(self, d, servers):
        self.d = d
        os.makedirs(d, exist_ok=True)
        with open(f"{d}/nginx.conf", "w") as f:
            f.write(NGINX_CONF.format(d=d, servers=servers))
        self.proc = None

    def start(self, ports):
        import sys
        sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
        from support.harness import wait_port
        self.proc = subprocess.Popen(["nginx", "-p", self.d, "-c", f"{self.d}/nginx.conf", "-e", f"{self.d}/error.log"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            for p in ports:
                wait_port(p)
        except TimeoutError:
            self.stop()
            raise RuntimeError("nginx did not start: " + self.proc.stderr.read().decode() + self.errors())
        return self

    def errors(self):
        try:
            with open(f"{self.d}/error.log") as f:
                return f.read()
        except OSError:
            return ""

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
