// A `ws` echo server for the WebSocket benchmarks. usage: node echo_server.js PORT
const WebSocket = require('ws');
const port = Number(process.argv[2]);
const wss = new WebSocket.Server({ host: '127.0.0.1', port, perMessageDeflate: false });
wss.on('connection', (s) => s.on('message', (d, bin) => s.send(d, { binary: bin })));
wss.on('listening', () => console.log('listening'));
