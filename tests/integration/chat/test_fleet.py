"""tether-chat fleet: N instances on consecutive ports; a child killed with SIGKILL is restarted
(logged); SIGTERM drains every child and the supervisor exits 0; --print-upstreams matches.
"""
import os
import signal
import subprocess
import sys
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.harness import free_port_run  # noqa: E402

CHAT = os.path.join(os.environ.get("TETHER_BUILD_DIR", "build"), "backend", "tether-chat")


def health(port):
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as r:
            return r.status
    except Exception:  # noqa: BLE001 - down is down
        return None


def wait_for(pred, timeout=10.0):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(0.1)
    return False


class Fleet(unittest.TestCase):
    def test_print_upstreams(self):
        p = subprocess.run([CHAT, "fleet", "--instances", "2", "--base-port", "9001", "--print-upstreams"],
                           capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 0)
        self.assertIn('address: "127.0.0.1:9001"', p.stdout)
        self.assertIn('address: "127.0.0.1:9002"', p.stdout)
        p = subprocess.run([CHAT, "fleet", "--instances", "0"], capture_output=True, text=True, timeout=10)
        self.assertEqual(p.returncode, 2)

    def test_restarts_a_killed_child_and_drains_on_sigterm(self):
        base = free_port_run(2)
        log_path = "/tmp/tether-fleet-test.log"
        with open(log_path, "w") as log:
            fleet = subprocess.Popen([CHAT, "fleet", "--instances", "2", "--base-port", str(base), "--drain", "200ms"],
                                     stdout=log, stderr=subprocess.STDOUT)
        try:
            self.assertTrue(wait_for(lambda: health(base) == 200 and health(base + 1) == 200), "both instances up")
            children = subprocess.run(["pgrep", "-P", str(fleet.pid)], capture_output=True, text=True).stdout.split()
            self.assertEqual(len(children), 2)
            os.kill(int(children[0]), signal.SIGKILL)
            self.assertTrue(wait_for(lambda: "instance_restarted" in open(log_path).read(), 10), "restart logged")
            self.assertTrue(wait_for(lambda: health(base) == 200 and health(base + 1) == 200), "back to two instances")
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
