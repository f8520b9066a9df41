// Delivery latency probe for bench/chat/delay_curve.sh (never part of the test run): one extra
// WebSocket client joins a room of a running chat server, sends a message every --every ms and
// times how long its own broadcast takes to come back (send -> receive, one loopback round trip
// through the server's fan-out). After --warmup seconds it records for --seconds and prints one
// JSON line {n, p50Ms, p99Ms, maxMs}. Loopback only.
// Usage: node latency_probe.js --port P [--room room0] [--every 50] [--warmup 8] [--seconds 10]
"use strict";
const WebSocket = require("ws");
const { arg } = require("./bench_args");

const port = Number(arg("port", 3000));
const room = arg("room", "room0");
const every = Number(arg("every", 50));
const warmup = Number(arg("warmup", 8));
const seconds = Number(arg("seconds", 10));

const sent = new Map();  // probe id -> hrtime of send
const samples = [];
let recording = false, n = 0;
const ws = new WebSocket(`ws://127.0.0.1:${port}/socket.io/?EIO=4&transport=websocket`, { perMessageDeflate: false });
ws.on("message", (data) => {
  const s = data.toString();
  if (s === "2") return ws.send("3");
  if (s[0] === "0") return ws.send("40");
  if (s.startsWith("40")) return ws.send(`420["join","${room}"]`);
  if (s.startsWith("430")) return start();
  if (!s.startsWith('42["message"')) return;
  const m = /"text":"probe-(\d+)"/.exec(s);
  if (!m || !sent.has(m[1])) return;
  const ms = Number(process.hrtime.bigint() - sent.get(m[1])) / 1e6;
  sent.delete(m[1]);
  if (recording) samples.push(ms);
});
ws.on("error", (e) => { console.error(e.message); process.exit(1); });

function start() {
  const timer = setInterval(() => {
    const id = String(++n);
    sent.set(id, process.hrtime.bigint());
    ws.send(`42["message",{"room":"${room}","text":"probe-${id}"}]`);
  }, every);
  setTimeout(() => { recording = true; }, warmup * 1000);
  setTimeout(() => {
    clearInterval(timer);
    samples.sort((a, b) => a - b);
    const q = (p) => (samples.length ? Number(samples[Math.min(samples.length - 1, Math.floor(p * samples.length))].toFixed(2)) : null);
    console.log(JSON.stringify({ n: samples.length, p50Ms: q(0.5), p99Ms: q(0.99), maxMs: q(1) }));
    ws.terminate();
    process.exit(0);
  }, (warmup + seconds) * 1000);
}
