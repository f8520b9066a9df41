// WebSocket through tether with npm `ws` on both ends: text, binary, a 1 MiB message, fragmented
// messages both ways, ping/pong both ways, and the close handshake (code + reason reach the
// other side, and both sides see a clean close).
'use strict';
const crypto = require('node:crypto');
const { assert, run, step, startTether, startWsServer, connect, nextMessage, withTimeout } = require('./support');

run(async () => {
  let serverSide = null;
  const serverPings = [];
  const { port: bport } = await startWsServer((ws) => {
    serverSide = ws;
    ws.on('message', (m, isBinary) => {
      if (!isBinary && m.toString() === 'fragment-me') {
        // Answer with a message in three fragments (continuation frames).
        ws.send('one-', { fin: false });
        ws.send('two-', { fin: false });
        ws.send('three', { fin: true });
        return;
      }
      ws.send(m, { binary: isBinary });
    });
    ws.on('pong', (d) => serverPings.push(d.toString()));
  });
  const tether = await startTether(bport);
  const ws = await connect(tether.url('/chat?x=1'));

  await step('text', async () => {
    ws.send('hello tether');
    const r = await withTimeout(nextMessage(ws), 5000, 'text echo');
    assert.equal(r.isBinary, false);
    assert.equal(r.data.toString(), 'hello tether');
  });

  await step('binary', async () => {
    const b = crypto.randomBytes(4096);
    ws.send(b);
    const r = await withTimeout(nextMessage(ws), 5000, 'binary echo');
    assert.equal(r.isBinary, true);
    assert.ok(b.equals(r.data));
  });

  await step('1 MiB binary message', async () => {
    const b = crypto.randomBytes(1 << 20);
    ws.send(b);
    const r = await withTimeout(nextMessage(ws), 10000, '1 MiB echo');
    assert.equal(r.data.length, 1 << 20);
    assert.ok(b.equals(r.data));
  });

  await step('1 MiB text message', async () => {
    const s = 'abcdefgh'.repeat((1 << 20) / 8);
    ws.send(s);
    const r = await withTimeout(nextMessage(ws), 10000, '1 MiB text echo');
    assert.equal(r.data.toString(), s);
  });

  await step('fragmented client -> server', async () => {
    ws.send('frag-', { fin: false });
    ws.send('mented-', { fin: false });
    ws.send('message', { fin: true });
    const r = await withTimeout(nextMessage(ws), 5000, 'fragmented echo');
    assert.equal(r.data.toString(), 'frag-mented-message');
  });

  await step('fragmented server -> client', async () => {
    ws.send('fragment-me');
    const r = await withTimeout(nextMessage(ws), 5000, 'fragmented answer');
    assert.equal(r.data.toString(), 'one-two-three');
  });

  await step('many small messages keep their order', async () => {
    const n = 2000;
    const got = [];
    const done = new Promise((resolve) => {
      const onMsg = (m) => { got.push(m.toString()); if (got.length === n) { ws.off('message', onMsg); resolve(); } };
      ws.on('message', onMsg);
    });
    for (let i = 0; i < n; i++) ws.send(`m${i}`);
    await withTimeout(done, 10000, 'ordered echoes');
    for (let i = 0; i < n; i++) assert.equal(got[i], `m${i}`);
  });

  await step('ping from client, pong from server', async () => {
    const pong = new Promise((resolve) => ws.once('pong', (d) => resolve(d.toString())));
    ws.ping('are-you-there');
    assert.equal(await withTimeout(pong, 5000, 'pong'), 'are-you-there');
  });

  await step('ping from server, pong from client', async () => {
    serverSide.ping('server-ping');
    const deadline = Date.now() + 5000;
    while (!serverPings.includes('server-ping') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    assert.ok(serverPings.includes('server-ping'));
  });

  await step('close handshake (client initiates)', async () => {
    const serverClosed = new Promise((resolve) => serverSide.once('close', (code, reason) => resolve([code, reason.toString()])));
    const clientClosed = new Promise((resolve) => ws.once('close', (code, reason) => resolve([code, reason.toString()])));
    ws.close(4001, 'bye now');
    assert.deepEqual(await withTimeout(serverClosed, 5000, 'server close'), [4001, 'bye now']);
    assert.deepEqual(await withTimeout(clientClosed, 5000, 'client close'), [4001, 'bye now']);
  });

  await step('close handshake (server initiates)', async () => {
    const ws2 = await connect(tether.url('/'));
    await new Promise((r) => setTimeout(r, 50));
    const clientClosed = new Promise((resolve) => ws2.once('close', (code, reason) => resolve([code, reason.toString()])));
    serverSide.close(4002, 'server says bye');
    assert.deepEqual(await withTimeout(clientClosed, 5000, 'client sees close'), [4002, 'server says bye']);
  });

  await tether.stop();
}, { timeoutMs: 60000 });
