// History limits and Redis AUTH. With --history 10, a client that re-joins far behind gets an
// explicit gap for what the stream no longer holds, then the rest in order, then live messages.
// A password-protected Redis: the password from $TETHER_REDIS_PASSWORD or the URL is used; a
// wrong one is logged, the instance keeps serving locally and reports the bus down.
"use strict";
const assert = require("assert");
const { startServer, stopServer, main, request, sleep } = require("../chat/lib");
const { Redis, waitFor, metric } = require("./fleet_lib");
const { RoomClient } = require("./room_client");

main(async (track) => {
  const redis = new Redis({ password: "s3cret" });
  await redis.start();
  try {
    const url = `redis://127.0.0.1:${redis.port}`;
    process.env.TETHER_REDIS_PASSWORD = "s3cret";
    const a = track(await startServer(["--id", "h1", "--redis", url, "--history", "10"]));
    delete process.env.TETHER_REDIS_PASSWORD;
    const b = track(await startServer(["--id", "h2", "--redis", `redis://:s3cret@127.0.0.1:${redis.port}`, "--history", "10"]));
    const wrong = track(await startServer(["--id", "h3", "--redis", url, "--redis-password", "nope"]));
    const up = async (s) => metric((await request(`${s.url}/metrics`)).body, "tether_chat_redis_up");
    await waitFor(async () => (await up(a)) === 1 && (await up(b)) === 1, 5000, "password from env and from the URL");
    await sleep(300);
    assert.strictEqual(await up(wrong), 0, "a wrong password never counts as up");
    assert.match(wrong.stderr(), /redis_handshake_failed .*step=AUTH/);
    assert.deepStrictEqual([(await request(`${wrong.url}/health`)).body], ["ok (redis down)"]);
    assert.ok(!/s3cret|nope/.test(a.stderr() + b.stderr() + wrong.stderr()), "passwords never logged");

    const sender = new RoomClient(a.url, { name: "sender", rooms: ["big"] });
    await sender.ready();
    const N = 250;
    for (let k = 0; k < N; k++) await sender.send("big", `m${k}`);
    // Trimming is approximate (MAXLEN ~ keeps whole stream nodes): some old entries are gone.
    const kept = Number(/^:(\d+)/.exec(await redis.command("XLEN", "tether:{big}:hist"))[1]);
    assert.ok(kept >= 10 && kept < N, `history trimmed to about 10 (${kept} kept)`);
    const late = new RoomClient(b.url, { name: "late", rooms: ["big"] });
    await late.ready();
    assert.strictEqual(late.gapList.length, 1, "one gap for what history lost");
    const [gap] = late.gapList;
    assert.strictEqual(gap.from, 1);
    assert.ok(gap.to >= 1 && gap.to < N - 10, `gap 1..${gap.to}, the newest ${N - gap.to} kept`);
    assert.deepStrictEqual(late.seqs.big, Array.from({ length: N - gap.to }, (_, k) => gap.to + 1 + k), "the rest in order");
    assert.strictEqual(late.joinAcks.big.replayed, N - gap.to);
    assert.strictEqual(N - gap.to, kept, "replayed exactly what the stream held");
    await sender.send("big", "live");
    await waitFor(() => late.last.big === N + 1, 5000, "live after the gap");
    assert.strictEqual(metric((await request(`${b.url}/metrics`)).body, "tether_chat_gaps_total"), 1);

    sender.close();
    late.close();
    for (const s of [a, b, wrong]) assert.strictEqual((await stopServer(s)).code, 0);
  } finally {
    await redis.stop();
  }
}, 90000);
