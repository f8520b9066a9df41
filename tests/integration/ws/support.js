// Shared helpers for the WebSocket tunnel integration tests: start the real tether binary on a
// loopback port with a temp config, start npm `ws` servers, measure RSS, bound everything in time.
//
// Every test is a CommonJS script (NODE_PATH does not apply to ES modules) that calls
// run(async (t) => {...}, {timeoutMs}). run() kills every process it started and every server it
// opened, whatever happens, and exits non-zero on failure or timeout. Loopback only.
'use strict';
const { spawn } = require('node:child_process');
const fs = require('node:fs');
const net = require('node:net');
const os = require('node:os');
const path = require('node:path');
const assert = require('node:assert/strict');
const { WebSocket, WebSocketServer } = require('ws');

const TETHER_BIN = process.env.TETHER_BIN ||
  path.join(process.env.TETHER_BUILD_DIR || 'build', 'proxy', 'tether');

const cleanups = [];
const tempDirs = [];  // removed when the test passes (kept for the logs when it fails)

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

function withTimeout(promise, ms, what) {
  let timer;
  return Promise.race([
    promise.finally(() => clearTimeout(timer)),
    new Promise((_, reject) => { timer = setTimeout(() => reject(new Error(`timeout: ${what} (${ms} ms)`)), ms); }),
  ]);
}

async function waitPort(port, ms = 10000) {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    const ok = await new Promise((resolve) => {
      const c = net.connect(port, '127.0.0.1');
      c.once('connect', () => { c.destroy(); resolve(true); });
      c.once('error', () => resolve(false));
    });
    if (ok) return;
    await sleep(20);
  }
  throw new Error(`nothing listening on 127.0.0.1:${port}`);
}

function rssKiB(pid) {
  const m = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

// Starts tether in front of `backendPort`. `timeouts` and `extra` (YAML appended at the end)
// tune it. Returns { port, proc, rss(), logs(), stop() }.
async function startTether(backendPort, { timeouts = {}, extra = '', logLevel = 'info' } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-ws-'));
  tempDirs.push(dir);
  const port = await freePort();
  const t = Object.entries(timeouts).map(([k, v]) => `  ${k}: ${v}\n`).join('');
  const cfg = `workers: 1\nlisteners:\n  - name: web\n    address: 127.0.0.1:${port}\n` +
    `upstreams:\n  app:\n    servers:\n      - address: 127.0.0.1:${backendPort}\n` +
    (t ? `timeouts:\n${t}` : '') + extra;
  fs.writeFileSync(path.join(dir, 'tether.yaml'), cfg);
  const logPath = path.join(dir, 'tether.log');
  const log = fs.openSync(logPath, 'w');
  const proc = spawn(TETHER_BIN, ['-c', path.join(dir, 'tether.yaml'), '--log-level', logLevel],
    { stdio: ['ignore', log, log] });
  const exited = new Promise((resolve) => proc.once('exit', (code, sig) => resolve({ code, sig })));
  const handle = {
    port, proc, exited,
    url: (p = '/') => `ws://127.0.0.1:${port}${p}`,
    rss: () => rssKiB(proc.pid),
    logs: () => fs.readFileSync(logPath, 'utf8'),
    async stop(ms = 15000) {
      if (proc.exitCode === null && proc.signalCode === null) {
        proc.kill('SIGTERM');
        const r = await Promise.race([exited, sleep(ms).then(() => null)]);
        if (!r) { proc.kill('SIGKILL'); await exited; }
      }
      fs.closeSync(log);
      return exited;
    },
  };
  cleanups.push(() => { if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL'); });
  await waitPort(port);
  return handle;
}

// A `ws` server on a free loopback port; `onConnection(ws, req)` handles each client.
// Default: echo every message back with the same type.
async function startWsServer(onConnection, options = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, maxPayload: 64 << 20, ...options });
  await new Promise((r) => wss.once('listening', r));
  wss.on('connection', onConnection || ((ws) => ws.on('message', (m, isBinary) => ws.send(m, { binary: isBinary }))));
  cleanups.push(() => { for (const c of wss.clients) c.terminate(); wss.close(); });
  return { wss, port: wss.address().port };
}

// A plain TCP server (for raw byte-level backends).
async function startTcpServer(onSocket, options = {}) {
  const srv = net.createServer(options, onSocket);
  await new Promise((r) => srv.listen(0, '127.0.0.1', r));
  const sockets = new Set();
  srv.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  cleanups.push(() => { for (const s of sockets) s.destroy(); srv.close(); });
  return { srv, port: srv.address().port };
}

function connect(url, options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { maxPayload: 64 << 20, ...options });
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (req, res) => reject(Object.assign(new Error(`HTTP ${res.statusCode}`), { res })));
  });
}

function nextMessage(ws) {
  return new Promise((resolve, reject) => {
    ws.once('message', (data, isBinary) => resolve({ data, isBinary }));
    ws.once('close', () => reject(new Error('closed before a message')));
  });
}

// Raw socket helpers: read until `pred(buffer)` holds.
function readUntil(sock, pred, ms = 5000) {
  return withTimeout(new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (d) => {
      buf = Buffer.concat([buf, d]);
      if (pred(buf)) { sock.off('data', onData); resolve(buf); }
    };
    sock.on('data', onData);
    sock.once('error', reject);
  }), ms, 'readUntil');
}

function run(fn, { timeoutMs = 60000 } = {}) {
  let failed = false;
  const timer = setTimeout(() => {
    console.error(`FAIL: test timed out after ${timeoutMs} ms`);
    for (const c of cleanups.reverse()) { try { c(); } catch (_) { /* best effort */ } }
    process.exit(2);
  }, timeoutMs);
  (async () => {
    try {
      await fn();
      console.log('PASS');
    } catch (e) {
      failed = true;
      console.error('FAIL:', e && e.stack ? e.stack : e);
    } finally {
      clearTimeout(timer);
      for (const c of cleanups.reverse()) { try { c(); } catch (_) { /* best effort */ } }
      if (failed) console.error(`tether logs kept in: ${tempDirs.join(' ')}`);
      else for (const d of tempDirs) { try { fs.rmSync(d, { recursive: true, force: true }); } catch (_) { /* best effort */ } }
      process.exit(failed ? 1 : 0);
    }
  })();
}

// Runs one named step and prints it, so a failure says which case broke.
async function step(name, fn) {
  const t0 = Date.now();
  await fn();
  console.log(`ok   ${name} (${Date.now() - t0} ms)`);
}

module.exports = {
  assert, WebSocket, WebSocketServer, TETHER_BIN, freePort, sleep, withTimeout, waitPort, rssKiB,
  startTether, startWsServer, startTcpServer, connect, nextMessage, readUntil, run, step,
};
