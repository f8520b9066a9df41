// Helpers for the fleet tests: a private redis-server (free loopback port, data in a temp dir,
// append-only so a kill -9 and restart keeps history), tether in front of chat instances,
// and Prometheus text lookups. Builds on ../chat/lib.js; every wait is bounded.
"use strict";
const { spawn } = require("child_process");
const fs = require("fs");
const net = require("net");
const path = require("path");
const { withTimeout, sleep, request, tempDir } = require("../chat/lib");

const BUILD = process.env.TETHER_BUILD_DIR || path.join(__dirname, "../../../build");
const TETHER = process.env.TETHER_BIN || path.join(BUILD, "proxy/tether");

function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => { const { port } = srv.address(); srv.close(() => resolve(port)); });
  });
}

async function waitFor(pred, ms, what) {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await pred()) return;
    if (Date.now() > deadline) throw new Error(`timeout after ${ms} ms: ${what}`);
    await sleep(50);
  }
}

// A redis-server we own. start() again after kill() reuses the port and the data directory.
class Redis {
  constructor({ password } = {}) {
    this.dir = tempDir("tether-redis-");
    this.password = password;
    this.extraArgs = password ? ["--requirepass", password] : [];
    this.proc = null;
    this.log = "";
  }
  get url() { return `redis://127.0.0.1:${this.port}`; }
  async start() {
    if (!this.port) this.port = await freePort();
    this.proc = spawn("redis-server", ["--port", String(this.port), "--bind", "127.0.0.1", "--dir", this.dir,
      "--appendonly", "yes", "--appendfsync", "always", "--save", "", "--daemonize", "no", ...this.extraArgs], { stdio: ["ignore", "pipe", "pipe"] });
    this.proc.stdout.on("data", (d) => { this.log += d; });
    this.proc.stderr.on("data", (d) => { this.log += d; });
    this.exited = new Promise((r) => this.proc.on("exit", r));
    await waitFor(() => new Promise((r) => {
      const s = net.connect(this.port, "127.0.0.1", () => { s.end(); r(true); });
      s.on("error", () => r(false));
    }), 5000, "redis-server listening");
  }
  // One command with a one-line reply (integer, status, error) on a fresh connection, after
  // AUTH when the server has a password; resolves the raw reply line.
  async command(...args) {
    const cmds = this.password ? [["AUTH", this.password], args] : [args];
    const wire = cmds.map((c) => `*${c.length}\r\n` + c.map((a) => `$${Buffer.byteLength(String(a))}\r\n${a}\r\n`).join("")).join("");
    return withTimeout(new Promise((resolve, reject) => {
      const s = net.connect(this.port, "127.0.0.1");
      let buf = "";
      s.on("connect", () => s.write(wire));
      s.on("data", (d) => {
        buf += d;
        const lines = buf.split("\r\n");
        if (lines.length > cmds.length) { s.end(); resolve(lines[cmds.length - 1] + "\r\n"); }
      });
      s.on("error", reject);
    }), 3000, `redis ${args[0]}`);
  }
  pause() { this.proc.kill("SIGSTOP"); }   // a hung Redis: connections stay open, nothing answers
  resume() { this.proc.kill("SIGCONT"); }
  async kill() { if (this.proc && this.proc.exitCode === null) { this.proc.kill("SIGKILL"); await this.exited; } }
  async stop() { await this.kill(); fs.rmSync(this.dir, { recursive: true, force: true }); }
}

// tether with `yaml` (a function of its listen port); resolves {proc, port, url, stop()}.
async function startTether(yaml) {
  const port = await freePort();
  const file = path.join(tempDir("tether-conf-"), "tether.yaml");
  fs.writeFileSync(file, yaml(port));
  const proc = spawn(TETHER, ["-c", file], { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  proc.stderr.on("data", (d) => { log += d; });
  const exited = new Promise((r) => proc.on("exit", r));
  await waitFor(async () => {
    if (proc.exitCode !== null) throw new Error(`tether exited: ${log}`);
    try { await request(`http://127.0.0.1:${port}/health`, { timeout: 500 }); return true; } catch { return false; }
  }, 5000, "tether listening");
  return {
    proc, port, url: `http://127.0.0.1:${port}`, log: () => log,
    async stop() { if (proc.exitCode === null) { proc.kill("SIGTERM"); await withTimeout(exited, 10000, "tether exit"); } },
  };
}

// A tether config for chat instances on `ports`: sid affinity, fast active health checks.
function chatUpstreamYaml(ports) {
  return (listen) => `
listeners:
  - name: web
    address: 127.0.0.1:${listen}
upstreams:
  chat:
    strategy: round_robin
    affinity: [sid]
    retries: 2
    max_fails: 1
    fail_timeout: 5s
    health_check: {type: http, path: /health, interval: 300ms, timeout: 300ms, rise: 1, fall: 1, expect_status: [200]}
    servers:
${ports.map((p) => `      - address: 127.0.0.1:${p}`).join("\n")}
routes:
  - host: "*"
    path_prefix: /
    upstream: chat
timeouts: {connect: 1s, upstream_response: 60s, shutdown: 2s}
`;
}

// The value of metric `name` (no labels) in a Prometheus text body.
function metric(body, name) {
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(body);
  if (!m) throw new Error(`metric ${name} missing`);
  return Number(m[1]);
}

module.exports = { freePort, waitFor, Redis, startTether, chatUpstreamYaml, metric };
