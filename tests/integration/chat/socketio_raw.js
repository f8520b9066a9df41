// Socket.IO rules seen from a raw polling client: CONNECT is answered with the socket id and
// the hello event, an invalid Socket.IO packet closes the session, an unknown namespace gets
// CONNECT_ERROR "Invalid namespace" without closing, and a session that never sends CONNECT
// is closed after --connect-timeout.
"use strict";
const assert = require("assert");
const { startServer, stopServer, request, main, sleep } = require("./lib");

main(async (track) => {
  const server = track(await startServer(["--connect-timeout", "400", "--drain", "0", "--id", "raw1"]));
  const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
  const open = async () => `${base}&sid=${JSON.parse((await request(base)).body.slice(1)).sid}`;

  const u = await open();
  assert.strictEqual((await request(u, { method: "POST", body: "40" })).body, "ok");
  const [connect, hello] = (await request(u)).body.split("\x1e");
  assert.match(connect, /^40\{"sid":"[A-Za-z0-9_-]{20}"\}$/);
  assert.strictEqual(hello, '42["hello",{"server":"raw1"}]');
  // Unknown namespace: CONNECT_ERROR, the session stays.
  await request(u, { method: "POST", body: "40/nope," });
  assert.strictEqual((await request(u)).body, '44/nope,{"message":"Invalid namespace"}');
  // An ack-requesting event works...
  await request(u, { method: "POST", body: '427["join","lobby"]' });
  assert.strictEqual((await request(u)).body, '437[{"members":1,"room":"lobby","seq":0}]');
  // ...and an invalid one (EVENT payload must be an array starting with a string) closes it.
  await request(u, { method: "POST", body: '42{"not":"an array"}' });
  assert.strictEqual((await request(u)).status, 400, "session closed after an invalid packet");

  // No CONNECT within the connect timeout: closed.
  const idle = await open();
  const held = request(idle, { timeout: 3000 });
  const t0 = Date.now();
  assert.strictEqual((await held).body, "1", "the held GET gets an Engine.IO close");
  assert.ok(Date.now() - t0 < 1500);
  assert.strictEqual((await request(idle)).status, 400);
  // A session that connected is not affected by the connect timeout.
  const busy = await open();
  await request(busy, { method: "POST", body: "40" });
  await request(busy);
  await sleep(700);
  assert.strictEqual((await request(busy, { method: "POST", body: '42["rooms"]' })).status, 200);

  assert.strictEqual((await stopServer(server)).code, 0);
});
