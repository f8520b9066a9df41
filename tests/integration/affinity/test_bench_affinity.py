"""`tether-bench affinity` as users run it, in the one binary.

Simulation: the nine rows with the documented figures' shape (round_robin breaks nearly every
polling session, every affinity layer none), the CSVs, exit 2 on a bad flag.

--e2e: real tether and two tether-chat instances on loopback, 60 clients from 60 source
addresses in 127.0.0.0/8, three strategies, a server removed and one added mid-run. round_robin
without affinity must break most polling sessions while sid and cookie break none; the CSV has one
row per strategy, named as given; bad flags and unknown strategies exit 2 with a clear message.
"""
import csv
import os
import shutil
import subprocess
import sys
import tempfile

BUILD = os.environ.get("TETHER_BUILD_DIR", "build")
BENCH = os.path.join(BUILD, "bench", "tether-bench")


def run(*args, timeout=120):
    p = subprocess.run([BENCH, "affinity", *args], capture_output=True, text=True, timeout=timeout)
    return p.returncode, p.stdout, p.stderr


def check(cond, msg):
    if not cond:
        print("FAIL: " + msg)
        sys.exit(1)


def rows(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def simulation(d):
    rc, out, err = run("--clients", "3000", "--nat-groups", "1000", "--servers", "4", "--picks", "20000",
                       "--out", d, "--no-plot")
    check(rc == 0, f"simulation exit {rc}: {err}")
    sim = {r["strategy"]: r for r in rows(os.path.join(d, "affinity_bench.csv"))}
    check(len(sim) == 9, f"nine simulation rows: {list(sim)}")
    check(float(sim["round_robin"]["broken_pct"]) > 90, "simulated round_robin breaks polling sessions")
    for name in ("ip_hash", "consistent_hash", "cookie(least_conn)", "sid+round_robin", "sid+consistent_hash+bounded"):
        check(float(sim[name]["broken_pct"]) == 0, f"simulated {name} breaks no session")
        check(name in out, f"{name} in the table")
    check(os.path.exists(os.path.join(d, "affinity_bench_skewed.csv")), "skewed CSV")
    rc, _, err = run("--bogus", "1")
    check(rc == 2 and "unknown flag --bogus" in err, f"bad simulation flag: {rc} {err}")


def e2e(d):
    plot = shutil.which("gnuplot") is not None
    args = ["--e2e", "--servers", "2", "--clients", "60", "--wave", "16",
            "--strategies", "round_robin,sid,cookie", "--out", d]
    if not plot:
        args.append("--no-plot")
    rc, out, err = run(*args)
    print(out)
    print(err)
    check(rc == 0, f"e2e exit {rc}")
    got = rows(os.path.join(d, "affinity_e2e.csv"))
    check([r["strategy"] for r in got] == ["round_robin", "sid", "cookie"], f"one row per strategy: {got}")
    by = {r["strategy"]: r for r in got}
    for r in got:
        check(int(r["sessions"]) == 180, f"{r['strategy']}: 3 x 60 sessions ran ({r['sessions']})")
        check(int(r["failed"]) == 0, f"{r['strategy']}: no failed session ({r['failed']})")
    # Two servers, 4 requests after the handshake: round_robin keeps a session only by luck.
    check(float(by["round_robin"]["broken_pct"]) >= 60, f"round_robin breaks polling sessions: {by['round_robin']}")
    check(float(by["round_robin"]["sim_broken_pct"]) >= 60, "the simulation predicts it")
    for name in ("sid", "cookie"):
        check(float(by[name]["broken_pct"]) == 0, f"{name} breaks no session while healthy: {by[name]}")
        check(float(by[name]["max_over_mean"]) < 1.5, f"{name} spreads sessions: {by[name]}")
        check(float(by[name]["handshake_p50_ms"]) > 0 and float(by[name]["upgrade_p50_ms"]) > 0, "latencies measured")
    # A cookie names its server: after a server is added, clients keep theirs.
    check(float(by["cookie"]["remap_add_pct"]) < 10, f"cookie clients stay when a server is added: {by['cookie']}")
    for name in ("round_robin", "sid", "cookie"):
        check(any(line.startswith(name + " ") for line in out.splitlines()), f"{name} row in the table")
    check("remap-rm%" in out and "broken%" in out and "max/mean" in out, "the simulation's column names")
    if plot:
        check(os.path.getsize(os.path.join(d, "affinity_e2e.png")) > 1000, "the plot")


def configs(d):
    """--configs: the user's own file, backends started on its servers' addresses."""
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
    from support.harness import free_port
    port, b1, b2 = free_port(), free_port(), free_port()
    path = os.path.join(d, "mine.yaml")
    with open(path, "w") as f:
        f.write(f"workers: 2\nlisteners:\n  - address: 127.0.0.1:{port}\nupstreams:\n  chat:\n"
                f"    strategy: round_robin\n    affinity: [sid]\n    servers:\n"
                f"      - {{address: 127.0.0.1:{b1}, name: left}}\n      - {{address: 127.0.0.1:{b2}, name: right}}\n")
    rc, out, err = run("--e2e", "--configs", path, "--clients", "40", "--out", d, "--no-plot")
    check(rc == 0, f"--configs exit {rc}: {err}")
    got = rows(os.path.join(d, "affinity_e2e.csv"))
    check([r["strategy"] for r in got] == [path], f"one row named by the path: {got}")
    check(int(got[0]["sessions"]) == 40 and float(got[0]["broken_pct"]) == 0, f"sid keeps sessions: {got[0]}")
    check(got[0]["sim_broken_pct"] != "", "round_robin + sid is modelled by the simulation")


def bad_flags():
    rc, _, err = run("--e2e", "--bogus")
    check(rc == 2 and "unknown flag '--bogus'" in err, f"unknown flag: {rc} {err}")
    rc, _, err = run("--e2e", "--strategies", "round_robin,nope")
    check(rc == 2 and "unknown strategy 'nope'" in err, f"unknown strategy: {rc} {err}")
    rc, _, err = run("--e2e", "--servers", "1")
    check(rc == 2 and "--servers" in err, f"one server: {rc} {err}")


def main():
    check(os.access(BENCH, os.X_OK), f"{BENCH} not built")
    with tempfile.TemporaryDirectory(prefix="tether-bench-test-") as d:
        simulation(d)
        e2e(d)
        configs(d)
    bad_flags()
    print("ok")


main()
