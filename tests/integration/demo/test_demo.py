"""scripts/demo end to end: with TETHER_DEMO_SKIP_SETUP=1 and free loopback ports it starts Redis,
a 3-instance tether-chat fleet and tether from $TETHER_BUILD_DIR, prints its URLs; the chat page
through tether names an instance of the fleet (cookie-sticky, spread without a cookie), Engine.IO
polling without cookies stays on one instance (sid affinity), every instance's /health and the
admin /metrics answer; SIGINT stops everything (exit 0, no process left, ports closed, temp dir
removed). Three node socket.io clients through tether (polling, polling->websocket, websocket),
one per instance, share a room: a message from one reaches the two others (Redis bus). A busy
port makes it fail at once.
"""
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.request

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.harness import alive, free_port, free_port_run  # noqa: E402

SOURCE = os.environ.get("TETHER_SOURCE_DIR") or os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".."))
DEMO = os.path.join(SOURCE, "scripts", "demo")
BUILD = os.environ.get("TETHER_BUILD_DIR") or os.path.join(SOURCE, "build")
READY_TIMEOUT = 30.0


def answers(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
        return True
    except OSError:
        return False


def get(url, headers=None, data=None, timeout=5):
    req = urllib.request.Request(url, data=data, headers=headers or {})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return r.status, r.read().decode(), r.headers


# Three clients (one per transport mix) join one room through tether; the first sends, the others
# must receive it. Prints the instances and exits 0 on success.
CROSS_JS = r"""
const { io } = require("socket.io-client");
const url = process.argv[2];
const mk = (tr) => new Promise((res, rej) => {
  const s = io(url, { transports: tr, forceNew: true, reconnection: false });
  s.on("connect_error", (e) => rej(e));
  s.on("disconnect", (r) => { console.log("disconnect", r); process.exit(2); });
  s.on("hello", (h) => { s.server = h.server; s.emit("join", "demo-test", () => res(s)); });
});
(async () => {
  const a = await mk(["polling"]), b = await mk(["polling", "websocket"]), c = await mk(["websocket"]);
  console.log("servers", a.server, b.server, c.server);
  let got = 0;
  for (const s of [b, c]) s.on("message", (m) => { if (m.text === "hi" && ++got === 2) { console.log("delivered"); process.exit(0); } });
  setTimeout(() => a.emit("message", { room: "demo-test", text: "hi" }), 300);
})().catch((e) => { console.log("error", e.message); process.exit(3); });
setTimeout(() => { console.log("timeout"); process.exit(4); }, 10000);
"""


def instance_id(page):
    m = re.search(r"Instance ([^<\s\"]+)", page)
    return m.group(1) if m else None


class Demo(unittest.TestCase):
    def setUp(self):
        for b in ("proxy/tether", "backend/tether-chat"):
            self.assertTrue(os.access(os.path.join(BUILD, b), os.X_OK), f"{BUILD}/{b} must be built (TETHER_BUILD_DIR)")
        self.ports = {"DEMO_PORT": free_port(), "DEMO_ADMIN_PORT": free_port(), "DEMO_REDIS_PORT": free_port(),
                      "DEMO_CHAT_PORT": free_port_run(3)}
        while len({self.ports["DEMO_PORT"], self.ports["DEMO_ADMIN_PORT"], self.ports["DEMO_REDIS_PORT"]}
                  | {self.ports["DEMO_CHAT_PORT"] + i for i in range(3)}) != 6:
            self.ports["DEMO_REDIS_PORT"] = free_port()
        self.env = dict(os.environ, TETHER_DEMO_SKIP_SETUP="1", TETHER_BUILD_DIR=BUILD, DEMO_WAIT="20",
                        **{k: str(v) for k, v in self.ports.items()})
        self.env.pop("DEMO_KEEP_DIR", None)

    def start(self):
        self.proc = subprocess.Popen(["bash", DEMO], env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                     text=True, cwd=SOURCE)
        self.lines = []
        self.reader = threading.Thread(target=lambda: self.lines.extend(iter(self.proc.stdout.readline, "")), daemon=True)
        self.reader.start()

    def output(self):
        return "".join(self.lines)

    def wait_line(self, pattern, timeout):
        deadline = time.time() + timeout
        while time.time() < deadline:
            m = re.search(pattern, self.output())
            if m:
                return m
            if self.proc.poll() is not None:
                time.sleep(0.2)  # let the reader finish
                self.fail(f"scripts/demo exited {self.proc.returncode} before printing {pattern!r}:\n{self.output()}")
            time.sleep(0.1)
        self.fail(f"no {pattern!r} within {timeout}s:\n{self.output()}")

    def test_stack_serves_and_stops_cleanly_on_sigint(self):
        self.start()
        pids = []
        try:
            chat_url = self.wait_line(r"chat page \(through tether\): (http://\S+)", READY_TIMEOUT).group(1)
            out = self.output()
            metrics_url = re.search(r"tether metrics: +(http://\S+)", out).group(1)
            instance_metrics = re.findall(r"instance s\d metrics: +(http://\S+)", out)
            tmpdir = re.search(r"logs in (\S+)", out).group(1)
            pids = [int(p) for p in re.findall(r"\(pid (\d+)\)", out)]
            self.assertEqual(len(pids), 3, out)  # redis-server, fleet supervisor, tether
            fleet_pid = pids[1]
            children = subprocess.run(["pgrep", "-P", str(fleet_pid)], capture_output=True, text=True).stdout.split()
            self.assertEqual(len(children), 3, "the fleet runs 3 instances")
            pids += [int(c) for c in children]

            p = self.ports
            chat_ports = [p["DEMO_CHAT_PORT"] + i for i in range(3)]
            self.assertEqual(chat_url, f"http://127.0.0.1:{p['DEMO_PORT']}/")
            self.assertEqual(metrics_url, f"http://127.0.0.1:{p['DEMO_ADMIN_PORT']}/metrics")
            self.assertEqual(instance_metrics, [f"http://127.0.0.1:{cp}/metrics" for cp in chat_ports])

            ids = set()
            for cp in chat_ports:
                status, body, _ = get(f"http://127.0.0.1:{cp}/health")
                self.assertEqual((status, body), (200, "ok"))
                status, body, _ = get(f"http://127.0.0.1:{cp}/metrics")
                self.assertEqual(status, 200)
                self.assertIn("tether_chat_connections", body)
                ids.add(instance_id(get(f"http://127.0.0.1:{cp}/")[1]))
            self.assertEqual(len(ids), 3, ids)

            seen, cookie = [], None
            for _ in range(6):  # no cookie sent: tether spreads new clients
                status, page, headers = get(chat_url)
                self.assertEqual(status, 200)
                self.assertIn(instance_id(page), ids, page[:300])
                seen.append(instance_id(page))
                cookie = cookie or headers.get("Set-Cookie", "").split(";")[0]
            self.assertGreaterEqual(len(set(seen)), 2, f"pages through tether all from one instance: {seen}")
            self.assertTrue(cookie.startswith("tether_sid="), cookie)
            pinned = {instance_id(get(chat_url, {"Cookie": cookie})[1]) for _ in range(4)}
            self.assertEqual(len(pinned), 1, f"cookie affinity: {pinned}")

            # Engine.IO long-polling without cookies (as node clients do): the sid pins the session.
            eio = f"{chat_url}socket.io/?EIO=4&transport=polling"
            for _ in range(3):
                status, body, _ = get(eio)
                self.assertEqual(status, 200)
                sid = re.search(r'"sid":"([^"]+)"', body).group(1)
                status, body, _ = get(f"{eio}&sid={sid}", {"Content-Type": "text/plain;charset=UTF-8"}, b"40")
                self.assertEqual((status, body), (200, "ok"))
                status, body, _ = get(f"{eio}&sid={sid}")
                self.assertEqual(status, 200)
                self.assertTrue(body.startswith("40"), body)

            # Messages cross instances (Redis bus) through tether, for every transport mix.
            node = shutil.which("node")
            self.assertIsNotNone(node, "node is needed (scripts/install-deps)")
            with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False) as f:
                f.write(CROSS_JS)
            try:
                r = subprocess.run([node, f.name, chat_url], capture_output=True, text=True, timeout=20,
                                   env=dict(os.environ, NODE_PATH=os.environ.get(
                                       "NODE_PATH", os.path.join(SOURCE, "tests", "node", "node_modules"))))
            finally:
                os.unlink(f.name)
            self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
            self.assertIn("delivered", r.stdout)
            self.assertGreaterEqual(len(set(r.stdout.split("servers ")[1].split("\n")[0].split())), 2,
                             f"clients on at least two instances: {r.stdout}")

            status, body, _ = get(metrics_url)
            self.assertEqual(status, 200)
            self.assertIn('tether_server_up{server="s1",upstream="chat"} 1', body)
            self.assertIn("tether_requests_total", body)

            self.proc.send_signal(signal.SIGINT)
            self.assertEqual(self.proc.wait(40), 0, self.output())
            self.reader.join(5)
            self.assertIn("demo: stopped", self.output())
            deadline = time.time() + 5
            while time.time() < deadline and any(alive(x) for x in pids):
                time.sleep(0.1)
            self.assertEqual([x for x in pids if alive(x)], [], "processes left behind")
            for port in [p["DEMO_PORT"], p["DEMO_ADMIN_PORT"], p["DEMO_REDIS_PORT"], *chat_ports]:
                self.assertFalse(answers(port), f"port {port} still answers")
            self.assertFalse(os.path.exists(tmpdir), f"{tmpdir} not removed")
        finally:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(30)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
            for x in pids:
                if alive(x):
                    os.kill(x, signal.SIGKILL)
            self.proc.stdout.close()

    def test_busy_port_fails_at_once(self):
        with socket.socket() as s:
            s.bind(("127.0.0.1", self.ports["DEMO_ADMIN_PORT"]))
            s.listen()
            t0 = time.time()
            p = subprocess.run(["bash", DEMO], env=self.env, capture_output=True, text=True, timeout=20)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertLess(time.time() - t0, 5)
        self.assertIn(f"port {self.ports['DEMO_ADMIN_PORT']} is already in use", p.stderr)


if __name__ == "__main__":
    unittest.main(verbosity=2)
