// 1000 concurrent WebSocket tunnels through one tether worker (npm ws on both ends): all open at
// once, each exchanges messages while all are open, none fails; then all close and tether's
// process keeps working (a fresh connection still echoes). Also prints tether's VmRSS per tunnel.
'use strict';
const { assert, run, step, sleep, withTimeout, startTether, startWsServer, connect, nextMessage } = require('./support');

const N = 1000;

run(async () => {
  const { wss, port: bport } = await startWsServer();
  const tether = await startTether(bport);
  const base = tether.rss();
  const clients = [];

  await step(`${N} tunnels open at once`, async () => {
    for (let i = 0; i < N; i += 100) {  // 100 handshakes in flight at a time
      const batch = [];
      for (let j = i; j < Math.min(N, i + 100); j++) batch.push(connect(tether.url(`/c${j}`)));
      clients.push(...await withTimeout(Promise.all(batch), 20000, `handshakes ${i}..`));
    }
    assert.equal(clients.length, N);
    assert.equal(wss.clients.size, N);
  });

  await step('every tunnel echoes while all are open', async () => {
    for (let round = 0; round < 3; round++) {
      const answers = clients.map((ws, i) => {
        const p = nextMessage(ws);
        ws.send(`r${round}-c${i}`);
        return p;
      });
      const got = await withTimeout(Promise.all(answers), 20000, `round ${round}`);
      got.forEach((m, i) => assert.equal(m.data.toString(), `r${round}-c${i}`));
    }
    const rss = tether.rss();
    console.log(`     tether VmRSS ${base} KiB -> ${rss} KiB with ${N} tunnels (${((rss - base) * 1024 / N).toFixed(0)} B/tunnel, includes one-time growth)`);
  });

  await step('all close cleanly, tether still serves', async () => {
    const closes = clients.map((ws) => new Promise((r) => ws.once('close', (code) => r(code))));
    clients.forEach((ws) => ws.close(1000, 'done'));
    const codes = await withTimeout(Promise.all(closes), 20000, 'closes');
    assert.ok(codes.every((c) => c === 1000));
    const deadline = Date.now() + 5000;
    while (wss.clients.size > 0 && Date.now() < deadline) await sleep(20);
    assert.equal(wss.clients.size, 0);
    const ws = await connect(tether.url('/after'));
    ws.send('still here');
    assert.equal((await withTimeout(nextMessage(ws), 5000, 'echo after')).data.toString(), 'still here');
    ws.close();
  });

  const r = await tether.stop();
  assert.equal(r.code, 0);
}, { timeoutMs: 90000 });
