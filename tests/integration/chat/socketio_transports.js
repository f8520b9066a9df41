// A real socket.io-client v4 talks to tether-chat over each transport setup a user can pick:
// default (polling, then upgrade to websocket), polling only, websocket only. Each client gets
// the hello event, joins a room, sends a message that comes back as a broadcast with an ack id.
"use strict";
const assert = require("assert");
const { io } = require("socket.io-client");
const { startServer, stopServer, once, main, sleep } = require("./lib");

async function chatRoundTrip(url, serverId, opts, label) {
  const socket = io(url, { reconnection: false, forceNew: true, auth: { name: `user-${label}` }, ...opts });
  try {
    const [hello] = await once(socket, "hello");
    assert.deepStrictEqual(hello, { server: serverId }, `${label}: hello names the instance`);
    const join = await socket.timeout(3000).emitWithAck("join", `room-${label}`);
    assert.deepStrictEqual(join, { room: `room-${label}`, members: 1, seq: 0 }, "a fresh room starts at seq 0");
    const got = once(socket, "message");
    const ack = await socket.timeout(3000).emitWithAck("message", { room: `room-${label}`, text: `hi from ${label} ✓` });
    const [msg] = await got;
    assert.strictEqual(msg.text, `hi from ${label} ✓`);
    assert.strictEqual(msg.from, `user-${label}`);
    assert.strictEqual(msg.server, serverId);
    assert.strictEqual(msg.room, `room-${label}`);
    assert.strictEqual(typeof msg.ts, "number");
    assert.strictEqual(ack.id, msg.id, `${label}: the ack carries the broadcast message id`);
    const rooms = await socket.timeout(3000).emitWithAck("rooms");
    assert.deepStrictEqual(rooms, [`room-${label}`]);
    return socket;
  } catch (e) {
    socket.close();
    throw e;
  }
}

main(async (track) => {
  const server = track(await startServer(["--id", "s-transports"]));

  // Default transports: starts on polling, must end up upgraded to websocket.
  const def = await chatRoundTrip(server.url, "s-transports", {}, "default");
  for (let i = 0; i < 50 && def.io.engine.transport.name !== "websocket"; i++) await sleep(50);
  assert.strictEqual(def.io.engine.transport.name, "websocket", "default client upgraded to websocket");
  // Still works after the upgrade.
  const again = await def.timeout(3000).emitWithAck("message", { room: "room-default", text: "after upgrade" });
  assert.ok(again.id);

  const polling = await chatRoundTrip(server.url, "s-transports", { transports: ["polling"] }, "polling");
  assert.strictEqual(polling.io.engine.transport.name, "polling");

  const ws = await chatRoundTrip(server.url, "s-transports", { transports: ["websocket"] }, "websocket");
  assert.strictEqual(ws.io.engine.transport.name, "websocket");

  // A polling client and a websocket client in the same room see each other's messages.
  await polling.timeout(3000).emitWithAck("join", "shared");
  const join = await ws.timeout(3000).emitWithAck("join", "shared");
  assert.strictEqual(join.members, 2);
  const atPolling = once(polling, "message");
  await ws.timeout(3000).emitWithAck("message", { room: "shared", text: "cross-transport" });
  const [m] = await atPolling;
  assert.strictEqual(m.text, "cross-transport");
  assert.strictEqual(m.from, "user-websocket");

  // Leaving stops delivery.
  const left = await polling.timeout(3000).emitWithAck("leave", "shared");
  assert.deepStrictEqual(left, { room: "shared", left: true });
  let leaked = false;
  polling.on("message", (msg) => { if (msg.room === "shared") leaked = true; });
  await ws.timeout(3000).emitWithAck("message", { room: "shared", text: "after leave" });
  await sleep(300);
  assert.strictEqual(leaked, false, "a client that left gets no more room messages");

  for (const s of [def, polling, ws]) s.close();
  const exit = await stopServer(server);
  assert.strictEqual(exit.code, 0);
});
