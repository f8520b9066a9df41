// Shared pieces of the socket.io affinity tests: loopback ports, real socket.io servers that
// answer an acked "echo" with their name, and polling-only socket.io-client sessions whose
// echoes must keep coming from the server that opened them.
"use strict";
const http = require("http");
const net = require("net");
const path = require("path");
const { Server } = require("socket.io");
const { io } = require("socket.io-client");

const TETHER_BIN = process.env.TETHER_BIN || path.join(process.env.TETHER_BUILD_DIR || "build", "proxy", "tether");

function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

function waitPort(port, ms = 10000) {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const attempt = () => {
      const s = net.connect(port, "127.0.0.1");
      s.on("connect", () => { s.destroy(); resolve(); });
      s.on("error", () => {
        if (Date.now() > deadline) return reject(new Error(`port ${port} not listening`));
        setTimeout(attempt, 30);
      });
    };
    attempt();
  });
}

// `n` socket.io servers named PREFIX0.., each acking "echo" with {server, msg}.
async function startBackends(n, prefix = "s", ping = { pingInterval: 2000, pingTimeout: 2000 }) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const name = `${prefix}${i}`;
    const httpServer = http.createServer();
    const ioServer = new Server(httpServer, ping);
    ioServer.on("connection", (socket) => socket.on("echo", (msg, ack) => ack({ server: name, msg })));
    await new Promise((r) => httpServer.listen(0, "127.0.0.1", r));
    out.push({ name, port: httpServer.address().port, ioServer, httpServer });
  }
  return out;
}

function stopBackends(backends) {
  for (const b of backends) {
    b.ioServer.close();
    b.httpServer.close();
  }
}

// A polling-only session (every emit is a new HTTP request), no cookies; resolves once its first
// echo named the server that owns it (socket.server).
function connectPolling(url) {
  return new Promise((resolve, reject) => {
    const socket = io(url, { forceNew: true, reconnection: false, transports: ["polling"], timeout: 4000 });
    socket.disconnects = [];
    socket.on("disconnect", (reason) => socket.disconnects.push(reason));
    socket.once("connect_error", (e) => reject(e));
    socket.once("connect", async () => {
      try {
        socket.server = (await socket.timeout(3000).emitWithAck("echo", 0)).server;
        resolve(socket);
      } catch (e) {
        reject(e);
      }
    });
  });
}

// `n` acked echoes; returns why the session is broken (an echo went elsewhere, timed out, or the
// session disconnected), or null.
async function echoes(socket, n) {
  try {
    for (let i = 1; i <= n; i++) {
      const r = await socket.timeout(3000).emitWithAck("echo", i);
      if (r.server !== socket.server) return `answered by ${r.server}, opened on ${socket.server}`;
    }
  } catch (e) {
    return e.message;
  }
  return socket.disconnects.length ? "disconnected: " + socket.disconnects.join(",") : null;
}

// check(socket): three echoes; checkWith(n): a checker of n echoes (both safe to pass to map()).
const check = (socket) => echoes(socket, 3);
const checkWith = (n) => (socket) => echoes(socket, n);

module.exports = { TETHER_BIN, freePort, waitPort, startBackends, stopBackends, connectPolling, check, checkWith };
