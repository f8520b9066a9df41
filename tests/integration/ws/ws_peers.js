// WebSocket scenarios through tether with npm `ws` on both ends. The `ws` server is the backend;
// the client connects through tether. Each scenario prints "PASS name" or "FAIL name: why".
// usage: node ws_peers.js BACKEND_PORT TETHER_PORT SCENARIO
const WebSocket = require('ws');
const net = require('net');
const http = require('http');
const [backendPort, tetherPort, scenario] = [Number(process.argv[2]), Number(process.argv[3]), process.argv[4]];
const url = (path = '/ws') => `ws://127.0.0.1:${tetherPort}${path}`;
const done = (ok, why = '') => { console.log(ok ? `PASS ${scenario}` : `FAIL ${scenario}: ${why}`); process.exit(ok ? 0 : 1); };
setTimeout(() => done(false, 'timeout'), 30000);

const httpServer = http.createServer((req, res) => { res.writeHead(200); res.end('plain http'); });
const wss = new WebSocket.Server({
  noServer: true,
  maxPayload: 8 << 20,
});
httpServer.on('upgrade', (req, socket, head) => {
  if (req.url === '/forbidden') {
    socket.end('HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 9\r\n\r\nforbidden');
    return;
  }
  wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
});
wss.on('connection', (ws, req) => {
  if (req.url === '/close-soon') { setTimeout(() => ws.terminate(), 200); return; }
  if (req.url === '/flood') {  // a fast writer: 64 MiB as fast as the socket takes it
    const chunk = Buffer.alloc(1 << 20, 0x61);
    let sent = 0;
    const pump = () => { while (sent < 64 && ws.bufferedAmount < (4 << 20)) { ws.send(chunk); sent++; } if (sent < 64) setTimeout(pump, 5); };
    pump();
    return;
  }
  ws.on('message', (data, isBinary) => ws.send(data, { binary: isBinary }));
  ws.on('ping', (d) => {});
});

httpServer.listen(backendPort, '127.0.0.1', () => run().catch((e) => done(false, e.message)));

function open(path) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url(path));
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}
const once = (ws, ev) => new Promise((r) => ws.once(ev, (...a) => r(a)));

async function run() {
  switch (scenario) {
    case 'echo': {
      const ws = await open();
      ws.send('hello tether');
      let [m, bin] = await once(ws, 'message');
      if (m.toString() !== 'hello tether' || bin) return done(false, 'text echo');
      const b = Buffer.from([0, 1, 2, 255, 254]);
      ws.send(b);
      [m, bin] = await once(ws, 'message');
      if (!bin || Buffer.compare(m, b) !== 0) return done(false, 'binary echo');
      const big = Buffer.alloc(1 << 20); for (let i = 0; i < big.length; i++) big[i] = i % 251;
      ws.send(big);
      [m] = await once(ws, 'message');
      if (Buffer.compare(m, big) !== 0) return done(false, '1 MiB echo');
      // fragmented message: three frames, one message
      ws.send('frag-', { fin: false }); ws.send('ment-', { fin: false }); ws.send('ed', { fin: true });
      [m] = await once(ws, 'message');
      if (m.toString() !== 'frag-ment-ed') return done(false, 'fragmented: ' + m);
      ws.ping('p1');
      const [pong] = await once(ws, 'pong');
      if (pong.toString() !== 'p1') return done(false, 'pong');
      ws.close(4001, 'bye');
      const [code, reason] = await once(ws, 'close');
      if (code !== 4001 || reason.toString() !== 'bye') return done(false, `close ${code} ${reason}`);
      return done(true);
    }
    case 'refused': {
      // The 403 reaches the client as-is, and the connection goes on as HTTP.
      const s = net.connect(tetherPort, '127.0.0.1');
      s.write('GET /forbidden HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      let buf = '';
      s.on('data', (d) => {
        buf += d.toString();
        if (buf.includes('forbidden') && !buf.includes('plain http')) s.write('GET /again HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n');
        if (buf.includes('plain http')) {
          return done(buf.startsWith('HTTP/1.1 403 Forbidden') && buf.includes('HTTP/1.1 200'), buf.slice(0, 200));
        }
      });
      return;
    }
    case 'early-bytes': {
      // A client frame sent in the same packet as the upgrade request is not lost.
      const s = net.connect(tetherPort, '127.0.0.1');
      const payload = Buffer.from('early');
      const mask = Buffer.from([1, 2, 3, 4]);
      const frame = Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, Buffer.from(payload.map((c, i) => c ^ mask[i % 4]))]);
      s.write(Buffer.concat([Buffer.from('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'), frame]));
      let buf = Buffer.alloc(0);
      s.on('data', (d) => {
        buf = Buffer.concat([buf, d]);
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const rest = buf.subarray(end + 4);
        if (rest.length >= 7) done(buf.toString().startsWith('HTTP/1.1 101') && rest.subarray(2, 7).toString() === 'early', rest.toString());
      });
      return;
    }
    case 'backend-closes': {
      const ws = await open('/close-soon');
      const [code] = await once(ws, 'close');
      return done(code === 1006 || code === 1005 || code === 1000, 'code ' + code);
    }
    case 'many': {
      const n = 1000;
      const sockets = [];
      for (let i = 0; i < n; i++) sockets.push(await open('/ws'));
      let ok = 0;
      await Promise.all(sockets.map((ws, i) => new Promise((r) => { ws.once('message', (m) => { ok += m.toString() === 'm' + i; r(); }); ws.send('m' + i); })));
      sockets.forEach((ws) => ws.terminate());
      return done(ok === n, `${ok}/${n} echoed`);
    }
    case 'slow-reader': {
      // The backend floods 64 MiB; this client does not read for 3 s (tether must stop reading
      // the backend instead of buffering), then reads everything.
      const s = net.connect(tetherPort, '127.0.0.1');
      s.write('GET /flood HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n');
      s.pause();
      console.log('paused');
      setTimeout(() => {
        let total = 0;
        s.on('data', (d) => { total += d.length; if (total >= 64 * (1 << 20)) done(true); });
        s.resume();
      }, 3000);
      return;
    }
    default: return done(false, 'unknown scenario');
  }
}
