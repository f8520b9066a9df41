// --write-delay: a WebSocket client's frames wait up to the delay and leave together. Nothing is
// lost or reordered: a burst of room messages reaches WebSocket and polling members complete
// and in seq order, and an ack (a frame like any other) comes back no sooner than the delay.
"use strict";
const assert = require("assert");
const { io } = require("socket.io-client");
const { startServer, once, main, sleep } = require("./lib");

const DELAY = 200, BURST = 60;

main(async (track) => {
  const server = track(await startServer(["--write-delay", `${DELAY}ms`, "--drain", "0"]));
  const open = (transports, name) => {
    const s = io(server.url, { reconnection: false, forceNew: true, transports, auth: { name } });
    s.label = name;
    s.got = [];
    s.on("message", (m) => s.got.push(m));
    return s;
  };
  const sender = open(["websocket"], "sender");
  const wsReader = open(["websocket"], "ws");
  const pollReader = open(["polling"], "poll");
  const all = [sender, wsReader, pollReader];
  await Promise.all(all.map((s) => once(s, "hello")));
  for (const s of all) await s.timeout(5000).emitWithAck("join", "delayed");

  // An ack is held like any frame: it cannot come back before the delay.
  const t0 = Date.now();
  await sender.timeout(5000).emitWithAck("rooms");
  const rtt = Date.now() - t0;
  assert.ok(rtt >= DELAY - 20, `ack after ${rtt} ms, expected at least the ${DELAY} ms write delay`);

  // A burst without waiting for acks: every member gets all of it, once, in order.
  const acks = [];
  for (let k = 0; k < BURST; k++) acks.push(sender.timeout(10000).emitWithAck("message", { room: "delayed", text: `m${k}` }));
  const seqs = (await Promise.all(acks)).map((a) => a.seq);
  for (let t = 0; t < 100 && all.some((s) => s.got.length < BURST); t++) await sleep(50);
  for (const s of all) {
    assert.strictEqual(s.got.length, BURST, `${s.label} got every message`);
    assert.deepStrictEqual(s.got.map((m) => m.text), Array.from({ length: BURST }, (_, k) => `m${k}`), `${s.label}: sent order`);
    assert.deepStrictEqual(s.got.map((m) => m.seq), seqs, `${s.label}: seq order`);
  }
  all.forEach((s) => s.close());
});
