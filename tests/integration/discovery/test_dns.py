"""DNS discovery end to end, against a real DNS server (dnsmasq) on loopback: a `resolve: true`
server's members follow the name as it gains and loses addresses, under keep-alive load with no
failed request; a DNS outage keeps the last members; a name that does not resolve yet answers 503
(logged once), then serves as soon as it resolves; `tether -t` says which names do not resolve."""
import os
import socket
import subprocess
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, os.path.join(HERE, "..", "admin"))
sys.path.insert(0, os.path.join(HERE, "..", "health"))
from admin_support import scrape, status, value  # noqa: E402
from dns_support import Dns  # noqa: E402
from health_support import Load, count_lines, get, wait_log  # noqa: E402
from support.backend import Backend  # noqa: E402
from support.harness import TETHER_BIN, Tether, free_port, wait_for  # noqa: E402

HOSTS = ["127.0.0.2", "127.0.0.3", "127.0.0.4"]


def common_port():
    """A port free on every address in HOSTS (members of one name share their port)."""
    for _ in range(50):
        p = free_port()
        socks = []
        try:
            for h in HOSTS:
                s = socket.socket()
                socks.append(s)
                s.bind((h, p))
            return p
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no port free on every test address")


def config(port, admin, dns_port, name, backend_port, workers=2):
    return (f"workers: {workers}\n"
            f"listeners:\n  - name: web\n    address: 127.0.0.1:{port}\n"
            f"resolver:\n  servers: [127.0.0.1:{dns_port}]\n  interval: 200ms\n"
            f"upstreams:\n  app:\n    strategy: round_robin\n    retries: 2\n    servers:\n"
            f"      - address: {name}:{backend_port}\n        resolve: true\n"
            f"admin:\n  address: 127.0.0.1:{admin}\n")



def member_names(admin):
    return sorted(s["name"] for s in status(admin)["upstreams"][0]["servers"])


class Discovery(unittest.TestCase):
    def setUp(self):
        self.dns = Dns()
        self.addCleanup(self.dns.cleanup)
        self.bport = common_port()
        self.backends = {}
        for label, host in zip("abc", HOSTS):
            b = Backend(label, self.bport, host).start()
            self.backends[label] = b
            self.addCleanup(b.stop)

    def member(self, host):
        return f"chat.test:{self.bport}@{host}:{self.bport}"

    def test_members_follow_dns_under_load(self):
        self.dns.set({"chat.test": HOSTS[:2]})
        self.dns.start()
        port, admin = free_port(), free_port()
        with Tether(config(port, admin, self.dns.port, "chat.test", self.bport), [port, admin]) as t:
            self.assertEqual(member_names(admin), [self.member(h) for h in HOSTS[:2]])
            load = Load(port, clients=4, limit=40).start()
            try:
                self.assertTrue(wait_for(lambda: {"a", "b"} <= set(load.by_backend)), load.by_backend)

                # Scale out: a third address joins without a reload.
                self.dns.set({"chat.test": HOSTS})
                load.mark()
                self.assertTrue(wait_for(lambda: load.after_mark.get("c", 0) > 20, timeout=5), load.after_mark)
                wait_log(t, "dns_members", "127.0.0.4")
                self.assertEqual(member_names(admin), [self.member(h) for h in HOSTS])

                # Scale in: the first address leaves; nothing new reaches it, nothing fails.
                self.dns.set({"chat.test": HOSTS[1:]})
                self.assertTrue(wait_for(lambda: member_names(admin) == [self.member(h) for h in HOSTS[1:]], timeout=5))
                time.sleep(0.3)  # requests already on their way to `a` finish there
                load.mark()
                time.sleep(1.0)
                self.assertNotIn("a", load.after_mark)
                self.assertGreater(load.after_mark.get("b", 0), 20)
                self.assertGreater(load.after_mark.get("c", 0), 20)

                # DNS outage: the last members stay and keep serving.
                self.dns.stop()
                wait_log(t, "dns_resolve_failed", "chat.test", timeout=10)
                load.mark()
                time.sleep(1.0)
                self.assertEqual(member_names(admin), [self.member(h) for h in HOSTS[1:]])
                self.assertEqual(set(load.after_mark), {"b", "c"})
                self.assertEqual(count_lines(t, "dns_resolve_failed"), 1)  # once per streak, not per attempt
            finally:
                load.stop()
            self.assertEqual(load.failures, [])
            self.assertGreater(load.ok, 200)

            _, samples = scrape(admin)
            self.assertEqual(value(samples, "tether_upstream_members", upstream="app"), 2)
            self.assertGreaterEqual(value(samples, "tether_discovery_updates_total", result="changed"), 3)
            self.assertGreater(value(samples, "tether_discovery_updates_total", result="failed"), 0)
            self.assertEqual(value(samples, "tether_server_up", upstream="app", server=self.member(HOSTS[1])), 1)

    def test_late_name_then_gone(self):
        self.dns.start()  # knows no names yet
        port, admin = free_port(), free_port()
        text = config(port, admin, self.dns.port, "late.test", self.bport, workers=1)

        # -t accepts the file and says the name does not resolve now.
        path = os.path.join(self.dns.dir, "t.yaml")
        with open(path, "w") as f:
            f.write(text)
        r = subprocess.run([TETHER_BIN, "-t", "-c", path], capture_output=True, text=True, timeout=20)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("'late.test' does not resolve now", r.stderr)

        with Tether(text, [port, admin]) as t:
            code, _, _, resp = get(port)
            self.assertEqual(code, 503)
            self.assertIsNotNone(resp.getheader("Retry-After"))
            self.assertEqual(member_names(admin), [])
            time.sleep(1.0)  # several re-resolves: still logged once
            self.assertEqual(count_lines(t, "dns_no_members", "late.test"), 1)

            self.dns.set({"late.test": [HOSTS[0]]})
            self.assertTrue(wait_for(lambda: get(port)[:2] == (200, "a"), timeout=5))
            self.assertEqual(value(scrape(admin)[1], "tether_upstream_members", upstream="app"), 1)

            # The name goes away (NXDOMAIN): no members, 503 again.
            self.dns.set({})
            self.assertTrue(wait_for(lambda: get(port)[0] == 503, timeout=5))
            self.assertEqual(member_names(admin), [])


if __name__ == "__main__":
    unittest.main(verbosity=2)
