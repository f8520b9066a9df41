// Upgrade edge cases at the byte level, with raw TCP peers on both sides of tether:
// - a non-websocket Upgrade token is forwarded with Upgrade/Connection intact (no configuration);
// - bytes the client sent in the same write as the request head, and bytes the backend sent in
//   the same write as the 101 head, are forwarded, not lost (fresh and pooled upstream conns);
// - an upgrade refused by the backend (403) reaches the client as-is and the connection goes on
//   as HTTP (a second request on it is answered).
'use strict';
const net = require('node:net');
const { assert, run, step, startTether, startTcpServer, readUntil } = require('./support');

// Backend: speaks just enough HTTP/1.1. Requests without a body only.
//   GET /upgrade with Upgrade -> 101 + "HELLO-FROM-BACKEND" in the same write, then echoes raw.
//   GET /refuse  with Upgrade -> 403 with a body, keep-alive.
//   anything else             -> 200 "plain".
const heads = [];
function backend(sock) {
  let buf = Buffer.alloc(0);
  let raw = false;
  sock.on('data', (d) => {
    if (raw) return sock.write(d);
    buf = Buffer.concat([buf, d]);
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const head = buf.subarray(0, end).toString();
      buf = buf.subarray(end + 4);
      heads.push(head);
      const path = head.split(' ')[1];
      const upgrade = /^upgrade:/im.test(head);
      if (path === '/upgrade' && upgrade) {
        sock.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: foo\r\nConnection: Upgrade\r\n\r\nHELLO-FROM-BACKEND');
        raw = true;
        if (buf.length) sock.write(buf);  // early client bytes, echoed
        return;
      }
      if (path === '/refuse' && upgrade) {
        sock.write('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nX-Refused: yes\r\nContent-Length: 13\r\n\r\nnot for you.\n');
        continue;
      }
      sock.write('HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nplain');
    }
  });
  sock.on('error', () => {});
}

function upgradeRequest(path, early = '') {
  return `GET ${path} HTTP/1.1\r\nHost: example.test\r\nConnection: Upgrade\r\nUpgrade: foo\r\n\r\n${early}`;
}

async function open(port) {
  const s = net.connect(port, '127.0.0.1');
  await new Promise((r, j) => { s.once('connect', r); s.once('error', j); });
  return s;
}

run(async () => {
  const { port: bport } = await startTcpServer(backend);
  const tether = await startTether(bport);

  async function earlyBytes(label) {
    const s = await open(tether.port);
    s.write(upgradeRequest('/upgrade', 'EARLY-CLIENT-BYTES'));  // one write: head + payload
    const got = await readUntil(s, (b) => b.includes('EARLY-CLIENT-BYTES'));
    const text = got.toString();
    assert.match(text, /^HTTP\/1\.1 101 /, label);
    assert.match(text, /\r\nupgrade: foo\r\n/i);
    assert.match(text, /\r\nconnection: upgrade\r\n/i);
    const body = text.slice(text.indexOf('\r\n\r\n') + 4);
    assert.equal(body, 'HELLO-FROM-BACKENDEARLY-CLIENT-BYTES', label);
    s.write('later');
    await readUntil(s, (b) => b.toString() === 'later');
    const h = heads[heads.length - 1];
    assert.match(h, /\r\nupgrade: foo(\r\n|$)/i, 'Upgrade header forwarded');
    assert.match(h, /\r\nconnection: upgrade(\r\n|$)/i, 'Connection: upgrade forwarded');
    s.destroy();
  }

  await step('early bytes after request head and after 101 head (fresh upstream conn)', () => earlyBytes('fresh'));

  await step('refused upgrade (403) reaches the client as-is, connection continues as HTTP', async () => {
    const s = await open(tether.port);
    s.write(upgradeRequest('/refuse'));
    const got = (await readUntil(s, (b) => b.includes('not for you.\n'))).toString();
    assert.match(got, /^HTTP\/1\.1 403 Forbidden\r\n/);
    assert.match(got, /\r\nx-refused: yes\r\n/i);
    assert.doesNotMatch(got, /connection: close/i);
    s.write('GET /again HTTP/1.1\r\nHost: example.test\r\n\r\n');
    const again = (await readUntil(s, (b) => b.includes('plain'))).toString();
    assert.match(again, /^HTTP\/1\.1 200 /);
    s.destroy();
  });

  await step('refused upgrade with a pipelined request right behind it', async () => {
    const s = await open(tether.port);
    s.write(upgradeRequest('/refuse') + 'GET /after HTTP/1.1\r\nHost: example.test\r\n\r\n');
    const got = (await readUntil(s, (b) => b.includes('\r\n\r\nplain'))).toString();  // the 200's body, not 'text/plain' in the 403
    assert.match(got, /^HTTP\/1\.1 403 Forbidden\r\n[\s\S]*not for you\.\nHTTP\/1\.1 200 /);
    s.destroy();
  });

  await step('early bytes after request head and after 101 head (pooled upstream conn)', async () => {
    // The refused exchanges left keep-alive upstream connections in the pool.
    await earlyBytes('pooled');
  });

  await step('101 to a request that did not ask to upgrade is not relayed', async () => {
    const s = await open(tether.port);
    s.write('GET /upgrade HTTP/1.1\r\nHost: example.test\r\n\r\n');
    const got = (await readUntil(s, (b) => b.includes('\r\n\r\n'))).toString();
    assert.match(got, /^HTTP\/1\.1 200 /);  // the backend only upgrades when asked
    s.destroy();
  });

  await tether.stop();
}, { timeoutMs: 30000 });
