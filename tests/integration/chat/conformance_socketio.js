// Socket.IO v5 conformance, one case per rule of the protocol (and of the reference server,
// socket.io 4.8, where the protocol leaves a choice), seen by a raw client of the echo app:
// CONNECT with and without auth, custom and unknown namespaces, events and acks, binary
// attachments, invalid packets, leaving the main namespace, and the CONNECT ack in a write of
// its own. See conformance_lib.js for how to run a single case or run them against the
// reference server.
"use strict";
const assert = require("assert");
const { execFileSync } = require("child_process");
const { sleep } = require("./lib");
const { runCases } = require("./conformance_lib");

const SID = /^\{"sid":"[A-Za-z0-9_-]+"(,"pid":"[A-Za-z0-9_-]+")?\}$/;

// TCP segments with data received so far on a local socket (Linux ss, package iproute2).
function dataSegmentsIn(sock) {
  const out = execFileSync("ss", ["-tinH", "state", "established", `( sport = :${sock.localPort} )`]).toString();
  const m = /data_segs_in:(\d+)/.exec(out);
  assert.ok(m, `ss shows the socket: ${out}`);
  return Number(m[1]);
}

// Polling session: post(body), get() -> the packets of one GET (split at \x1e).
async function polling(t) {
  const { url } = await t.handshake();
  return {
    url,
    post: async (body) => assert.strictEqual((await t.post(url, body)).body, "ok"),
    get: async () => {
      const r = await t.get(url);
      assert.strictEqual(r.status, 200, `GET: ${r.status} ${r.body}`);
      return r.body.split("\x1e");
    },
    // The session is closed: the next GET gets 400, or (when the server closes it on the next
    // poll, as the reference does with no GET held) a close packet and then 400.
    closed: async () => {
      const r = await t.get(url);
      if (r.status === 200) {
        assert.strictEqual(r.body.split("\x1e").pop(), "1", "a close packet");
        assert.strictEqual((await t.get(url)).status, 400, "the session is closed");
      } else {
        assert.strictEqual(r.status, 400, "the session is closed");
      }
    },
  };
}

// Direct WebSocket session: text frames as strings, binary frames as Buffers.
async function websocket(t) {
  const { ws } = await t.wsSession();
  return {
    ws,
    send: (text) => ws.sendText(text),
    next: async () => {
      const f = await ws.next();
      assert.ok(f, "a frame");
      return f.opcode === 2 ? f.payload : f.payload.toString();
    },
  };
}

// A WebSocket session connected to "/", past the CONNECT ack and the echo app's "auth" event.
async function connectedWebsocket(t) {
  const s = await websocket(t);
  s.send("40");
  connectAck(await s.next());
  assert.strictEqual(await s.next(), '42["auth",{}]');
  return s;
}

// Checks "40<nsp,>{sid}" (the CONNECT ack) and returns its socket id.
function connectAck(packet, nsp = "") {
  const prefix = `40${nsp ? nsp + "," : ""}`;
  assert.ok(packet.startsWith(prefix), `CONNECT ack, got ${packet}`);
  assert.match(packet.slice(prefix.length), SID);
  return JSON.parse(packet.slice(prefix.length)).sid;
}

runCases("socketio", [
  {
    name: "connect-main-namespace",
    async run(t) {
      const s = await polling(t);
      await s.post("40");
      // The ack, then what the connection handler emits; over polling one payload may hold both.
      const packets = await s.get();
      connectAck(packets[0]);
      const all = packets.length > 1 ? packets : [...packets, ...(await s.get())];
      assert.strictEqual(all[1], '42["auth",{}]');
    },
  },
  {
    name: "connect-with-auth-payload",
    async run(t) {
      const s = await websocket(t);
      s.send('40{"token":"123"}');
      connectAck(await s.next());
      assert.strictEqual(await s.next(), '42["auth",{"token":"123"}]');
      s.ws.destroy();
    },
  },
  {
    name: "connect-custom-namespace",
    async run(t) {
      const s = await websocket(t);
      s.send("40/custom,");
      connectAck(await s.next(), "/custom");
      assert.strictEqual(await s.next(), '42/custom,["auth",{}]');
      s.ws.destroy();
    },
  },
  {
    name: "connect-unknown-namespace-connect-error",
    async run(t) {
      const s = await websocket(t);
      s.send("40/random,");
      assert.strictEqual(await s.next(), '44/random,{"message":"Invalid namespace"}');
      // The session stays: the client may connect to another namespace.
      s.send("40");
      connectAck(await s.next());
      s.ws.destroy();
    },
  },
  {
    name: "event-and-ack-id",
    async run(t) {
      const s = await connectedWebsocket(t);
      s.send('42["message",1,"2",{"3":[true]}]');
      assert.strictEqual(await s.next(), '42["message-back",1,"2",{"3":[true]}]');
      s.send('4256["message-with-ack",1,"2",{"3":[true]}]');
      assert.strictEqual(await s.next(), '4356[1,"2",{"3":[true]}]');
      // A numeric event name is valid (no handler here): the session goes on.
      s.send('42[7,"x"]');
      s.send('42["message","after"]');
      assert.strictEqual(await s.next(), '42["message-back","after"]');
      s.ws.destroy();
    },
  },
  {
    name: "binary-event-attachments-websocket",
    async run(t) {
      const s = await connectedWebsocket(t);
      s.send('451-["message",{"_placeholder":true,"num":0}]');
      s.ws.send(2, Buffer.from([1, 2, 3]));
      assert.strictEqual(await s.next(), '451-["message-back",{"_placeholder":true,"num":0}]');
      assert.deepStrictEqual([...(await s.next())], [1, 2, 3]);
      s.ws.destroy();
    },
  },
  {
    name: "binary-event-attachments-polling",
    async run(t) {
      const s = await polling(t);
      await s.post("40");
      let packets = await s.get();
      if (packets.length < 2) packets = [...packets, ...(await s.get())];
      await s.post('451-["message",{"_placeholder":true,"num":0}]\x1ebAQID');
      let back = await s.get();
      if (back.length < 2) back = [...back, ...(await s.get())];
      assert.deepStrictEqual(back, ['451-["message-back",{"_placeholder":true,"num":0}]', "bAQID"]);
    },
  },
  {
    name: "binary-ack-attachments",
    async run(t) {
      const s = await connectedWebsocket(t);
      s.send('451-15["message-with-ack",{"_placeholder":true,"num":0}]');
      s.ws.send(2, Buffer.from([4, 5]));
      assert.strictEqual(await s.next(), '461-15[{"_placeholder":true,"num":0}]');
      assert.deepStrictEqual([...(await s.next())], [4, 5]);
      s.ws.destroy();
    },
  },
  {
    name: "invalid-packet-closes-session",
    async run(t) {
      for (const bad of ['42{"not":"an array"}', "4abc", '42["message",', "49", '42[true]', '42["disconnect"]', '42["connect"]']) {
        const s = await polling(t);
        await s.post("40");
        await s.get();
        await s.post(bad);
        await sleep(50);
        try {
          await s.closed();
        } catch (e) {
          console.error(`after the invalid packet ${bad}:`);
          throw e;
        }
      }
    },
  },
  {
    name: "packet-for-unconnected-namespace-closes-session",
    async run(t) {
      // An EVENT for a namespace the client has not joined.
      const a = await polling(t);
      await a.post("40");
      await a.get();
      await a.post('42/custom,["message","x"]');
      await sleep(50);
      await a.closed();
      // A second CONNECT to a namespace the client is in.
      const b = await polling(t);
      await b.post("40");
      await b.get();
      await b.post("40");
      await sleep(50);
      await b.closed();
    },
  },
  {
    name: "disconnect-main-namespace-keeps-session",
    server: { pingInterval: 300, pingTimeout: 200 },
    async run(t) {
      const { ws } = await t.wsSession();
      ws.sendText("40");
      assert.match((await ws.next()).payload.toString(), /^40\{/);
      assert.strictEqual((await ws.next()).payload.toString(), '42["auth",{}]');
      ws.sendText("41");
      // Pings go on for well over pingInterval + pingTimeout, and nothing else comes.
      const t0 = Date.now();
      let pings = 0;
      while (Date.now() - t0 < 1200) {
        const f = await ws.next(2000, { keepPings: true });
        assert.ok(f, "the Engine.IO session stays open");
        assert.strictEqual(f.payload.toString(), "2");
        ws.sendText("3");
        ++pings;
      }
      assert.ok(pings >= 3, `${pings} pings`);
      // The client connects again, and events work.
      ws.sendText("40");
      assert.match((await ws.next()).payload.toString(), /^40\{/);
      assert.strictEqual((await ws.next()).payload.toString(), '42["auth",{}]');
      ws.sendText('42["message","again"]');
      assert.strictEqual((await ws.next()).payload.toString(), '42["message-back","again"]');
      ws.destroy();
    },
  },
  {
    name: "connect-ack-own-websocket-write",
    async run(t) {
      // The CONNECT ack and the connection handler's first emit are two frames in that order,
      // written separately: a client that reads one message and only then listens for events
      // must not find the event in the same read. Two writes may still reach a busy client in
      // one read, so the test counts TCP segments instead (ss data_segs_in of the client
      // socket): the server sets TCP_NODELAY, so over loopback each write is a segment of its
      // own, and one write holding both frames is a single segment.
      const trials = 10;
      let separate = 0;
      for (let i = 0; i < trials; i++) {
        const { ws } = await t.wsSession();
        const before = dataSegmentsIn(ws.sock);
        ws.sendText("40");
        const ack = await ws.next();
        const first = await ws.next();
        assert.match(ack.payload.toString(), /^40\{/);
        assert.strictEqual(first.payload.toString(), '42["auth",{}]');
        if (dataSegmentsIn(ws.sock) - before >= 2) ++separate;
        ws.destroy();
      }
      assert.ok(separate > trials / 2, `the CONNECT ack shared a write with the handler's emit in ${trials - separate} of ${trials} sessions`);
    },
  },
]);
