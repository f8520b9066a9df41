"""A real DNS server for the discovery tests: dnsmasq on a loopback port, answering for *.test
from a hosts file the test rewrites (SIGHUP makes dnsmasq read it again), with a 1 s TTL.
Names it does not know are NXDOMAIN (it is authoritative for .test); it never forwards."""
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time


def free_dns_port():
    """A port free for both UDP and TCP on 127.0.0.1 (dnsmasq listens on both)."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as u:
            u.bind(("127.0.0.1", 0))
            port = u.getsockname()[1]
            try:
                with socket.socket() as t:
                    t.bind(("127.0.0.1", port))
                return port
            except OSError:
                continue
    raise RuntimeError("no port free for UDP and TCP")


class Dns:
    def __init__(self):
        self.binary = shutil.which("dnsmasq") or "/usr/sbin/dnsmasq"
        self.dir = tempfile.mkdtemp(prefix="tether-dns-")
        os.chmod(self.dir, 0o755)  # dnsmasq drops privileges before it re-reads the file
        self.hosts_path = os.path.join(self.dir, "hosts")
        self.port = free_dns_port()
        self.proc = None
        self.set({})

    def set(self, names):
        """names: {"chat.test": ["127.0.0.2", ...]}; takes effect at once if running."""
        tmp = self.hosts_path + ".new"
        with open(tmp, "w") as f:
            for name, ips in names.items():
                for ip in ips:
                    f.write(f"{ip} {name}\n")
        os.chmod(tmp, 0o644)
        os.replace(tmp, self.hosts_path)
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGHUP)

    def start(self):
        self.log = open(os.path.join(self.dir, "dnsmasq.log"), "w")
        self.proc = subprocess.Popen(
            [self.binary, "--keep-in-foreground", f"--port={self.port}", "--listen-address=127.0.0.1",
             "--bind-interfaces", "--no-resolv", "--no-hosts", f"--addn-hosts={self.hosts_path}",
             "--local-ttl=1", "--local=/test/", "--pid-file=", "--log-facility=-"],
            stdout=self.log, stderr=subprocess.STDOUT)
        time.sleep(0.3)
        if self.proc.poll() is not None:
            self.log.close()
            with open(os.path.join(self.dir, "dnsmasq.log")) as f:
                raise RuntimeError("dnsmasq did not start:\n" + f.read())
        return self

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        self.proc = None

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)
