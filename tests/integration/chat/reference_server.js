// The reference servers (npm engine.io 6 / socket.io 4.8) with the apps of the protocol test
// suites, which tether-chat's echo app reproduces: the conformance tests run against this when
// CONFORMANCE_TARGET=reference, to check that each case describes the reference behaviour.
//   node reference_server.js engineio|socketio [--ping-interval MS] [--ping-timeout MS] [--max-payload N]
// engineio: plain Engine.IO, every message is echoed back. socketio: on "/" and "/custom" a
// connecting socket gets "auth" with its handshake auth; "message" is answered with
// "message-back", "message-with-ack" is acked with the same arguments.
// Prints "reference listening on 127.0.0.1:PORT id=reference" once it listens (port 0).
"use strict";
const http = require("http");

const mode = process.argv[2];
const opt = (name, dflt) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const options = {
  pingInterval: opt("--ping-interval", 25000),
  pingTimeout: opt("--ping-timeout", 20000),
  maxHttpBufferSize: opt("--max-payload", 1000000),
};

const server = http.createServer((req, res) => { res.writeHead(404).end(); });
if (mode === "engineio") {
  const engine = require("engine.io").attach(server, { ...options, path: "/socket.io/" });
  engine.on("connection", (socket) => socket.on("message", (data) => socket.send(data)));
} else if (mode === "socketio") {
  const { Server } = require("socket.io");
  const io = new Server(server, options);
  const onConnection = (socket) => {
    socket.emit("auth", socket.handshake.auth);
    socket.on("message", (...args) => socket.emit("message-back", ...args));
    socket.on("message-with-ack", (...args) => {
      const ack = args.pop();
      ack(...args);
    });
  };
  io.of("/").on("connection", onConnection);
  io.of("/custom").on("connection", onConnection);
} else {
  console.error("usage: reference_server.js engineio|socketio [options]");
  process.exit(2);
}
server.listen(0, "127.0.0.1", () => {
  console.log(`reference listening on 127.0.0.1:${server.address().port} id=reference`);
});
process.on("SIGTERM", () => process.exit(0));
