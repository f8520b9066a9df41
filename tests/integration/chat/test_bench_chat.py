"""`tether-bench chat`, the C++ Socket.IO load generator, counts what a user relies on.

Against a real tether-chat (pings every 300 ms, so the generator must answer them) and against
`tether-bench chat-sink`: 50 clients in 5 rooms, 2 generator threads, 3 s of load. Every message
must reach every member of its room (received == expected == sent x 10), every send is acked,
nothing fails or drops, latencies and the server's CPU are measured (> 0). A bad flag exits 2.
"""
import json
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))
from support.harness import free_port, wait_port  # noqa: E402

BUILD = os.environ.get("TETHER_BUILD_DIR", "build")
BENCH = os.path.join(BUILD, "bench", "tether-bench")
CHAT = os.path.join(BUILD, "backend", "tether-chat")


def check(cond, msg):
    if not cond:
        print("FAIL: " + msg)
        sys.exit(1)


def generate(port, pid, label):
    args = [BENCH, "chat", "--url", f"127.0.0.1:{port}", "--clients", "50", "--rooms", "5", "--rate", "4",
            "--size", "64", "--duration", "3", "--warmup", "0.5", "--threads", "2", "--pid", str(pid),
            "--label", label]
    p = subprocess.run(args, capture_output=True, text=True, timeout=60)
    print(p.stdout)
    print(p.stderr)
    check(p.returncode == 0, f"{label}: exit {p.returncode}")
    lines = [line for line in p.stdout.splitlines() if line.startswith("{")]
    check(len(lines) == 1, f"{label}: one JSON line")
    r = json.loads(lines[0])
    check(r["label"] == label, "the label is reported")
    check(r["joined"] == 50 and r["errors"] == 0 and r["disconnects"] == 0, f"{label}: all joined, no errors: {r}")
    check(r["sent"] > 400, f"{label}: about 50 x 4 msg/s x 3.5 s were sent: {r['sent']}")
    check(r["expected"] == r["sent"] * 10, f"{label}: every room has 10 members: {r['expected']} vs {r['sent']}")
    check(r["received"] == r["expected"] and r["missing"] == 0, f"{label}: every message reached every member: {r}")
    check(r["acked"] == r["sent"], f"{label}: every send acked: {r['acked']} of {r['sent']}")
    check(r["misrouted"] == 0, f"{label}: no delivery outside the sender's room")
    check(r["latencySamples"] > 0 and r["p50Ms"] > 0 and r["maxMs"] >= r["p99Ms"] >= r["p50Ms"],
          f"{label}: latencies measured: {r}")
    check(1500 < r["deliveriesPerSec"] < 2500, f"{label}: about 50 x 4 x 10 = 2000 deliveries/s: {r['deliveriesPerSec']}")
    check(r["serverCpuPerSec"] > 0 and r["rssUnderLoadMiB"] > 0, f"{label}: the server was sampled: {r}")
    check(len(r["genThreadCpuPerSec"]) == 2, f"{label}: CPU per generator thread")
    check("deliveries/s" in p.stdout and "p99" in p.stdout, f"{label}: the text report")


def main():
    port = free_port()
    chat = subprocess.Popen([CHAT, "--port", str(port), "--id", "bench", "--drain", "0", "--log-level", "warn",
                             "--ping-interval", "300ms", "--ping-timeout", "2000ms"])
    try:
        wait_port(port)
        generate(port, chat.pid, "tether-chat")
    finally:
        chat.send_signal(signal.SIGTERM)
        chat.wait(timeout=10)

    sink = subprocess.Popen([BENCH, "chat-sink", "--port", "0"], stdout=subprocess.PIPE, text=True)
    try:
        line = sink.stdout.readline()
        check(line.startswith("listening 127.0.0.1:"), f"chat-sink announces its port: {line!r}")
        generate(int(line.rsplit(":", 1)[1]), sink.pid, "chat-sink")
    finally:
        sink.send_signal(signal.SIGTERM)
        out, _ = sink.communicate(timeout=10)
    check(sink.returncode == 0 and "deliveries" in out, f"chat-sink exits 0 with its counts: {sink.returncode} {out}")

    p = subprocess.run([BENCH, "chat", "--url", "127.0.0.1:1", "--rooms", "0"], capture_output=True, text=True, timeout=10)
    check(p.returncode == 2 and "--rooms must be" in p.stderr, f"a bad flag exits 2: {p.returncode} {p.stderr}")
    p = subprocess.run([BENCH, "chat", "--url", "ws://10.1.2.3:80"], capture_output=True, text=True, timeout=10)
    check(p.returncode == 2, f"a non-loopback target is refused: {p.stderr}")
    print("ok")


if __name__ == "__main__":
    main()
