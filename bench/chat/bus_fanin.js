// Bus fan-in run (bench/chat/bus_fanin.sh starts redis and the instances, then this). Loopback
// only, bounded in count and time; never part of the test run.
//
// Places ROOMS rooms with two members each: room r lives on instance r mod INSTANCES, and with
// probability SPLIT its second member is on another instance (seeded). Members are RoomClients
// (tests/integration/fleet/room_client.js, WebSocket), CLIENTS_PER_INSTANCE per instance, each
// taking its instance's memberships in turn. Then MESSAGES per room are sent, RATE per second
// in total, each by a random member of its room (unique cid, retried until acked). Checks that
// every member has seq 1..MESSAGES of each of its rooms, in order, none twice, and reads each
// instance's tether_chat_bus_received_total before and after: an instance's bus traffic is
// compared with the messages of the rooms it holds members of (ratio <= 1.5 passes). Prints a
// table and writes a CSV (--csv FILE); exits 1 on a failed check, 2 if the harness could not run.
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");
const { RoomClient } = require(path.join(__dirname, "../../tests/integration/fleet/room_client.js"));
const { waitFor } = require(path.join(__dirname, "../../tests/integration/fleet/fleet_lib.js"));

const { arg, num } = require("./bench_args");
const BASE_PORT = Number(arg("base-port", 0));
const CSV = arg("csv", "");
const INSTANCES = num("INSTANCES", 8), ROOMS = num("ROOMS", 400), SPLIT = Math.min(num("SPLIT", 0.5), 1);
const MESSAGES = num("MESSAGES", 10), PER_INSTANCE = Math.max(1, num("CLIENTS_PER_INSTANCE", 25));
const RATE = Math.max(1, num("RATE", 400)), SEED = num("SEED", 1);
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const t0 = Date.now();
const note = (msg) => process.stderr.write(`[fanin ${((Date.now() - t0) / 1000).toFixed(1)}s] ${msg}\n`);

let seed = SEED >>> 0 || 1;
const rand = () => {  // xorshift32: the same placement for the same SEED
  seed ^= seed << 13; seed >>>= 0; seed ^= seed >>> 17; seed ^= seed << 5; seed >>>= 0;
  return seed / 4294967296;
};
const url = (i) => `http://127.0.0.1:${BASE_PORT + i}`;
function get(u) {
  return new Promise((resolve, reject) => {
    const req = http.get(u, { timeout: 3000 }, (res) => {
      let body = "";
      res.on("data", (d) => { body += d; });
      res.on("end", () => resolve({ status: res.statusCode, body }));
    });
    req.on("timeout", () => req.destroy(new Error("timeout")));
    req.on("error", reject);
  });
}
async function metric(i, name) {
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec((await get(`${url(i)}/metrics`)).body);
  if (!m) throw new Error(`instance ${i}: metric ${name} missing`);
  return Number(m[1]);
}
async function main() {
  if (!BASE_PORT) throw new Error("--base-port is required");
  await waitFor(async () => {
    try {
      for (let i = 0; i < INSTANCES; i++) if ((await metric(i, "tether_chat_redis_up")) !== 1) return false;
      return true;
    } catch { return false; }
  }, 15000, "every instance up on the bus");

  // Placement: room -> [instance, instance]; instance -> memberships in turn to its clients.
  const roomName = (r) => `room-${r}`;
  const placement = [];
  const byInstance = Array.from({ length: INSTANCES }, () => []);
  for (let r = 0; r < ROOMS; r++) {
    const home = r % INSTANCES;
    let second = home;
    if (INSTANCES > 1 && rand() < SPLIT) second = (home + 1 + Math.floor(rand() * (INSTANCES - 1))) % INSTANCES;
    placement.push([home, second]);
    byInstance[home].push(roomName(r));
    byInstance[second].push(roomName(r));
  }
  const clients = [];
  const membersOf = {};  // room -> clients
  for (let i = 0; i < INSTANCES; i++) {
    const rooms = Array.from({ length: PER_INSTANCE }, () => []);
    byInstance[i].forEach((room, k) => rooms[k % PER_INSTANCE].push(room));
    rooms.forEach((list, k) => {
      if (!list.length) return;
      const c = new RoomClient(url(i), { name: `i${i}c${k}`, rooms: list, transports: ["websocket"] });
      clients.push(c);
      for (const room of list) (membersOf[room] = membersOf[room] || []).push(c);
    });
  }
  note(`${clients.length} clients, ${ROOMS} rooms (${placement.filter(([a, b]) => a !== b).length} on two instances)`);
  await Promise.all(clients.map((c) => c.ready(30000)));
  await waitFor(async () => {
    for (let i = 0; i < INSTANCES; i++) {
      const want = new Set(byInstance[i]).size;
      if ((await metric(i, "tether_chat_bus_rooms_subscribed")) !== want) return false;
    }
    return true;
  }, 10000, "every instance subscribed to its rooms");
  const before = [];
  for (let i = 0; i < INSTANCES; i++) before.push(await metric(i, "tether_chat_bus_received_total"));

  // Sends: every room MESSAGES times, in a shuffled order, RATE per second.
  const order = [];
  for (let r = 0; r < ROOMS; r++) for (let k = 0; k < MESSAGES; k++) order.push(r);
  for (let i = order.length - 1; i > 0; i--) { const j = Math.floor(rand() * (i + 1)); [order[i], order[j]] = [order[j], order[i]]; }
  const sends = [];
  const sendStart = Date.now();
  for (let n = 0; n < order.length; n++) {
    const due = sendStart + (n * 1000) / RATE;
    if (due > Date.now()) await sleep(due - Date.now());
    const room = roomName(order[n]);
    const members = membersOf[room];
    sends.push(members[Math.floor(rand() * members.length)].send(room, `m${n}`));
  }
  await Promise.all(sends);
  const sendSeconds = (Date.now() - sendStart) / 1000;
  await waitFor(() => clients.every((c) => [...c.rooms].every((r) => c.last[r] === MESSAGES)), 30000, "every message delivered");
  await sleep(500);  // a duplicate would arrive now

  const problems = [];
  for (const c of clients) for (const r of c.rooms) for (const p of c.verify(r, MESSAGES)) problems.push(`${c.name} ${r}: ${p}`);
  const total = ROOMS * MESSAGES;
  const rows = [];
  for (let i = 0; i < INSTANCES; i++) {
    const rooms = new Set(byInstance[i]).size;
    const expected = rooms * MESSAGES;
    const received = (await metric(i, "tether_chat_bus_received_total")) - before[i];
    rows.push({ instance: `b${i + 1}`, rooms, share: expected / total, expected, received, ratio: received / expected });
  }
  const deliveries = clients.reduce((a, c) => a + c.counters.received, 0);
  console.log(`messages: ${total} (${MESSAGES} per room) in ${sendSeconds.toFixed(1)} s; deliveries ${deliveries} (expected ${ROOMS * 2 * MESSAGES})`);
  console.log("instance  rooms  share of traffic  its rooms' messages  bus messages received  ratio");
  for (const r of rows) {
    console.log(`${r.instance.padEnd(8)}  ${String(r.rooms).padStart(5)}  ${(100 * r.share).toFixed(1).padStart(15)}%  ` +
      `${String(r.expected).padStart(19)}  ${String(r.received).padStart(21)}  ${r.ratio.toFixed(2).padStart(5)}`);
  }
  const sumReceived = rows.reduce((a, r) => a + r.received, 0);
  console.log(`all instances: ${sumReceived} bus messages received; one fleet-wide channel would have been ${total * INSTANCES} (${(sumReceived / (total * INSTANCES) * 100).toFixed(1)}%)`);
  if (CSV) {
    fs.writeFileSync(CSV, "instance,rooms,share,rooms_messages,bus_received,ratio\n" +
      rows.map((r) => `${r.instance},${r.rooms},${r.share.toFixed(4)},${r.expected},${r.received},${r.ratio.toFixed(3)}`).join("\n") + "\n");
  }
  const worst = Math.max(...rows.map((r) => r.ratio));
  let ok = true;
  if (worst > 1.5) { ok = false; console.log(`FAIL  an instance received ${worst.toFixed(2)}x its rooms' traffic (> 1.5)`); }
  else console.log(`PASS  every instance's bus traffic <= 1.5x its rooms' traffic (worst ${worst.toFixed(2)}x)`);
  if (problems.length || deliveries !== ROOMS * 2 * MESSAGES) {
    ok = false;
    console.log(`FAIL  delivery: ${problems.length} problems, ${deliveries} deliveries; first: ${problems.slice(0, 5).join("; ")}`);
  } else console.log("PASS  every member got every message of its rooms once, in order");
  clients.forEach((c) => c.close());
  return ok ? 0 : 1;
}

const watchdog = setTimeout(() => { note("watchdog: 300 s"); process.exit(2); }, 300000);
main().then((rc) => { clearTimeout(watchdog); process.exit(rc); },
  (e) => { note(`harness error: ${e && e.stack || e}`); process.exit(2); });
