// Real socket.io servers behind tether, real socket.io-client sessions (polling first, then the
// websocket upgrade). round_robin must break polling sessions ("Session ID unknown": the second
// polling request lands on a server that never saw the handshake); every affinity strategy must
// keep all of them, including the upgrade.
//
// Bounded: 3 servers, 24 clients per scenario in batches of 8, all on loopback.
"use strict";
const fs = require("fs");
const path = require("path");
const { spawn } = require("child_process");
const { io } = require("socket.io-client");
const { tempDir } = require("../chat/lib");
const { TETHER_BIN, freePort, waitPort, startBackends, stopBackends } = require("./sio_support");

const CLIENTS = Number(process.env.AFFINITY_CLIENTS || 24);  // override for a bigger manual run
const BATCH = Number(process.env.AFFINITY_BATCH || 8);

async function startTether(port, backends, upstreamExtra) {
  const dir = tempDir("tether-sio-");
  const lines = ["workers: 2", "listeners:", `  - address: 127.0.0.1:${port}`, "upstreams:", "  app:", "    retries: 1"];
  for (const l of upstreamExtra) lines.push("    " + l);
  lines.push("    servers:");
  for (const b of backends) lines.push(`      - {address: 127.0.0.1:${b.port}, name: ${b.name}}`);
  const file = path.join(dir, "tether.yaml");
  fs.writeFileSync(file, lines.join("\n") + "\n");
  const log = fs.openSync(path.join(dir, "tether.log"), "w");
  const proc = spawn(TETHER_BIN, ["-c", file, "--log-level", "warn"], { stdio: ["ignore", log, log] });
  await waitPort(port);
  return proc;
}

// One Socket.IO session: connect over polling, upgrade to websocket, 3 acked echoes.
function session(url) {
  return new Promise((resolve) => {
    const socket = io(url, {
      forceNew: true, reconnection: false, transports: ["polling", "websocket"], withCredentials: true, timeout: 4000,
    });
    const result = { ok: false, server: null, upgraded: false, error: null };
    const finish = (err) => {
      if (err && !result.error) result.error = String(err);
      socket.close();
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => finish("timeout"), 8000);
    socket.on("connect_error", (e) => finish(e.message));
    socket.on("disconnect", (reason) => finish("disconnect: " + reason));
    socket.on("connect", async () => {
      try {
        const engine = socket.io.engine;
        // Polling round trips before the upgrade (the requests round_robin scatters).
        const first = await socket.timeout(3000).emitWithAck("echo", 0);
        result.server = first.server;
        if (engine.transport.name !== "websocket")
          await new Promise((r, j) => { engine.once("upgrade", r); setTimeout(() => j(new Error("no upgrade")), 3000); });
        result.upgraded = engine.transport.name === "websocket";
        for (let i = 1; i <= 3; i++) {
          const r = await socket.timeout(3000).emitWithAck("echo", i);
          if (r.server !== result.server) throw new Error("answered by another server");
        }
        result.ok = result.upgraded;
        finish(result.ok ? null : "not upgraded");
      } catch (e) {
        finish(e.message);
      }
    });
  });
}

async function scenario(name, backends, extra) {
  const port = await freePort();
  const proc = await startTether(port, backends, extra);
  const results = [];
  try {
    for (let i = 0; i < CLIENTS; i += BATCH) {
      const batch = [];
      for (let j = i; j < Math.min(CLIENTS, i + BATCH); j++) batch.push(session(`http://127.0.0.1:${port}`));
      results.push(...(await Promise.all(batch)));
    }
  } finally {
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
  }
  const broken = results.filter((r) => !r.ok);
  const load = {};
  for (const r of results) if (r.ok) load[r.server] = (load[r.server] || 0) + 1;
  const counts = backends.map((b) => load[b.name] || 0);
  const mean = CLIENTS / backends.length;
  const errors = [...new Set(broken.map((r) => r.error))].slice(0, 3);
  console.log(`${name.padEnd(40)} broken ${String(broken.length).padStart(2)}/${CLIENTS}  load ${JSON.stringify(counts)}` +
              `  max/mean ${(Math.max(...counts) / mean).toFixed(2)}${errors.length ? "  errors: " + errors.join(" | ") : ""}`);
  return { broken: broken.length, counts };
}

async function main() {
  const backends = await startBackends(3, "sio");
  let failed = false;
  const expect = (cond, msg) => { if (!cond) { console.log("FAIL: " + msg); failed = true; } };
  try {
    const rr = await scenario("round_robin", backends, ["strategy: round_robin"]);
    expect(rr.broken >= CLIENTS / 2, "round_robin should break most polling sessions");
    const keep = [
      ["ip_hash", ["strategy: ip_hash"]],
      ["consistent_hash (header, then addr)", ["strategy: consistent_hash", "hash_key: [header:x-user, remote_addr]"]],
      ["sid + consistent_hash bounded 1.25", ["strategy: consistent_hash", "balance_factor: 1.25", "affinity: [sid]"]],
      ["cookie (fallback least_conn)", ["strategy: cookie", "cookie: {name: tether_sid, fallback: least_conn}"]],
      ["sid + round_robin", ["strategy: round_robin", "affinity: [sid]"]],
      ["sid + cookie + least_conn", ["strategy: least_conn", "affinity: [sid, cookie]"]],
    ];
    // Informational: bounded loads alone re-place a key as loads change, so a polling session
    // whose key is hot (here: every client shares 127.0.0.1) is split. Pair it with sid affinity.
    await scenario("consistent_hash bounded, no sid (info)", backends,
                   ["strategy: consistent_hash", "balance_factor: 1.25"]);
    for (const [name, extra] of keep) {
      const r = await scenario(name, backends, extra);
      expect(r.broken === 0, `${name} broke ${r.broken} sessions`);
      if (name.startsWith("cookie") || name.startsWith("sid"))
        expect(r.counts.filter((c) => c > 0).length >= 2, `${name} should spread sessions over servers`);
    }
  } finally {
    stopBackends(backends);
  }
  console.log(failed ? "FAILED" : "ok");
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
