"""Starting and stopping the real tether binary on loopback for integration tests.

Tether(config_yaml) writes the config to a temp dir, starts $TETHER_BIN on it, waits until every
listener accepts, and stops it (SIGTERM, then SIGKILL after a bound) on exit. Ports come from
free_port(), which asks the kernel for an unused one.
"""
import os
import signal
import random
import socket
import subprocess
import tempfile
import time

TETHER_BIN = os.environ.get("TETHER_BIN") or os.path.join(
    os.environ.get("TETHER_BUILD_DIR", "build"), "proxy", "tether")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def free_port_run(n):
    """A base port P with P..P+n-1 all free, below the kernel's ephemeral range, so that port-0
    listeners of tests running in parallel cannot take P+1.. between this check and their use
    (a fixed-base run like `tether-chat fleet --base-port P` cannot use port 0)."""
    lo = 20000
    try:
        with open("/proc/sys/net/ipv4/ip_local_port_range") as f:
            lo = min(lo, int(f.read().split()[0]) - n)
    except (OSError, ValueError):
        pass
    rng = random.Random()
    for _ in range(200):
        base = rng.randrange(10000, lo)
        socks = []
        try:
            for p in range(base, base + n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", p))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError(f"no run of {n} free ports")


def wait_port(port, host="127.0.0.1", timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            socket.create_connection((host, port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.02)
    raise TimeoutError(f"nothing listening on {host}:{port}")


def wait_for(cond, timeout=5.0, step=0.05):
    """Polls cond() until it is true (returns True) or `timeout` seconds pass (returns False)."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        if cond():
            return True
        time.sleep(step)
    return False


def alive(pid):
    """True while pid runs; a zombie counts as gone (its parent may be init, which reaps later)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


class Tether:
    def __init__(self, config_text, ports, args=(), log_level="info"):
        self.dir = tempfile.TemporaryDirectory(prefix="tether-test-")
        self.config_path = os.path.join(self.dir.name, "tether.yaml")
        with open(self.config_path, "w") as f:
            f.write(config_text)
        self.ports = ports
        self.args = list(args)
        self.log_level = log_level
        self.proc = None
        self.log_path = os.path.join(self.dir.name, "tether.log")

    def start(self):
        self.log = open(self.log_path, "w")
        self.proc = subprocess.Popen([TETHER_BIN, "-c", self.config_path, "--log-level", self.log_level, *self.args],
                                     stdout=self.log, stderr=subprocess.STDOUT)
        for p in self.ports:
            wait_port(p)
        return self

    def stop(self, timeout=15):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc:
            self.log.close()
        return self.proc.returncode if self.proc else None

    def logs(self):
        with open(self.log_path) as f:
            return f.read()

    def rss_kib(self):
        return rss_kib(self.proc.pid)

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


def simple_config(listen_port, servers, strategy="round_robin", extra_upstream="", extra="", keepalive=64, retries=1):
    lines = [f"workers: 1",
             f"listeners:",
             f"  - name: web",
             f"    address: 127.0.0.1:{listen_port}",
             f"upstreams:",
             f"  app:",
             f"    strategy: {strategy}",
             f"    keepalive: {keepalive}",
             f"    retries: {retries}",
             f"    servers:"]
    for s in servers:
        if isinstance(s, str):
            lines.append(f"      - address: {s}")
        else:
            lines.append(f"      - address: {s['address']}")
            for k, v in s.items():
                if k != "address":
                    lines.append(f"        {k}: {v}")
    if extra_upstream:
        lines += ["    " + l for l in extra_upstream.strip("\n").split("\n")]
    text = "\n".join(lines) + "\n" + extra
    return text


def recv_until_close(sock):
    """Everything `sock` receives until the peer closes (the socket's own timeout applies)."""
    out = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return out
        out += chunk


def raw_request(port, data, timeout=5.0, read_until_close=True):
    """Sends raw bytes and returns everything the server sends back until it closes (or timeout)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    s.sendall(data)
    out = b""
    try:
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if not read_until_close and b"\r\n\r\n" in out:
                break
    except socket.timeout:
        pass
    s.close()
    return out
