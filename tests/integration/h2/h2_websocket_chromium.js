// WebSocket over HTTP/2 (RFC 8441) from a real browser: headless Chromium (Debian `chromium`,
// driven by npm `playwright-core`) loads a page from tether's TLS listener with `http2: true`
// (a route `respond`, so the origin's h2 connection is open and has advertised extended
// CONNECT), then the page opens `new WebSocket('wss://127.0.0.1:PORT/ws')` to an npm `ws` echo
// backend. The echo must work, and tether's access log must show the WebSocket as a CONNECT over
// HTTP/2.0 (Chromium sends it on the page's h2 connection, not as an HTTP/1.1 upgrade).
'use strict';
const { execFileSync, spawn } = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const { assert, TETHER_BIN, freePort, sleep, waitPort, startWsServer, run, step } = require('../ws/support');

const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
let chromium;
try {
  ({ chromium } = require('playwright-core'));
} catch (e) {
  chromium = null;
}
if (!chromium || !fs.existsSync(CHROMIUM)) {
  console.error('FAIL: chromium or playwright-core missing (run scripts/install-deps)');
  process.exit(1);
}

run(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tether-h2ws-'));
  let proc = null;
  let browser = null;
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=localhost',
      '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1', '-keyout', `${dir}/key.pem`, '-out', `${dir}/cert.pem`],
    { stdio: 'ignore' });
    const backend = await startWsServer((ws, req) => {
      ws.send(`path ${req.url}`);
      ws.on('message', (m, isBinary) => ws.send(m, { binary: isBinary }));
    });
    const port = await freePort();
    const page = '<!doctype html><title>h2ws</title><p id=ready>ready</p>';
    fs.writeFileSync(`${dir}/tether.yaml`, `workers: 1
listeners:
  - address: 127.0.0.1:${port}
    http2: true
    tls: {cert: ${dir}/cert.pem, key: ${dir}/key.pem}
upstreams:
  app:
    servers: ['127.0.0.1:${backend.port}']
routes:
  - path_prefix: /page
    respond: {status: 200, body: ${JSON.stringify(page)}, content_type: text/html}
  - upstream: app
access_log: {path: ${dir}/access.log, format: combined}
`);
    const log = fs.openSync(`${dir}/tether.log`, 'w');
    proc = spawn(TETHER_BIN, ['-c', `${dir}/tether.yaml`], { stdio: ['ignore', log, log] });
    await waitPort(port);

    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true,
      args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage', '--ignore-certificate-errors'] });
    const tab = await browser.newPage();
    tab.setDefaultTimeout(10000);

    await step('page over h2, then a WebSocket echo from it', async () => {
      const res = await tab.goto(`https://127.0.0.1:${port}/page`);
      assert.equal(res.status(), 200);
      assert.equal(await tab.textContent('#ready'), 'ready');
      const got = await tab.evaluate((url) => new Promise((resolve, reject) => {
        const ws = new WebSocket(url);
        const seen = [];
        ws.onerror = () => reject(new Error('websocket error'));
        ws.onmessage = (e) => {
          seen.push(e.data);
          if (seen.length === 1) ws.send('hello from chromium');
          else { ws.close(1000); resolve(seen); }
        };
        setTimeout(() => reject(new Error(`no echo, got ${JSON.stringify(seen)}`)), 8000);
      }), `wss://127.0.0.1:${port}/ws?room=h2`);
      assert.deepEqual(got, ['path /ws?room=h2', 'hello from chromium']);
    });

    await step('the access log shows the page and the WebSocket over HTTP/2.0', async () => {
      let text = '';
      for (let i = 0; i < 50; i++) {
        text = fs.readFileSync(`${dir}/access.log`, 'utf8');
        if (/"CONNECT \/ws\?room=h2 HTTP\/2\.0" 200 /.test(text)) break;
        await sleep(100);
      }
      assert.match(text, /"GET \/page HTTP\/2\.0" 200 /);
      assert.match(text, /"CONNECT \/ws\?room=h2 HTTP\/2\.0" 200 /, text);
      assert.doesNotMatch(text, /"GET \/ws/, 'the WebSocket went over HTTP/1.1');
    });
  } finally {
    if (browser) await browser.close();
    if (proc && proc.exitCode === null) {
      proc.kill('SIGTERM');
      await Promise.race([new Promise((r) => proc.once('exit', r)), sleep(5000)]);
      if (proc.exitCode === null) proc.kill('SIGKILL');
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}, { timeoutMs: 90000 });
