// Rooms across a fleet: three tether-chat instances on one real redis-server, clients spread
// over them (both transports). Every room message reaches every member on every instance
// exactly once and in one order (seq 1..N); a resend with the same cid is recognised and
// delivered no second time; typing crosses instances; presence lists every member with its
// instance; a late joiner replays history; identical history reads of a reconnect storm share
// one Redis call; metrics count what the bus did.
"use strict";
const assert = require("assert");
const { startServer, stopServer, main, request, sleep } = require("../chat/lib");
const { Redis, waitFor, metric } = require("./fleet_lib");
const { RoomClient } = require("./room_client");
const { io } = require("socket.io-client");

const ROOMS = ["alpha", "beta", "gamma"];
const CLIENTS = 27, PER_CLIENT = 4;  // 9 per room, 3 per (room, instance)
// Client i is on instance i % 3 and in room floor(i / 3) % 3: every room has members everywhere.
const roomOf = (i) => ROOMS[Math.floor(i / 3) % ROOMS.length];

main(async (track) => {
  const redis = new Redis();
  await redis.start();
  try {
    const servers = [];
    for (const id of ["i1", "i2", "i3"]) servers.push(track(await startServer(["--id", id, "--redis", redis.url])));
    await waitFor(async () => (await Promise.all(servers.map((s) => request(`${s.url}/metrics`))))
      .every((r) => metric(r.body, "tether_chat_redis_up") === 1), 5000, "every instance subscribed");

    const clients = [];
    for (let i = 0; i < CLIENTS; i++) {
      const c = new RoomClient(servers[i % 3].url, { name: `u${i}`, rooms: [roomOf(i)],
        transports: i % 2 ? ["websocket"] : ["polling", "websocket"] });
      clients.push(c);
    }
    await Promise.all(clients.map((c) => c.ready(10000)));

    // Everyone sends concurrently.
    const acks = await Promise.all(clients.flatMap((c, i) => Array.from({ length: PER_CLIENT },
      (_, k) => c.send(roomOf(i), `m${i}.${k}`))));
    const perRoom = CLIENTS / ROOMS.length * PER_CLIENT;
    for (const room of ROOMS) {
      const seqs = acks.filter((a) => a.room === room).map((a) => a.seq).sort((x, y) => x - y);
      assert.deepStrictEqual(seqs, Array.from({ length: perRoom }, (_, k) => k + 1), `${room}: acks carry seqs 1..${perRoom}`);
    }
    await waitFor(() => clients.every((c, i) => (c.last[roomOf(i)] ?? 0) === perRoom), 10000, "every message delivered");
    await sleep(300);  // a duplicate would arrive now
    clients.forEach((c, i) => {
      const room = roomOf(i);
      assert.deepStrictEqual(c.verify(room, perRoom), [], `${c.name} in ${room}`);
      assert.strictEqual(c.counters.stray, 0, `${c.name} sees no other room`);
    });
    // One order for everyone in a room: the same message id at each seq on every instance.
    for (const room of ROOMS) {
      const members = clients.filter((_, i) => roomOf(i) === room);
      for (const m of members) assert.deepStrictEqual(m.ids[room], members[0].ids[room], `${m.name}: same order as ${members[0].name}`);
    }

    // A resend with a cid already committed: acked as a duplicate of the first seq, not delivered.
    const a = clients[0];                              // alpha, on i1
    const sender = clients[1];                         // alpha, on i2
    const b = clients[3];                              // beta, on i1
    const first = await sender.socket.timeout(3000).emitWithAck("message", { room: "alpha", text: "once", cid: "fixed-cid-1" });
    const again = await sender.socket.timeout(3000).emitWithAck("message", { room: "alpha", text: "once", cid: "fixed-cid-1" });
    assert.strictEqual(again.seq, first.seq);
    assert.strictEqual(again.duplicate, true);
    assert.strictEqual(again.id, first.id, "the duplicate's ack names the message members received");
    assert.deepStrictEqual(await sender.socket.timeout(3000).emitWithAck("message", { room: "alpha", text: "x", cid: "bad cid" }),
      { error: "invalid cid" });
    await waitFor(() => a.last.alpha === first.seq, 5000, "the cid message arrives");
    await sleep(200);
    assert.strictEqual(a.seqs.alpha.filter((s) => s === first.seq).length, 1, "delivered once");

    // Typing from i2 reaches alpha members on i1 and i3, not the sender.
    const typed = [];
    for (const c of clients) c.socket.on("typing", (t) => typed.push([c.name, t.from]));
    sender.socket.emit("typing", { room: "alpha" });
    await waitFor(() => typed.length === CLIENTS / ROOMS.length - 1, 5000, "typing reaches the other alpha members");
    assert.ok(!typed.some(([n]) => n === sender.name), "not echoed to the sender");

    // Presence: every alpha member, each with the instance it is connected to.
    const p = await b.socket.timeout(3000).emitWithAck("presence", "alpha");
    const alpha = clients.filter((_, i) => roomOf(i) === "alpha");
    assert.deepStrictEqual(p.members.map((m) => m.name).sort(), alpha.map((c) => c.name).sort());
    for (const m of p.members) assert.strictEqual(m.server, alpha.find((c) => c.name === m.name).server);
    assert.strictEqual(new Set(p.members.map((m) => m.server)).size, 3, "members on all three instances");

    // A late joiner on another instance replays everything, then goes live.
    const late = new RoomClient(servers[2].url, { name: "late", rooms: ["beta"] });
    await late.ready(10000);
    assert.deepStrictEqual(late.verify("beta", perRoom), []);
    assert.strictEqual(late.counters.replayed, perRoom);
    await b.send("beta", "after the late join");
    await waitFor(() => late.last.beta === perRoom + 1, 5000, "live after replay");
    assert.strictEqual(late.joinAcks.beta.replayed, perRoom);

    // A reconnect storm: eight clients ask one instance the same {room, since} at once (Redis
    // hung for a moment, so the reads are certainly in flight together): one Redis read serves
    // all of them, and each gets the whole history.
    const reads = async () => {
      const body = (await request(`${servers[0].url}/metrics`)).body;
      return [metric(body, "tether_chat_history_reads_total"), metric(body, "tether_chat_history_reads_coalesced_total")];
    };
    const storm = Array.from({ length: 8 }, (_, k) => io(servers[0].url, { forceNew: true, reconnection: false,
      transports: ["websocket"], auth: { name: `storm${k}` } }));
    await Promise.all(storm.map((s) => new Promise((r) => s.on("hello", r))));
    const replays = storm.map(() => []);
    storm.forEach((s, k) => s.on("message", (m) => replays[k].push(m.seq)));
    const [readsBefore, coalescedBefore] = await reads();
    redis.pause();
    const stormAcks = storm.map((s) => s.timeout(5000).emitWithAck("join", { room: "gamma", since: 0 }));
    await sleep(500);
    redis.resume();
    for (const a of await Promise.all(stormAcks)) assert.strictEqual(a.replayed, perRoom);
    replays.forEach((r) => assert.deepStrictEqual(r, Array.from({ length: perRoom }, (_, k) => k + 1)));
    const [readsAfter, coalescedAfter] = await reads();
    assert.strictEqual(readsAfter - readsBefore, 1, "one history read for the storm");
    assert.strictEqual(coalescedAfter - coalescedBefore, 7, "seven joins answered by it");
    storm.forEach((s) => s.close());

    const bodies = await Promise.all(servers.map(async (s) => (await request(`${s.url}/metrics`)).body));
    const published = bodies.reduce((n, body) => n + metric(body, "tether_chat_bus_published_total"), 0);
    assert.strictEqual(published, CLIENTS * PER_CLIENT + 2, "every commit counted once, the duplicate not");
    assert.strictEqual(bodies.reduce((n, body) => n + metric(body, "tether_chat_bus_duplicates_total"), 0), 1);
    assert.ok(bodies.every((body) => metric(body, "tether_chat_bus_received_total") === published), "each instance received all");
    const health = JSON.parse((await request(`${servers[0].url}/health?detail`)).body);
    assert.strictEqual(health.redis.up, true);

    [...clients, late].forEach((c) => c.close());
    // Clean shutdown says goodbye: the instance's liveness key is gone at once.
    assert.match(await redis.command("EXISTS", "tether:instance:i1"), /^:1/);
    assert.strictEqual((await stopServer(servers[0])).code, 0);
    assert.match(await redis.command("EXISTS", "tether:instance:i1"), /^:0/);
    for (const s of servers.slice(1)) assert.strictEqual((await stopServer(s)).code, 0);
  } finally {
    await redis.stop();
  }
}, 90000);
