// Sid pins need no shared state: two tether processes with the same configuration sit behind an
// L4 balancer (a TCP relay in this test that sends each new connection to the next replica), as
// production runs them behind a cloud load balancer. Real socket.io servers, real socket.io-client
// sessions over long-polling only, no cookies (`affinity: [sid]` in front of round_robin).
//
//   1. 12 sessions open and go on through both replicas: every echo is answered by the server
//      that opened the session (each replica pins the other's sessions from the sid token).
//   2. Replica A is taken out of the balancer and stops; every session goes on through B alone. A
//      restarts (empty memory) and replaces B; every session goes on through the restarted A.
//   3. Control: the same first step with `sid_token: false` breaks sessions (so step 1 can fail).
//
// Bounded: 3 servers, 12 clients, all on loopback; cleans its temp dir.
"use strict";
const fs = require("fs");
const os = require("os");
const path = require("path");
const net = require("net");
const { spawn } = require("child_process");
const { TETHER_BIN, freePort, waitPort, startBackends, stopBackends, connectPolling: connect, checkWith } = require("./sio_support");

const CLIENTS = Number(process.env.CLIENTS || 12);

// The L4 balancer: each accepted connection goes to the next registered replica in turn; a
// replica that refuses is skipped. Like a cloud balancer, it stops sending new connections to a
// replica (route()) before that replica is stopped; connections already open stay.
async function startRelay(ports) {
  let replicaPorts = ports;
  let next = 0;
  const conns = new Set();
  const server = net.createServer((client) => {
    conns.add(client);
    client.on("close", () => conns.delete(client));
    client.pause();
    const first = next++;
    const tryConnect = (k) => {
      const port = replicaPorts[(first + k) % replicaPorts.length];
      const up = net.connect(port, "127.0.0.1");
      up.once("connect", () => {
        up.connectedOnce = true;
        conns.add(up);
        up.on("close", () => conns.delete(up));
        client.pipe(up);
        up.pipe(client);
        client.resume();
        client.on("error", () => up.destroy());
        up.on("error", (e) => {
          if (process.env.LOGLEVEL) console.log("relay: upstream", port, e.code);
          client.destroy();
        });
      });
      up.once("error", (e) => {
        if (up.connectedOnce) return;  // after the connection: handled above
        if (process.env.LOGLEVEL) console.log("relay: connect", port, e.code);
        k + 1 < replicaPorts.length ? tryConnect(k + 1) : client.destroy();
      });
    };
    tryConnect(0);
  });
  await new Promise((r) => server.listen(0, "127.0.0.1", r));
  return {
    port: server.address().port,
    route: (list) => { replicaPorts = list; },
    close: () => { for (const c of conns) c.destroy(); server.close(); },
  };
}

function configText(port, servers, tokens) {
  const lines = ["workers: 2", "listeners:", `  - address: 127.0.0.1:${port}`, "upstreams:", "  app:",
                 "    strategy: round_robin", "    affinity: [sid]", `    sid_token: ${tokens}`, "    servers:"];
  for (const b of servers) lines.push(`      - {address: 127.0.0.1:${b.port}, name: ${b.name}}`);
  return lines.join("\n") + "\n";
}

function startTether(dir, tag, port, text) {
  if (process.env.LOGLEVEL) text += `access_log:\n  path: ${path.join(dir, `access-${tag}.log`)}\n  format: combined\n`;
  const file = path.join(dir, `tether-${tag}.yaml`);
  fs.writeFileSync(file, text);
  const log = fs.openSync(path.join(dir, `tether-${tag}.log`), "a");
  const proc = spawn(TETHER_BIN, ["-c", file, "--log-level", process.env.LOGLEVEL || "warn"], { stdio: ["ignore", log, log] });
  return waitPort(port).then(() => proc);
}

async function stopTether(proc) {
  if (proc.exitCode !== null) return;
  proc.kill("SIGTERM");
  await new Promise((r) => proc.once("exit", r));
}

// Opens the sessions; a failed connect or first echo counts as broken (without tokens the
// handshake and the first requests may already land on different servers).
async function openAll(url) {
  const results = await Promise.all(Array.from({ length: CLIENTS }, () => connect(url).then((s) => s, (e) => e)));
  return { sockets: results.filter((r) => !(r instanceof Error)), failed: results.filter((r) => r instanceof Error).length };
}

async function brokenCount(sockets) {
  const errs = (await Promise.all(sockets.map(checkWith(4)))).filter((e) => e);
  return { n: errs.length, sample: errs.slice(0, 3).join(" | ") };
}

async function main() {
  const backends = await startBackends(3, "s", { pingInterval: 1500, pingTimeout: 3000 });
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "tether-sio-replicas-"));
  const portA = await freePort();
  const portB = await freePort();
  const relay = await startRelay([portA, portB]);
  const url = `http://127.0.0.1:${relay.port}`;
  let failed = false;
  const procs = [];
  const all = [];
  try {
    // 1. Both replicas, tokens on.
    let a = await startTether(dir, "a", portA, configText(portA, backends, true));
    // B lists the servers in another order: pins name servers, not positions.
    const b = await startTether(dir, "b", portB, configText(portB, [...backends].reverse(), true));
    procs.push(a, b);
    const { sockets, failed: openFailed } = await openAll(url);
    all.push(...sockets);
    const owners = {};
    for (const s of sockets) owners[s.server] = (owners[s.server] || 0) + 1;
    let r = await brokenCount(sockets);
    console.log(`two replicas: ${sockets.length}/${CLIENTS} opened ${JSON.stringify(owners)}, broken ${r.n}`, r.sample);
    if (openFailed || r.n) failed = true;

    // 2. A is deregistered and stops: B alone. A restarts with empty memory and B leaves: the new
    //    A alone.
    relay.route([portB]);
    await stopTether(a);
    r = await brokenCount(sockets);
    console.log(`replica A stopped, through B: broken ${r.n}/${sockets.length}`, r.sample);
    if (r.n) failed = true;
    a = await startTether(dir, "a", portA, configText(portA, backends, true));
    procs.push(a);
    relay.route([portA]);
    await stopTether(b);
    r = await brokenCount(sockets);
    console.log(`A restarted, B stopped, through the new A: broken ${r.n}/${sockets.length}`, r.sample);
    if (r.n) failed = true;
    for (const s of sockets) s.close();
    await stopTether(a);

    // 3. Control: without tokens the replicas cannot know each other's sessions.
    relay.route([portA, portB]);
    const a2 = await startTether(dir, "a2", portA, configText(portA, backends, false));
    const b2 = await startTether(dir, "b2", portB, configText(portB, [...backends].reverse(), false));
    procs.push(a2, b2);
    const control = await openAll(url);
    all.push(...control.sockets);
    r = await brokenCount(control.sockets);
    const lost = control.failed + r.n;
    console.log(`control (sid_token: false): ${lost}/${CLIENTS} sessions failed to open or broke`);
    if (lost === 0) {
      console.log("FAIL: the control run broke nothing, so the test cannot tell tokens from luck");
      failed = true;
    }
  } catch (e) {
    console.log("FAIL:", e.stack || e.message);
    failed = true;
  } finally {
    for (const s of all) s.close();
    for (const p of procs) await stopTether(p);
    relay.close();
    stopBackends(backends);
    if (failed && process.env.LOGLEVEL) for (const f of fs.readdirSync(dir)) if (f.endsWith(".log")) console.log(f, fs.readFileSync(path.join(dir, f), "utf8").slice(-4000));
    fs.rmSync(dir, { recursive: true, force: true });
  }
  console.log(failed ? "FAILED" : "ok");
  process.exit(failed ? 1 : 0);
}

main();
