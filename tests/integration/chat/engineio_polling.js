// Engine.IO v4 at the HTTP level, as a raw client sees it (echo app): the open packet, the
// \x1e-joined payloads with base64 binary, the protocol's error answers (unknown sid, bad
// EIO/transport, handshake by POST, concurrent GETs, oversize body), heartbeats and ping
// timeout, and the polling -> websocket upgrade with 2probe/3probe/5 and the noop.
"use strict";
const assert = require("assert");
const { startServer, stopServer, request, RawWs, main, sleep } = require("./lib");

main(async (track) => {
  const server = track(await startServer(["--app", "echo", "--ping-interval", "400", "--ping-timeout", "300",
    "--max-payload", "1000", "--drain", "0"]));
  const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
  const open = async () => {
    const r = await request(base);
    assert.strictEqual(r.status, 200);
    assert.strictEqual(r.headers["x-served-by"], server.id, "X-Served-By names the instance (--id)");
    assert.strictEqual(r.body[0], "0");
    return JSON.parse(r.body.slice(1));
  };

  const hs = await open();
  assert.match(hs.sid, /^[A-Za-z0-9_-]{20}$/);
  assert.deepStrictEqual(hs.upgrades, ["websocket"]);
  assert.strictEqual(hs.pingInterval, 400);
  assert.strictEqual(hs.pingTimeout, 300);
  assert.strictEqual(hs.maxPayload, 1000);
  const url = `${base}&sid=${hs.sid}`;

  // Echo of a text and a binary message in one POST; both come back in one GET.
  const post = await request(url, { method: "POST", body: "4hello\x1ebAQID" });
  assert.strictEqual(post.status, 200);
  assert.strictEqual(post.body, "ok");
  const get = await request(url);
  assert.strictEqual(get.body, "4hello\x1ebAQID");

  // Errors as the protocol says.
  const err = async (u, opts, status, code) => {
    const r = await request(u, opts);
    assert.strictEqual(r.status, status, `${u} -> ${status}`);
    assert.strictEqual(r.headers["x-served-by"], server.id, "error answers carry X-Served-By too");
    if (code !== undefined) assert.strictEqual(JSON.parse(r.body).code, code);
  };
  await err(`${base}&sid=unknownunknownunknow`, {}, 400, 1);
  await err(`${server.url}/socket.io/?EIO=3&transport=polling`, {}, 400, 5);
  await err(`${server.url}/socket.io/?transport=polling`, {}, 400, 5);
  await err(`${server.url}/socket.io/?EIO=4&transport=carrier-pigeon`, {}, 400, 0);
  await err(base, { method: "POST", body: "4x" }, 400, 2);
  await err(url, { method: "POST", body: "x".repeat(1001) }, 413);
  await err(url, { method: "POST", body: "9what" }, 400, 3);
  // ... and the bad packet closed that session.
  await err(url, {}, 400, 1);

  // Two GETs at once: the second is refused and the session is closed.
  const two = await open();
  const u2 = `${base}&sid=${two.sid}`;
  const first = request(u2);
  await sleep(100);
  await err(u2, {}, 400, 3);
  assert.strictEqual((await first).body, "1", "the held GET is answered with a close packet");
  await err(u2, {}, 400, 1);

  // Heartbeat: the server pings; a client that answers stays, one that does not is dropped.
  const alive = await open(), dead = await open();
  const ua = `${base}&sid=${alive.sid}`, ud = `${base}&sid=${dead.sid}`;
  const deadGet = request(ud);
  for (let i = 0; i < 4; i++) {
    const ping = await request(ua);
    assert.strictEqual(ping.body, "2");
    assert.strictEqual((await request(ua, { method: "POST", body: "3" })).body, "ok");
  }
  assert.strictEqual((await deadGet).body, "2");
  await sleep(500);  // > pingTimeout without a pong
  await err(ud, {}, 400, 1);
  assert.strictEqual((await request(ua, { method: "POST", body: "4still here" })).status, 200);

  // Upgrade: a GET is held, the websocket probes, the GET is released with a noop, "5"
  // switches, then messages flow over the websocket and polling is refused.
  const up = await open();
  const uu = `${base}&sid=${up.sid}`;
  const held = request(uu);
  await sleep(50);
  const ws = await RawWs.connect(server.port, `/socket.io/?EIO=4&transport=websocket&sid=${up.sid}`);
  assert.match(ws.head, new RegExp(`\r\nX-Served-By: ${server.id}(\r\n|$)`), "the 101 carries X-Served-By");
  ws.sendText("2probe");
  assert.strictEqual((await ws.next()).payload.toString(), "3probe");
  assert.strictEqual((await held).body, "6");
  ws.sendText("5");
  ws.sendText("4over websocket");
  assert.strictEqual((await ws.next()).payload.toString(), "4over websocket");
  ws.send(2, Buffer.from([7, 7, 7]));
  const binFrame = await ws.next();
  assert.strictEqual(binFrame.opcode, 2);
  assert.deepStrictEqual([...binFrame.payload], [7, 7, 7]);
  await err(uu, {}, 400, 3);
  // A websocket session gets pings too and survives by answering them.
  const ping = await ws.next(2000, { keepPings: true });
  assert.strictEqual(ping.payload.toString(), "2");
  ws.sendText("3");
  ws.sendText("1");  // client close
  await ws.waitClosed();
  await err(uu, {}, 400, 1);

  // Probing an unknown sid over websocket is refused too.
  await err(`${server.url}/socket.io/?EIO=4&transport=websocket&sid=nope`, { headers: { Connection: "Upgrade", Upgrade: "websocket",
    "Sec-WebSocket-Key": "dGhlIHNhbXBsZSBub25jZQ==", "Sec-WebSocket-Version": "13" } }, 400, 1);

  assert.strictEqual((await stopServer(server)).code, 0);
});
