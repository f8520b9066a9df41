// Sid pins survive reloads that reorder and add servers: real socket.io servers, real
// socket.io-client sessions over long-polling only (every emit is a new HTTP request), no cookies
// (`affinity: [sid]` in front of round_robin). 24 sessions are opened on s0,s1,s2; tether is
// reloaded (SIGHUP) with s2,s0,s3,s1; every session must go on answering from the server that
// opened it, with no disconnect. A second reload that removes s1 must cost s1's sessions at most
// a reconnect (their pins re-pin), never the others'.
//
// Bounded: 4 servers, 24 clients, all on loopback; cleans its temp dir.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const { spawn } = require("child_process");
const { TETHER_BIN, freePort, waitPort, startBackends, stopBackends, connectPolling: connect, check } = require("./sio_support");

const CLIENTS = 24;

function configText(port, servers) {
  const lines = ["workers: 2", "listeners:", `  - address: 127.0.0.1:${port}`, "upstreams:", "  app:",
                 "    strategy: round_robin", "    affinity: [sid]", "    servers:"];
  for (const b of servers) lines.push(`      - {address: 127.0.0.1:${b.port}, name: ${b.name}}`);
  return lines.join("\n") + "\n";
}

async function reloadTo(proc, file, text) {
  fs.writeFileSync(file, text);
  proc.kill("SIGHUP");
  await new Promise((r) => setTimeout(r, 300));  // the workers switch at their next loop turn
}

async function main() {
  const backends = await startBackends(4);
  const [s0, s1, s2, s3] = backends;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tether-sio-reload-"));
  const file = path.join(dir, "tether.yaml");
  const port = await freePort();
  fs.writeFileSync(file, configText(port, [s0, s1, s2]));
  const log = fs.openSync(path.join(dir, "tether.log"), "w");
  const proc = spawn(TETHER_BIN, ["-c", file, "--log-level", "warn"], { stdio: ["ignore", log, log] });
  const sockets = [];
  let failed = false;
  try {
    await waitPort(port);
    for (let i = 0; i < CLIENTS; i++) sockets.push(await connect(`http://127.0.0.1:${port}`));
    const owners = {};
    for (const s of sockets) owners[s.server] = (owners[s.server] || 0) + 1;
    console.log("sessions per server before the reload", JSON.stringify(owners));

    await reloadTo(proc, file, configText(port, [s2, s0, s3, s1]));
    const broken = (await Promise.all(sockets.map(check))).filter((e) => e);
    console.log(`reorder + add (s0,s1,s2 -> s2,s0,s3,s1): broken ${broken.length}/${CLIENTS}`, broken.slice(0, 3).join(" | "));
    if (broken.length) failed = true;

    await reloadTo(proc, file, configText(port, [s2, s0, s3]));
    const kept = sockets.filter((s) => s.server !== "s1");
    const brokenKept = (await Promise.all(kept.map(check))).filter((e) => e);
    console.log(`remove s1: sessions on other servers broken ${brokenKept.length}/${kept.length}`);
    if (brokenKept.length) failed = true;
    // s1's sessions now reach another server, which does not know them: one refused request each.
    const moved = sockets.filter((s) => s.server === "s1");
    const movedResults = await Promise.all(moved.map(check));
    if (moved.length && movedResults.some((e) => e === null)) {
      console.log("FAIL: a session of the removed server was still answered by it");
      failed = true;
    }
    if (proc.exitCode !== null) {
      console.log("FAIL: tether exited");
      failed = true;
    }
  } catch (e) {
    console.log("FAIL:", e.message);
    failed = true;
  } finally {
    for (const s of sockets) s.close();
    proc.kill("SIGTERM");
    if (proc.exitCode === null) await new Promise((r) => proc.once("exit", r));
    stopBackends(backends);
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(failed ? "FAILED" : "ok");
  process.exit(failed ? 1 : 0);
}

main();
