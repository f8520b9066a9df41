// WebSocket through tether to a TLS upstream: a `ws` echo server on HTTPS (the upstream, with the
// given certificate), a plain `ws` client in front of tether.
// usage: node ws_tls_upstream.js UPSTREAM_PORT TETHER_PORT CERT KEY   (prints "ok" on success)
const fs = require('fs');
const https = require('https');
const WebSocket = require('ws');
const [upstreamPort, tetherPort, cert, key] = process.argv.slice(2);
const server = https.createServer({ cert: fs.readFileSync(cert), key: fs.readFileSync(key) });
const wss = new WebSocket.Server({ server });
wss.on('connection', (sock, req) => {
  sock.on('message', (data, isBinary) => sock.send(`tls=${req.socket.encrypted === true}:${data}`, { binary: isBinary }));
});
const timer = setTimeout(() => { console.error('timeout'); process.exit(1); }, 10000);
server.listen(Number(upstreamPort), '127.0.0.1', () => {
  const ws = new WebSocket(`ws://127.0.0.1:${tetherPort}/ws/`);
  const payload = 'y'.repeat(100000);
  ws.on('open', () => ws.send(payload));
  ws.on('message', (msg) => {
    const text = msg.toString();
    if (text !== 'tls=true:' + payload) { console.error('bad echo', text.slice(0, 40)); process.exit(1); }
    ws.close();
  });
  ws.on('close', () => { clearTimeout(timer); console.log('ok'); server.close(); process.exit(0); });
  ws.on('error', (e) => { console.error('client error', e.message); process.exit(1); });
});
