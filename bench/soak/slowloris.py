#!/usr/bin/env python3
"""Slow request heads against one loopback address, and what each connection got back.

Keeps CONNS connections open at once to 127.0.0.1:PORT. Each sends a request head one byte every
INTERVAL seconds and never finishes it ("GET / HTTP/1.1", a Host line, then an endless header
value). When the server answers or closes, the connection is recorded and a new one takes its
place, until SIGUSR1 (or --max-seconds); then no new connection is opened and the open ones are
awaited, each for at most TIMEOUT + TOLERANCE + 5 s after its first byte.

Per connection (appended to --csv, with --round in the first column) it records the outcome and
its time, measured from the moment its first byte was sent:
  408      the server's status line was "HTTP/1.x 408"
  status   another status line (the code is in the `status` column)
  closed   the server closed or reset the connection without a status line
  nothing  no answer and no close by the end of the wait
  connect  the connection could not be opened
and prints one summary line (of this run, or with --summarize of every row in --csv): counts per
outcome, how many 408s came within [TIMEOUT - 0.25 s, TIMEOUT + TOLERANCE] of the first byte, and
the 408s' min/median/max seconds.
"ready" is printed once every one of the first CONNS connections has sent its first byte.

Loopback only: the address is always 127.0.0.1.

Usage: slowloris.py --port P [--conns 1000] [--interval 2] [--ramp 2] [--timeout 10]
                    [--tolerance 1] [--max-seconds 300] [--csv FILE] [--round R]
       slowloris.py --summarize --csv FILE [--timeout 10] [--tolerance 1]
"""
import argparse
import asyncio
import csv
import os
import resource
import signal
import statistics
import sys
import time

FIELDS = ["round", "task", "seq", "opened_s", "outcome", "status", "seconds", "bytes_sent"]
HEAD = b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "


def head_byte(i):
    return HEAD[i:i + 1] if i < len(HEAD) else b"a"


class Slowloris:
    def __init__(self, args):
        self.a = args
        self.records = []
        self.stop = asyncio.Event()
        self.started = 0
        self.ready = asyncio.Event()
        self.t0 = time.monotonic()

    async def one(self, task, seq):
        a = self.a
        rec = {"task": task, "seq": seq, "opened_s": round(time.monotonic() - self.t0, 3),
               "outcome": "nothing", "status": "", "seconds": "", "bytes_sent": 0}
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection("127.0.0.1", a.port), 10)
        except (OSError, asyncio.TimeoutError) as e:
            rec["outcome"], rec["status"] = "connect", type(e).__name__
            self.records.append(rec)
            return
        first = None
        deadline = None
        got = b""
        try:
            while True:
                writer.write(head_byte(rec["bytes_sent"]))
                rec["bytes_sent"] += 1
                if first is None:
                    first = time.monotonic()
                    deadline = first + a.timeout + a.tolerance + 5
                    if seq == 0:
                        self.started += 1
                        if self.started == a.conns:
                            self.ready.set()
                next_byte = time.monotonic() + a.interval
                while True:
                    now = time.monotonic()
                    if now >= deadline:
                        raise asyncio.TimeoutError
                    wait = min(next_byte, deadline) - now
                    if wait <= 0:
                        break
                    try:
                        data = await asyncio.wait_for(reader.read(4096), wait)
                    except asyncio.TimeoutError:
                        if time.monotonic() >= deadline:
                            raise
                        break  # time for the next byte
                    elapsed = round(time.monotonic() - first, 3)
                    if not data and not got:
                        rec["outcome"], rec["seconds"] = "closed", elapsed
                        return
                    got += data
                    if not data or b"\r\n" in got or len(got) >= 12:
                        parts = got.split(b"\r\n", 1)[0].split()
                        code = parts[1].decode(errors="replace") if len(parts) > 1 else "?"
                        rec["outcome"] = "408" if code == "408" else "status"
                        rec["status"], rec["seconds"] = code, elapsed
                        return
        except asyncio.TimeoutError:
            rec["outcome"] = "nothing"
        except (ConnectionResetError, BrokenPipeError, OSError):
            rec["outcome"], rec["seconds"] = "closed", round(time.monotonic() - (first or time.monotonic()), 3)
        finally:
            self.records.append(rec)
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass

    async def task(self, task):
        await asyncio.sleep(task * self.a.ramp / self.a.conns)
        seq = 0
        while True:
            await self.one(task, seq)
            seq += 1
            if self.stop.is_set():
                return
            if self.records[-1]["outcome"] == "connect":
                await asyncio.sleep(0.1)

    async def run(self):
        loop = asyncio.get_running_loop()
        loop.add_signal_handler(signal.SIGUSR1, self.stop.set)
        loop.add_signal_handler(signal.SIGTERM, self.stop.set)
        loop.call_later(self.a.max_seconds, self.stop.set)
        tasks = [asyncio.create_task(self.task(i)) for i in range(self.a.conns)]

        async def announce():
            await self.ready.wait()
            print("ready", flush=True)
        ann = asyncio.create_task(announce())
        await asyncio.gather(*tasks)
        ann.cancel()


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--port", type=int)
    p.add_argument("--conns", type=int, default=1000)
    p.add_argument("--interval", type=float, default=2.0, help="seconds between two bytes")
    p.add_argument("--ramp", type=float, default=2.0, help="seconds over which the first connections open")
    p.add_argument("--timeout", type=float, default=10.0, help="the server's client_header timeout")
    p.add_argument("--tolerance", type=float, default=1.0)
    p.add_argument("--max-seconds", type=float, default=300.0)
    p.add_argument("--csv", help="append one row per connection to this file")
    p.add_argument("--round", default="1", help="the value of the CSV's round column")
    p.add_argument("--summarize", action="store_true", help="only print the summary of the rows in --csv")
    a = p.parse_args()
    if a.summarize != (a.port is None) or (a.summarize and not a.csv):
        p.error("either --port P (run) or --summarize --csv FILE")

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = a.conns + 64
    if soft < need:
        soft = min(hard, max(need, soft)) if hard != resource.RLIM_INFINITY else need
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    if soft < need:
        sys.exit(f"slowloris: RLIMIT_NOFILE {soft} (hard {hard}) is below the {need} descriptors {a.conns} connections need")

    if not a.summarize:
        s = Slowloris(a)
        asyncio.run(s.run())
        for r in s.records:
            r["round"] = a.round
        if a.csv:
            new = not os.path.exists(a.csv) or os.path.getsize(a.csv) == 0
            with open(a.csv, "a", newline="") as f:
                w = csv.DictWriter(f, fieldnames=FIELDS)
                if new:
                    w.writeheader()
                w.writerows(s.records)
        recs = s.records
    else:
        with open(a.csv, newline="") as f:
            recs = list(csv.DictReader(f))
        for r in recs:
            r["seconds"] = float(r["seconds"]) if r["seconds"] else ""
    summarize(recs, a)


def summarize(recs, a):
    count = {k: sum(1 for r in recs if r["outcome"] == k) for k in ("408", "status", "closed", "nothing", "connect")}
    t408 = sorted(r["seconds"] for r in recs if r["outcome"] == "408")
    in_time = sum(1 for t in t408 if a.timeout - 0.25 <= t <= a.timeout + a.tolerance)
    stats = (f"min={t408[0]:.3f} median={statistics.median(t408):.3f} max={t408[-1]:.3f}" if t408 else "min=- median=- max=-")
    print(f"connections={len(recs)} got_408={count['408']} in_time={in_time} other_status={count['status']} "
          f"closed={count['closed']} nothing={count['nothing']} connect_failed={count['connect']} "
          f"window=[{a.timeout - 0.25:g},{a.timeout + a.tolerance:g}]s seconds_408: {stats}", flush=True)

if __name__ == "__main__":
    main()
