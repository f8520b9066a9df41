// Opens WebSocket connections through a proxy and holds them idle, for memory measurements.
// Prints "open K" after each batch; reads batch sizes from stdin ("200", "5000"); "quit" exits.
// usage: node hold_tunnels.js PROXY_PORT
const WebSocket = require('ws');
const readline = require('readline');
const port = Number(process.argv[2]);
const held = [];
setTimeout(() => process.exit(2), 300000);
async function openBatch(n) {
  for (let i = 0; i < n; i += 100) {
    await Promise.all(Array.from({ length: Math.min(100, n - i) }, () => new Promise((resolve) => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/`, { perMessageDeflate: false });
      ws.on('open', () => { held.push(ws); resolve(); });
      ws.on('error', () => resolve());
    })));
  }
}
readline.createInterface({ input: process.stdin }).on('line', async (line) => {
  if (line === 'quit') process.exit(0);
  await openBatch(Number(line));
  const open = held.filter((w) => w.readyState === WebSocket.OPEN).length;
  console.log('open ' + open);
});
