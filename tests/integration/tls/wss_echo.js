// wss through tether: a `ws` echo server behind tether, a `ws` client over TLS in front.
// usage: node wss_echo.js BACKEND_PORT TETHER_TLS_PORT CA_FILE   (prints "ok" on success)
const fs = require('fs');
const WebSocket = require('ws');
const [backendPort, tlsPort, caFile] = process.argv.slice(2);
const server = new WebSocket.Server({ host: '127.0.0.1', port: Number(backendPort) });
server.on('connection', (sock, req) => {
  sock.on('message', (data, isBinary) => sock.send(`${req.headers['x-forwarded-proto']}:${data}`, { binary: isBinary }));
});
const timer = setTimeout(() => { console.error('timeout'); process.exit(1); }, 10000);
server.on('listening', () => {
  const ws = new WebSocket(`wss://localhost:${tlsPort}/chat`, { ca: fs.readFileSync(caFile) });
  ws.on('open', () => ws.send('x'.repeat(100000)));
  ws.on('message', (msg) => {
    const text = msg.toString();
    if (text !== 'https:' + 'x'.repeat(100000)) { console.error('bad echo', text.slice(0, 40)); process.exit(1); }
    ws.close();
  });
  ws.on('close', () => { clearTimeout(timer); console.log('ok'); server.close(); process.exit(0); });
  ws.on('error', (e) => { console.error('client error', e.message); process.exit(1); });
});
