// HTTP/1.1 robustness: 20 000 pipelined requests in one burst on one connection are all
// answered in order (no stack exhaustion, no lost request), a malformed request gets 400 and a
// closed connection, an upgrade refused with a plain response leaves the connection usable
// for the next request (a proxy's keep-alive pool reuses it, so it must not crash the server),
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
  // Same buffer, and separate writes (as a proxy's pooled connection sends them): exactly one
  // response per request, in order (no extra 405 after a refused upgrade shifting every later
  // response by one).
  const statuses = (got) => [...got.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1]));
  const health = "GET /health HTTP/1.1\r\nHost: x\r\n\r\n";
  const poll = "POST /socket.io/?EIO=4&transport=polling&sid=nosuchsid HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n40";
  const burst = await rawExchange(server.port, upgrade + health, { until: (s) => /\r\n\r\nok$/.test(s) });
  assert.deepStrictEqual(statuses(burst.got), [400, 200], "unknown sid: the upgrade is refused, the next request answered");
  const apart = await withTimeout(new Promise((resolve) => {
    const sock = net.connect(server.port, "127.0.0.1");
    let got = "";
    sock.on("data", (d) => { got += d; if (statuses(got).length === 3 && got.endsWith("}")) { sock.destroy(); resolve(got); } });
    sock.on("error", () => {});
    sock.on("connect", async () => {
      for (const part of [upgrade, health, poll]) { sock.write(part); await new Promise((r) => setTimeout(r, 100)); }
    });
  }), 5000, "three requests on one connection");
  assert.deepStrictEqual(statuses(apart), [400, 200, 400], "one response per request, in order");
  assert.match(apart, /\r\n\r\nok/);

  assert.strictEqual((await request(`${server.url}/health`)).body, "ok");
  assert.strictEqual((await stopServer(server)).code, 0);
});
