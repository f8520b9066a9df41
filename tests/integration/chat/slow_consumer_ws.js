// A WebSocket client that stops reading: once the kernel buffers are full the server's backlog
// for it grows to --max-send-queue, then it is disconnected and counted, while its room keeps
// working and the server's memory stays bounded.
"use strict";
const assert = require("assert");
const fs = require("fs");
const { io } = require("socket.io-client");
const { startServer, stopServer, request, RawWs, once, main, sleep } = require("./lib");

const rssMiB = (pid) => Number(/VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"))[1]) / 1024;

main(async (track) => {
  const server = track(await startServer(["--max-send-queue", "256KiB", "--drain", "0"]));
  const rss0 = rssMiB(server.proc.pid);
  // The stalled client: raw Socket.IO over WebSocket, joins, then stops reading.
  const stalled = await RawWs.connect(server.port, "/socket.io/?EIO=4&transport=websocket");
  assert.strictEqual((await stalled.next()).payload.toString()[0], "0");
  stalled.sendText("40");
  assert.match((await stalled.next()).payload.toString(), /^40\{"sid"/);
  stalled.sendText('421["join","flood"]');
  for (;;) {
    const f = await stalled.next();
    if (f.payload.toString().startsWith("431")) break;
  }
  stalled.sock.pause();

  const talker = io(server.url, { reconnection: false, forceNew: true, transports: ["websocket"] });
  await once(talker, "hello");
  await talker.timeout(3000).emitWithAck("join", "flood");
  const text = "w".repeat(2000);
  let sent = 0, disconnects = 0;
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    // Bursts of fire-and-forget messages, then one acked message to pace the sender.
    for (let i = 0; i < 200; i++) talker.emit("message", { room: "flood", text });
    sent += 201;
    const ack = await talker.timeout(5000).emitWithAck("message", { room: "flood", text });
    assert.ok(ack.id, "the sender is never the one punished");
    const m = (await request(`${server.url}/metrics`)).body;
    disconnects = Number(/^tether_chat_slow_consumer_disconnects_total (\d+)$/m.exec(m)[1]);
    if (disconnects > 0) break;
  }
  assert.strictEqual(disconnects, 1, `stalled client disconnected after ${sent} messages`);
  const grown = rssMiB(server.proc.pid) - rss0;
  // Under AddressSanitizer freed memory sits in its quarantine, so RSS says nothing there.
  const asan = fs.readFileSync(`/proc/${server.proc.pid}/maps`, "utf8").includes("libasan");
  if (!asan) {
    assert.ok(grown < 64, `server memory stays bounded (grew ${grown.toFixed(1)} MiB for ${(sent * 2 / 1024).toFixed(0)} MiB sent)`);
  }
  // The stalled client's connection is closed (it sees it once it reads again).
  stalled.sock.resume();
  await stalled.waitClosed(10000);
  const r = await talker.timeout(3000).emitWithAck("rooms");
  assert.deepStrictEqual(r, ["flood"]);
  talker.close();
  assert.strictEqual((await stopServer(server)).code, 0);
}, 90000);
