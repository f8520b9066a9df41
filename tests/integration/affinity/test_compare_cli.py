"""`tether -t -c new.yaml --compare-with old.yaml`: the affinity change preview prints the share of
keys that move per hashing/cookie upstream and the load spread before and after; bad uses fail."""
import os
import subprocess
import tempfile

from affinity_support import *  # noqa: F403
from support.harness import TETHER_BIN


def config(strategy, servers, extra=""):
    lines = ["listeners:", "  - address: 127.0.0.1:18080", "upstreams:", "  app:", f"    strategy: {strategy}"]
    lines += ["    " + l for l in extra.split("\n") if l]
    lines.append("    servers:")
    lines += [f"      - {{address: 127.0.0.1:{9000 + i}, name: s{i}}}" for i in range(servers)]
    lines += ["  chat:", "    strategy: round_robin", "    servers: [127.0.0.1:9100]",
              "routes:", "  - {path_prefix: /chat, upstream: chat}", "  - {upstream: app}"]
    return "\n".join(lines) + "\n"


def run(*args):
    p = subprocess.run([TETHER_BIN, *args], capture_output=True, text=True, timeout=60)
    return p.returncode, p.stdout + p.stderr


def main():
    with tempfile.TemporaryDirectory() as d:
        def write(name, text):
            path = os.path.join(d, name)
            with open(path, "w") as f:
                f.write(text)
            return path
        old = write("old.yaml", config("consistent_hash", 10, "hash_key: [header:x-user]"))
        new = write("new.yaml", config("consistent_hash", 9, "hash_key: [header:x-user]"))
        rc, out = run("-t", "-c", new, "--compare-with", old)
        check(rc == 0, out)
        line = next((l for l in out.splitlines() if l.startswith("upstream app")), "")
        share = float(line.split("): ")[1].split("%")[0])
        check(8.0 < share < 11.0, f"removing 1 of 10 should move ~10%: {line}")
        check("load max/mean" in line and "(10 servers) ->" in line and "(9 servers)" in line, line)
        check("upstream chat: skipped" in out, out)
        keys = write("keys.txt", "\n".join(f"user-{i}" for i in range(1000)) + "\n")
        rc, out = run("-t", "-c", new, "--compare-with", old, "--keys", keys)
        check(rc == 0 and "of 1000 keys move" in out, out)
        rc, out = run("-c", new, "--compare-with", old)
        check(rc == 1 and "need -t" in out, out)
        bad = write("bad.yaml", "listeners: []\n")
        rc, out = run("-t", "-c", new, "--compare-with", bad)
        check(rc == 1 and "bad.yaml:" in out, out)
    print("ok")


main()
