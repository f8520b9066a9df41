// Chat load generator for bench/chat (never part of the test run). Opens N websocket clients
// that speak Engine.IO v4 / Socket.IO v5 directly over `ws` (cheaper than socket.io-client, so
// the generator is not the bottleneck), puts them in R rooms, and has each send one message per
// second (random phase). Measures, on the server process given by --pid (Linux /proc):
// broadcast deliveries per second, server CPU seconds per second, deliveries per CPU-second,
// and RSS per connected client. Loopback only.
// Usage: node loadgen.js --port P --pid PID [--clients 1000] [--rooms 50] [--seconds 20] [--rate 1]
"use strict";
const fs = require("fs");
const WebSocket = require("ws");

const arg = (name, def) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : def;
};
const port = Number(arg("port", 3000));
const pid = Number(arg("pid", 0));
const N = Number(arg("clients", 1000));
const R = Number(arg("rooms", 50));
const seconds = Number(arg("seconds", 20));
const rate = Number(arg("rate", 1));  // messages per client per second
const label = arg("label", "server");

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const clk = 100;  // USER_HZ on Linux
function cpuSeconds() {
  const f = fs.readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1].split(" ");
  return (Number(f[11]) + Number(f[12])) / clk;  // utime + stime
}
function rssKiB() {
  const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m[1]);
}

let received = 0, acked = 0, sent = 0, connected = 0, closed = 0;
function client(i) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
    const room = `room${i % R}`;
    let ready = false;
    ws.on("message", (data) => {
      const s = data.toString();
      if (s === "2") return ws.send("3");
      if (s[0] === "0") return ws.send("40");
      if (s.startsWith("40")) return ws.send(`420["join","${room}"]`);
      if (s.startsWith("430")) { ready = true; connected++; resolve(ws); return; }
      if (s.startsWith('42["message"')) { received++; return; }
      if (s.startsWith("43")) { acked++; return; }
    });
    ws.on("error", (e) => { if (!ready) reject(e); });
    ws.on("close", () => { closed++; });
    ws.room = room;
  });
}

(async () => {
  const rss0 = rssKiB();
  const sockets = [];
  for (let i = 0; i < N; i += 100) {
    const batch = [];
    for (let k = i; k < Math.min(N, i + 100); k++) batch.push(client(k));
    sockets.push(...(await Promise.all(batch)));
  }
  await sleep(1000);
  const rss1 = rssKiB();
  // Each client sends `rate` messages per second at a random phase.
  const text = "x".repeat(64);
  const timers = sockets.map((ws, k) => {
    const start = Math.random() * 1000 / rate;
    let t;
    const tick = () => { if (ws.readyState === 1) { ws.send(`421${k % 10}["message",{"room":"${ws.room}","text":"${text}"}]`); sent++; } };
    const h = setTimeout(() => { tick(); t = setInterval(tick, 1000 / rate); }, start);
    return () => { clearTimeout(h); clearInterval(t); };
  });
  await sleep(3000);  // warm-up
  const r0 = received, c0 = cpuSeconds(), t0 = Date.now();
  await sleep(seconds * 1000);
  const r1 = received, c1 = cpuSeconds(), t1 = Date.now();
  const rss2 = rssKiB();
  timers.forEach((stop) => stop());
  const wall = (t1 - t0) / 1000, cpu = c1 - c0;
  const result = {
    label, clients: N, rooms: R, rate,
    deliveriesPerSec: Math.round((r1 - r0) / wall),
    serverCpuPerSec: Number((cpu / wall).toFixed(3)),
    deliveriesPerCpuSec: Math.round((r1 - r0) / Math.max(cpu, 0.01)),
    rssIdleMiB: Number((rss0 / 1024).toFixed(1)),
    rssConnectedMiB: Number((rss1 / 1024).toFixed(1)),
    rssUnderLoadMiB: Number((rss2 / 1024).toFixed(1)),
    rssPerClientKiB: Number(((rss1 - rss0) / N).toFixed(2)),
    connected, closed, sent, acked,
  };
  console.log(JSON.stringify(result));
  sockets.forEach((ws) => ws.terminate());
  process.exit(0);
})().catch((e) => { console.error(e); process.exit(1); });
