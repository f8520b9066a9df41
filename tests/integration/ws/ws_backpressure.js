// Backpressure: a fast writer and a reader that does not read must leave tether's memory flat.
//
// 16 tunnels in each direction (backend floods a client that has paused reading; a client floods
// a backend that has paused reading). Each writer pushes as long as its own socket accepts data;
// tether must stop reading the writer once its queue toward the reader passes the high-water mark,
// so the writers soon block and tether's VmRSS (/proc/PID/status) stays near its baseline, far
// below what it would take to buffer the floods (16 x 64 MiB). Then readers resume and every byte
// must arrive, in order. Finally the same with npm ws: a server sending 1 MiB messages to a client
// whose socket is paused.
'use strict';
const net = require('node:net');
const { assert, run, step, sleep, withTimeout, startTether, startTcpServer, startWsServer, connect, readUntil } = require('./support');

const TUNNELS = 16;
const FLOOD = 64 << 20;  // per tunnel, more than tether could ever be allowed to hold
const CHUNK = Buffer.alloc(256 << 10, 0x62);

let pendingBackends = [];
function backend(sock) {
  let buf = Buffer.alloc(0);
  const onData = (d) => {
    buf = Buffer.concat([buf, d]);
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    sock.off('data', onData);
    sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n');
    pendingBackends.shift()(sock);
  };
  sock.on('data', onData);
  sock.on('error', () => {});
}

async function openTunnel(port) {
  const got = new Promise((r) => pendingBackends.push(r));
  const c = net.connect(port, '127.0.0.1');
  c.on('error', () => {});
  await new Promise((r, j) => { c.once('connect', r); c.once('error', j); });
  c.write('GET /flood HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n');
  await readUntil(c, (b) => b.includes('\r\n\r\n'));  // the 101 head
  const b = await withTimeout(got, 5000, 'backend side');
  return { c, b };
}

// Writes up to `total` bytes while the socket accepts them; stops at the first backpressure
// ('drain' resumes). Resolves the count written so far via .written().
function flood(sock, total) {
  let written = 0;
  const pump = () => {
    while (written < total) {
      const n = Math.min(CHUNK.length, total - written);
      written += n;
      if (!sock.write(n === CHUNK.length ? CHUNK : CHUNK.subarray(0, n))) return;
    }
  };
  sock.on('drain', pump);
  pump();
  return { written: () => written };
}

async function waitStable(fn, ms) {  // waits until fn() stops changing for 500 ms
  const deadline = Date.now() + ms;
  let last = fn();
  let since = Date.now();
  while (Date.now() < deadline) {
    await sleep(100);
    const v = fn();
    if (v !== last) { last = v; since = Date.now(); } else if (Date.now() - since >= 500) return v;
  }
  return last;
}

run(async () => {
  const { port: bport } = await startTcpServer(backend);
  const tether = await startTether(bport);

  async function direction(label, writerOf, readerOf) {
    const base = tether.rss();
    const tunnels = [];
    for (let i = 0; i < TUNNELS; i++) tunnels.push(await openTunnel(tether.port));
    for (const t of tunnels) readerOf(t).pause();
    const floods = tunnels.map((t) => flood(writerOf(t), FLOOD));
    const stuck = await waitStable(() => floods.reduce((a, f) => a + f.written(), 0), 15000);
    const rss1 = tether.rss();
    await sleep(1000);
    const rss2 = tether.rss();
    console.log(`     ${label}: writers blocked after ${(stuck / 1048576).toFixed(1)} MiB in total; ` +
      `tether VmRSS ${base} KiB -> ${rss1} KiB -> ${rss2} KiB`);
    assert.ok(stuck < TUNNELS * FLOOD, 'writers must be blocked by backpressure');
    // One 64 KiB read buffer per direction is the design bound; allow generous allocator slack.
    assert.ok(rss1 - base < 12 * 1024, `tether grew by ${rss1 - base} KiB while flooded`);
    assert.ok(rss2 - rss1 < 1024, `tether kept growing: ${rss1} -> ${rss2} KiB`);
    // Readers resume: every byte arrives.
    const counts = tunnels.map((t) => {
      const o = { n: 0 };
      readerOf(t).on('data', (d) => { o.n += d.length; });
      readerOf(t).resume();
      return o;
    });
    const deadline = Date.now() + 30000;
    while (counts.some((o) => o.n < FLOOD) && Date.now() < deadline) await sleep(50);
    counts.forEach((o, i) => assert.equal(o.n, FLOOD, `tunnel ${i} delivered ${o.n} bytes`));
    for (const t of tunnels) { t.c.destroy(); t.b.destroy(); }
  }

  await step('backend floods, client never reads: memory flat, nothing lost', () =>
    direction('backend->client', (t) => t.b, (t) => t.c));
  await step('client floods, backend never reads: memory flat, nothing lost', () =>
    direction('client->backend', (t) => t.c, (t) => t.b));

  await step('npm ws: server sends 1 MiB messages to a client whose socket is paused', async () => {
    let serverWs;
    const { port: wport } = await startWsServer((ws) => { serverWs = ws; });
    const t2 = await startTether(wport);
    const ws = await connect(t2.url('/'));
    ws._socket.pause();  // a client that stops reading
    await sleep(50);
    const base = t2.rss();
    const msg = Buffer.alloc(1 << 20, 0x63);
    let sent = 0;
    const pushing = setInterval(() => {  // keep the server's own buffer bounded: wait on bufferedAmount
      while (serverWs.bufferedAmount < (8 << 20) && sent < 256) { serverWs.send(msg); sent++; }
    }, 10);
    await sleep(2000);
    const rss = t2.rss();
    console.log(`     ws: ${sent} MiB queued by the server, tether VmRSS ${base} -> ${rss} KiB`);
    assert.ok(rss - base < 8 * 1024, `tether grew by ${rss - base} KiB`);
    let received = 0;
    ws.on('message', () => { received++; });
    ws._socket.resume();
    const deadline = Date.now() + 30000;
    while ((received < sent || sent < 256) && Date.now() < deadline) await sleep(20);
    clearInterval(pushing);
    assert.equal(received, 256);
    ws.terminate();
    await t2.stop();
  });

  await tether.stop();
}, { timeoutMs: 110000 });
