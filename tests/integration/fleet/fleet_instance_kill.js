// An instance killed -9 behind tether, while messages flow: its clients reconnect through
// tether to the others and recover what they missed from history (no gap, none twice, in
// order); resends after lost acks are recognised by their cid; the dead instance's presence
// entries vanish within 15 s (its liveness key expires), the live members stay listed.
"use strict";
const assert = require("assert");
const fs = require("fs");
const path = require("path");
const { startServer, main, sleep, tempDir } = require("../chat/lib");
const { Redis, waitFor, startTether, chatUpstreamYaml } = require("./fleet_lib");
const { RoomClient } = require("./room_client");

const CLIENTS = 15;

main(async (track) => {
  const redis = new Redis();
  await redis.start();
  let tether;
  try {
    const servers = [];
    for (const id of ["k1", "k2", "k3"]) servers.push(track(await startServer(["--id", id, "--redis", redis.url])));
    const accessLog = path.join(tempDir("tether-access-"), "access.log");
    const yaml = chatUpstreamYaml(servers.map((s) => s.port));
    tether = await startTether((port) => `${yaml(port)}access_log: {path: ${accessLog}, format: json}\n`);
    const clients = Array.from({ length: CLIENTS }, (_, i) => new RoomClient(tether.url, { name: `k${i}`,
      rooms: ["main", i % 2 ? "odd" : "even"], transports: i % 3 ? ["websocket"] : ["polling", "websocket"] }));
    await Promise.all(clients.map((c) => c.ready(10000)));
    const on = (id) => clients.filter((c) => c.server === id);
    assert.ok(servers.every((s) => on(s.id).length > 0), "tether spread the clients over all instances");
    // Every exchange so far answered 200 or 101: no request reached an instance that does not
    // know its sid (a WebSocket-only client once probed a second WebSocket tether could not
    // route; a refused upgrade once shifted the responses of a pooled connection).
    await sleep(300);  // the access log is buffered
    const statuses = fs.readFileSync(accessLog, "utf8").trim().split("\n").map((l) => JSON.parse(l))
      .filter((e) => e.url.startsWith("/socket.io/")).map((e) => e.status);
    assert.ok(statuses.length >= CLIENTS * 2, "the access log saw the sessions");
    assert.deepStrictEqual(statuses.filter((st) => st !== 200 && st !== 101), [], "no refused Engine.IO request");

    // Two senders keep talking to "main" (and their own room) while k2 dies.
    let sending = true;
    const sent = [];
    const sender = async (c, room) => {
      for (let k = 0; sending; k++) {
        sent.push(await c.send(room, `${c.name}:${k}`));
        await sleep(20);
      }
    };
    const victim = servers[1];
    const orphans = on(victim.id);
    const loops = [sender(on("k1")[0], "main"), sender(orphans[0], "main"), sender(on("k3")[0], "main")];
    await sleep(400);
    victim.proc.kill("SIGKILL");
    await sleep(1500);  // the orphans reconnect through tether meanwhile
    sending = false;
    await Promise.all(loops);

    const head = Math.max(...sent.map((a) => a.seq));
    assert.strictEqual(new Set(sent.map((a) => a.seq)).size, sent.length, "every acked send has its own seq");
    await waitFor(() => clients.every((c) => c.last.main === head), 15000, `every client reaches seq ${head}`);
    await sleep(300);
    for (const c of clients) assert.deepStrictEqual(c.verify("main", head), [], c.name);
    for (const c of orphans) {
      assert.ok(c.server !== victim.id, `${c.name} moved off the dead instance`);
      assert.strictEqual(c.recoveries.length >= 1, true, `${c.name} recovered`);
    }
    assert.ok(orphans.reduce((n, c) => n + c.counters.replayed, 0) > 0, "the orphans got missed messages from history");

    // Presence: the dead instance's entries go within its 10 s TTL; everyone is listed once.
    const asker = on("k1")[0];
    let p;
    await waitFor(async () => {
      p = await asker.socket.timeout(3000).emitWithAck("presence", "main");
      return p.members.every((m) => m.server !== victim.id);
    }, 15000, "dead instance's presence expires");
    assert.deepStrictEqual(p.members.map((m) => m.name).sort(), clients.map((c) => c.name).sort());

    clients.forEach((c) => c.close());
  } catch (e) {
    if (tether) console.error("tether log:\n" + tether.log());
    throw e;
  } finally {
    if (tether) await tether.stop();
    await redis.stop();
  }
}, 90000);
