// The conformance echo app (--app echo) with socket.io-client v4: auth echo on "/" and
// "/custom", message -> message-back, message-with-ack acks, binary arguments both ways,
// an unknown namespace gets connect_error "Invalid namespace", two namespaces share one
// session, and a client reconnects by itself after the server restarts.
"use strict";
const assert = require("assert");
const { io, Manager } = require("socket.io-client");
const { startServer, stopServer, once, main } = require("./lib");

main(async (track) => {
  let server = track(await startServer(["--app", "echo", "--ping-interval", "300", "--ping-timeout", "200", "--drain", "200ms"]));
  const auth = { token: "abc", n: 1 };
  for (const transports of [["polling"], ["websocket"]]) {
    const s = io(server.url, { reconnection: false, forceNew: true, auth, transports });
    const [gotAuth] = await once(s, "auth");
    assert.deepStrictEqual(gotAuth, auth, `${transports}: auth echoed`);

    const back = once(s, "message-back");
    s.emit("message", 1, "2", { 3: [4] });
    assert.deepStrictEqual(await back, [1, "2", { 3: [4] }]);

    // Binary arguments: sent as attachments, come back as the same bytes.
    const bin = Buffer.from([0, 1, 2, 255]);
    const binBack = once(s, "message-back");
    s.emit("message", bin, { nested: [Buffer.from("xyz")] });
    const [b0, b1] = await binBack;
    assert.ok(Buffer.from(b0).equals(bin), `${transports}: binary argument round-trips`);
    assert.strictEqual(Buffer.from(b1.nested[0]).toString(), "xyz");

    const acked = await s.timeout(3000).emitWithAck("message-with-ack", "a", Buffer.from([9, 8]), 3);
    assert.strictEqual(acked, "a");
    const all = await new Promise((r) => s.timeout(3000).emit("message-with-ack", "a", Buffer.from([9, 8]), 3, (err, ...args) => r([err, args])));
    assert.strictEqual(all[0], null);
    assert.strictEqual(all[1][0], "a");
    assert.deepStrictEqual([...Buffer.from(all[1][1])], [9, 8]);
    assert.strictEqual(all[1][2], 3);

    const custom = io(`${server.url}/custom`, { reconnection: false, forceNew: true, auth: { c: true }, transports });
    assert.deepStrictEqual((await once(custom, "auth"))[0], { c: true });
    custom.close();

    const bogus = io(`${server.url}/nope`, { reconnection: false, forceNew: true, transports });
    const [err] = await once(bogus, "connect_error");
    assert.strictEqual(err.message, "Invalid namespace");
    bogus.close();
    s.close();
  }

  // Two namespaces multiplexed over one Engine.IO session: leaving one keeps the other.
  const manager = new Manager(server.url, { reconnection: false, forceNew: true });
  const root = manager.socket("/", { auth: { ns: "root" } });
  const custom = manager.socket("/custom", { auth: { ns: "custom" } });
  const [[ra], [ca]] = await Promise.all([once(root, "auth"), once(custom, "auth")]);
  assert.deepStrictEqual([ra, ca], [{ ns: "root" }, { ns: "custom" }]);
  assert.strictEqual(manager.engine.id, root.io.engine.id);
  custom.disconnect();
  const back = once(root, "message-back");
  root.emit("message", "still here");
  assert.deepStrictEqual(await back, ["still here"]);
  root.disconnect();

  // Reconnect: the server goes away and comes back on the same port; the client reconnects on
  // its own and is usable again. Heartbeats (300 ms) keep running meanwhile.
  const port = server.port;
  const c = io(server.url, { forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
  await once(c, "auth");
  const firstId = c.id;
  const disconnected = once(c, "disconnect", 8000);
  assert.strictEqual((await stopServer(server)).code, 0);
  const [reason] = await disconnected;
  assert.strictEqual(reason, "transport close", "a server shutdown is a transport close, so clients reconnect");
  server = track(await startServer(["--app", "echo"], { port }));
  await once(c, "auth", 8000);
  assert.ok(c.connected);
  assert.notStrictEqual(c.id, firstId);
  const echo = once(c, "message-back");
  c.emit("message", "after reconnect");
  assert.deepStrictEqual(await echo, ["after reconnect"]);
  c.close();
  assert.strictEqual((await stopServer(server)).code, 0);
});
