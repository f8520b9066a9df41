// Per-room channels: an instance subscribes to a room's channel while it has local members
// there, so its bus traffic is its rooms' traffic only. Two instances on one redis-server:
// room "a" has members on o1 only, "b" on o2 only, "ab" on both. Also the first-join race: a
// client that joins a room new to its instance and sends at once (before the subscription is
// confirmed) gets its own message exactly once, and a plain join right after another member's
// send still sees every later message; after the last local member leaves, the instance
// unsubscribes and stops receiving the room's traffic.
"use strict";
const assert = require("assert");
const { startServer, stopServer, main, request, sleep } = require("../chat/lib");
const { Redis, waitFor, metric } = require("./fleet_lib");
const { RoomClient } = require("./room_client");
const { io } = require("socket.io-client");

main(async (track) => {
  const redis = new Redis();
  await redis.start();
  try {
    const s1 = track(await startServer(["--id", "o1", "--redis", redis.url]));
    const s2 = track(await startServer(["--id", "o2", "--redis", redis.url]));
    const m = async (s, name) => metric((await request(`${s.url}/metrics`)).body, name);
    await waitFor(async () => (await m(s1, "tether_chat_redis_up")) === 1 && (await m(s2, "tether_chat_redis_up")) === 1,
      5000, "bus up");
    const on1 = [new RoomClient(s1.url, { name: "a1", rooms: ["a"] }), new RoomClient(s1.url, { name: "a2", rooms: ["a", "ab"] })];
    const on2 = [new RoomClient(s2.url, { name: "b1", rooms: ["b"] }), new RoomClient(s2.url, { name: "b2", rooms: ["b", "ab"] })];
    const all = [...on1, ...on2];
    await Promise.all(all.map((c) => c.ready()));
    await waitFor(async () => (await m(s1, "tether_chat_bus_rooms_subscribed")) === 2 &&
      (await m(s2, "tether_chat_bus_rooms_subscribed")) === 2, 3000, "each instance subscribed to its two rooms");

    for (let k = 0; k < 10; k++) {
      await Promise.all([on1[0].send("a", `a${k}`), on2[0].send("b", `b${k}`), [on1[1], on2[1]][k % 2].send("ab", `ab${k}`)]);
    }
    await waitFor(() => on1.every((c) => c.last.a === 10) && on2.every((c) => c.last.b === 10) &&
      [on1[1], on2[1]].every((c) => c.last.ab === 10), 5000, "every message delivered");
    await sleep(200);
    for (const c of all) for (const r of c.rooms) assert.deepStrictEqual(c.verify(r, 10), [], `${c.name} ${r}`);
    // Each instance received its two rooms' 20 messages, not the other instance's 10.
    assert.strictEqual(await m(s1, "tether_chat_bus_received_total"), 20, "o1: rooms a and ab only");
    assert.strictEqual(await m(s2, "tether_chat_bus_received_total"), 20, "o2: rooms b and ab only");

    // The first-join race, 20 times: join a room new to o2 and send in the same tick.
    const raw = io(s2.url, { transports: ["websocket"], forceNew: true, reconnection: false, auth: { name: "racer" } });
    const got = {};
    raw.on("message", (msg) => { (got[msg.room] = got[msg.room] || []).push(msg.seq); });
    await new Promise((resolve, reject) => { raw.on("connect", resolve); raw.on("connect_error", reject); });
    const racers = [];
    for (let k = 0; k < 20; k++) {
      const room = `fresh-${k}`;
      const join = raw.timeout(5000).emitWithAck("join", room);
      const send = raw.timeout(5000).emitWithAck("message", { room, text: "first" });
      racers.push(Promise.all([join, send]).then(([j, s]) => ({ room, j, s })));
    }
    for (const { room, j, s } of await Promise.all(racers)) {
      assert.strictEqual(j.room, room);
      assert.strictEqual(s.seq, 1, `${room}: acked seq 1`);
    }
    await waitFor(() => Object.keys(got).length === 20, 3000, "every racer room delivered");
    await sleep(200);
    for (let k = 0; k < 20; k++) assert.deepStrictEqual(got[`fresh-${k}`], [1], `fresh-${k}: own message exactly once`);

    // A plain join on o1 to a room o1 has never held, right after a send on o2: every message
    // from the join's head on arrives.
    await on2[0].join("late");
    await on2[0].send("late", "before the join");
    const late = new RoomClient(s1.url, { name: "late1", rooms: ["late"] });
    await late.ready();
    for (let k = 0; k < 5; k++) await on2[0].send("late", `l${k}`);
    await waitFor(() => late.last.late === 6, 3000, "late joiner gets what follows");
    assert.deepStrictEqual(late.verify("late", 6), [], "replayed from 0, then live, once each");

    // The last member of "a" on o1 leaves: o1 unsubscribes and no longer receives "a".
    const subscribed = await m(s1, "tether_chat_bus_rooms_subscribed");
    for (const c of on1) await c.socket.timeout(3000).emitWithAck("leave", "a");
    await waitFor(async () => (await m(s1, "tether_chat_bus_rooms_subscribed")) === subscribed - 1, 3000, "o1 left a's channel");
    const before = await m(s1, "tether_chat_bus_received_total");
    await on2[1].join("a");
    for (let k = 0; k < 5; k++) await on2[1].send("a", `after-leave ${k}`);
    await waitFor(() => on2[1].last.a === 15, 3000, "a goes on on o2");
    assert.strictEqual(await m(s1, "tether_chat_bus_received_total"), before, "o1 receives nothing of a");

    raw.close();
    [...all, late].forEach((c) => c.close());
    assert.strictEqual((await stopServer(s1)).code, 0);
    assert.strictEqual((await stopServer(s2)).code, 0);
  } finally {
    await redis.stop();
  }
}, 90000);
