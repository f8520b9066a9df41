"""tether-chat fleet: N instances on consecutive ports; a child killed with SIGKILL is restarted
(logged); SIGTERM drains every child and the supervisor exits 0; --print-upstreams matches; the
instances die with a supervisor killed outright; --help, --version and bad flags exit at once.
"""
import os
import signal
import subprocess
import sys
import tempfile
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.harness import alive, free_port_run, wait_for  # noqa: E402

CHAT = os.path.join(os.environ.get("TETHER_BUILD_DIR", "build"), "backend", "tether-chat")


def health(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
            return r.status
    except Exception:  # noqa: BLE001 - down is down
        return None


def read(path):
    with open(path) as f:
        return f.read()


class Fleet(unittest.TestCase):
    def test_print_upstreams(self):
        p = subprocess.run([CHAT, "fleet", "--instances", "2", "--base-port", "9001", "--print-upstreams"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertIn('address: "127.0.0.1:9001"', p.stdout)
        self.assertIn('address: "127.0.0.1:9002"', p.stdout)
        p = subprocess.run([CHAT, "fleet", "--instances", "0"], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 2)

    def test_help_version_and_bad_flags_start_nothing(self):
        def run(*args):
            return subprocess.run([CHAT, *args], capture_output=True, text=True, timeout=10)
        p = run("fleet", "--help")
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("usage: tether-chat fleet", p.stdout)
        self.assertIn("--base-port", p.stdout)
        p = run("fleet", "--instances", "2", "--bogus", "1")
        self.assertEqual(p.returncode, 2)
        self.assertIn("unknown flag --bogus", p.stderr)
        p = run("fleet", "--instances", "2", "--ping-interval", "soon")
        self.assertEqual(p.returncode, 2)
        self.assertIn("invalid value for --ping-interval", p.stderr)
        p = run("--help")
        self.assertEqual(p.returncode, 0)
        self.assertIn("tether-chat fleet", p.stdout)
        for args in (["--version"], ["fleet", "--version"]):
            p = run(*args)
            self.assertEqual(p.returncode, 0, p.stderr)
            self.assertRegex(p.stdout, r"^tether-chat \d+\.\d+\.\d+\n$")

    def test_instances_die_with_a_killed_supervisor(self):
        base = free_port_run(2)
        fleet = subprocess.Popen([CHAT, "fleet", "--instances", "2", "--base-port", str(base)],
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        children = []
        try:
            self.assertTrue(wait_for(lambda: health(base) == 200 and health(base + 1) == 200, 10), "both instances up")
            children = [int(p) for p in subprocess.run(["pgrep", "-P", str(fleet.pid)], capture_output=True,
                                                       text=True).stdout.split()]
            self.assertEqual(len(children), 2)
            fleet.kill()
            fleet.wait(5)
            self.assertTrue(wait_for(lambda: not any(alive(pid) for pid in children), 15), "instances exited")
            self.assertIsNone(health(base))
            self.assertIsNone(health(base + 1))
        finally:
            for pid in children:
                if alive(pid):
                    os.kill(pid, signal.SIGKILL)
            if fleet.poll() is None:
                fleet.kill()
                fleet.wait(5)

    def test_an_instance_whose_supervisor_is_gone_does_not_start(self):
        # The supervisor died before the instance linked to it: its parent is not that pid.
        env = dict(os.environ, TETHER_FLEET_SUPERVISOR_PID="999999")
        p = subprocess.run([CHAT, "--port", "0"], capture_output=True, text=True, timeout=10, env=env)
        self.assertEqual(p.returncode, 1)
        self.assertIn("supervisor (pid 999999) is already gone", p.stderr)

    def test_restarts_a_killed_child_and_drains_on_sigterm(self):
        base = free_port_run(2)
        tmp = tempfile.TemporaryDirectory(prefix="tether-fleet-")
        self.addCleanup(tmp.cleanup)
        log_path = os.path.join(tmp.name, "fleet.log")
        with open(log_path, "w") as log:
            fleet = subprocess.Popen([CHAT, "fleet", "--instances", "2", "--base-port", str(base), "--drain", "200ms"],
                                     stdout=log, stderr=subprocess.STDOUT)
        try:
            self.assertTrue(wait_for(lambda: health(base) == 200 and health(base + 1) == 200, 10), "both instances up")
            children = subprocess.run(["pgrep", "-P", str(fleet.pid)], capture_output=True, text=True).stdout.split()
            self.assertEqual(len(children), 2)
            os.kill(int(children[0]), signal.SIGKILL)
            self.assertTrue(wait_for(lambda: "instance_restarted" in read(log_path), 10), "restart logged")
            self.assertTrue(wait_for(lambda: health(base) == 200 and health(base + 1) == 200, 10), "back to two instances")
            fleet.send_signal(signal.SIGTERM)
            self.assertEqual(fleet.wait(15), 0)
            self.assertIsNone(health(base))
            self.assertIsNone(health(base + 1))
        finally:
            if fleet.poll() is None:
                # Children first: once the supervisor is gone they belong to init and -P misses them.
                subprocess.run(["pkill", "-KILL", "-P", str(fleet.pid)])
                fleet.kill()
                fleet.wait(5)


if __name__ == "__main__":
    unittest.main(verbosity=2)
