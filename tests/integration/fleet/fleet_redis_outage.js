// Redis killed (-9) and restarted (append-only) under two chat instances, one room with members
// on both. Sends before, during and after the outage: every acked message reaches every member
// once, in order; none is delivered that was not acked. During the outage sends wait in each
// instance's queue, are delivered nowhere (not even locally) and are acked with their seq once
// Redis is back; past --outage-queue a send is refused at once, past --outage-wait it is
// refused when its time is up, and a refused send is delivered nowhere. /health and /metrics
// show the outage and the queue; nothing crashes and no client is disconnected.
"use strict";
const assert = require("assert");
const { startServer, stopServer, main, request, sleep } = require("../chat/lib");
const { Redis, waitFor, metric } = require("./fleet_lib");
const { RoomClient } = require("./room_client");

main(async (track) => {
  const redis = new Redis();
  await redis.start();
  try {
    // o1 holds sends for 20 s, o2 holds 2 sends for 3 s at most.
    const s1 = track(await startServer(["--id", "o1", "--redis", redis.url, "--outage-wait", "20s"]));
    const s2 = track(await startServer(["--id", "o2", "--redis", redis.url, "--outage-queue", "2", "--outage-wait", "3s"]));
    const m = async (s, name) => metric((await request(`${s.url}/metrics`)).body, name);
    await waitFor(async () => (await m(s1, "tether_chat_redis_up")) === 1 && (await m(s2, "tether_chat_redis_up")) === 1,
      5000, "bus up");
    const clients = [0, 1, 2, 3, 4, 5].map((i) => new RoomClient((i % 2 ? s2 : s1).url, { name: `c${i}`, rooms: ["r"],
      transports: i < 3 ? ["websocket"] : ["polling"] }));
    await Promise.all(clients.map((c) => c.ready()));
    const acked = [];  // {cid, seq}
    for (let k = 0; k < 5; k++) {
      const a = await clients[k % 6].send("r", `before ${k}`);
      acked.push({ cid: clients[k % 6].cids.r[clients[k % 6].seqs.r.indexOf(a.seq)] ?? null, seq: a.seq });
    }
    await waitFor(() => clients.every((c) => c.last.r === 5), 5000, "the first five everywhere");
    const disconnectsBefore = clients.map((c) => c.counters.disconnects);

    await redis.kill();
    await waitFor(async () => (await m(s1, "tether_chat_redis_up")) === 0 && (await m(s2, "tether_chat_redis_up")) === 0,
      5000, "outage seen by both");
    const h = await request(`${s1.url}/health`);
    assert.deepStrictEqual([h.status, h.body], [200, "ok (redis down)"], "still serving, outage visible");

    // Sends during the outage: their acks come later. o1 (members c0 c2 c4) queues four.
    const emit = (c, text, cid) => c.socket.timeout(30000).emitWithAck("message", { room: "r", text, cid });
    const held = [0, 1, 2, 3].map((k) => ({ cid: `held-${k}`, ack: emit(clients[[0, 2, 4, 0][k]], `during ${k}`, `held-${k}`) }));
    // o2 (c1 c3 c5) has room for two; the third is refused at once, the two expire after 3 s.
    const expiring = [0, 1].map((k) => ({ cid: `expire-${k}`, ack: emit(clients[[1, 3][k]], `expires ${k}`, `expire-${k}`) }));
    const t0 = Date.now();
    const refused = await emit(clients[5], "refused", "refused-0");
    assert.deepStrictEqual(refused, { error: "unavailable", retry: true }, "past --outage-queue: refused at once");
    await waitFor(async () => (await m(s1, "tether_chat_outage_queue")) === 4, 3000, "o1 holds four sends");
    assert.strictEqual(await m(s2, "tether_chat_outage_queue"), 2, "o2 holds two");
    const detail = JSON.parse((await request(`${s1.url}/health?detail`)).body);
    assert.strictEqual(detail.redis.up, false);
    assert.strictEqual(detail.redis.outage_queue, 4);
    await sleep(300);
    assert.ok(clients.every((c) => c.last.r === 5 && c.seqs.r.length === 5), "nothing delivered before its commit, not even locally");

    for (const e of expiring) {
      assert.deepStrictEqual(await e.ack, { error: "unavailable", retry: true }, `${e.cid}: past --outage-wait`);
    }
    const waited = Date.now() - t0;
    assert.ok(waited >= 2500 && waited < 6000, `expired after about 3 s (${waited} ms)`);
    assert.strictEqual(await m(s2, "tether_chat_outage_queue"), 0);
    assert.strictEqual(await m(s2, "tether_chat_bus_unavailable_total"), 3);

    const p = await clients[1].socket.timeout(3000).emitWithAck("presence", "r");
    assert.strictEqual(p.partial, true, "presence falls back to this instance's members");
    const j = await clients[2].socket.timeout(3000).emitWithAck("join", { room: "other", since: 0 });
    assert.strictEqual(j.history, "unavailable", "a join while Redis is down says history is unavailable");

    await redis.start();  // same port, same append-only file
    await waitFor(async () => (await m(s1, "tether_chat_redis_up")) === 1 && (await m(s2, "tether_chat_redis_up")) === 1,
      15000, "bus reconnects by itself");
    const heldAcks = await Promise.all(held.map((x) => x.ack));
    heldAcks.forEach((a, k) => {
      assert.ok(Number.isInteger(a.seq) && !a.error && !a.duplicate, `held-${k} acked with a seq: ${JSON.stringify(a)}`);
      acked.push({ cid: `held-${k}`, seq: a.seq });
    });
    assert.deepStrictEqual(heldAcks.map((a) => a.seq).sort((x, y) => x - y), [6, 7, 8, 9], "committed after the first five");
    assert.ok(heldAcks[0].seq < heldAcks[3].seq, "one sender's sends committed in its order");
    assert.strictEqual(await m(s1, "tether_chat_outage_queue"), 0);
    assert.strictEqual(await m(s1, "tether_chat_bus_queued_total"), 4);

    for (let k = 0; k < 5; k++) {
      const c = clients[(k + 1) % 6];
      const a = await c.send("r", `after ${k}`);
      acked.push({ seq: a.seq });
    }
    await waitFor(() => clients.every((c) => c.last.r === 14), 10000, "every member at seq 14");
    await sleep(300);  // a duplicate would arrive now
    for (const c of clients) {
      assert.deepStrictEqual(c.verify("r", 14), [], c.name);
      const cids = c.cids.r.filter(Boolean);
      for (const x of ["refused-0", "expire-0", "expire-1"]) assert.ok(!cids.includes(x), `${c.name}: ${x} delivered nowhere`);
      for (const x of held) assert.strictEqual(cids.filter((y) => y === x.cid).length, 1, `${c.name}: ${x.cid} once`);
      assert.deepStrictEqual(c.ids.r, clients[0].ids.r, `${c.name}: one order`);
    }
    assert.deepStrictEqual(acked.map((a) => a.seq).sort((x, y) => x - y), Array.from({ length: 14 }, (_, k) => k + 1),
      "every delivered seq was acked");
    assert.deepStrictEqual(clients.map((c) => c.counters.disconnects), disconnectsBefore, "no client was disconnected");
    assert.ok((await m(s2, "tether_chat_redis_failures_total")) >= 2, "both links saw the outage");

    clients.forEach((c) => c.close());
    assert.strictEqual((await stopServer(s1)).code, 0);
    assert.strictEqual((await stopServer(s2)).code, 0);
  } finally {
    await redis.stop();
  }
}, 90000);
