"""Hot reload (SIGHUP): routes, upstreams and listeners change without a restart; a broken file
keeps the old configuration; in-flight requests and open WebSocket tunnels survive every reload.
"""
import http.client
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.backend import Backend  # noqa: E402
from support.harness import Tether, free_port, wait_port, wait_for  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))


def config(port, app_servers, ws_server, extra_listener=None):
    listeners = f'  - {{name: web, address: "127.0.0.1:{port}"}}\n'
    if extra_listener:
        listeners += f'  - {{name: extra, address: "127.0.0.1:{extra_listener}"}}\n'
    servers = ", ".join(f'"{s}"' for s in app_servers)
    return f"""listeners:
{listeners}upstreams:
  app: {{servers: [{servers}]}}
  ws: {{servers: ["{ws_server}"]}}
routes:
  - {{path_prefix: /ws/, upstream: ws}}
  - {{upstream: app}}
"""


def reload(t, text):
    with open(t.config_path, "w") as f:
        f.write(text)
    t.proc.send_signal(signal.SIGHUP)



def name_via(port):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    c.request("GET", "/name")
    return c.getresponse().read().decode()


class Reload(unittest.TestCase):
    def test_routes_change_and_broken_file_is_refused(self):
        a, b = Backend("a").start(), Backend("b").start()
        port = free_port()
        try:
            with Tether(config(port, [a.address], "127.0.0.1:1"), [port]) as t:
                self.assertEqual(name_via(port), "a")
                reload(t, config(port, [b.address], "127.0.0.1:1"))
                self.assertTrue(wait_for(lambda: name_via(port) == "b"))
                reload(t, "listeners: [{address: 127.0.0.1:1}]\nupstreams:\n  app: {servers: [nope]}\n")
                self.assertTrue(wait_for(lambda: "reload_failed" in t.logs()))
                self.assertIn("tether.yaml:3:", t.logs())  # file:line of the error
                self.assertEqual(name_via(port), "b", "a refused reload keeps the running config")
                self.assertIsNone(t.proc.poll())
        finally:
            a.stop()
            b.stop()

    def test_post_reload_on_the_admin_listener(self):
        a, b = Backend("a").start(), Backend("b").start()
        port, admin = free_port(), free_port()
        admin_cfg = f"admin: {{address: '127.0.0.1:{admin}'}}\n"
        try:
            with Tether(config(port, [a.address], "127.0.0.1:1") + admin_cfg, [port, admin]) as t:
                with open(t.config_path, "w") as f:
                    f.write(config(port, [b.address], "127.0.0.1:1") + admin_cfg)
                c = http.client.HTTPConnection("127.0.0.1", admin, timeout=5)
                c.request("POST", "/reload")
                r = c.getresponse()
                self.assertEqual((r.status, r.read()), (200, b"reloaded\n"))
                self.assertTrue(wait_for(lambda: name_via(port) == "b"))
                with open(t.config_path, "w") as f:
                    f.write("listeners: [\n")
                c.request("POST", "/reload")
                r = c.getresponse()
                body = r.read()
                self.assertEqual(r.status, 400)
                self.assertIn(b"the running configuration stays", body)
                self.assertEqual(name_via(port), "b")
                c.request("GET", "/metrics")
                metrics = c.getresponse().read().decode()
                self.assertIn('tether_config_reloads_total{result="success"} 1', metrics)
                self.assertIn('tether_config_reloads_total{result="failure"} 1', metrics)
        finally:
            a.stop()
            b.stop()

    def test_listeners_added_and_removed(self):
        a = Backend("a").start()
        port, extra = free_port(), free_port()
        try:
            with Tether(config(port, [a.address], "127.0.0.1:1"), [port]) as t:
                reload(t, config(port, [a.address], "127.0.0.1:1", extra_listener=extra))
                wait_port(extra, timeout=5)
                self.assertEqual(name_via(extra), "a")
                reload(t, config(port, [a.address], "127.0.0.1:1"))
                self.assertTrue(wait_for(lambda: "listener_removed" in t.logs()))
                with self.assertRaises(OSError):
                    socket.create_connection(("127.0.0.1", extra), timeout=1).recv(1)
                self.assertEqual(name_via(port), "a")
        finally:
            a.stop()

    def test_load_and_1000_tunnels_survive_20_reloads(self):
        a, b = Backend("a").start(), Backend("b").start()
        port, echo = free_port(), free_port()
        ws_server = f"127.0.0.1:{echo}"
        configs = [config(port, [a.address], ws_server), config(port, [b.address, a.address], "127.0.0.1:1")]
        t = Tether(configs[0], [port]).start()
        node = subprocess.Popen(["node", os.path.join(HERE, "tunnels.js"), str(echo), str(port), "1000"],
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        try:
            ready = node.stdout.readline().split()
            self.assertEqual(ready, ["ready", "1000"])
            stop, failures, done = threading.Event(), [], [0]

            def load():
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                while not stop.is_set() and done[0] < 20000:
                    try:
                        c.request("GET", "/name")
                        r = c.getresponse()
                        body = r.read()
                        if r.status != 200 or body not in (b"a", b"b"):
                            failures.append((r.status, body))
                    except Exception as e:  # noqa: BLE001 - any failure counts
                        failures.append(repr(e))
                        c = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                    done[0] += 1

            loaders = [threading.Thread(target=load) for _ in range(4)]
            for th in loaders:
                th.start()
            for i in range(20):
                reload(t, configs[(i + 1) % 2])  # the tunnels' server leaves and rejoins the config
                # one at a time: signals sent back to back may be delivered as one
                self.assertTrue(wait_for(lambda: t.logs().count(" reloaded ") == i + 1, 10), f"reload {i + 1}")
                time.sleep(0.05)
            wait_for(lambda: done[0] >= 1000, 15)  # the load spans the reloads and goes on a little
            stop.set()
            for th in loaders:
                th.join()
            node.stdin.write("check\n")
            node.stdin.flush()
            result = node.stdout.readline().split()
            self.assertEqual(result, ["ok", "1000", "0", "1000"], "every tunnel stays open and keeps working")
            self.assertEqual(failures, [])
            self.assertGreaterEqual(done[0], 1000)
        finally:
            node.kill()
            t.stop()
            a.stop()
            b.stop()


if __name__ == "__main__":
    unittest.main(verbosity=2)
