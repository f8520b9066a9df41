// Sid pins survive reloads that reorder and add servers: real socket.io servers, real
// socket.io-client sessions over long-polling only (every emit is a new HTTP request), no cookies
// (`affinity: [sid]` in front of round_robin). 24 sessions are opened on s0,s1,s2; tether is
// reloaded (SIGHUP) with s2,s0,s3,s1; every session must go on answering from the server that
// opened it, with no disconnect. A second reload that removes s1 must cost s1's sessions at most
// a reconnect (their pins re-pin), never the others'.
//
// Bounded: 4 servers, 24 clients, all on loopback; cleans its temp dir.
"use strict";
const http = require("http");
const fs = require("fs");
const os = require("os");
const path = require("path");
const net = require("net");
const { spawn } = require("child_process");
const { Server } = require("socket.io");
const { io } = require("socket.io-client");

const TETHER_BIN = process.env.TETHER_BIN || path.join(process.env.TETHER_BUILD_DIR || "build", "proxy", "tether");
const CLIENTS = 24;

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function waitPort(port, ms = 10000) {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, "127.0.0.1");
      s.on("connect", () => { s.destroy(); resolve(); });
      s.on("error", () => {
        if (Date.now() > deadline) return reject(new Error(`port ${port} not listening`));
        setTimeout(attempt, 30);
      });
    };
    attempt();
  });
}

async function startBackends(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const name = `s${i}`;
    const httpServer = http.createServer();
    const ioServer = new Server(httpServer, { pingInterval: 2000, pingTimeout: 2000 });
    ioServer.on("connection", (socket) => socket.on("echo", (msg, ack) => ack({ server: name, msg })));
    await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
    out.push({ name, port: httpServer.address().port, ioServer, httpServer });
  }
  return out;
}

function configText(port, servers) {
  const lines = ["workers: 2", "listeners:", `  - address: 127.0.0.1:${port}`, "upstreams:", "  app:",
                 "    strategy: round_robin", "    affinity: [sid]", "    servers:"];
  for (const b of servers) lines.push(`      - {address: 127.0.0.1:${b.port}, name: ${b.name}}`);
  return lines.join("\n") + "\n";
}

function connect(url) {
  return new Promise((resolve, reject) => {
    const socket = io(url, { forceNew: true, reconnection: false, transports: ["polling"], timeout: 4000 });
    socket.disconnects = [];
    socket.on("disconnect", (reason) => socket.disconnects.push(reason));
    socket.once("connect_error", (e) => reject(e));
    socket.once("connect", async () => {
      try {
        socket.server = (await socket.timeout(3000).emitWithAck("echo", 0)).server;
        resolve(socket);
      } catch (e) {
        reject(e);
      }
    });
  });
}

// Three acked echoes; the session is broken if any goes elsewhere, times out or it disconnected.
async function check(socket) {
  try {
    for (let i = 1; i <= 3; i++) {
      const r = await socket.timeout(3000).emitWithAck("echo", i);
      if (r.server !== socket.server) return `answered by ${r.server}, opened on ${socket.server}`;
    }
  } catch (e) {
    return e.message;
  }
  return socket.disconnects.length ? "disconnected: " + socket.disconnects.join(",") : null;
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
    for (const b of backends) {
      b.ioServer.close();
      b.httpServer.close();
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(failed ? "FAILED" : "ok");
  process.exit(failed ? 1 : 0);
}

main();
