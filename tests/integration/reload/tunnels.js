// Holds N WebSocket tunnels open through tether to a `ws` echo server hosted here, for the
// reload test. Prints "ready" once all are open; on a "check" line from stdin, echoes one message
// on every tunnel and prints "ok OPEN CLOSED ECHOED"; exits on "quit" or after 60 s.
// usage: node tunnels.js ECHO_PORT TETHER_PORT COUNT
const WebSocket = require('ws');
const readline = require('readline');
const [echoPort, tetherPort, count] = process.argv.slice(2).map(Number);
const server = new WebSocket.Server({ host: '127.0.0.1', port: echoPort });
server.on('connection', (s) => s.on('message', (d) => s.send(d)));
setTimeout(() => { console.log('timeout'); process.exit(1); }, 60000);
let open = 0, closed = 0;
const sockets = [];
server.on('listening', async () => {
  for (let i = 0; i < count; i++) {
    await new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${tetherPort}/ws/${i}`);
      ws.on('open', () => { open++; resolve(); });
      ws.on('close', () => { closed++; });
      ws.on('error', (e) => { console.error('error', e.message); resolve(); });
      sockets.push(ws);
    });
  }
  console.log('ready ' + open);
});
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line === 'quit') process.exit(0);
  if (line !== 'check') return;
  let echoed = 0;
  await Promise.all(sockets.filter((s) => s.readyState === WebSocket.OPEN).map((s, i) => new Promise((resolve) => {
    const t = setTimeout(resolve, 5000);
    s.once('message', (m) => { if (m.toString() === 'ping' + i) echoed++; clearTimeout(t); resolve(); });
    s.send('ping' + i);
  })));
  console.log(`ok ${open} ${closed} ${echoed}`);
});
