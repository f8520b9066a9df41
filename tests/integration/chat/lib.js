// Helpers for the tether-chat integration tests: start the real binary on a free loopback
// port (it binds port 0 and prints the port), stop it, raw HTTP and raw WebSocket helpers.
// Every wait is bounded; every test calls main() which enforces an overall deadline.
"use strict";
const { spawn } = require("child_process");
const http = require("http");
const net = require("net");
const crypto = require("crypto");
const path = require("path");
const assert = require("assert");
const fs = require("fs");
const os = require("os");

const BIN = path.join(process.env.TETHER_BUILD_DIR || path.join(__dirname, "../../../build"), "backend/tether-chat");

function sleep(ms) { return new Promise((r) => setTimeout(r, ms)); }

function withTimeout(promise, ms, what) {
  let t;
  return Promise.race([
    promise.finally(() => clearTimeout(t)),
    new Promise((_, rej) => { t = setTimeout(() => rej(new Error(`timeout after ${ms} ms: ${what}`)), ms); }),
  ]);
}

// Starts tether-chat with `args`; resolves {proc, port, url, stderr(), exited}. With `command`
// ([program, ...arguments]) that program is started instead, with `args` after its arguments; it
// must print the same "listening on HOST:PORT id=ID" line.
async function startServer(args = [], { port = 0, command } = {}) {
  const argv = command ? [...command, ...args] : [BIN, "--host", "127.0.0.1", "--port", String(port), ...args];
  const proc = spawn(argv[0], argv.slice(1), { stdio: ["ignore", "pipe", "pipe"] });
  let out = "", err = "";
  proc.stderr.on("data", (d) => { err += d; });
  const exited = new Promise((r) => proc.on("exit", (code, signal) => r({ code, signal })));
  const got = await withTimeout(new Promise((resolve, reject) => {
    proc.stdout.on("data", (d) => {
      out += d;
      const m = /listening on [^ ]+:(\d+) id=(\S+)/.exec(out);
      if (m) resolve({ port: Number(m[1]), id: m[2] });
    });
    proc.on("exit", (code) => reject(new Error(`${path.basename(argv[0])} exited early (${code}): ${err}`)));
  }), 5000, "server start");
  return { proc, port: got.port, id: got.id, url: `http://127.0.0.1:${got.port}`, stderr: () => err, exited };
}

// SIGTERM and wait (bounded); kills hard if it does not exit. Returns the exit status.
async function stopServer(server, ms = 15000) {
  if (server.proc.exitCode !== null || server.proc.signalCode !== null) return server.exited;
  server.proc.kill("SIGTERM");
  try {
    return await withTimeout(server.exited, ms, "server exit");
  } catch (e) {
    server.proc.kill("SIGKILL");
    throw e;
  }
}

// Plain HTTP request on a fresh connection: resolves {status, headers, body}.
function request(url, { method = "GET", body, headers = {}, timeout = 5000 } = {}) {
  return withTimeout(new Promise((resolve, reject) => {
    const req = http.request(url, { method, headers, agent: false }, (res) => {
      let data = "";
      res.setEncoding("utf8");
      res.on("data", (d) => { data += d; });
      res.on("end", () => resolve({ status: res.statusCode, headers: res.headers, body: data }));
    });
    req.on("error", reject);
    if (body !== undefined) req.write(body);
    req.end();
  }), timeout, `${method} ${url}`);
}

// Raw TCP WebSocket client that lets a test send anything (unmasked, broken frames...).
class RawWs {
  static async connect(port, pathAndQuery) {
    const sock = net.connect(port, "127.0.0.1");
    const key = crypto.randomBytes(16).toString("base64");
    const ws = new RawWs(sock);
    await withTimeout(new Promise((resolve, reject) => {
      sock.on("error", reject);
      sock.on("connect", () => sock.write(`GET ${pathAndQuery} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n` +
        `Connection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`));
      ws.onHead = (head) => {
        const accept = crypto.createHash("sha1").update(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").digest("base64");
        if (!head.startsWith("HTTP/1.1 101") || !head.includes(`Sec-WebSocket-Accept: ${accept}`)) reject(new Error("bad handshake: " + head));
        else resolve();
      };
    }), 5000, "ws handshake");
    return ws;
  }
  constructor(sock) {
    this.sock = sock; this.buf = Buffer.alloc(0); this.head = null; this.frames = []; this.waiters = [];
    this.closed = false;
    this.reads = 0;  // TCP reads so far; each frame records the read that completed it
    sock.on("data", (d) => this.onData(d));
    sock.on("close", () => { this.closed = true; this.wake(); });
    sock.on("error", () => {});
  }
  onData(d) {
    ++this.reads;
    this.buf = Buffer.concat([this.buf, d]);
    if (this.head === null) {
      const end = this.buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      this.head = this.buf.subarray(0, end).toString();
      this.buf = this.buf.subarray(end + 4);
      this.onHead(this.head);
    }
    for (;;) {
      if (this.buf.length < 2) break;
      let len = this.buf[1] & 0x7f, off = 2;
      if (len === 126) { if (this.buf.length < 4) break; len = this.buf.readUInt16BE(2); off = 4; }
      else if (len === 127) { if (this.buf.length < 10) break; len = Number(this.buf.readBigUInt64BE(2)); off = 10; }
      if (this.buf[1] & 0x80) throw new Error("server sent a masked frame");
      if (this.buf.length < off + len) break;
      this.frames.push({ fin: !!(this.buf[0] & 0x80), opcode: this.buf[0] & 0x0f, payload: this.buf.subarray(off, off + len),
        read: this.reads });
      this.buf = this.buf.subarray(off + len);
    }
    this.wake();
  }
  wake() { const w = this.waiters; this.waiters = []; w.forEach((f) => f()); }
  // Next frame (skipping Engine.IO pings "2" unless keepPings) or null when the socket closed.
  async next(ms = 3000, { keepPings = false } = {}) {
    return withTimeout((async () => {
      for (;;) {
        while (this.frames.length) {
          const f = this.frames.shift();
          if (!keepPings && f.opcode === 1 && f.payload.toString() === "2") continue;
          return f;
        }
        if (this.closed) return null;
        await new Promise((r) => this.waiters.push(r));
      }
    })(), ms, "ws frame");
  }
  // Waits until the server closes the TCP connection.
  async waitClosed(ms = 5000) {
    return withTimeout((async () => { while (!this.closed) await new Promise((r) => this.waiters.push(r)); })(), ms, "ws close");
  }
  frame(opcode, payload, { fin = true, mask = true, rsv = 0, lenOverride } = {}) {
    payload = Buffer.isBuffer(payload) ? payload : Buffer.from(payload);
    const len = lenOverride !== undefined ? lenOverride : payload.length;
    let header;
    if (len < 126) { header = Buffer.alloc(2); header[1] = len; }
    else if (len < 65536) { header = Buffer.alloc(4); header[1] = 126; header.writeUInt16BE(len, 2); }
    else { header = Buffer.alloc(10); header[1] = 127; header.writeBigUInt64BE(BigInt(len), 2); }
    header[0] = (fin ? 0x80 : 0) | rsv | opcode;
    if (!mask) return Buffer.concat([header, payload]);
    header[1] |= 0x80;
    const key = crypto.randomBytes(4);
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
    return Buffer.concat([header, key, body]);
  }
  send(opcode, payload, opts) { this.sock.write(this.frame(opcode, payload, opts)); }
  sendText(text) { this.send(1, text); }
  destroy() { this.sock.destroy(); }
}

// Close frame payload -> {code, reason}.
function parseClose(frame) {
  assert.strictEqual(frame.opcode, 8, `expected a close frame, got opcode ${frame.opcode}`);
  return { code: frame.payload.length >= 2 ? frame.payload.readUInt16BE(0) : 1005, reason: frame.payload.subarray(2).toString() };
}

// Resolves when `emitter` emits `event` (first args array), bounded.
function once(emitter, event, ms = 5000) {
  return withTimeout(new Promise((r) => emitter.once(event, (...a) => r(a))), ms, `event ${event}`);
}

// Runs the test body with an overall deadline; exits non-zero on failure, always stops servers.
function main(body, deadlineMs = 60000) {
  const servers = [];
  const track = (s) => { servers.push(s); return s; };
  withTimeout(body(track), deadlineMs, "whole test")
    .then(() => { console.log("PASS"); return 0; }, (e) => { console.error("FAIL:", e && e.stack || e); servers.forEach((s) => console.error("server stderr:\n" + s.stderr())); return 1; })
    .then(async (code) => {
      for (const s of servers) { if (s.proc.exitCode === null) s.proc.kill("SIGKILL"); }
      process.exit(code);
    });
}

// A fresh folder under the temporary directory, removed when this process exits (also after a
// failed assertion: main() ends the process with process.exit).
const tempDirs = [];
process.on("exit", () => { for (const d of tempDirs) fs.rmSync(d, { recursive: true, force: true }); });
function tempDir(prefix) {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  tempDirs.push(d);
  return d;
}

module.exports = { BIN, tempDir, sleep, withTimeout, startServer, stopServer, request, RawWs, parseClose, once, main };
