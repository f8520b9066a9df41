// Many socket.io clients in several rooms: every message reaches exactly the members of its
// room (sender included), typing reaches the others but not the sender, and bad input gets an
// error ack without hurting the connection. /metrics counts what happened.
"use strict";
const assert = require("assert");
const { io } = require("socket.io-client");
const { startServer, stopServer, once, main, sleep, request } = require("./lib");

const ROOMS = 4, PER_ROOM = 10;

main(async (track) => {
  const server = track(await startServer(["--id", "s-rooms"]));
  const clients = [];
  for (let r = 0; r < ROOMS; r++) {
    for (let i = 0; i < PER_ROOM; i++) {
      const transports = i % 2 ? ["websocket"] : ["polling"];
      const s = io(server.url, { reconnection: false, forceNew: true, transports, auth: { name: `u${r}-${i}` } });
      s.room = `room${r}`;
      s.got = [];
      s.typing = [];
      s.on("message", (m) => s.got.push(m));
      s.on("typing", (t) => s.typing.push(t));
      clients.push(s);
    }
  }
  await Promise.all(clients.map((s) => once(s, "hello")));
  for (const s of clients) await s.timeout(3000).emitWithAck("join", s.room);
  const sizes = await Promise.all(clients.filter((_, k) => k % PER_ROOM === 0).map((s) => s.timeout(3000).emitWithAck("join", s.room)));
  sizes.forEach((j) => assert.strictEqual(j.members, PER_ROOM, "joining twice keeps one membership"));

  // Every client sends one message to its room.
  const acks = await Promise.all(clients.map((s, k) => s.timeout(5000).emitWithAck("message", { room: s.room, text: `m${k}` })));
  const ids = new Set(acks.map((a) => a.id));
  assert.strictEqual(ids.size, clients.length, "every message gets a distinct id");
  for (let t = 0; t < 100 && clients.some((s) => s.got.length < PER_ROOM); t++) await sleep(50);
  await sleep(200);  // anything extra (a leak between rooms) would arrive now
  clients.forEach((s, k) => {
    assert.strictEqual(s.got.length, PER_ROOM, `client ${k} got exactly its room's messages`);
    assert.ok(s.got.every((m) => m.room === s.room), `client ${k} only sees room ${s.room}`);
  });

  // Standalone seqs: per room, contiguous; a re-join reports the head; a re-join with `since`
  // gets a gap for what it asks (there is no history without --redis).
  clients.slice(0, PER_ROOM).forEach((s) => {
    assert.deepStrictEqual(s.got.map((m) => m.seq).sort((x, y) => x - y), Array.from({ length: PER_ROOM }, (_, k) => k + 1));
  });
  const c0 = clients[0];
  assert.strictEqual((await c0.timeout(3000).emitWithAck("join", c0.room)).seq, PER_ROOM);
  const gap = once(c0, "gap");
  const rejoin = await c0.timeout(3000).emitWithAck("join", { room: c0.room, since: PER_ROOM - 2 });
  assert.deepStrictEqual(rejoin, { room: c0.room, members: PER_ROOM, seq: PER_ROOM, replayed: 0 });
  assert.deepStrictEqual((await gap)[0], { room: c0.room, from: PER_ROOM - 1, to: PER_ROOM });
  assert.deepStrictEqual(await c0.timeout(3000).emitWithAck("join", { room: c0.room, since: -1 }), { error: "invalid since" });

  // typing: others in the room get it, the sender does not.
  const [a, b] = [clients[0], clients[1]];
  a.emit("typing", { room: a.room });
  for (let t = 0; t < 40 && b.typing.length === 0; t++) await sleep(50);
  assert.deepStrictEqual(b.typing[0], { room: a.room, from: "u0-0" });
  assert.strictEqual(a.typing.length, 0);
  assert.ok(clients.slice(PER_ROOM).every((s) => s.typing.length === 0), "typing stays in its room");

  // Validation: error acks, the connection stays usable.
  const bad = async (ev, arg) => a.timeout(3000).emitWithAck(ev, arg);
  assert.deepStrictEqual(await bad("join", ""), { error: "invalid room" });
  assert.deepStrictEqual(await bad("join", "x".repeat(65)), { error: "invalid room" });
  assert.deepStrictEqual(await bad("join", 42), { error: "invalid room" });
  assert.deepStrictEqual(await bad("join", "tab\there"), { error: "invalid room" });
  assert.deepStrictEqual(await bad("message", { room: a.room, text: "" }), { error: "invalid text" });
  assert.deepStrictEqual(await bad("message", { room: a.room, text: "y".repeat(2001) }), { error: "invalid text" });
  assert.deepStrictEqual(await bad("message", { room: "room1", text: "not a member" }), { error: "not in room" });
  assert.deepStrictEqual(await bad("message", "just a string"), { error: "invalid room" });
  assert.deepStrictEqual(await bad("nonsense", 1), { error: "unknown event" });
  const ok = await a.timeout(3000).emitWithAck("message", { room: a.room, text: "still fine 🎉" });
  assert.ok(ok.id);

  const metrics = (await request(`${server.url}/metrics`)).body;
  const value = (name) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(metrics)[1]);
  assert.strictEqual(value("tether_chat_connections"), ROOMS * PER_ROOM);
  assert.strictEqual(value("tether_chat_messages_in_total"), clients.length + 1);
  assert.ok(value("tether_chat_messages_out_total") >= clients.length * PER_ROOM);
  assert.strictEqual(value("tether_chat_rejected_events_total"), 10);

  clients.forEach((s) => s.close());
  // Closing clients empties the rooms: sessions go away on the server.
  for (let t = 0; t < 60; t++) {
    const m = (await request(`${server.url}/metrics`)).body;
    if (/^tether_chat_connections 0$/m.test(m)) break;
    await sleep(50);
  }
  assert.match((await request(`${server.url}/metrics`)).body, /^tether_chat_rooms 0$/m);
  assert.strictEqual((await stopServer(server)).code, 0);
});
