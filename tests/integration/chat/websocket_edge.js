// RFC 6455 edge cases against the Engine.IO WebSocket transport, with a raw TCP client that
// can send what a well-behaved library never would: unmasked frames, reserved bits, unknown
// opcodes, oversize and invalid UTF-8 messages, long control frames. Each gets the close code
// the RFC prescribes and the TCP connection is closed. Also: fragmentation, ping/pong, the
// close handshake in both directions (with the `ws` npm client), a bad handshake -> 400.
"use strict";
const assert = require("assert");
const WebSocket = require("ws");
const { startServer, stopServer, request, RawWs, parseClose, main, once } = require("./lib");

main(async (track) => {
  const server = track(await startServer(["--app", "echo", "--max-payload", "1000", "--drain", "300ms"]));
  const path = "/socket.io/?EIO=4&transport=websocket";
  const connect = async () => {
    const ws = await RawWs.connect(server.port, path);
    const open = await ws.next();
    assert.strictEqual(open.opcode, 1);
    assert.strictEqual(open.payload.toString()[0], "0", "open packet first");
    const hs = JSON.parse(open.payload.toString().slice(1));
    assert.strictEqual(hs.maxPayload, 1000);
    // Nothing to upgrade to from WebSocket: a client told otherwise probes a second WebSocket.
    assert.deepStrictEqual(hs.upgrades, []);
    return ws;
  };
  const expectClose = async (ws, code, what) => {
    const f = await ws.next();
    assert.ok(f, `${what}: expected a close frame, the socket closed without one`);
    assert.strictEqual(parseClose(f).code, code, what);
    await ws.waitClosed();
  };

  // Echo, fragmentation (with a ping in the middle), ping/pong.
  let ws = await connect();
  ws.sendText("4plain");
  assert.strictEqual((await ws.next()).payload.toString(), "4plain");
  ws.send(1, "4hel", { fin: false });
  ws.send(9, "mid");
  ws.send(0, "lo ✓", { fin: true });
  const pong = await ws.next();
  assert.strictEqual(pong.opcode, 10);
  assert.strictEqual(pong.payload.toString(), "mid");
  assert.strictEqual((await ws.next()).payload.toString(), "4hello ✓");
  // Client-initiated close handshake: the status is echoed, then TCP closes.
  ws.send(8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from("bye")]));
  await expectClose(ws, 1000, "close echo");

  const cases = [
    ["unmasked frame", (w) => w.send(1, "4x", { mask: false }), 1002],
    ["reserved bit", (w) => w.send(1, "4x", { rsv: 0x40 }), 1002],
    ["unknown opcode", (w) => w.send(3, "4x"), 1002],
    ["control frame over 125 bytes", (w) => w.send(9, "p".repeat(126)), 1002],
    ["fragmented control frame", (w) => w.send(9, "p", { fin: false }), 1002],
    ["continuation without start", (w) => w.send(0, "4x"), 1002],
    ["oversize message", (w) => w.send(1, "4" + "x".repeat(1000)), 1009],
    ["oversize header only", (w) => w.sock.write(w.frame(2, Buffer.alloc(0), { lenOverride: 1 << 30 })), 1009],
    ["oversize by fragments", (w) => { w.send(1, "4" + "a".repeat(600), { fin: false }); w.send(0, "b".repeat(600)); }, 1009],
    ["invalid UTF-8", (w) => w.send(1, Buffer.from([0x34, 0xc3, 0x28])), 1007],
    ["invalid UTF-8 across fragments", (w) => { w.send(1, Buffer.from([0x34, 0xe2]), { fin: false }); w.send(0, Buffer.from([0x82, 0x41])); }, 1007],
    ["bad close code", (w) => w.send(8, Buffer.from([0x03, 0xed])), 1002],
  ];
  for (const [what, act, code] of cases) {
    ws = await connect();
    act(ws);
    await expectClose(ws, code, what);
  }

  // A bad handshake (no Sec-WebSocket-Key) is a 400, not a crash.
  const bad = await request(`${server.url}${path}`, { headers: { Connection: "Upgrade", Upgrade: "websocket", "Sec-WebSocket-Version": "13" } });
  assert.strictEqual(bad.status, 400);

  // With the ws library: a normal close from the client carries its code back.
  const client = new WebSocket(`ws://127.0.0.1:${server.port}${path}`);
  const [first] = await once(client, "message");
  assert.strictEqual(first.toString()[0], "0");
  client.send("4from ws lib");
  assert.strictEqual((await once(client, "message"))[0].toString(), "4from ws lib");
  client.close(4000, "done");
  const [code] = await once(client, "close");
  assert.strictEqual(code, 4000);

  // Server-initiated close on shutdown: an Engine.IO close packet, then close frame 1000.
  const last = new WebSocket(`ws://127.0.0.1:${server.port}${path}`);
  await once(last, "message");
  const seen = [];
  last.on("message", (m) => seen.push(m.toString()));
  const closed = once(last, "close", 8000);
  server.proc.kill("SIGTERM");
  const [lastCode] = await closed;
  assert.strictEqual(lastCode, 1000);
  assert.ok(seen.includes("1"), "an Engine.IO close packet precedes the close frame");
  assert.strictEqual((await stopServer(server)).code, 0);
});
