"""The admin API is safe by default: a non-loopback admin address without a token is refused by
`tether -t` and at start (FILE:LINE:COL, with the fix), unless allow_unauthenticated says so (then
a warning at start); the token comes from token_file (re-read on reload) or $TETHER_ADMIN_TOKEN
and never shows in logs or /status; read_token reads but cannot write (403); every write is logged
with the peer; repeated failed authentications get 429 with Retry-After."""
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)
from admin_support import admin_call  # noqa: E402
from support.backend import Backend  # noqa: E402
from support.harness import TETHER_BIN, Tether, free_port, simple_config, wait_for  # noqa: E402

TOKEN = "write-secret-4f1c"
READ = "scrape-secret-9a2e"


def admin_yaml(address, **keys):
    lines = ["admin:", f"  address: {address}"] + [f"  {k}: {v}" for k, v in keys.items()]
    return "\n".join(lines) + "\n"


def check(text, env=None):
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "t.yaml")
        with open(path, "w") as f:
            f.write(text)
        e = dict(os.environ)
        e.pop("TETHER_ADMIN_TOKEN", None)
        e.update(env or {})
        return subprocess.run([TETHER_BIN, "-t", "-c", path], capture_output=True, text=True, timeout=20, env=e)


class AdminSafety(unittest.TestCase):
    def setUp(self):
        self.b = Backend("b").start()
        self.addCleanup(self.b.stop)

    def test_public_address_needs_a_token(self):
        port, admin = free_port(), free_port()
        base = simple_config(port, [self.b.address])
        r = check(base + admin_yaml(f"0.0.0.0:{admin}"))
        self.assertEqual(r.returncode, 1)
        self.assertRegex(r.stderr, r"t\.yaml:\d+:\d+: admin\.address 0\.0\.0\.0:\d+ is reachable from other hosts and has no token")
        self.assertIn("allow_unauthenticated: true", r.stderr)
        self.assertEqual(check(base + admin_yaml(f"0.0.0.0:{admin}", token=TOKEN)).returncode, 0)
        self.assertEqual(check(base + admin_yaml(f"0.0.0.0:{admin}"), env={"TETHER_ADMIN_TOKEN": TOKEN}).returncode, 0)
        self.assertEqual(check(base + admin_yaml(f"127.0.0.1:{admin}")).returncode, 0)
        self.assertEqual(check(base + admin_yaml(f"0.0.0.0:{admin}", allow_unauthenticated="true")).returncode, 0)
        r = check(base + admin_yaml(f"127.0.0.1:{admin}", read_token=READ))
        self.assertEqual(r.returncode, 1)
        self.assertIn("read_token needs admin.token", r.stderr)

        # Starting without the opt-out fails the same way; with it, a warning at start.
        with Tether(base + admin_yaml(f"0.0.0.0:{admin}", allow_unauthenticated="true"), [port, admin]) as t:
            self.assertTrue(wait_for(lambda: "admin_unauthenticated" in t.logs()))
            self.assertEqual(admin_call(admin, "GET", "/status")[0], 200)

    def test_token_file_read_token_logging_and_throttling(self):
        port, admin = free_port(), free_port()
        d = tempfile.TemporaryDirectory()
        self.addCleanup(d.cleanup)
        token_path = os.path.join(d.name, "admin.token")
        with open(token_path, "w") as f:
            f.write(TOKEN + "\n")
        text = simple_config(port, [self.b.address]) + admin_yaml(f"127.0.0.1:{admin}", token_file=token_path, read_token=READ)
        with Tether(text, [port, admin]) as t:
            drain = f"/upstreams/app/servers/{self.b.address}/drain"
            # read_token: reads, cannot write.
            self.assertEqual(admin_call(admin, "GET", "/metrics", READ)[0], 200)
            self.assertEqual(admin_call(admin, "GET", "/status", READ)[0], 200)
            self.assertEqual(admin_call(admin, "POST", drain, READ)[0], 403)
            # The write token does both; the write is logged with the peer, the action and the status.
            self.assertEqual(admin_call(admin, "POST", drain, TOKEN)[0], 200)
            self.assertTrue(wait_for(lambda: any("admin_write" in l and "peer=127.0.0.1" in l and "drain" in l and "status=200" in l
                                                  for l in t.logs().splitlines())))
            self.assertTrue(any("admin_write" in l and "status=403" in l for l in t.logs().splitlines()))
            self.assertEqual(admin_call(admin, "POST", f"/upstreams/app/servers/{self.b.address}/enable", "nope")[0], 401)

            # Rotation: a new file and a reload; the old token stops working.
            new = "rotated-secret-77d0"
            with open(token_path, "w") as f:
                f.write(new + "\n")
            self.assertEqual(admin_call(admin, "POST", "/reload", TOKEN)[0], 200)
            self.assertEqual(admin_call(admin, "GET", "/status", TOKEN)[0], 401)
            self.assertEqual(admin_call(admin, "GET", "/status", new)[0], 200)

            # Repeated failures from one address: 429 with Retry-After, then fine again a second later.
            time.sleep(1.1)  # a fresh one-second window (the 401s above count too)
            codes = [admin_call(admin, "GET", "/metrics", "wrong")[0] for _ in range(8)]
            self.assertEqual(codes, [401] * 6 + [429] * 2)
            code, headers, _ = admin_call(admin, "GET", "/metrics", new)
            self.assertEqual((code, headers.get("retry-after")), (429, "1"))
            self.assertTrue(wait_for(lambda: admin_call(admin, "GET", "/metrics", new)[0] == 200, timeout=3))

            # No token anywhere a user could read it.
            _, _, body = admin_call(admin, "GET", "/status", new)
            status_text = json.dumps(json.loads(body))
            for secret in (TOKEN, READ, new):
                self.assertNotIn(secret, t.logs())
                self.assertNotIn(secret, status_text)


if __name__ == "__main__":
    unittest.main(verbosity=2)
