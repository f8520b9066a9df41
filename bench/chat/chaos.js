// Chaos run for the tether-chat fleet (bench/chat/chaos.sh starts redis, the fleet and tether,
// then runs this). Never part of the test run; loopback only, bounded in count and time.
//
// CLIENTS RoomClients (tests/integration/fleet/room_client.js) connect through tether, half
// with the default transports (polling first, then the upgrade), half WebSocket-only, each in
// ROOMS_PER_CLIENT of ROOMS rooms. Senders send RATE messages/s in total (random client, one of
// its rooms, a unique cid, retried until acked with a seq; LOST_ACKS of them resend once as if
// the first ack had been lost). Every KILL_EVERY seconds one fleet
// instance (a child of --fleet-pid, round-robin over the instances by port) gets SIGKILL; the
// supervisor restarts it. After DURATION seconds sending stops; the run waits (SETTLE seconds at
// most) until every client has seen its rooms' final head, then checks, for every client and
// room: received seqs == [1..head] exactly (in order, none twice, none missing), no gap event,
// the same message id at each seq as every other client and as the sender's ack, every acked
// message present (with the id its ack named), and no cid at two seqs (a resend committed
// twice). A duplicate ack whose id is not the delivered message's is only a warning. Prints a
// JSON summary on stdout; exits 1 on any violation, 2 if the harness could not run (clients
// never ready, watchdog).
//
// Usage: node chaos.js --url http://127.0.0.1:PORT --fleet-pid PID --base-port P --instances N
// Env: CLIENTS=200 ROOMS=20 ROOMS_PER_CLIENT=1 DURATION=60 KILL_EVERY=10 RATE=100 SETTLE=20
//      LOST_ACKS=0.02 (fraction of sends that ignore their first ack and resend the same cid, so
//      the server's de-duplication is exercised under the kills too)
//      TRACE=1 (per-client connection log on stderr)
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");
const { execFileSync } = require("child_process");
const { RoomClient } = require(path.join(__dirname, "../../tests/integration/fleet/room_client.js"));

const { arg, num } = require("./bench_args");
const URL_ = arg("url", "http://127.0.0.1:8080");
const FLEET_PID = Number(arg("fleet-pid", 0));
const BASE_PORT = Number(arg("base-port", 0));
const INSTANCES = Number(arg("instances", 3));
const CLIENTS = num("CLIENTS", 200), ROOMS = num("ROOMS", 20), ROOMS_PER_CLIENT = Math.min(num("ROOMS_PER_CLIENT", 1), ROOMS);
const DURATION = num("DURATION", 60), KILL_EVERY = num("KILL_EVERY", 10), RATE = num("RATE", 100), SETTLE = num("SETTLE", 20);
const LOST_ACKS = Math.min(num("LOST_ACKS", 0.02), 1);  // sends that ignore their first ack and resend
const SEND_BOUND_MS = 20000, MAX_INFLIGHT = 5000;
const TRACE = process.env.TRACE === "1";

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const now = () => (Date.now() - t0) / 1000;
const note = (msg) => process.stderr.write(`[chaos ${now().toFixed(1)}s] ${msg}\n`);
const harnessErrors = [];
process.on("unhandledRejection", (e) => { harnessErrors.push(`unhandledRejection: ${e && e.stack || e}`); note(`unhandled rejection: ${e}`); });

function pct(sorted, p) {
  if (!sorted.length) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(p / 100 * sorted.length) - 1)];
}

// Fleet children: [{pid, port}] from `pgrep -P` and each child's --port.
function fleetChildren() {
  let out = "";
  try { out = execFileSync("pgrep", ["-P", String(FLEET_PID)], { encoding: "utf8", timeout: 2000 }); } catch (e) { out = e.stdout || ""; }
  return out.split(/\s+/).filter(Boolean).map(Number).map((pid) => {
    let port = null;
    try {
      const argv = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0");
      const i = argv.indexOf("--port");
      if (i >= 0) port = Number(argv[i + 1]);
    } catch (e) { /* exited meanwhile */ }
    return { pid, port };
  }).filter((c) => c.port !== null);
}

function health(port, ms = 500) {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/health", agent: false, timeout: ms }, (res) => { res.resume(); resolve(res.statusCode); });
    req.on("timeout", () => { req.destroy(); resolve(null); });
    req.on("error", () => resolve(null));
  });
}

async function waitHealthy(port, ms) {
  const start = Date.now();
  while (Date.now() - start < ms) {
    if (await health(port) === 200) return Date.now() - start;
    await sleep(50);
  }
  return null;
}

function countBy(items) {
  const m = {};
  for (const k of items) m[k] = (m[k] || 0) + 1;
  return Object.fromEntries(Object.entries(m).sort());
}

async function main() {
  if (!FLEET_PID || !BASE_PORT) throw new Error("--fleet-pid and --base-port are required");
  const rooms = Array.from({ length: ROOMS }, (_, r) => `chaos-${r}`);
  const clients = [];
  for (let i = 0; i < CLIENTS; i++) {
    const mine = [];
    for (let k = 0; k < ROOMS_PER_CLIENT; k++) mine.push(rooms[(i + k * 7) % ROOMS]);  // 7: a second room that differs
    const transports = i % 2 ? ["websocket"] : ["polling", "websocket"];
    clients.push(new RoomClient(URL_, {
      name: `c${i}`, rooms: [...new Set(mine)], transports, query: { uid: `c${i}` },
      log: TRACE ? (m) => note(m) : null, sendBoundMs: SEND_BOUND_MS,
    }));
  }
  note(`${CLIENTS} clients, ${ROOMS} rooms x ${ROOMS_PER_CLIENT}, ${RATE} msg/s, ${DURATION}s, kill every ${KILL_EVERY}s, via ${URL_}`);
  const readyRes = await Promise.allSettled(clients.map((c) => c.ready(30000)));
  const notReady = readyRes.filter((r) => r.status === "rejected");
  if (notReady.length) {
    clients.forEach((c) => c.close());
    return { exit: 2, summary: { error: `${notReady.length} clients not ready after 30 s`, sample: notReady.slice(0, 3).map((r) => r.reason.message) } };
  }
  const readyAt = now();
  const perInstanceStart = countBy(clients.map((c) => c.server));
  note(`all ready at ${readyAt.toFixed(1)}s: ${JSON.stringify(perInstanceStart)}`);

  // Senders.
  const acked = new Map(rooms.map((r) => [r, new Map()]));  // room -> seq -> {id, cid, client}
  const violations = [];
  const violate = (kind, detail) => { violations.push({ kind, ...detail }); };
  // Not a delivery failure, but not what the protocol should say either (reported, not fatal).
  const warnings = [];
  const warn = (kind, detail) => { warnings.push({ kind, ...detail }); };
  let issued = 0, inflight = 0, skipped = 0, sendFailed = 0, retriedSends = 0;
  const sendPromises = [];
  const start = Date.now();
  const end = start + DURATION * 1000;
  const sendOne = (k) => {
    const c = clients[Math.floor(Math.random() * CLIENTS)];
    const mine = [...c.rooms];
    const room = mine[k % mine.length];
    inflight++;
    const p = c.send(room, `${c.name}#${k} t=${Date.now()}`, { ignoreFirstAck: Math.random() < LOST_ACKS }).then((ack) => {
      if (ack.attempts > 1) retriedSends++;
      const seen = acked.get(room).get(ack.seq);
      if (seen && seen.id !== ack.id) violate("seq_assigned_twice", { room, seq: ack.seq, ids: [seen.id, ack.id], cids: [seen.cid, ack.cid] });
      else acked.get(room).set(ack.seq, { id: ack.id, cid: ack.cid, client: c.name, duplicate: !!ack.duplicate });
    }, (e) => {
      sendFailed++;
      if (sendFailed <= 5) note(`send failed: ${e.message}`);
    }).finally(() => { inflight--; });
    sendPromises.push(p);
  };
  const sender = (async () => {
    while (Date.now() < end) {
      const due = Math.floor(RATE * (Date.now() - start) / 1000) - issued - skipped;
      for (let j = 0; j < due; j++) {
        if (inflight >= MAX_INFLIGHT) { skipped++; continue; }
        sendOne(issued++);
      }
      await sleep(10);
    }
  })();

  // Killer.
  const kills = [];
  const restartWaits = [];
  let connectErrorsBeforeKills = null;  // failed connection attempts while nothing had been killed
  const killer = (async () => {
    if (!KILL_EVERY) return;
    for (let k = 1; start + k * KILL_EVERY * 1000 <= end; k++) {
      const at = start + k * KILL_EVERY * 1000;
      while (Date.now() < at) await sleep(Math.min(100, at - Date.now()));
      if (k === 1) connectErrorsBeforeKills = clients.reduce((s, c) => s + c.counters.connectErrors, 0);
      const children = fleetChildren().sort((a, b) => a.port - b.port);
      const wanted = BASE_PORT + ((k - 1) % INSTANCES);
      const victim = children.find((c) => c.port === wanted) || children[0];
      if (!victim) { note(`kill ${k}: no fleet child running`); kills.push({ t: now(), error: "no child" }); continue; }
      try { process.kill(victim.pid, "SIGKILL"); } catch (e) { kills.push({ t: now(), port: victim.port, error: e.message }); continue; }
      const connectedOnIt = clients.filter((c) => c.connected && c.server && c.server.endsWith(`:${victim.port}`)).length;
      const entry = { t: Number(now().toFixed(2)), port: victim.port, pid: victim.pid, clientsOnIt: connectedOnIt, backInMs: null };
      kills.push(entry);
      note(`kill ${k}: SIGKILL pid ${victim.pid} (port ${victim.port}, ~${connectedOnIt} clients)`);
      restartWaits.push((async () => {
        await sleep(100);  // let it die first
        entry.backInMs = await waitHealthy(victim.port, 15000);
        if (entry.backInMs !== null) entry.backInMs += 100;
      })());
    }
  })();

  const progress = setInterval(() => {
    const connected = clients.filter((c) => c.connected).length;
    const reconnects = clients.reduce((s, c) => s + c.counters.reconnects, 0);
    let ackedN = 0; for (const m of acked.values()) ackedN += m.size;
    note(`issued ${issued} acked ${ackedN} inflight ${inflight} failed ${sendFailed} connected ${connected}/${CLIENTS} reconnects ${reconnects}`);
  }, 5000);

  await sender;
  await killer;
  note(`sending stopped; waiting for ${inflight} in-flight sends`);
  await Promise.allSettled(sendPromises);
  await Promise.allSettled(restartWaits);

  // Final heads: a plain join (no history) acks the room's head; take the max with the acks.
  const probe = new RoomClient(URL_, { name: "chaos-probe", rooms: [], transports: ["websocket"] });
  const probeHead = {};
  const probeDeadline = Date.now() + 15000;  // the whole probe, every room
  try {
    for (const r of rooms) {
      while (probeHead[r] === undefined && Date.now() < probeDeadline) {
        if (await probe._waitFor(() => probe.connected, probeDeadline - Date.now())) {
          try {
            const a = await probe.socket.timeout(2000).emitWithAck("join", r);
            if (a && !a.error && a.seq !== undefined) probeHead[r] = a.seq;
          } catch (e) { /* retry */ }
        }
        if (probeHead[r] === undefined) await sleep(200);
      }
    }
  } finally { probe.close(); }
  const head = {};
  for (const r of rooms) {
    const maxAcked = Math.max(0, ...acked.get(r).keys());
    const p = probeHead[r];
    if (p === undefined || p === null) violate("head_unreadable", { room: r, probe: p ?? "no ack" });
    else if (p < maxAcked) violate("head_below_acked", { room: r, head: p, maxAcked });
    head[r] = Math.max(maxAcked, typeof p === "number" ? p : 0);
  }

  // Settle: every client connected, joined, and caught up to the heads.
  const settleStart = Date.now();
  const caughtUp = (c) => c._allJoined() && [...c.rooms].every((r) => (c.last[r] ?? 0) >= head[r]);
  while (Date.now() - settleStart < SETTLE * 1000 && !clients.every(caughtUp)) await sleep(100);
  const settleMs = Date.now() - settleStart;
  clearInterval(progress);
  await sleep(300);  // anything extra (a late duplicate) would arrive now

  // Verify.
  const notCaughtUp = clients.filter((c) => !caughtUp(c));
  for (const c of notCaughtUp) {
    violate("not_caught_up", { client: c.name, connected: c.connected, joined: `${c.joined.size}/${c.rooms.size}`, last: c.last, head: Object.fromEntries([...c.rooms].map((r) => [r, head[r]])) });
  }
  const idAt = new Map(rooms.map((r) => [r, new Map()]));  // room -> seq -> id (first client that saw it)
  const cidAt = new Map(rooms.map((r) => [r, new Map()])); // room -> cid -> seq (a resend must not commit twice)
  for (const c of clients) {
    for (const r of c.rooms) {
      for (const p of c.verify(r, head[r])) violate("sequence", { client: c.name, room: r, problem: p });
      const ids = c.ids[r], seqs = c.seqs[r], cids = c.cids[r], ref = idAt.get(r), cref = cidAt.get(r);
      for (let i = 0; i < seqs.length; i++) {
        const known = ref.get(seqs[i]);
        if (known === undefined) ref.set(seqs[i], ids[i]);
        else if (known !== ids[i]) { violate("id_mismatch", { client: c.name, room: r, seq: seqs[i], ids: [known, ids[i]] }); break; }
        if (cids[i] === null) continue;
        const at = cref.get(cids[i]);
        if (at === undefined) cref.set(cids[i], seqs[i]);
        else if (at !== seqs[i]) violate("cid_committed_twice", { client: c.name, room: r, cid: cids[i], seqs: [at, seqs[i]] });
      }
    }
    if (c.counters.local) violate("local_delivery", { client: c.name, local: c.counters.local });
    if (c.counters.stray) violate("stray_message", { client: c.name, stray: c.counters.stray });
  }
  for (const [r, m] of acked) {
    for (const [seq, a] of m) {
      const seen = idAt.get(r).get(seq);
      if (seen === undefined) violate("acked_not_delivered", { room: r, seq, id: a.id });
      else if (seen !== a.id && a.duplicate) warn("duplicate_ack_id_differs", { room: r, seq, acked: a.id, delivered: seen, cid: a.cid });
      else if (seen !== a.id) violate("acked_id_mismatch", { room: r, seq, acked: a.id, delivered: seen });
    }
  }
  if (sendFailed) violate("send_gave_up", { count: sendFailed, boundMs: SEND_BOUND_MS });
  for (const e of harnessErrors) violate("harness", { error: e });

  const sum = (f) => clients.reduce((s, c) => s + f(c), 0);
  const recoveries = clients.flatMap((c) => c.recoveries.map((x) => x.ms)).sort((a, b) => a - b);
  const messages = rooms.reduce((s, r) => s + head[r], 0);
  const expectedDeliveries = clients.reduce((s, c) => s + [...c.rooms].reduce((t, r) => t + head[r], 0), 0);
  let ackedTotal = 0; for (const m of acked.values()) ackedTotal += m.size;
  const byKind = countBy(violations.map((v) => v.kind));
  const summary = {
    ok: violations.length === 0,
    config: { url: URL_, clients: CLIENTS, rooms: ROOMS, roomsPerClient: ROOMS_PER_CLIENT, durationS: DURATION, killEveryS: KILL_EVERY, rate: RATE, lostAcks: LOST_ACKS, instances: INSTANCES },
    messages,
    acked: ackedTotal,
    sendsIssued: issued,
    sendsSkippedInflightCap: skipped,
    sendsRetried: retriedSends,
    sendAttempts: sum((c) => c.counters.sendAttempts),
    sendsFirstAckIgnored: sum((c) => c.counters.acksIgnored),
    sendDuplicateAcks: sum((c) => c.counters.sendDuplicates),
    sendsGaveUp: sendFailed,
    deliveries: sum((c) => c.counters.received),
    expectedDeliveries,
    replayed: sum((c) => c.counters.replayed),
    duplicates: sum((c) => c.counters.duplicates),
    holes: sum((c) => c.counters.holes),
    gaps: sum((c) => c.counters.gaps),
    local: sum((c) => c.counters.local),
    kills: kills.length,
    killLog: kills,
    reconnects: sum((c) => c.counters.reconnects),
    connectErrors: sum((c) => c.counters.connectErrors),
    connectErrorsBeforeKills,
    joinRetries: sum((c) => c.counters.joinRetries),
    joinErrors: sum((c) => c.counters.joinErrors),
    historyUnavailableAcks: sum((c) => c.counters.historyUnavailable),
    resetJoins: sum((c) => c.counters.resets),
    recoveryMs: { count: recoveries.length, p50: pct(recoveries, 50), p99: pct(recoveries, 99), max: recoveries.length ? recoveries[recoveries.length - 1] : null },
    settleMs,
    clientsPerInstanceStart: perInstanceStart,
    clientsPerInstanceEnd: countBy(clients.map((c) => (c.connected ? c.server : "disconnected"))),
    instancesSeenPerClient: countBy(clients.map((c) => c.counters.servers.size)),
    heads: head,
    violations: violations.length,
    violationsByKind: byKind,
    violationSamples: violations.slice(0, 20),
    warnings: warnings.length,
    warningsByKind: countBy(warnings.map((v) => v.kind)),
    warningSamples: warnings.slice(0, 5),
    anomalySamples: clients.flatMap((c) => c.anomalies.map((a) => ({ client: c.name, ...a }))).slice(0, 10),
    elapsedS: Number(now().toFixed(1)),
  };
  clients.forEach((c) => c.close());
  return { exit: violations.length ? 1 : 0, summary };
}

const watchdog = setTimeout(() => {
  process.stdout.write(JSON.stringify({ ok: false, error: "watchdog: the run took too long" }) + "\n");
  process.exit(2);
}, (DURATION + SEND_BOUND_MS / 1000 + SETTLE + 120) * 1000);

main().then(({ exit, summary }) => {
  clearTimeout(watchdog);
  process.stdout.write(JSON.stringify(summary, null, 2) + "\n");
  setTimeout(() => process.exit(exit), 100);
}, (e) => {
  clearTimeout(watchdog);
  process.stdout.write(JSON.stringify({ ok: false, error: String(e && e.stack || e) }) + "\n");
  process.exit(2);
});
