// A Socket.IO app served under /chat/ through a strip_prefix route: real socket.io servers see
// /socket.io/, real socket.io-client sessions use path "/chat/socket.io/" — polling, the
// websocket upgrade, and websocket-only — with sid affinity pinning each session to one server,
// and a respond route answering /chat/healthz beside it. Bounded: 2 servers, 12 sessions.
"use strict";
const fs = require("fs");
const http = require("http");
const path = require("path");
const { spawn } = require("child_process");
const { io } = require("socket.io-client");
const { tempDir } = require("../chat/lib");
const { TETHER_BIN, freePort, waitPort, startBackends, stopBackends } = require("../affinity/sio_support");

function session(url, transports) {
  return new Promise((resolve) => {
    const socket = io(url, { path: "/chat/socket.io/", forceNew: true, reconnection: false, transports, timeout: 4000 });
    const result = { ok: false, error: null };
    const finish = (err) => {
      if (err && !result.error) result.error = String(err);
      socket.close();
      clearTimeout(timer);
      resolve(result);
    };
    const timer = setTimeout(() => finish("timeout"), 8000);
    socket.on("connect_error", (e) => finish("connect_error: " + e.message));
    socket.on("connect", async () => {
      try {
        const engine = socket.io.engine;
        const first = await socket.timeout(3000).emitWithAck("echo", 0);
        if (transports.length > 1 && engine.transport.name !== "websocket")
          await new Promise((r, j) => { engine.once("upgrade", r); setTimeout(() => j(new Error("no upgrade")), 3000); });
        if (engine.transport.name !== "websocket") throw new Error("not on websocket");
        for (let i = 1; i <= 3; i++) {
          const r = await socket.timeout(3000).emitWithAck("echo", i);
          if (r.server !== first.server || r.msg !== i) throw new Error("answered by another server");
        }
        result.ok = true;
        finish(null);
      } catch (e) {
        finish(e.message);
      }
    });
  });
}

function get(port, p) {
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: p }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode, body }));
    }).on("error", reject);
  });
}

async function main() {
  const backends = await startBackends(2, "sio");
  const port = await freePort();
  const dir = tempDir("tether-strip-");
  const file = path.join(dir, "tether.yaml");
  fs.writeFileSync(file, [
    "workers: 2",
    "listeners:",
    `  - address: 127.0.0.1:${port}`,
    "upstreams:",
    "  chat:",
    "    strategy: round_robin",
    "    affinity: [sid]",
    "    servers:",
    ...backends.map((b) => `      - {address: 127.0.0.1:${b.port}, name: ${b.name}}`),
    "routes:",
    "  - {path: /chat/healthz, respond: {status: 200, body: \"ok\\n\"}}",
    "  - {path_prefix: /chat/, strip_prefix: true, upstream: chat}",
  ].join("\n") + "\n");
  const log = fs.openSync(path.join(dir, "tether.log"), "w");
  const proc = spawn(TETHER_BIN, ["-c", file, "--log-level", "warn"], { stdio: ["ignore", log, log] });
  let failed = false;
  try {
    await waitPort(port);
    const url = `http://127.0.0.1:${port}`;
    const results = [];
    for (const transports of [["polling", "websocket"], ["websocket"]])
      results.push(...(await Promise.all(Array.from({ length: 6 }, () => session(url, transports)))));
    const broken = results.filter((r) => !r.ok);
    console.log(`sessions through strip_prefix: ${results.length - broken.length}/${results.length} ok` +
                (broken.length ? "  errors: " + [...new Set(broken.map((r) => r.error))].join(" | ") : ""));
    if (broken.length) failed = true;
    const hz = await get(port, "/chat/healthz");
    if (hz.status !== 200 || hz.body !== "ok\n") {
      console.log(`FAIL: /chat/healthz gave ${hz.status} ${JSON.stringify(hz.body)}`);
      failed = true;
    }
    const direct = await get(port, "/socket.io/?EIO=4&transport=polling");
    if (direct.status !== 404) {
      console.log(`FAIL: /socket.io/ outside /chat/ gave ${direct.status}, expected 404 (no route)`);
      failed = true;
    }
  } finally {
    proc.kill("SIGTERM");
    await new Promise((r) => proc.once("exit", r));
    stopBackends(backends);
  }
  console.log(failed ? "FAILED" : "ok");
  process.exit(failed ? 1 : 0);
}

main().catch((e) => {
  console.error(e);
  process.exit(1);
});
