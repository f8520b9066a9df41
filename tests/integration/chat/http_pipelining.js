// HTTP/1.1 robustness: 20 000 pipelined requests in one burst on one connection are all
// answered in order (no stack exhaustion, no lost request), a malformed request gets 400 and a
// closed connection, an upgrade refused with a plain response leaves the connection usable
// for the next request (a proxy's keep-alive pool reuses it; this used to crash the server),
// and the server keeps serving others.
"use strict";
const assert = require("assert");
const net = require("net");
const { startServer, stopServer, request, main, withTimeout } = require("./lib");

function rawExchange(port, payload, { until, ms = 10000 }) {
  return withTimeout(new Promise((resolve) => {
    const sock = net.connect(port, "127.0.0.1", () => sock.write(payload));
    let got = "";
    sock.on("data", (d) => { got += d; if (until && until(got)) { sock.destroy(); resolve({ got, closed: false }); } });
    sock.on("close", () => resolve({ got, closed: true }));
    sock.on("error", () => {});
  }), ms, "raw exchange");
}

main(async (track) => {
  const server = track(await startServer(["--drain", "0"]));
  const n = 20000;
  const count = (s) => (s.match(/HTTP\/1\.1 200 OK/g) || []).length;
  const { got } = await rawExchange(server.port, "GET /health HTTP/1.1\r\nHost: x\r\n\r\n".repeat(n), { until: (s) => count(s) >= n });
  assert.strictEqual(count(got), n);

  const bad = await rawExchange(server.port, "GARBAGE\r\n\r\n", {});
  assert.match(bad.got, /^HTTP\/1\.1 400/);
  assert.ok(bad.closed, "the connection is closed after a malformed request");

  const big = await rawExchange(server.port, `GET /${"a".repeat(20000)} HTTP/1.1\r\nHost: x\r\n\r\n`, {});
  assert.match(big.got, /^HTTP\/1\.1 431/, "an oversized request head gets 431");

  const upgrade = "GET /socket.io/?EIO=4&transport=websocket&sid=nosuchsid HTTP/1.1\r\nHost: x\r\n" +
    "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n" +
    "Sec-WebSocket-Version: 13\r\n\r\n";
  const refused = await rawExchange(server.port, upgrade + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n",
    { until: (s) => /\r\n\r\nok/.test(s) });
  assert.match(refused.got, /^HTTP\/1\.1 400/, "unknown sid: the upgrade is refused");
  assert.match(refused.got, /HTTP\/1\.1 200 OK[\s\S]*\r\n\r\nok$/, "the next request on that connection is answered");

  assert.strictEqual((await request(`${server.url}/health`)).body, "ok");
  assert.strictEqual((await stopServer(server)).code, 0);
});
