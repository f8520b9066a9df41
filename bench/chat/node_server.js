// The comparison peer for bench/chat: Node's socket.io server running the same chat app as
// tether-chat (join ack {room, members}, message -> broadcast to the room including the sender
// + ack {id}, rooms, typing). Single process, websocket + polling, default options.
// Usage: NODE_PATH=tests/node/node_modules node bench/chat/node_server.js PORT
"use strict";
const http = require("http");
const { Server } = require("socket.io");

const port = Number(process.argv[2] || 3100);
const id = `node:${port}`;
const server = http.createServer();
const io = new Server(server, { maxHttpBufferSize: 1e6 });
let seq = 0;
io.on("connection", (socket) => {
  socket.emit("hello", { server: id });
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack({ room, members: io.sockets.adapter.rooms.get(room).size });
  });
  socket.on("message", (m, ack) => {
    if (!m || typeof m.room !== "string" || typeof m.text !== "string" || !socket.rooms.has(m.room)) {
      if (typeof ack === "function") ack({ error: "invalid" });
      return;
    }
    const msgId = `${id}-${++seq}`;
    io.to(m.room).emit("message", { room: m.room, text: m.text, from: socket.id, server: id, id: msgId, ts: Date.now() });
    if (typeof ack === "function") ack({ id: msgId });
  });
});
server.listen(port, "127.0.0.1", () => console.log(`node socket.io listening on 127.0.0.1:${port}`));
process.on("SIGTERM", () => process.exit(0));
