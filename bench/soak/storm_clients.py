#!/usr/bin/env python3
"""Clients, sampler and report of the reconnect-storm benchmark (bench/soak/reconnect_storm.sh).

  storm_clients.py clients --role well|aggressive ...   simulated Socket.IO polling clients
  storm_clients.py monitor ...                          once a second: tether /metrics, /proc CPU+RSS
  storm_clients.py report DIR                           per-phase tables of the OFF and ON runs, PASS/FAIL

Clients speak Engine.IO 4 / Socket.IO 5 over HTTP long-polling to a tether listener with
`proxy_protocol: true`, on 127.0.0.1 only. Every connection starts with a PROXY v1 header naming
the client's own source address, taken from 198.18.0.0/15 (RFC 2544's range for benchmarks): those
addresses only appear inside the header, nothing is ever sent to them.

A client (both roles) does what socket.io-client does on the polling transport:
  GET  /socket.io/?EIO=4&transport=polling                handshake (open packet, sid)
  POST ...&sid=SID  "40"                                  Socket.IO CONNECT to "/"
  GET  ...&sid=SID                                        long-poll, held by the server
then every 1.5-2.5 s  POST "42N["rooms"]"  (an event with an ack; the ack comes back on the held
GET: its round trip is the "ack" latency), answers pings ("2" -> POST "3"), and after an
exponentially distributed lifetime (mean --lifetime s; page reloads) sends "1" and reconnects.
Two keep-alive connections per client (one for the held GET, one for POSTs), like a browser.

On a failure (connection error, any non-200 answer, an ack not back within 10 s, "Session ID
unknown" after its instance died) a well-behaved client reconnects after socket.io-client's
backoff: 1 s base, factor 2, max 5 s, jitter 0.5, reset once connected. An aggressive client instead
hammers for --hammer-seconds: --parallel connections at once, each sending handshake + CONNECT
back to back in a tight loop, abandoning each session (a client stuck in a reconnect loop), retrying
at once after any error or 429; then it behaves again.

Output: one JSON line per wall-clock second (counts by request kind and status, latencies in ms,
handshakes by answering instance from X-Served-By, the event loop's worst lag).
"""
import argparse
import asyncio
import json
import math
import os
import random
import signal
import sys
import time
import urllib.request

PATH = "/socket.io/"
REQ_TIMEOUT = 10.0     # any request that is not a held poll
POLL_TIMEOUT = 60.0    # a held GET (the server answers within pingInterval)
ACK_TIMEOUT = 10.0


def client_ip(i):
    n = i + 1
    return f"198.{18 + (n >> 16)}.{(n >> 8) & 255}.{n & 255}"


def is_aggressive(i, fraction):
    # Deterministic and spread evenly over the client indices (so over the instances too).
    return (i * 7919) % 1000 < int(round(fraction * 1000))


# ---------------------------------------------------------------- statistics, one bucket a second

class Stats:
    def __init__(self, path, role):
        self.f = open(path, "w", buffering=1)
        self.role = role
        self.sec = int(time.time())
        self._new()

    def _new(self):
        self.counts = {}
        self.lat = {"hs": [], "connect": [], "ack": [], "post": []}
        self.hs_by = {}
        self.lag = 0.0

    def count(self, key, n=1):
        self._roll()
        self.counts[key] = self.counts.get(key, 0) + n

    def latency(self, kind, seconds):
        self._roll()
        self.lat[kind].append(round(seconds * 1000.0, 2))

    def served(self, server):
        self._roll()
        self.hs_by[server] = self.hs_by.get(server, 0) + 1

    def lagged(self, seconds):
        self._roll()
        self.lag = max(self.lag, seconds * 1000.0)

    def _roll(self):
        now = int(time.time())
        if now != self.sec:
            self.flush()
            self.sec = now

    def flush(self):
        rec = {"t": self.sec, "role": self.role, "n": self.counts, "lat": self.lat,
               "hs_by": self.hs_by, "lag_ms": round(self.lag, 1)}
        self.f.write(json.dumps(rec, separators=(",", ":")) + "\n")
        self._new()


# ---------------------------------------------------------------- a minimal HTTP/1.1 client

class Closed(Exception):
    pass


class Conn(asyncio.Protocol):
    """One keep-alive connection; one request at a time. Responses that arrive before a request
    is sent (tether's 429 at accept time) are kept and answer the next request."""

    def __init__(self):
        self.transport = None
        self.buf = b""
        self.ready = []          # parsed responses not yet taken
        self.waiter = None
        self.closed = False

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buf += data
        while True:
            r = self._parse()
            if r is None:
                break
            self.ready.append(r)
        if self.ready and self.waiter and not self.waiter.done():
            self.waiter.set_result(None)

    def connection_lost(self, exc):
        self.closed = True
        if self.waiter and not self.waiter.done():
            self.waiter.set_result(None)

    def _parse(self):
        end = self.buf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = self.buf[:end].decode("latin-1").split("\r\n")
        try:
            status = int(head[0].split(" ", 2)[1])
        except (IndexError, ValueError):
            self.buf = b""
            self.close()
            return None
        hdr = {}
        for line in head[1:]:
            k, _, v = line.partition(":")
            hdr[k.strip().lower()] = v.strip()
        pos = end + 4
        if "content-length" in hdr:
            n = int(hdr["content-length"])
            if len(self.buf) < pos + n:
                return None
            body = self.buf[pos:pos + n]
            self.buf = self.buf[pos + n:]
        elif hdr.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            p = pos
            while True:
                e = self.buf.find(b"\r\n", p)
                if e < 0:
                    return None
                size = int(self.buf[p:e].split(b";")[0], 16)
                if len(self.buf) < e + 2 + size + 2:
                    return None
                body += self.buf[e + 2:e + 2 + size]
                p = e + 2 + size + 2
                if size == 0:
                    break
            self.buf = self.buf[p:]
        else:
            body = self.buf[pos:]
            self.buf = b""
        if hdr.get("connection", "").lower() == "close":
            self.closed = True   # no further request on it; the peer closes
        return status, hdr, body

    async def request(self, method, target, body=b"", timeout=REQ_TIMEOUT):
        if not self.ready:
            if self.closed or self.transport.is_closing():
                raise Closed()
            head = f"{method} {target} HTTP/1.1\r\nHost: chat.bench\r\n"
            if method == "POST":
                head += f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {len(body)}\r\n"
            self.transport.write(head.encode() + b"\r\n" + body)
        while not self.ready:
            if self.closed:
                raise Closed()
            self.waiter = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(self.waiter, timeout)
            except asyncio.TimeoutError:
                self.close()
                raise
            finally:
                self.waiter = None
        return self.ready.pop(0)

    def close(self):
        self.closed = True
        if self.transport and not self.transport.is_closing():
            self.transport.close()


async def connect(host, port, src_ip):
    loop = asyncio.get_running_loop()
    transport, conn = await asyncio.wait_for(loop.create_connection(Conn, host, port), REQ_TIMEOUT)
    sport = 1024 + (hash(src_ip) & 0x7FFF) + random.randrange(16384)
    transport.write(f"PROXY TCP4 {src_ip} 127.0.0.1 {sport} {port}\r\n".encode())
    return conn


# ---------------------------------------------------------------- the clients

class Ended(Exception):
    """A session ended on purpose (lifetime over, or stop)."""


class Failed(Exception):
    pass


def status_key(kind, status):
    return f"{kind}_{status}"


class Client:
    def __init__(self, i, args, stats, stop):
        self.i = i
        self.args = args
        self.stats = stats
        self.stop = stop
        self.ip = client_ip(i)
        self.rng = random.Random(args.seed * 1_000_003 + i)
        self.attempts = 0
        self.aggressive = args.role == "aggressive"

    def backoff(self):
        # socket.io-client's Backoff: ms * factor^attempts, +-jitter, capped at max.
        ms = 1000.0 * (2 ** self.attempts)
        rand = self.rng.random()
        deviation = math.floor(rand * 0.5 * ms)
        ms = ms - deviation if (math.floor(rand * 10) & 1) == 0 else ms + deviation
        self.attempts += 1
        return min(ms, 5000.0) / 1000.0

    async def run(self):
        await self.sleep(self.args.start + self.args.ramp * self.rng.random() - time.time())
        while not self.stop.is_set():
            try:
                await self.session()
            except Ended:
                self.attempts = 0
                await self.sleep(0.5 + self.rng.random())       # a page reload
                continue
            except Failed:
                pass
            if self.stop.is_set():
                break
            if self.aggressive:
                await self.hammer()
            else:
                await self.sleep(self.backoff())

    async def sleep(self, s):
        if s <= 0:
            return
        try:
            await asyncio.wait_for(self.stop.wait(), s)
        except asyncio.TimeoutError:
            pass

    async def timed(self, conn, kind, method, target, body=b"", timeout=REQ_TIMEOUT, lat=None):
        t0 = time.perf_counter()
        try:
            status, hdr, resp = await conn.request(method, target, body, timeout)
        except asyncio.TimeoutError:
            self.stats.count(status_key(kind, "timeout"))
            raise Failed()
        except (Closed, OSError):
            self.stats.count(status_key(kind, "err"))
            raise Failed()
        self.stats.count(status_key(kind, status))
        if lat and status == 200:
            self.stats.latency(lat, time.perf_counter() - t0)
        if status != 200:
            raise Failed()
        return hdr, resp

    async def open(self, kind):
        try:
            return await connect(self.args.host, self.args.port, self.ip)
        except (OSError, asyncio.TimeoutError):
            self.stats.count(status_key(kind, "connerr"))
            raise Failed()

    async def session(self):
        a = self.args
        get_c = post_c = None
        tasks = []
        try:
            get_c = await self.open("hs")
            hdr, body = await self.timed(get_c, "hs", "GET", f"{PATH}?EIO=4&transport=polling", lat="hs")
            if not body.startswith(b"0{"):
                self.stats.count("hs_badbody")
                raise Failed()
            sid = json.loads(body[1:])["sid"]
            self.stats.served(hdr.get("x-served-by", "?"))
            q = f"{PATH}?EIO=4&transport=polling&sid={sid}"
            post_c = await self.open("connect")
            await self.timed(post_c, "connect", "POST", q, b"40", lat="connect")
            self.post_lock = asyncio.Lock()
            self.acks = {}
            self.failure = asyncio.get_running_loop().create_future()
            self.ending = False
            tasks.append(asyncio.ensure_future(self.poller(get_c, post_c, q)))
            tasks.append(asyncio.ensure_future(self.emitter(post_c, q)))
            lifetime = self.rng.expovariate(1.0 / a.lifetime)
            stop_wait = asyncio.ensure_future(self.stop.wait())
            tasks.append(stop_wait)
            done, _ = await asyncio.wait([self.failure, stop_wait], timeout=lifetime,
                                         return_when=asyncio.FIRST_COMPLETED)
            if self.failure in done:
                raise Failed()
            # lifetime over (or stop): leave like a closing tab, with a close packet
            self.ending = True
            self.stats.count("session_end")
            try:
                async with self.post_lock:
                    await asyncio.wait_for(post_c.request("POST", q, b"1"), 2.0)
            except (Closed, OSError, asyncio.TimeoutError):
                pass
            raise Ended()
        finally:
            for t in tasks:
                t.cancel()
            for c in (get_c, post_c):
                if c:
                    c.close()

    def fail(self, why):
        if not self.failure.done() and not self.ending:
            self.stats.count("fail_" + why)
            self.failure.set_result(why)

    async def post(self, post_c, q, payload, kind):
        async with self.post_lock:
            await self.timed(post_c, kind, "POST", q, payload, lat="post")

    async def poller(self, get_c, post_c, q):
        first = True
        try:
            while True:
                kind = "poll1" if first else "poll"
                _, body = await self.timed(get_c, kind, "GET", q,
                                           timeout=REQ_TIMEOUT if first else POLL_TIMEOUT)
                for pkt in body.split(b"\x1e"):
                    if pkt == b"2":
                        await self.post(post_c, q, b"3", "pong")
                    elif pkt.startswith(b"43"):            # Socket.IO ack
                        j = pkt.find(b"[")
                        fut = self.acks.pop(int(pkt[2:j]), None)
                        if fut and not fut.done():
                            fut.set_result(time.perf_counter())
                    elif pkt.startswith(b"40"):
                        if first:
                            self.attempts = 0             # connected: the backoff resets
                            self.stats.count("connected")
                    elif pkt.startswith(b"44") or pkt.startswith(b"41") or pkt == b"1":
                        self.fail("closed_by_server")
                        return
                first = False
        except Failed:
            self.fail("poll")

    async def emitter(self, post_c, q):
        ack_id = 0
        try:
            while True:
                await asyncio.sleep(1.5 + self.rng.random())
                ack_id += 1
                fut = asyncio.get_running_loop().create_future()
                self.acks[ack_id] = fut
                t0 = time.perf_counter()
                await self.post(post_c, q, b'42%d["rooms"]' % ack_id, "emit")
                try:
                    t1 = await asyncio.wait_for(fut, ACK_TIMEOUT)
                except asyncio.TimeoutError:
                    self.stats.count("ack_timeout")
                    self.fail("ack_timeout")
                    return
                self.stats.latency("ack", t1 - t0)
        except Failed:
            self.fail("post")

    async def hammer(self):
        self.stats.count("hammer_start")
        until = time.monotonic() + self.args.hammer_seconds
        await asyncio.gather(*(self.hammer_loop(until) for _ in range(self.args.parallel)))

    async def hammer_loop(self, until):
        conn = None
        target = f"{PATH}?EIO=4&transport=polling"
        while time.monotonic() < until and not self.stop.is_set():
            try:
                if conn is None or conn.closed:
                    if conn:
                        conn.close()
                    conn = await self.open("hhs")
                hdr, body = await self.timed(conn, "hhs", "GET", target)
                sid = json.loads(body[1:])["sid"]
                await self.timed(conn, "hconnect", "POST",
                                 f"{PATH}?EIO=4&transport=polling&sid={sid}", b"40")
            except (Failed, ValueError, KeyError):
                if conn:
                    conn.close()
                conn = None
                await asyncio.sleep(0)          # retry at once
        if conn:
            conn.close()


async def lag_probe(stats, stop):
    while not stop.is_set():
        t0 = time.perf_counter()
        await asyncio.sleep(0.05)
        stats.lagged(time.perf_counter() - t0 - 0.05)


async def clients_main(args):
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for s in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(s, stop.set)
    if args.go_file:
        # Say we are up, then wait for the start and end times: a slow start-up of this process
        # on a busy machine must not eat into the ramp.
        with open(f"{args.go_file}.{args.role}.ready", "w") as f:
            f.write(str(os.getpid()))
        while not os.path.exists(args.go_file):
            await asyncio.sleep(0.05)
        with open(args.go_file) as f:
            args.start, args.end = (float(x) for x in f.read().split())
    loop.call_later(max(0.0, args.end - time.time()), stop.set)
    stats = Stats(args.out, args.role)
    want_aggr = args.role == "aggressive"
    ids = [i for i in range(args.clients) if is_aggressive(i, args.aggressive) == want_aggr]
    tasks = [asyncio.ensure_future(Client(i, args, stats, stop).run()) for i in ids]
    tasks.append(asyncio.ensure_future(lag_probe(stats, stop)))
    await stop.wait()
    await asyncio.wait(tasks, timeout=3)
    for t in tasks:
        t.cancel()
    stats.flush()


# ---------------------------------------------------------------- the sampler

def read_proc(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            parts = f.read().rsplit(")", 1)[1].split()
        ticks = int(parts[11]) + int(parts[12])          # utime + stime
        rss_kib = int(parts[21]) * os.sysconf("SC_PAGE_SIZE") // 1024
        return ticks, rss_kib
    except (OSError, IndexError, ValueError):
        return None


def scrape_gauge(url, name):
    try:
        with urllib.request.urlopen(url, timeout=0.8) as r:
            for line in r.read().decode().splitlines():
                if line.startswith(name + " "):
                    return float(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return None


def scrape(url):
    out = {}
    try:
        with urllib.request.urlopen(url, timeout=0.8) as r:
            text = r.read().decode()
    except OSError:
        return None
    for line in text.splitlines():
        if line.startswith("tether_requests_total{") or line.startswith("tether_server_up{"):
            name, _, rest = line.partition("{")
            labels, _, value = rest.rpartition("} ")
            lab = dict(kv.split("=", 1) for kv in labels.split(","))
            lab = {k: v.strip('"') for k, v in lab.items()}
            if name == "tether_requests_total":
                key = f"req/{lab['upstream']}/{lab['server']}/{lab['code']}"
            else:
                key = f"up/{lab['server']}"
            out[key] = float(value)
    return out


def monitor_main(args):
    hz = os.sysconf("SC_CLK_TCK")
    procs = dict(p.split("=", 1) for p in args.pidfile)
    backends = dict(p.split("=", 1) for p in args.backend)
    stop = []
    signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
    deadline = time.time() + args.duration
    with open(args.out, "w", buffering=1) as f:
        next_t = math.floor(time.time()) + 1
        while not stop and time.time() < deadline:
            time.sleep(max(0.0, next_t - time.time()))
            rec = {"t": next_t, "ts": time.time(), "hz": hz, "proc": {}}
            for name, path in procs.items():
                try:
                    with open(path) as pf:
                        pid = int(pf.read().split()[0])
                except (OSError, ValueError, IndexError):
                    continue
                v = read_proc(pid)
                if v:
                    rec["proc"][name] = {"pid": pid, "ticks": v[0], "rss_kib": v[1]}
            m = scrape(args.metrics)
            if m is not None:
                rec["metrics"] = m
            rec["sessions"] = {}
            for name, url in backends.items():
                v = scrape_gauge(url, "tether_chat_connections")
                if v is not None:
                    rec["sessions"][name] = v
            with open("/proc/loadavg") as lf:
                rec["load1"] = float(lf.read().split()[0])
            with open("/proc/stat") as sf:
                c = [int(x) for x in sf.readline().split()[1:]]
            # machine-wide: busy = everything but idle and iowait; nice = niced user time
            rec["cpu_busy"], rec["cpu_nice"] = sum(c) - c[3] - c[4], c[1]
            f.write(json.dumps(rec, separators=(",", ":")) + "\n")
            next_t += 1


# ---------------------------------------------------------------- the report

def pct(xs, p):
    if not xs:
        return float("nan")
    xs = sorted(xs)
    k = min(len(xs) - 1, max(0, int(math.ceil(p / 100.0 * len(xs))) - 1))
    return xs[k]


def load_jsonl(path):
    out = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                line = line.strip()
                if line:
                    try:
                        out.append(json.loads(line))
                    except ValueError:
                        pass
    return out


def load_run(d):
    phases = []
    meta = {}
    with open(os.path.join(d, "phases.txt")) as f:
        for line in f:
            p = line.split()
            if len(p) == 3 and p[0] not in ("meta",):
                phases.append((p[0], float(p[1]), float(p[2])))
            elif p and p[0] == "meta":
                meta[p[1]] = " ".join(p[2:])
    return {"phases": phases, "meta": meta,
            "mon": load_jsonl(os.path.join(d, "monitor.jsonl")),
            "well": load_jsonl(os.path.join(d, "clients-well.jsonl")),
            "aggr": load_jsonl(os.path.join(d, "clients-aggressive.jsonl"))}


def in_phase(t, ph):
    return ph[1] <= t < ph[2]


def phase_stats(run, ph, survivors, killed):
    res = {}
    mon = [m for m in run["mon"]]
    # per-second deltas from consecutive monitor samples whose end lies in the phase
    req = {s: [] for s in survivors + [killed]}
    cpu = {s: [] for s in survivors + [killed, "tether", "well", "aggr"]}
    rss = {s: [] for s in survivors + [killed, "tether"]}
    sessions = {s: [] for s in survivors + [killed]}
    limit429 = []
    busy, nice, others = [], [], []
    ours = survivors + [killed, "tether", "well", "aggr"]
    for a, b in zip(mon, mon[1:]):
        if not in_phase(b["t"] - 0.5, ph):
            continue
        dt = b["ts"] - a["ts"]
        if dt <= 0:
            continue
        ma, mb = a.get("metrics"), b.get("metrics")
        if ma is not None and mb is not None:
            for s in req:
                tot_a = sum(v for k, v in ma.items() if k.startswith(f"req/chat/{s}/"))
                tot_b = sum(v for k, v in mb.items() if k.startswith(f"req/chat/{s}/"))
                req[s].append((tot_b - tot_a) / dt)
            limit429.append((mb.get("req/none/none/429", 0) - ma.get("req/none/none/429", 0)) / dt)
        for s in cpu:
            pa, pb = a["proc"].get(s), b["proc"].get(s)
            if pa and pb and pa["pid"] == pb["pid"]:
                cpu[s].append(100.0 * (pb["ticks"] - pa["ticks"]) / b["hz"] / dt)
        if "cpu_busy" in a and "cpu_busy" in b:
            bz = 100.0 * (b["cpu_busy"] - a["cpu_busy"]) / b["hz"] / dt
            busy.append(bz)
            nice.append(100.0 * (b["cpu_nice"] - a["cpu_nice"]) / b["hz"] / dt)
            own = 0.0
            for s in ours:
                pa, pb = a["proc"].get(s), b["proc"].get(s)
                if pa and pb and pa["pid"] == pb["pid"]:
                    own += 100.0 * (pb["ticks"] - pa["ticks"]) / b["hz"] / dt
            others.append(max(0.0, bz - own))
        for s in rss:
            pb = b["proc"].get(s)
            if pb:
                rss[s].append(pb["rss_kib"] / 1024.0)
        for s in sessions:
            v = b.get("sessions", {}).get(s)
            if v is not None:
                sessions[s].append(v)
    mean = lambda xs: sum(xs) / len(xs) if xs else float("nan")
    res["req"] = {s: mean(v) for s, v in req.items()}
    res["cpu"] = {s: mean(v) for s, v in cpu.items()}
    res["cpu_max"] = {s: max(v) if v else float("nan") for s, v in cpu.items()}
    res["rss_max"] = {s: max(v) if v else float("nan") for s, v in rss.items()}
    res["sessions_max"] = {s: max(v) if v else float("nan") for s, v in sessions.items()}
    res["tether429"] = mean(limit429)
    res["busy"], res["nice"], res["others"] = mean(busy), mean(nice), mean(others)
    # clients
    for role in ("well", "aggr"):
        counts = {}
        lat = {"hs": [], "connect": [], "ack": [], "post": []}
        lag = 0.0
        for r in run[role]:
            if not in_phase(r["t"], ph):
                continue
            for k, v in r["n"].items():
                counts[k] = counts.get(k, 0) + v
            for k, v in r["lat"].items():
                lat[k].extend(v)
            lag = max(lag, r["lag_ms"])
        total = sum(v for k, v in counts.items() if "_" in k and k.split("_", 1)[0] in
                    ("hs", "connect", "poll1", "poll", "emit", "pong", "hhs", "hconnect"))
        n429 = sum(v for k, v in counts.items() if k.endswith("_429"))
        mine = [(k, v) for k, v in counts.items() if k.split("_", 1)[0] in
                ("hs", "connect", "poll1", "poll", "emit", "pong")]
        # 400 = "Session ID unknown": the session died with its instance (expected after the kill)
        lost = sum(v for k, v in mine if k.endswith("_400"))
        errs = sum(v for k, v in mine if not k.endswith(("_200", "_400", "_429")))
        errs += counts.get("ack_timeout", 0)
        secs = max(1e-9, ph[2] - ph[1])
        res[role] = {"counts": counts, "total": total, "n429": n429, "errors": errs, "lost": lost,
                     "rps": total / secs, "lag_max": lag,
                     "hs_p50": pct(lat["hs"], 50), "hs_p99": pct(lat["hs"], 99),
                     "ack_p50": pct(lat["ack"], 50), "ack_p99": pct(lat["ack"], 99),
                     "n_hs": len(lat["hs"]), "n_ack": len(lat["ack"]),
                     "connected": counts.get("connected", 0)}
    return res


def fmt(x, nd=0):
    if isinstance(x, float) and math.isnan(x):
        return "-"
    return f"{x:,.{nd}f}"


def report_main(args):
    d = args.dir
    runs = {}
    for mode in ("off", "on"):
        p = os.path.join(d, mode)
        if os.path.exists(os.path.join(p, "phases.txt")):
            runs[mode] = load_run(p)
    if not runs:
        print("no runs found in", d)
        return 2
    any_run = next(iter(runs.values()))
    killed = any_run["meta"].get("killed", "s1")
    servers = any_run["meta"].get("servers", "s1 s2 s3").split()
    survivors = [s for s in servers if s != killed]
    phase_names = [p[0] for p in any_run["phases"]]
    table = {}
    for mode, run in runs.items():
        for ph in run["phases"]:
            table[(mode, ph[0])] = phase_stats(run, ph, survivors, killed)

    cpu_limit, p99_limit = args.cpu_limit, args.p99_limit_ms
    lines = []
    w = lines.append
    w(f"Reconnect storm: {any_run['meta'].get('clients', '?')} clients "
      f"({any_run['meta'].get('aggressive', '?')} aggressive), killed {killed}, survivors {' '.join(survivors)}")
    w("Per phase, OFF = no per-client limits, ON = limits.per_client "
      f"{runs.get('on', any_run)['meta'].get('limits', '')}")
    w("")
    hdr = f"{'':44}" + "".join(f"{m.upper() + ' ' + p:>16}" for p in phase_names for m in runs)
    w(hdr)

    def row(label, fn, nd=0):
        cells = []
        for p in phase_names:
            for m in runs:
                try:
                    cells.append(fmt(fn(table[(m, p)]), nd))
                except (KeyError, TypeError):
                    cells.append("-")
        w(f"{label:44}" + "".join(f"{c:>16}" for c in cells))

    for s in survivors:
        row(f"req/s reaching {s} (tether metrics)", lambda t, s=s: t["req"][s])
    row(f"req/s reaching {killed} (killed, restarted)", lambda t: t["req"][killed])
    for s in survivors:
        row(f"{s} CPU % mean", lambda t, s=s: t["cpu"][s])
        row(f"{s} CPU % max (1 s)", lambda t, s=s: t["cpu_max"][s])
        row(f"{s} RSS MiB max", lambda t, s=s: t["rss_max"][s], 1)
        row(f"{s} open Engine.IO sessions max", lambda t, s=s: t["sessions_max"][s])
    row("tether CPU % mean", lambda t: t["cpu"]["tether"])
    row("tether RSS MiB max", lambda t: t["rss_max"]["tether"], 1)
    row("tether 429/s (limits)", lambda t: t["tether429"])
    row("well-behaved req/s sent", lambda t: t["well"]["rps"])
    row("well-behaved handshake p50 ms", lambda t: t["well"]["hs_p50"], 1)
    row("well-behaved handshake p99 ms", lambda t: t["well"]["hs_p99"], 1)
    row("well-behaved ack p50 ms", lambda t: t["well"]["ack_p50"], 1)
    row("well-behaved ack p99 ms", lambda t: t["well"]["ack_p99"], 1)
    row("well-behaved sessions connected", lambda t: t["well"]["connected"])
    row("well-behaved 400s (session lost with s1)", lambda t: t["well"]["lost"])
    row("well-behaved errors (5xx, conn, timeouts)", lambda t: t["well"]["errors"])
    row("well-behaved 429s", lambda t: t["well"]["n429"])
    row("aggressive req/s sent", lambda t: t["aggr"]["rps"])
    row("aggressive 429s", lambda t: t["aggr"]["n429"])
    row("client CPU % (well-behaved proc)", lambda t: t["cpu"]["well"])
    row("client CPU % (aggressive proc)", lambda t: t["cpu"]["aggr"])
    row("client loop lag max ms (well-behaved)", lambda t: t["well"]["lag_max"], 1)
    row("machine CPU busy % (of 200)", lambda t: t["busy"])
    row("  of which other processes %", lambda t: t["others"])
    row("  of which niced %", lambda t: t["nice"])
    w("")

    # slow start: the restarted instance's share, per second after its restart
    for mode, run in runs.items():
        rec = [p for p in run["phases"] if p[0] == "recovery"]
        if not rec:
            continue
        t0 = rec[0][1]
        mon = run["mon"]
        shares, hs_shares = [], []
        for a, b in zip(mon, mon[1:]):
            if not (t0 <= b["t"] - 0.5 < t0 + args.share_seconds):
                continue
            ma, mb = a.get("metrics"), b.get("metrics")
            if ma is None or mb is None:
                shares.append("-")
                continue
            per = {s: sum(v for k, v in mb.items() if k.startswith(f"req/chat/{s}/")) -
                   sum(v for k, v in ma.items() if k.startswith(f"req/chat/{s}/")) for s in servers}
            tot = sum(per.values())
            up = mb.get(f"up/{killed}", 0)
            shares.append(f"{100.0 * per[killed] / tot:.0f}" + ("" if up else "d") if tot else "-")
        for r_sec in range(int(t0), int(t0) + args.share_seconds):
            n_all, n_k = 0, 0
            for role in ("well", "aggr"):
                for r in run[role]:
                    if r["t"] == r_sec:
                        n_all += sum(r["hs_by"].values())
                        n_k += r["hs_by"].get(killed, 0)
            hs_shares.append(f"{100.0 * n_k / n_all:.0f}" if n_all else "-")
        w(f"{mode.upper()}: {killed}'s share of requests (%), per second from its restart "
          f"(d = still marked down):")
        w("   " + " ".join(f"{x:>4}" for x in shares))
        w(f"{mode.upper()}: {killed}'s share of new sessions (handshakes answered, %), per second:")
        w("   " + " ".join(f"{x:>4}" for x in hs_shares))
    w("")

    # verdict
    def overloaded(t):
        cpu_hit = [s for s in survivors if t["cpu"][s] >= cpu_limit]
        p99 = max(x for x in (t["well"]["hs_p99"], t["well"]["ack_p99"]) if not math.isnan(x)) \
            if not (math.isnan(t["well"]["hs_p99"]) and math.isnan(t["well"]["ack_p99"])) else 0.0
        return cpu_hit, p99

    verdict = {}
    for mode in runs:
        verdict[mode] = []
        for p in phase_names:
            if p == "ramp":
                continue
            cpu_hit, p99 = overloaded(table[(mode, p)])
            verdict[mode].append((p, cpu_hit, p99))
    for mode in runs:
        parts = []
        for p, cpu_hit, p99 in verdict[mode]:
            status = []
            if cpu_hit:
                status.append("CPU>=%d%% on %s" % (cpu_limit, ",".join(cpu_hit)))
            if p99 > p99_limit:
                status.append("well-behaved p99 %.0f ms" % p99)
            parts.append(f"{p}: " + ("OVERLOAD (" + "; ".join(status) + ")" if status else
                                     f"ok (p99 {p99:.0f} ms)"))
        w(f"{mode.upper()}: " + "; ".join(parts))
    ok = False
    if "on" in runs:
        on_over = any(c or p99 > p99_limit for _, c, p99 in verdict["on"])
        well_total = sum(table[("on", p)]["well"]["total"] for p in phase_names if p != "ramp")
        well_429 = sum(table[("on", p)]["well"]["n429"] for p in phase_names if p != "ramp")
        frac = well_429 / well_total if well_total else 0.0
        ok = not on_over and frac <= args.max_well_429
        off_over = "off" in runs and any(c or p99 > p99_limit for _, c, p99 in verdict["off"])
        over_phases = lambda mode: [p for p, c, p99 in verdict[mode] if c or p99 > p99_limit]
        w(f"{'PASS' if ok else 'FAIL'}: limits ON: "
          + (f"overload in {', '.join(over_phases('on'))}" if on_over else "no phase at overload")
          + f"; well-behaved 429s {well_429}/{well_total} = {100 * frac:.3f}% (allowed "
          f"{100 * args.max_well_429:.1f}%); limits OFF: "
          + (f"overload in {', '.join(over_phases('off'))}" if off_over else "no phase at overload either")
          + f" (overload: a survivor's mean CPU >= {cpu_limit:.0f}% of a core, or well-behaved "
          f"handshake/ack p99 > {p99_limit:.0f} ms)")
    for mode in runs:
        lagged = [(p, table[(mode, p)]["well"]["lag_max"]) for p in phase_names if p != "ramp"]
        lagged = [(p, l) for p, l in lagged if l >= args.lag_warn_ms]
        if lagged:
            w(f"note ({mode.upper()}): the well-behaved clients' own event loop stalled up to " +
              ", ".join(f"{l:.0f} ms in {p}" for p, l in lagged) +
              ": latencies there include the load generator waiting for a CPU, not only tether and the instances")
    text = "\n".join(lines)
    print(text)
    with open(os.path.join(d, "report.txt"), "w") as f:
        f.write(text + "\n")
    return 0 if ok else 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("clients")
    c.add_argument("--role", choices=["well", "aggressive"], required=True)
    c.add_argument("--host", default="127.0.0.1")
    c.add_argument("--port", type=int, required=True)
    c.add_argument("--clients", type=int, default=1500, help="all clients (both roles)")
    c.add_argument("--aggressive", type=float, default=0.05, help="fraction that is aggressive")
    c.add_argument("--parallel", type=int, default=8, help="aggressive: connections while hammering")
    c.add_argument("--hammer-seconds", type=float, default=20.0)
    c.add_argument("--lifetime", type=float, default=30.0, help="mean session lifetime (s)")
    c.add_argument("--start", type=float, default=0.0, help="Unix time the ramp starts (default: now)")
    c.add_argument("--ramp", type=float, default=5.0, help="clients start spread over this (s)")
    c.add_argument("--end", type=float, default=0.0, help="Unix time the clients stop")
    c.add_argument("--go-file", help="write GO_FILE.ROLE.ready when up, then read 'START END' from GO_FILE")
    c.add_argument("--seed", type=int, default=1)
    c.add_argument("--out", required=True)
    m = sub.add_parser("monitor")
    m.add_argument("--metrics", required=True, help="tether admin /metrics URL")
    m.add_argument("--pidfile", action="append", default=[], help="NAME=PIDFILE (re-read every second)")
    m.add_argument("--backend", action="append", default=[], help="NAME=URL of a tether-chat /metrics")
    m.add_argument("--duration", type=float, required=True)
    m.add_argument("--out", required=True)
    r = sub.add_parser("report")
    r.add_argument("dir")
    r.add_argument("--cpu-limit", type=float, default=90.0)
    r.add_argument("--p99-limit-ms", type=float, default=1000.0)
    r.add_argument("--max-well-429", type=float, default=0.001, help="fraction of well-behaved requests")
    r.add_argument("--share-seconds", type=int, default=16)
    r.add_argument("--lag-warn-ms", type=float, default=200.0)
    args = ap.parse_args()
    if args.cmd == "clients":
        if not args.go_file and not args.end:
            ap.error("clients: --end or --go-file is required")
        args.start = args.start or time.time()
        asyncio.run(clients_main(args))
    elif args.cmd == "monitor":
        monitor_main(args)
    else:
        sys.exit(report_main(args))


if __name__ == "__main__":
    main()
