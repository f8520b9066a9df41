// The admin status page in real headless Chromium (playwright-core driving /usr/bin/chromium):
// it loads with no network access beyond the admin listener, polls /status, shows every server
// with its state, connections and tunnels, follows a drain, shows a killed server down, and asks for the token when one is
// set. Saves a screenshot (see the end; TETHER_UPDATE_SCREENSHOT=1 refreshes docs/status-page.png). Bounded: every step has a timeout; the whole test < 60 s.
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, writeFileSync, rmSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const require = createRequire(path.join(process.env.TETHER_SOURCE_DIR || process.cwd(), "tests/node/"));
const { chromium } = require("playwright-core");

const TETHER_BIN = process.env.TETHER_BIN || "build/proxy/tether";
const SOURCE_DIR = process.env.TETHER_SOURCE_DIR || path.resolve("..", "..");
const hardStop = setTimeout(() => { console.error("status page test: timed out"); process.exit(1); }, 90_000);

function assert(cond, msg) { if (!cond) throw new Error("assertion failed: " + msg); }

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => { const p = s.address().port; s.close(() => resolve(p)); });
  });
}

function waitPort(port, ms = 10_000) {
  const end = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tryOnce = () => {
      const c = net.connect(port, "127.0.0.1", () => { c.destroy(); resolve(); });
      c.on("error", () => (Date.now() > end ? reject(new Error("port " + port)) : setTimeout(tryOnce, 50)));
    };
    tryOnce();
  });
}

// A backend answering its name, and 101 + echo for upgrade requests (a tunnel on the page).
function backend(name) {
  const srv = http.createServer((req, res) => { res.setHeader("X-Backend", name); res.end(name); });
  srv.on("upgrade", (req, sock) => {
    sock.write("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n");
    sock.on("data", (d) => sock.write(d));
    sock.on("end", () => sock.end());  // pass the half-close on, like a WebSocket server would
    sock.on("error", () => {});
  });
  return new Promise((resolve) => srv.listen(0, "127.0.0.1", () => resolve({ srv, address: `127.0.0.1:${srv.address().port}` })));
}

function get(port, p, agent) {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: p, agent }, (res) => { res.resume(); res.on("end", () => resolve(res.statusCode)); }).on("error", reject);
  });
}

function post(port, p, token) {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: "127.0.0.1", port, path: p, method: "POST", headers: token ? { Authorization: "Bearer " + token } : {} },
      (res) => { res.resume(); res.on("end", () => resolve(res.statusCode)); });
    req.on("error", reject);
    req.end();
  });
}

function openTunnel(port) {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, "127.0.0.1", () => s.write("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\r\n"));
    s.once("data", (d) => (String(d).startsWith("HTTP/1.1 101") ? resolve(s) : reject(new Error(String(d)))));
    s.on("error", reject);
  });
}

async function startTether(config, ports) {
  const dir = mkdtempSync(path.join(os.tmpdir(), "tether-page-"));
  writeFileSync(path.join(dir, "tether.yaml"), config);
  const proc = spawn(TETHER_BIN, ["-c", path.join(dir, "tether.yaml"), "--log-level", "warn"], { stdio: ["ignore", "inherit", "inherit"] });
  for (const p of ports) await waitPort(p);
  return { proc, dir, stop: () => { proc.kill("SIGTERM"); rmSync(dir, { recursive: true, force: true }); } };
}

const backends = await Promise.all(["alpha", "beta", "gamma"].map(backend));
const port = await freePort(), admin = await freePort();
const token = "page-token";
const config = `workers: 2
listeners:
  - name: web
    address: 127.0.0.1:${port}
upstreams:
  chat:
    health_check: {type: tcp, interval: 200ms, timeout: 200ms, rise: 1, fall: 2}
    servers:
${backends.map((b, i) => `      - address: ${b.address}\n        name: ${["alpha", "beta", "gamma"][i]}\n        weight: ${i + 1}`).join("\n")}
admin:
  address: 127.0.0.1:${admin}
  token: ${token}
`;
const tether = await startTether(config, [port, admin]);
const userDataDir = mkdtempSync(path.join(os.tmpdir(), "tether-chromium-"));
let browser;
const tunnels = [];
try {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  for (let i = 0; i < 60; i++) await get(port, "/x", agent);
  for (let i = 0; i < 6; i++) tunnels.push(await openTunnel(port));
  assert((await post(admin, "/upstreams/chat/servers/gamma/drain", token)) === 200, "drain gamma");

  // A fresh profile directory (playwright passes it as --user-data-dir).
  browser = await chromium.launchPersistentContext(userDataDir, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    timeout: 30_000,
    viewport: { width: 1280, height: 520 },
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
           "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage();
  page.setDefaultTimeout(10_000);
  const external = [];
  page.on("request", (r) => { if (!r.url().startsWith(`http://127.0.0.1:${admin}/`)) external.push(r.url()); });

  // Without the token: the page asks for it.
  await page.goto(`http://127.0.0.1:${admin}/`);
  await page.waitForSelector("#tokenbox", { state: "visible" });

  // With the token in the fragment: data shows.
  await page.goto(`http://127.0.0.1:${admin}/#token=${token}`);
  await page.reload();
  await page.waitForSelector("body[data-loaded='1'] tr.server");
  const rows = await page.$$eval("tr.server", (trs) => trs.map((tr) => ({
    name: tr.dataset.server, text: tr.innerText, tunnels: Number(tr.querySelector(".tunnels").textContent.replace(/,/g, "")),
    requests: Number(tr.querySelector(".requests").textContent.replace(/,/g, "")), cls: tr.className })));
  assert(rows.length === 3, "three servers shown: " + JSON.stringify(rows));
  assert(JSON.stringify(rows.map((r) => r.name)) === JSON.stringify(["alpha", "beta", "gamma"]), "server names");
  assert(rows.every((r) => /\bup\b/.test(r.text)), "every server shows health up");
  assert(rows.find((r) => r.name === "gamma").cls.includes("state-drain"), "gamma shows drain");
  assert(rows.reduce((a, r) => a + r.tunnels, 0) === 6, "six live tunnels: " + JSON.stringify(rows));
  assert(rows.reduce((a, r) => a + r.requests, 0) === 66, "60 requests + 6 upgrades");
  assert(rows.find((r) => r.name === "gamma").requests > rows.find((r) => r.name === "alpha").requests, "weights show in the spread");
  const header = await page.textContent("header");
  assert(/version\s+\S+/.test(header) && /workers\s+2/.test(header), "header: " + header);
  assert(external.length === 0, "no request leaves the admin listener: " + external.join(", "));

  // Live: close the tunnels, the page follows within a couple of polls.
  for (const t of tunnels.splice(0)) t.destroy();
  await page.waitForFunction(() => [...document.querySelectorAll("tr.server .tunnels")].every((td) => td.textContent === "0"), null, { timeout: 8_000 });
  for (let i = 0; i < 6; i++) tunnels.push(await openTunnel(port));
  await page.waitForFunction(() => [...document.querySelectorAll("tr.server .tunnels")].reduce((a, td) => a + Number(td.textContent), 0) === 6, null, { timeout: 8_000 });

  // The screenshot goes to the build directory; docs/status-page.png is (re)written only when it
  // is missing or TETHER_UPDATE_SCREENSHOT=1, so a test run does not dirty the work tree.
  const shots = [path.join(process.env.TETHER_BUILD_DIR || os.tmpdir(), "status-page.png")];
  const docShot = path.join(SOURCE_DIR, "docs", "status-page.png");
  if (process.env.TETHER_UPDATE_SCREENSHOT === "1" || !existsSync(docShot)) shots.push(docShot);
  mkdirSync(path.join(SOURCE_DIR, "docs"), { recursive: true });
  for (const shot of shots) await page.screenshot({ path: shot, fullPage: true });

  // Health: alpha dies; the active checks mark it down and the page's health column says so.
  backends[0].srv.close();
  backends[0].srv.closeAllConnections?.();
  backends[0].closed = true;
  await page.waitForFunction(() => {
    const tr = document.querySelector("tr.server[data-server='alpha']");
    return tr && [...tr.querySelectorAll(".pill")].some((p) => p.textContent === "down");
  }, null, { timeout: 8_000 });
  const beta = await page.$eval("tr.server[data-server='beta']", (tr) => [...tr.querySelectorAll(".pill")].map((p) => p.textContent));
  assert(beta.includes("up") && !beta.includes("down"), "beta still up: " + JSON.stringify(beta));
  console.log("status page test: ok (screenshot " + shots.join(", ") + ")");
} finally {
  for (const t of tunnels) t.destroy();
  if (browser) await browser.close().catch(() => {});
  tether.stop();
  for (const b of backends) if (!b.closed) b.srv.close(), b.srv.closeAllConnections?.();
  rmSync(userDataDir, { recursive: true, force: true });
  clearTimeout(hardStop);
}
