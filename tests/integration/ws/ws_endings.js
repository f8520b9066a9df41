// How tunnels end, with raw TCP peers so every FIN and reset is visible:
// - the backend closing mid-stream closes the client (after the bytes it sent before closing);
// - half-close both ways: a FIN from one side reaches the other as a FIN while the opposite
//   direction keeps flowing, and the tunnel closes once both directions ended;
// - a reset on one side closes the other;
// - timeouts.tunnel_idle closes a silent tunnel (and traffic keeps a tunnel alive);
// - graceful shutdown: a live tunnel keeps working for timeouts.shutdown, then is closed;
// - a backend that closes while a WebSocket (npm ws) client is connected closes that client.
'use strict';
const net = require('node:net');
const { assert, run, step, sleep, withTimeout, startTether, startTcpServer, startWsServer, connect, readUntil } = require('./support');

// Backend: answers any upgrade request with 101, then hands the raw socket to `onTunnel`.
let onTunnel = () => {};
function backend(sock) {
  let buf = Buffer.alloc(0);
  const onData = (d) => {
    buf = Buffer.concat([buf, d]);
    const end = buf.indexOf('\r\n\r\n');
    if (end < 0) return;
    sock.off('data', onData);
    sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: raw\r\nConnection: Upgrade\r\n\r\n');
    const rest = buf.subarray(end + 4);
    onTunnel(sock);
    if (rest.length) sock.emit('data', rest);
  };
  sock.on('data', onData);
  sock.on('error', () => {});
}

// Opens a raw tunnel through tether; resolves with the client socket (101 head consumed) and the
// backend's socket.
async function openTunnel(port) {
  const backendSock = new Promise((r) => { onTunnel = r; });
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  s.on('error', () => {});
  await new Promise((r, j) => { s.once('connect', r); s.once('error', j); });
  s.write('GET /t HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: raw\r\n\r\n');
  const head = await readUntil(s, (b) => b.includes('\r\n\r\n'));
  assert.match(head.toString(), /^HTTP\/1\.1 101 /);
  const b = await withTimeout(backendSock, 5000, 'backend tunnel');
  return { c: s, b };
}

function ended(sock) {  // resolves on FIN ('end'), a reset or a close
  return new Promise((r) => {
    if (sock.readableEnded || sock.destroyed) return r();
    sock.once('end', r);
    sock.once('error', r);
    sock.once('close', r);
  });
}
function closed(sock) {
  return new Promise((r) => { if (sock.destroyed && sock.closed) r(); else sock.once('close', r); });
}
function collect(sock) {
  const o = { data: '' };
  sock.on('data', (d) => { o.data += d.toString(); });
  return o;
}

run(async () => {
  // allowHalfOpen on the backend, so it never answers a FIN with a FIN by itself.
  const { port: bport } = await startTcpServer((s) => { s.setNoDelay(true); backend(s); }, { allowHalfOpen: true });
  const tether = await startTether(bport, { timeouts: { tunnel_idle: '1s', shutdown: '2s' } });

  await step('backend closes mid-stream: client gets the last bytes, then the close', async () => {
    const { c, b } = await openTunnel(tether.port);
    const got = collect(c);
    b.write('x'.repeat(200000));
    b.end('LAST');
    await withTimeout(ended(c), 5000, 'client sees FIN');
    assert.equal(got.data.length, 200004);
    assert.ok(got.data.endsWith('LAST'));
    c.end();
    await withTimeout(closed(c), 5000, 'client closed');
  });

  await step('half-close client -> backend, data still flows backend -> client', async () => {
    const { c, b } = await openTunnel(tether.port);
    const atBackend = collect(b);
    const atClient = collect(c);
    c.end('bye-from-client');  // data + FIN
    await withTimeout(ended(b), 5000, 'backend sees FIN');
    assert.equal(atBackend.data, 'bye-from-client');
    b.write('still-talking');
    await sleep(100);
    b.write('-more');
    const deadline = Date.now() + 5000;
    while (atClient.data !== 'still-talking-more' && Date.now() < deadline) await sleep(10);
    assert.equal(atClient.data, 'still-talking-more');
    assert.ok(!c.readableEnded, 'client must not have seen FIN yet');
    b.end();
    await withTimeout(ended(c), 5000, 'client sees FIN');
    await withTimeout(closed(b), 5000, 'backend closed after both directions ended');
    c.destroy();
  });

  await step('half-close backend -> client, data still flows client -> backend', async () => {
    const { c, b } = await openTunnel(tether.port);
    const atBackend = collect(b);
    const atClient = collect(c);
    b.end('bye-from-backend');
    await withTimeout(ended(c), 5000, 'client sees FIN');
    c.write('client-continues');
    const deadline = Date.now() + 5000;
    while (atBackend.data !== 'client-continues' && Date.now() < deadline) await sleep(10);
    assert.equal(atBackend.data, 'client-continues');
    c.end();
    await withTimeout(ended(b), 5000, 'backend sees FIN');
    await withTimeout(closed(c), 5000, 'client closed');
    assert.equal(atClient.data, 'bye-from-backend');
  });

  await step('both sides end while bytes are still queued to a slow client: nothing is lost', async () => {
    const { c, b } = await openTunnel(tether.port);
    c.pause();  // a slow client: tether must queue and stop reading the backend
    const total = 8 << 20;
    b.write(Buffer.alloc(total, 0x61));
    b.end();    // backend FIN behind 8 MiB
    c.end();    // client FIN too
    await sleep(300);
    let n = 0;
    c.on('data', (d) => { n += d.length; });
    c.resume();
    await withTimeout(ended(c), 10000, 'client sees the end');
    assert.equal(n, total);
  });

  await step('client reset closes the backend side', async () => {
    const { c, b } = await openTunnel(tether.port);
    c.resetAndDestroy();
    await withTimeout(ended(b), 5000, 'backend sees the close');
  });

  await step('backend reset closes the client side', async () => {
    const { c, b } = await openTunnel(tether.port);
    b.resetAndDestroy();
    await withTimeout(ended(c), 5000, 'client sees the close');
  });

  await step('tunnel_idle (1s) closes a silent tunnel; traffic keeps one alive', async () => {
    const quiet = await openTunnel(tether.port);
    const busy = await openTunnel(tether.port);
    busy.b.on('data', (d) => busy.b.write(d));
    const t0 = Date.now();
    const quietClosed = ended(quiet.c);
    let busyClosed = false;
    busy.c.on('end', () => { busyClosed = true; });
    for (let i = 0; i < 8; i++) { busy.c.write('ping'); await sleep(200); }  // 1.6 s of traffic
    await withTimeout(quietClosed, 5000, 'quiet tunnel closed');
    const took = Date.now() - t0;
    assert.ok(took >= 900, `closed too early (${took} ms)`);
    assert.ok(!busyClosed, 'the busy tunnel must stay open');
    await withTimeout(ended(busy.c), 5000, 'busy tunnel closed once silent');
  });

  await step('npm ws: backend server goes away, the client is closed', async () => {
    let serverSide;
    const { port: wport } = await startWsServer((ws) => { serverSide = ws; });
    const t2 = await startTether(wport);
    const ws = await connect(t2.url('/'));
    const clientClosed = new Promise((r) => ws.once('close', (code) => r(code)));
    await sleep(50);
    serverSide.terminate();  // destroys the TCP socket, no close frame
    const code = await withTimeout(clientClosed, 5000, 'ws client closed');
    assert.equal(code, 1006);  // abnormal closure: the connection dropped
    await t2.stop();
  });

  await step('graceful shutdown: tunnels keep working for timeouts.shutdown, then close', async () => {
    const { c, b } = await openTunnel(tether.port);
    b.on('data', (d) => b.write(d));
    const exited = tether.exited;
    const t0 = Date.now();
    tether.proc.kill('SIGTERM');
    await sleep(300);
    // New connections are refused, the tunnel still carries bytes.
    const refused = await new Promise((r) => {
      const n = net.connect(tether.port, '127.0.0.1');
      n.once('connect', () => { n.destroy(); r(false); });
      n.once('error', () => r(true));
    });
    assert.ok(refused, 'listener must be closed while draining');
    const echoed = collect(c);
    // Keep talking (more often than tunnel_idle), so only the shutdown deadline can end it.
    const gone = ended(c);
    let open = true;
    gone.then(() => { open = false; });
    const ticker = setInterval(() => { if (open) c.write('tick'); }, 200);
    await sleep(700);
    assert.ok(echoed.data.length >= 8 && /^(tick)+$/.test(echoed.data), `echo while draining: ${echoed.data}`);
    await withTimeout(gone, 5000, 'tunnel closed at the shutdown deadline');
    clearInterval(ticker);
    const r = await withTimeout(exited, 5000, 'tether exits');
    const took = Date.now() - t0;
    assert.ok(took >= 1800 && took < 4500, `closed after ${took} ms, timeouts.shutdown is 2s`);
    assert.equal(r.code, 0);
    assert.match(tether.logs(), /shutdown_timeout/);
  });
}, { timeoutMs: 60000 });
