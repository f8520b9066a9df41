// Runner for the protocol conformance tests (conformance_engineio.js, conformance_socketio.js):
// each case is named after the protocol rule it checks and gets a server of its own.
//
// The target is tether-chat with the echo app, or with CONFORMANCE_TARGET=reference the npm
// reference servers (reference_server.js), so that every case can be checked against the
// behaviour it claims to reproduce. Arguments select cases: names to run, or
// `--except NAME,NAME` to skip some (those registered as ctests of their own).
//   node conformance_engineio.js                               every case, tether-chat
//   CONFORMANCE_TARGET=reference node conformance_socketio.js  every case, reference server
//   node conformance_engineio.js close-packet-while-poll-pending
"use strict";
const path = require("path");
const { startServer, stopServer, request, RawWs, main } = require("./lib");

const REFERENCE = process.env.CONFORMANCE_TARGET === "reference";

// Server options of a case; the long default heartbeat keeps pings out of cases about other rules.
const DEFAULTS = { pingInterval: 10000, pingTimeout: 5000, maxPayload: 1000000 };

function serverArgs(mode, o) {
  const flags = ["--ping-interval", String(o.pingInterval), "--ping-timeout", String(o.pingTimeout),
    "--max-payload", String(o.maxPayload)];
  if (REFERENCE) return { args: flags, command: [process.execPath, path.join(__dirname, "reference_server.js"), mode] };
  return { args: ["--app", "echo", "--drain", "0", ...flags] };
}

// What a case gets: the server, and helpers for raw Engine.IO over polling and WebSocket.
function target(server) {
  const base = `${server.url}/socket.io/?EIO=4&transport=polling`;
  const t = {
    server,
    reference: REFERENCE,
    base,
    // Polling handshake: {hs (the open packet's JSON), url (with the sid)}.
    async handshake() {
      const r = await request(base);
      if (r.status !== 200 || r.body[0] !== "0") throw new Error(`handshake failed: ${r.status} ${r.body}`);
      const hs = JSON.parse(r.body.slice(1));
      return { hs, url: `${base}&sid=${hs.sid}` };
    },
    get: (url, opts = {}) => request(url, opts),
    post: (url, body) => request(url, { method: "POST", body, headers: { "Content-Type": "text/plain;charset=UTF-8" } }),
    // WebSocket at the Engine.IO path; `query` is appended (e.g. "&sid=...").
    ws: (query = "") => RawWs.connect(server.port, `/socket.io/?EIO=4&transport=websocket${query}`),
    // Direct WebSocket session: {ws, hs}.
    async wsSession() {
      const ws = await t.ws();
      const f = await ws.next();
      const text = f.payload.toString();
      if (text[0] !== "0") throw new Error(`expected an open packet, got ${text}`);
      return { ws, hs: JSON.parse(text.slice(1)) };
    },
  };
  return t;
}

// Runs `cases` ({name, server?, run(t)}) selected by the command line; fails on the first error.
function runCases(mode, cases) {
  const argv = process.argv.slice(2);
  let selected = cases;
  const except = argv.indexOf("--except");
  if (except >= 0) {
    const skip = new Set(argv[except + 1].split(","));
    selected = cases.filter((c) => !skip.has(c.name));
  } else if (argv.length) {
    selected = argv.map((n) => {
      const c = cases.find((x) => x.name === n);
      if (!c) throw new Error(`unknown case ${n}; cases: ${cases.map((x) => x.name).join(", ")}`);
      return c;
    });
  }
  main(async (track) => {
    for (const c of selected) {
      const { args, command } = serverArgs(mode, { ...DEFAULTS, ...(c.server || {}) });
      const server = track(await startServer(args, { command }));
      try {
        await c.run(target(server));
      } catch (e) {
        e.message = `[${c.name}] ${e.message}`;
        throw e;
      }
      await stopServer(server);
      console.log(`ok ${c.name}${REFERENCE ? " (reference)" : ""}`);
    }
  }, 30000 + 10000 * selected.length);
}

module.exports = { runCases, REFERENCE };
