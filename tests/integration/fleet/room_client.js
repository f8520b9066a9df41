// RoomClient: a socket.io-client that stays in a set of rooms across reconnections and checks
// the fleet's per-room sequence numbers (the tether-chat protocol with --redis).
//
// Protocol it relies on (namespace "/"):
//   hello {server}                               on every connection
//   join({room, since}, ack)                     recovering join: the server first replays, as
//                                                `message` events with replay: true, every
//                                                message of the room with seq > since, emits
//                                                `gap` {room, from, to} for seqs no longer in
//                                                history, then acks {room, members, seq,
//                                                replayed} (or {..., history: "unavailable"};
//                                                reset: true when since was past the head)
//   message({room, text, cid}, ack)              ack {id, seq} (or {id, seq, duplicate: true}
//                                                for a cid seen before, or {error})
//   message event {room, text, from, server, id, seq, ts, cid?, replay?, local?}
//
// What it does:
//   - connects with reconnection on (100 ms .. 1 s, factor 0.5) and auth {name};
//   - on every (re)connection re-joins every room with {room, since: last[room] ?? 0}, so the
//     first join also asks for the whole history (a client joining before any message has all of
//     it), retrying a join that times out or errs while the connection lasts;
//   - checks every `message` that carries a seq: it must be exactly last[room] + 1; a seq <= last
//     is counted as a duplicate, a seq > last + 1 as a hole (last becomes the highest seq seen);
//     a `gap` {from, to} is counted and moves last over the lost range; messages without a seq
//     (`local: true`: delivered outside the bus, which tether-chat never does) are counted apart;
//   - records, per reconnection, the time from the disconnect to the moment every room's join
//     was acked (`recoveries`).
//
// API:
//   const c = new RoomClient(url, {name, rooms: ["a"], transports, query, log});
//   await c.ready(ms)            connected and every room's join acked (rejects after ms)
//   await c.join(room, ms)       adds a room and waits for its join ack
//   await c.send(room, text)     unique cid, retried until an ack with a seq (~20 s bound);
//                                resolves the ack, rejects with the last error after the bound;
//                                {ignoreFirstAck: true} resends once as if the ack were lost
//   c.last[room], c.seqs[room] (received seqs, in arrival order, duplicates included),
//   c.ids[room] and c.cids[room] (message ids and cids, parallel to seqs), c.gapList,
//   c.counters, c.recoveries,
//   c.server (instance of the current connection), c.connected, c.close()
//   c.verify(room, head)         problems (strings) unless seqs[room] is exactly 1..head with no
//                                gap and no reset join; [] when fine
// Options: joinTimeoutMs (5000), ackTimeoutMs (2000), sendBoundMs (20000), ioOptions (merged
// into the io() options last).
// Every wait is bounded, every internal promise is handled (no unhandled rejections).
"use strict";
const path = require("path");
const crypto = require("crypto");

function loadIo() {
  try {
    return require("socket.io-client").io;
  } catch (e) {
    return require(path.join(__dirname, "../../node/node_modules/socket.io-client")).io;
  }
}
const io = loadIo();

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let instanceCounter = 0;

class RoomClient {
  constructor(url, { name, rooms = [], transports = ["polling", "websocket"], query, log = null,
    joinTimeoutMs = 5000, ackTimeoutMs = 2000, sendBoundMs = 20000, ioOptions = {} } = {}) {
    this.url = url;
    this.name = name || `rc-${process.pid}-${++instanceCounter}`;
    this.transports = transports;
    this.joinTimeoutMs = joinTimeoutMs;
    this.ackTimeoutMs = ackTimeoutMs;
    this.sendBoundMs = sendBoundMs;
    this.log = log;  // optional function(string) for tracing
    this.rooms = new Set();
    this.last = {};      // room -> highest seq seen (absent: nothing seen yet)
    this.seqs = {};      // room -> every received seq, arrival order
    this.ids = {};       // room -> message ids, parallel to seqs
    this.cids = {};      // room -> message cids (null when none), parallel to seqs
    this.gapList = [];   // {room, from, to, at}
    this.resetList = []; // {room, since, head, at}: joins acked with reset: true
    this.joined = new Set();   // rooms whose join was acked on the current connection
    this.joinAcks = {};  // room -> last join ack
    this.recoveries = [];  // {ms, reason, server} per reconnection (disconnect -> all joins acked)
    this.anomalies = [];   // first few duplicates/holes, for diagnostics
    this.counters = {
      received: 0,     // message events with a seq (replayed included)
      replayed: 0,     // of those, replay: true
      duplicates: 0,   // seq <= last
      holes: 0,        // seq > last + 1
      gaps: 0,         // gap events
      local: 0,        // local: true messages (no seq)
      stray: 0,        // messages for a room this client is not in
      reconnects: 0,   // connections after the first
      disconnects: 0,
      connectErrors: 0, // failed connection attempts (connect_error)
      joins: 0,        // join acks (all connections)
      joinRetries: 0,
      joinErrors: 0,
      historyUnavailable: 0, // join acks with history: "unavailable" (Redis down)
      resets: 0,       // join acks with reset: true (since was past the head)
      sent: 0,         // send() calls resolved with a seq
      sendAttempts: 0, // emits of message (retries included)
      sendRetries: 0,
      sendDuplicates: 0, // acks with duplicate: true (a retry of a send the server already had)
      acksIgnored: 0,  // first acks ignored on purpose (send's ignoreFirstAck)
      sendFailures: 0, // send() calls that gave up
      servers: new Set(),  // instance ids seen in hello
    };
    this.server = null;
    this.closed = false;
    this.connectedAt = null;
    this.disconnectedAt = null;
    this.disconnectReason = null;
    this._generation = 0;   // bumped on every connection; stale join loops stop
    this._up = false;       // between our "connect" and the next "disconnect"
    this._waiters = [];     // functions called on any state change
    this._cid = 0;
    this._cidPrefix = `${this.name.replace(/[^A-Za-z0-9_.-]/g, "_").slice(0, 32)}.${crypto.randomBytes(3).toString("hex")}`;
    for (const r of rooms) this._addRoom(r);

    this.socket = io(url, {
      transports,
      forceNew: true,
      reconnection: true,
      reconnectionDelay: 100,
      reconnectionDelayMax: 1000,
      randomizationFactor: 0.5,
      auth: { name: this.name },
      ...(query ? { query } : {}),
      ...ioOptions,
    });
    const s = this.socket;
    s.on("connect", () => this._onConnect());
    s.on("disconnect", (reason) => this._onDisconnect(reason));
    s.on("connect_error", (err) => this._onConnectError(err));
    s.on("hello", (h) => {
      if (h && typeof h.server === "string") {
        this.server = h.server;
        this.counters.servers.add(h.server);
      }
      this._wake();
    });
    s.on("message", (m) => this._onMessage(m));
    s.on("gap", (g) => this._onGap(g));
  }

  get connected() { return this.socket.connected; }

  _trace(msg) { if (this.log) this.log(`[${this.name}] ${msg}`); }

  _addRoom(room) {
    if (this.rooms.has(room)) return;
    this.rooms.add(room);
    if (!this.seqs[room]) { this.seqs[room] = []; this.ids[room] = []; this.cids[room] = []; }
  }

  _wake() { const w = this._waiters; this._waiters = []; w.forEach((f) => f()); }

  // Resolves true when pred() holds, false after ms (or when closed). Never rejects.
  _waitFor(pred, ms) {
    return new Promise((resolve) => {
      if (pred()) return resolve(true);
      if (this.closed || ms <= 0) return resolve(false);
      let done = false;
      const finish = (v) => { if (!done) { done = true; clearTimeout(t); resolve(v); } };
      const t = setTimeout(() => finish(pred()), ms);
      const check = () => {
        if (done) return;
        if (pred()) finish(true);
        else if (this.closed) finish(false);
        else this._waiters.push(check);
      };
      this._waiters.push(check);
    });
  }

  _allJoined() {
    if (!this.socket.connected) return false;
    for (const r of this.rooms) if (!this.joined.has(r)) return false;
    return true;
  }

  _onConnect() {
    const gen = ++this._generation;
    this._up = true;
    this.joined.clear();
    if (this.connectedAt !== null) this.counters.reconnects++;
    this.connectedAt = Date.now();
    this._trace(`connect gen=${gen} id=${this.socket.id}`);
    for (const room of this.rooms) this._joinLoop(room, gen);
    this._wake();
  }

  _onDisconnect(reason) {
    // socket.io-client also reports "disconnect" when a connection attempt fails before the
    // CONNECT (e.g. a polling POST error during the handshake): only a connection we had
    // starts an outage.
    const had = this._up;
    this._up = false;
    this.joined.clear();
    if (had) this.counters.disconnects++;
    if (had && this.disconnectedAt === null) {  // the first disconnect of an outage counts
      this.disconnectedAt = Date.now();
      this.disconnectReason = reason;
    }
    this._trace(`disconnect ${reason}`);
    // A disconnect the client will not recover from by itself (server-side namespace
    // disconnect): reconnect ourselves, the rooms must stay joined.
    if (!this.closed && !this.socket.active) setTimeout(() => { if (!this.closed && !this.socket.active) this.socket.connect(); }, 200);
    this._wake();
  }

  _onConnectError(err) {
    this.counters.connectErrors++;
    this._trace(`connect_error ${err && err.message}`);
    if (!this.closed && !this.socket.active) setTimeout(() => { if (!this.closed && !this.socket.active) this.socket.connect(); }, 500);
  }

  // Joins `room` on connection `gen`, retrying a timed-out or failed join while that connection
  // lasts. since = last seq seen (0 before anything: the whole history).
  async _joinLoop(room, gen) {
    for (let attempt = 0; !this.closed && gen === this._generation && this.socket.connected; attempt++) {
      if (attempt > 0) { this.counters.joinRetries++; await sleep(Math.min(1000, 100 * attempt)); }
      if (this.closed || gen !== this._generation || !this.socket.connected) return;
      const since = this.last[room] ?? 0;
      let ack;
      try {
        ack = await this.socket.timeout(this.joinTimeoutMs).emitWithAck("join", { room, since });
      } catch (e) {
        this._trace(`join ${room} timeout`);
        continue;
      }
      if (gen !== this._generation) return;
      if (!ack || ack.error) {
        this.counters.joinErrors++;
        this._trace(`join ${room} error ${ack && ack.error}`);
        continue;
      }
      this.counters.joins++;
      if (ack.history === "unavailable") this.counters.historyUnavailable++;
      if (ack.reset === true && typeof ack.seq === "number") {
        // since was past the head: the room's history restarted (Redis lost its data); the
        // server starts this client at the head, so do we.
        this.counters.resets++;
        this.resetList.push({ room, since, head: ack.seq, at: Date.now() });
        this.last[room] = ack.seq;
      }
      this.joinAcks[room] = ack;
      this.joined.add(room);
      if (this._allJoined() && this.disconnectedAt !== null) {
        this.recoveries.push({ ms: Date.now() - this.disconnectedAt, reason: this.disconnectReason, server: this.server });
        this.disconnectedAt = null;
        this.disconnectReason = null;
      }
      this._wake();
      return;
    }
  }

  _anomaly(kind, room, seq, last) {
    if (this.anomalies.length < 20) this.anomalies.push({ kind, room, seq, last, at: Date.now(), server: this.server });
  }

  _onMessage(m) {
    if (!m || typeof m !== "object") return;
    if (m.local === true) { this.counters.local++; return; }
    if (typeof m.seq !== "number") return;  // a message without seq and without local: not ours to check
    const room = m.room;
    if (!this.rooms.has(room)) { this.counters.stray++; return; }
    this.counters.received++;
    if (m.replay === true) this.counters.replayed++;
    const last = this.last[room] ?? 0;
    if (m.seq <= last) {
      this.counters.duplicates++;
      this._anomaly("duplicate", room, m.seq, last);
    } else if (m.seq > last + 1) {
      this.counters.holes++;
      this._anomaly("hole", room, m.seq, last);
    }
    this.seqs[room].push(m.seq);
    this.ids[room].push(m.id);
    this.cids[room].push(typeof m.cid === "string" ? m.cid : null);
    if (m.seq > last) this.last[room] = m.seq;
    this._wake();
  }

  _onGap(g) {
    if (!g || typeof g !== "object") return;
    this.counters.gaps++;
    this.gapList.push({ room: g.room, from: g.from, to: g.to, at: Date.now() });
    if (typeof g.to === "number" && this.rooms.has(g.room)) {
      const last = this.last[g.room] ?? 0;
      if (g.to > last) this.last[g.room] = g.to;  // the lost range is behind us now
    }
    this._wake();
  }

  // Connected and every room's join acked. Rejects after ms.
  async ready(ms = 10000) {
    if (await this._waitFor(() => this._allJoined(), ms)) return this;
    throw new Error(`${this.name}: not ready after ${ms} ms (connected=${this.socket.connected}, joined ${this.joined.size}/${this.rooms.size})`);
  }

  // Adds a room (kept across reconnections) and waits for its join ack; resolves the ack.
  async join(room, ms = 10000) {
    this._addRoom(room);
    if (this.socket.connected && !this.joined.has(room)) this._joinLoop(room, this._generation);
    if (await this._waitFor(() => this.socket.connected && this.joined.has(room), ms)) return this.joinAcks[room];
    throw new Error(`${this.name}: join ${room} not acked after ${ms} ms`);
  }

  // Sends `text` to `room` with a fresh cid, retrying (same cid, so never twice) on ack timeout,
  // error ack or disconnect until an ack with a seq arrives or sendBoundMs passes.
  // ignoreFirstAck: emit once and ignore that ack (as if it had been lost), then resend with the
  // same cid: exercises the server's idempotency (the resend should be acked duplicate: true).
  async send(room, text, { boundMs = this.sendBoundMs, ignoreFirstAck = false } = {}) {
    if (!this.rooms.has(room)) throw new Error(`${this.name}: send to ${room} without joining it`);
    const cid = `${this._cidPrefix}.${++this._cid}`;
    const deadline = Date.now() + boundMs;
    let lastError = "no attempt";
    for (let attempt = 0; !this.closed; attempt++) {
      const left = deadline - Date.now();
      if (left <= 0) break;
      if (attempt > 0) {
        this.counters.sendRetries++;
        await sleep(Math.min(left, 50 * Math.min(attempt, 10)));
      }
      // Only send on a connection where the room is joined (a buffered emit would reach the
      // new connection before the re-join and be refused as "not in room").
      const ok = await this._waitFor(() => this.socket.connected && this.joined.has(room), deadline - Date.now());
      if (!ok) { lastError = "not connected/joined"; continue; }
      const gen = this._generation;
      this.counters.sendAttempts++;
      if (ignoreFirstAck && attempt === 0) {
        this.counters.acksIgnored++;
        this.socket.timeout(this.ackTimeoutMs).emit("message", { room, text, cid }, () => {});
        lastError = "first ack ignored on purpose";
        continue;
      }
      let ack;
      try {
        ack = await this._ackOrDisconnect(gen, "message", { room, text, cid }, Math.min(this.ackTimeoutMs, Math.max(1, deadline - Date.now())));
      } catch (e) {
        lastError = e.message;
        continue;
      }
      if (ack && typeof ack.seq === "number") {
        this.counters.sent++;
        if (ack.duplicate) this.counters.sendDuplicates++;
        return { ...ack, cid, room, attempts: attempt + 1 };
      }
      lastError = ack && ack.error ? `error ack: ${ack.error}` : `ack without seq: ${JSON.stringify(ack)}`;
    }
    this.counters.sendFailures++;
    throw new Error(`${this.name}: send ${cid} to ${room} gave up after ${boundMs} ms: ${lastError}`);
  }

  // emitWithAck that also fails as soon as connection `gen` ends.
  _ackOrDisconnect(gen, event, arg, ms) {
    return new Promise((resolve, reject) => {
      let done = false;
      const finish = (f, v) => { if (!done) { done = true; f(v); } };
      this.socket.timeout(ms).emitWithAck(event, arg).then((a) => finish(resolve, a), (e) => finish(reject, e));
      const check = () => {
        if (done) return;
        if (gen !== this._generation || !this.socket.connected || this.closed) finish(reject, new Error("disconnected"));
        else this._waiters.push(check);
      };
      this._waiters.push(check);
    });
  }

  // Checks this client's view of `room` against the expected head: received seqs must be
  // exactly 1..head (or from..head after an accepted gap), in order, none twice. Returns a
  // list of problems (empty when fine).
  verify(room, head) {
    const problems = [];
    const seqs = this.seqs[room] || [];
    const gaps = this.gapList.filter((g) => g.room === room);
    if (gaps.length) problems.push(`${gaps.length} gap event(s): ${gaps.slice(0, 3).map((g) => `${g.from}-${g.to}`).join(",")}`);
    const resets = this.resetList.filter((g) => g.room === room);
    if (resets.length) problems.push(`${resets.length} reset join(s): ${resets.slice(0, 3).map((g) => `since ${g.since} head ${g.head}`).join(",")}`);
    let ok = seqs.length === head;
    for (let i = 0; ok && i < seqs.length; i++) ok = seqs[i] === i + 1;
    if (!ok) {
      const seen = new Set(), dup = [];
      for (const s of seqs) { if (seen.has(s)) dup.push(s); seen.add(s); }
      const missing = [];
      for (let s = 1; s <= head; s++) if (!seen.has(s)) missing.push(s);
      let firstBad = seqs.findIndex((s, i) => s !== i + 1);
      if (firstBad < 0) firstBad = seqs.length;
      problems.push(`seqs != 1..${head}: got ${seqs.length} (${dup.length} twice, ${missing.length} missing` +
        `${missing.length ? ` e.g. ${missing.slice(0, 5).join(",")}` : ""}${dup.length ? `, dup e.g. ${dup.slice(0, 5).join(",")}` : ""}` +
        `, first divergence at index ${firstBad}: ${seqs.slice(Math.max(0, firstBad - 2), firstBad + 3).join(",")})`);
    }
    return problems;
  }

  close() {
    if (this.closed) return;
    this.closed = true;
    this.socket.disconnect();
    this._wake();
  }
}

module.exports = { RoomClient };
