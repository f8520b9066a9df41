// Engine.IO v4 conformance, one case per rule of the protocol (and of the reference server,
// engine.io 6, where the protocol leaves a choice), seen by a raw client of the echo app:
// handshake fields, errors, payload separator, binary encoding, heartbeat, the probe upgrade,
// the close packet, concurrent requests and a second WebSocket. See conformance_lib.js for how
// to run a single case or run them against the reference server.
"use strict";
const assert = require("assert");
const { sleep } = require("./lib");
const { runCases } = require("./conformance_lib");

// The open packet's JSON: sid, upgrades, pingInterval, pingTimeout, maxPayload.
function checkOpen(hs, { upgrades, pingInterval, pingTimeout, maxPayload }) {
  assert.strictEqual(typeof hs.sid, "string");
  assert.ok(hs.sid.length > 0);
  if (upgrades.length) {
    assert.ok(hs.upgrades.includes("websocket"), `upgrades ${JSON.stringify(hs.upgrades)} include websocket`);
  } else {
    assert.deepStrictEqual(hs.upgrades, []);
  }
  assert.strictEqual(hs.pingInterval, pingInterval);
  assert.strictEqual(hs.pingTimeout, pingTimeout);
  assert.strictEqual(hs.maxPayload, maxPayload);
}

// Waits for the server to close the WebSocket (a close frame, or the TCP close), skipping an
// Engine.IO close packet that may come first.
async function closedByServer(ws, ms = 2000) {
  for (;;) {
    const f = await ws.next(ms);
    if (!f || f.opcode === 8) return;
    assert.strictEqual(f.payload.toString(), "1", "only a close packet before the close frame");
  }
}

// Polling session upgraded to WebSocket with the probe: {url, ws}.
async function upgraded(t) {
  const { url, hs } = await t.handshake();
  const held = t.get(url);
  await sleep(50);
  const ws = await t.ws(`&sid=${hs.sid}`);
  ws.sendText("2probe");
  assert.strictEqual((await ws.next()).payload.toString(), "3probe");
  assert.strictEqual((await held).body, "6", "the held GET is released with a noop");
  ws.sendText("5");
  return { url, ws, sid: hs.sid };
}

runCases("engineio", [
  {
    name: "handshake-open-packet-polling",
    server: { pingInterval: 12000, pingTimeout: 7000, maxPayload: 5000 },
    async run(t) {
      const { hs } = await t.handshake();
      checkOpen(hs, { upgrades: ["websocket"], pingInterval: 12000, pingTimeout: 7000, maxPayload: 5000 });
    },
  },
  {
    name: "handshake-open-packet-websocket-no-upgrades",
    server: { pingInterval: 12000, pingTimeout: 7000, maxPayload: 5000 },
    async run(t) {
      const { ws, hs } = await t.wsSession();
      checkOpen(hs, { upgrades: [], pingInterval: 12000, pingTimeout: 7000, maxPayload: 5000 });
      ws.destroy();
    },
  },
  {
    name: "handshake-errors-400-with-code",
    async run(t) {
      const root = `${t.server.url}/socket.io/`;
      const cases = [
        [`${root}?EIO=3&transport=polling`, {}, 5, "Unsupported protocol version"],
        [`${root}?transport=polling`, {}, 5, "Unsupported protocol version"],
        [`${root}?EIO=4&transport=carrier-pigeon`, {}, 0, "Transport unknown"],
        [`${root}?EIO=4&transport=polling&sid=unknown`, {}, 1, "Session ID unknown"],
        [`${root}?EIO=4&transport=polling`, { method: "POST", body: "4x" }, 2, "Bad handshake method"],
      ];
      for (const [url, opts, code, message] of cases) {
        const r = await t.get(url, opts);
        assert.strictEqual(r.status, 400, url);
        assert.deepStrictEqual(JSON.parse(r.body), { code, message }, url);
      }
    },
  },
  {
    name: "payload-record-separator",
    async run(t) {
      const { url } = await t.handshake();
      assert.strictEqual((await t.post(url, "4hello\x1e4€uro\x1e4")).body, "ok");
      assert.strictEqual((await t.get(url)).body, "4hello\x1e4€uro\x1e4");
    },
  },
  {
    name: "binary-polling-b-prefix-base64",
    async run(t) {
      const { url } = await t.handshake();
      await t.post(url, "bAQIDBA==\x1e4text");
      assert.strictEqual((await t.get(url)).body, "bAQIDBA==\x1e4text");
    },
  },
  {
    name: "binary-websocket-binary-frame",
    async run(t) {
      const { ws } = await t.wsSession();
      ws.send(2, Buffer.from([1, 2, 3, 4]));
      const f = await ws.next();
      assert.strictEqual(f.opcode, 2, "binary frame, no type prefix");
      assert.deepStrictEqual([...f.payload], [1, 2, 3, 4]);
      ws.sendText("4text");
      assert.strictEqual((await ws.next()).payload.toString(), "4text");
      ws.destroy();
    },
  },
  {
    name: "heartbeat-server-ping-client-pong",
    server: { pingInterval: 300, pingTimeout: 200 },
    async run(t) {
      const { url } = await t.handshake();
      // Pings come every pingInterval; answering keeps the session past pingInterval + pingTimeout.
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        assert.strictEqual((await t.get(url)).body, "2");
        assert.ok(Date.now() - t0 < 1000);
        assert.strictEqual((await t.post(url, "3")).status, 200);
      }
      // No pong: the session is closed after pingTimeout.
      assert.strictEqual((await t.get(url)).body, "2");
      await sleep(700);
      assert.strictEqual((await t.get(url)).status, 400);
    },
  },
  {
    name: "heartbeat-websocket",
    server: { pingInterval: 300, pingTimeout: 200 },
    async run(t) {
      const { ws } = await t.wsSession();
      for (let i = 0; i < 3; i++) {
        assert.strictEqual((await ws.next(2000, { keepPings: true })).payload.toString(), "2");
        ws.sendText("3");
      }
      assert.strictEqual((await ws.next(2000, { keepPings: true })).payload.toString(), "2");
      await closedByServer(ws);  // no pong: closed
      ws.destroy();
    },
  },
  {
    name: "client-ping-closes-session",
    async run(t) {
      // v4 heartbeats go from server to client; a ping from the client is an error.
      const { url } = await t.handshake();
      await t.post(url, "2");
      await sleep(100);
      assert.strictEqual((await t.get(url)).status, 400);
    },
  },
  {
    name: "upgrade-probe-noop-and-switch",
    async run(t) {
      const { url, ws } = await upgraded(t);
      // Messages now travel on the WebSocket...
      ws.sendText("4after upgrade");
      assert.strictEqual((await ws.next()).payload.toString(), "4after upgrade");
      // ...and polling requests to the upgraded session are refused.
      const r = await t.get(url);
      assert.strictEqual(r.status, 400);
      assert.strictEqual(JSON.parse(r.body).code, 3);
      ws.destroy();
    },
  },
  {
    name: "upgrade-queued-messages-follow-on-websocket",
    async run(t) {
      const { url, hs } = await t.handshake();
      const ws = await t.ws(`&sid=${hs.sid}`);
      ws.sendText("2probe");
      assert.strictEqual((await ws.next()).payload.toString(), "3probe");
      // Echoed during the probe while no GET is held: it waits, and follows the switch.
      await t.post(url, "4queued");
      await sleep(100);
      ws.sendText("5");
      assert.strictEqual((await ws.next()).payload.toString(), "4queued");
      ws.destroy();
    },
  },
  {
    name: "close-packet-while-poll-pending",
    async run(t) {
      const { url } = await t.handshake();
      const held = t.get(url);
      await sleep(50);
      assert.strictEqual((await t.post(url, "1")).status, 200);
      const r = await held;
      assert.strictEqual(r.status, 200);
      assert.strictEqual(r.body, "6", "the held GET gets a noop");
      const after = await t.get(url);
      assert.strictEqual(after.status, 400, "the session is gone");
      assert.strictEqual(JSON.parse(after.body).code, 1);
    },
  },
  {
    name: "concurrent-polling-get-closes-session",
    async run(t) {
      const { url } = await t.handshake();
      const held = t.get(url);
      await sleep(50);
      assert.strictEqual((await t.get(url)).status, 400);
      assert.strictEqual((await held).body, "1", "the held GET gets a close packet");
      assert.strictEqual((await t.get(url)).status, 400);
    },
  },
  {
    name: "post-over-max-payload-413",
    server: { maxPayload: 1000 },
    async run(t) {
      const { url } = await t.handshake();
      assert.strictEqual((await t.post(url, "4" + "x".repeat(1000))).status, 413);
    },
  },
  {
    name: "second-websocket-after-upgrade",
    async run(t) {
      const { ws, sid } = await upgraded(t);
      ws.sendText("4one");
      assert.strictEqual((await ws.next()).payload.toString(), "4one");
      // A second WebSocket for the upgraded sid: handshake accepted (101), then closed.
      const second = await t.ws(`&sid=${sid}`);
      const f = await second.next();
      assert.ok(f, "a close frame before the TCP close");
      assert.strictEqual(f.opcode, 8, "the second WebSocket is closed");
      second.destroy();
      // The upgraded one keeps working: echo, and the heartbeat's pong is accepted.
      ws.sendText("4still here");
      assert.strictEqual((await ws.next()).payload.toString(), "4still here");
      assert.ok(!ws.closed);
      ws.destroy();
    },
  },
]);
