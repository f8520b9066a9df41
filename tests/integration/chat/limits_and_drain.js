// Limits and failure behaviour a user or operator notices: --max-connections answers 503 and
// leaves existing sessions alone; a client that stops fetching (polling, never GETs) is
// disconnected once its backlog passes --max-send-queue, volatile typing is dropped for it,
// and the rest of the room keeps chatting; SIGTERM turns /health to 503 at once, refuses new
// sessions, keeps serving existing ones during --drain, then closes them with a transport
// close (clients reconnect elsewhere) and exits 0. Also the page, the client library, /health.
"use strict";
const assert = require("assert");
const fs = require("fs");
const path = require("path");
const { io } = require("socket.io-client");
const { startServer, stopServer, request, once, main, sleep } = require("./lib");

const metric = (text, name) => Number(new RegExp(`^${name} (\\d+)$`, "m").exec(text)[1]);

main(async (track) => {
  // --- max connections ---
  let server = track(await startServer(["--max-connections", "2", "--drain", "0"]));
  const a = io(server.url, { reconnection: false, forceNew: true, transports: ["websocket"] });
  const b = io(server.url, { reconnection: false, forceNew: true });
  await Promise.all([once(a, "hello"), once(b, "hello")]);
  const refused = await request(`${server.url}/socket.io/?EIO=4&transport=polling`);
  assert.strictEqual(refused.status, 503);
  const c = io(server.url, { reconnection: false, forceNew: true, transports: ["websocket"] });
  await once(c, "connect_error");
  c.close();
  await a.timeout(3000).emitWithAck("join", "r");
  assert.strictEqual((await b.timeout(3000).emitWithAck("join", "r")).members, 2, "existing sessions unharmed");
  assert.match((await request(`${server.url}/metrics`)).body, /^tether_chat_rejected_total 2$/m);
  a.close();
  b.close();
  assert.strictEqual((await stopServer(server)).code, 0);

  // --- slow consumer: a polling session that stops fetching ---
  server = track(await startServer(["--max-send-queue", "65536", "--drain", "0", "--id", "s-page"]));
  const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
  const sid = JSON.parse((await request(base)).body.slice(1)).sid;
  const u = `${base}&sid=${sid}`;
  assert.strictEqual((await request(u, { method: "POST", body: "40" })).body, "ok");
  assert.match((await request(u)).body, /^40\{"sid":/);  // CONNECT answer (+ hello)
  assert.strictEqual((await request(u, { method: "POST", body: '42["join","slow"]' })).body, "ok");
  const talker = io(server.url, { reconnection: false, forceNew: true, transports: ["websocket"] });
  await once(talker, "hello");
  await talker.timeout(3000).emitWithAck("join", "slow");
  talker.emit("typing", { room: "slow" });  // volatile: the stalled client is not writable
  const text = "z".repeat(1900);
  for (let i = 0; i < 60; i++) {
    const ack = await talker.timeout(3000).emitWithAck("message", { room: "slow", text });
    assert.ok(ack.id, "the sender keeps chatting while the other member is stalled");
  }
  await sleep(100);
  const m1 = (await request(`${server.url}/metrics`)).body;
  assert.strictEqual(metric(m1, "tether_chat_slow_consumer_disconnects_total"), 1);
  assert.ok(metric(m1, "tether_chat_dropped_total") >= 1, "volatile typing dropped for the stalled client");
  assert.strictEqual(metric(m1, "tether_chat_connections"), 1, "the stalled session is gone");
  assert.strictEqual((await request(u)).status, 400, "its sid is unknown now");

  // --- page, client library, health ---
  const page = await request(`${server.url}/`);
  assert.strictEqual(page.status, 200);
  assert.match(page.headers["content-type"], /text\/html/);
  assert.ok(page.body.includes("Instance s-page"), "the page names the instance that served it");
  assert.ok(page.body.includes('src="/socket.io.min.js"'));
  const lib = await request(`${server.url}/socket.io.min.js`);
  assert.strictEqual(lib.status, 200);
  const onDisk = fs.readFileSync(path.join(process.env.TETHER_SOURCE_DIR || path.join(__dirname, "../../.."),
    "backend/web/node_modules/socket.io-client/dist/socket.io.min.js"), "utf8");
  assert.strictEqual(lib.body, onDisk, "the client library is the npm-installed one");
  assert.strictEqual((await request(`${server.url}/nope`)).status, 404);
  const health = await request(`${server.url}/health`);
  assert.deepStrictEqual([health.status, health.body], [200, "ok"]);
  talker.close();
  assert.strictEqual((await stopServer(server)).code, 0);

  // --- SIGTERM drain ---
  server = track(await startServer(["--drain", "1500ms"]));
  const ws = io(server.url, { reconnection: false, forceNew: true, transports: ["websocket"] });
  const poll = io(server.url, { reconnection: false, forceNew: true, transports: ["polling"] });
  await Promise.all([once(ws, "hello"), once(poll, "hello")]);
  await ws.timeout(3000).emitWithAck("join", "d");
  await poll.timeout(3000).emitWithAck("join", "d");
  const wsGone = once(ws, "disconnect", 8000), pollGone = once(poll, "disconnect", 8000);
  const t0 = Date.now();
  server.proc.kill("SIGTERM");
  await sleep(100);
  const h = await request(`${server.url}/health`);
  assert.deepStrictEqual([h.status, h.body], [503, "draining"], "/health turns 503 at once");
  assert.strictEqual((await request(`${server.url}/socket.io/?EIO=4&transport=polling`)).status, 503, "no new sessions");
  const got = once(poll, "message");
  const ack = await ws.timeout(3000).emitWithAck("message", { room: "d", text: "during drain" });
  assert.ok(ack.id, "existing sessions still work while draining");
  assert.strictEqual((await got)[0].text, "during drain");
  const [[r1], [r2]] = await Promise.all([wsGone, pollGone]);
  const elapsed = Date.now() - t0;
  assert.strictEqual(r1, "transport close");
  assert.strictEqual(r2, "transport close");
  assert.ok(elapsed >= 1300 && elapsed < 6000, `sessions closed after the drain period (${elapsed} ms)`);
  const exit = await stopServer(server);
  assert.strictEqual(exit.code, 0);
});
