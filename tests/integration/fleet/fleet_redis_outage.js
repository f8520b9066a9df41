// Redis killed (-9) and restarted under two chat instances: nothing crashes, local delivery
// goes on (messages marked local, no seq), /health and /metrics show the outage, the bus
// reconnects by itself, and cross-instance delivery with contiguous seqs resumes: every
// client ends with seq 1..N, none twice.
"use strict";
const assert = require("assert");
const { startServer, stopServer, main, request, sleep } = require("../chat/lib");
const { Redis, waitFor, metric } = require("./fleet_lib");
const { RoomClient } = require("./room_client");

main(async (track) => {
  const redis = new Redis();
  await redis.start();
  try {
    const [s1, s2] = [track(await startServer(["--id", "o1", "--redis", redis.url])),
      track(await startServer(["--id", "o2", "--redis", redis.url]))];
    const up = async (s) => metric((await request(`${s.url}/metrics`)).body, "tether_chat_redis_up");
    await waitFor(async () => (await up(s1)) === 1 && (await up(s2)) === 1, 5000, "bus up");
    const clients = [0, 1, 2, 3, 4, 5].map((i) => new RoomClient((i % 2 ? s2 : s1).url, { name: `c${i}`, rooms: ["r"],
      transports: i < 3 ? ["websocket"] : ["polling"] }));
    await Promise.all(clients.map((c) => c.ready()));
    for (let k = 0; k < 5; k++) await clients[k % 6].send("r", `before ${k}`);

    await redis.kill();
    await waitFor(async () => (await up(s1)) === 0 && (await up(s2)) === 0, 5000, "outage seen by both");
    const h = await request(`${s1.url}/health`);
    assert.deepStrictEqual([h.status, h.body], [200, "ok (redis down)"], "still serving, outage visible");
    const detail = JSON.parse((await request(`${s1.url}/health?detail`)).body);
    assert.strictEqual(detail.redis.up, false);
    assert.ok(detail.redis.down_for_ms >= 0);

    // Local delivery goes on: o1's members get it, o2's cannot (no bus), nothing has a seq.
    const ack = await clients[0].socket.timeout(3000).emitWithAck("message", { room: "r", text: "during the outage" });
    assert.strictEqual(ack.local, true);
    assert.strictEqual(ack.seq, undefined);
    await waitFor(() => clients.filter((_, i) => i % 2 === 0).every((c) => c.counters.local === 1), 3000, "local members get it");
    assert.ok(clients.filter((_, i) => i % 2 === 1).every((c) => c.counters.local === 0));
    const p = await clients[1].socket.timeout(3000).emitWithAck("presence", "r");
    assert.strictEqual(p.partial, true, "presence falls back to this instance's members");
    assert.deepStrictEqual(p.members.map((m) => m.server), ["o2", "o2", "o2"]);
    // A join while Redis is down still joins, and says history is unavailable.
    const j = await clients[2].socket.timeout(3000).emitWithAck("join", { room: "other", since: 0 });
    assert.strictEqual(j.history, "unavailable");

    await redis.start();  // same port, same append-only file
    await waitFor(async () => (await up(s1)) === 1 && (await up(s2)) === 1, 15000, "bus reconnects by itself");
    for (let k = 0; k < 5; k++) await clients[(k + 1) % 6].send("r", `after ${k}`);
    await waitFor(() => clients.every((c) => c.last.r === 10), 5000, "cross-instance delivery resumed");
    await sleep(200);
    for (const c of clients) assert.deepStrictEqual(c.verify("r", 10), [], c.name);
    const body = (await request(`${s2.url}/metrics`)).body;
    assert.ok(metric(body, "tether_chat_redis_failures_total") >= 2, "both links saw the outage");
    assert.strictEqual(metric((await request(`${s1.url}/metrics`)).body, "tether_chat_local_only_total"), 1);

    clients.forEach((c) => c.close());
    assert.strictEqual((await stopServer(s1)).code, 0);
    assert.strictEqual((await stopServer(s2)).code, 0);
  } finally {
    await redis.stop();
  }
}, 90000);
