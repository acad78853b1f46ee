// The one WebSocket to the server: hello first, automatic reconnect with
// exponential backoff and jitter, a ping to notice dead links, rids on every
// message so errors can be matched to what caused them.

const PING_EVERY_MS = 15000;
const PONG_WITHIN_MS = 8000;
const BACKOFF_MIN_MS = 500;
const BACKOFF_MAX_MS = 10000;

export class Connection {
  // hello(): the hello message to send on each (re)connect.
  // onMessage(msg): every server message. onStatus(status, detail): "connecting",
  // "online", "offline" (with detail.retryIn ms).
  constructor({ url, hello, onMessage, onStatus }) {
    this.url = url;
    this.hello = hello;
    this.onMessage = onMessage;
    this.onStatus = onStatus;
    this.ws = null;
    this.ready = false; // welcome received on this socket
    this.attempt = 0;
    this.rid = 0;
    this.retryTimer = null;
    this.pingTimer = null;
    this.pongTimer = null;
    this.stopped = false;
    window.addEventListener("online", () => this.reconnectNow());
    document.addEventListener("visibilitychange", () => {
      if (document.visibilityState === "visible" && !this.ws) this.reconnectNow();
    });
  }

  start() {
    this.stopped = false;
    this.open();
  }

  stop() {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    if (this.ws) this.ws.close(1000);
  }

  open() {
    clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this.ready = false;
    this.onStatus("connecting", { attempt: this.attempt });
    let ws;
    try {
      ws = new WebSocket(this.url);
    } catch (err) {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    ws.onopen = () => {
      if (ws !== this.ws) return;
      this.sendRaw(this.hello());
      this.startPing();
    };
    ws.onmessage = (e) => {
      if (ws !== this.ws) return;
      let msg;
      try {
        msg = JSON.parse(e.data);
      } catch (err) {
        return;
      }
      this.alive();
      if (msg.type === "welcome") {
        this.ready = true;
        this.attempt = 0;
        this.onStatus("online", {});
      }
      if (msg.type === "pong") return;
      this.onMessage(msg);
    };
    ws.onclose = (e) => {
      if (ws !== this.ws) return;
      this.ws = null;
      this.ready = false;
      this.stopPing();
      if (!this.stopped) this.scheduleRetry(e.code);
    };
    ws.onerror = () => {
      // onclose follows
    };
  }

  scheduleRetry(code) {
    const base = Math.min(BACKOFF_MAX_MS, BACKOFF_MIN_MS * 2 ** this.attempt);
    const delay = Math.round(base * (0.75 + Math.random() * 0.5));
    this.attempt += 1;
    this.onStatus("offline", { retryIn: delay, code, at: Date.now() + delay });
    clearTimeout(this.retryTimer);
    this.retryTimer = setTimeout(() => this.open(), delay);
  }

  reconnectNow() {
    if (this.stopped) return;
    if (this.ws && this.ws.readyState <= 1) return;
    this.attempt = 0;
    this.open();
  }

  // Drop the link (used when a ping goes unanswered): reconnect follows.
  drop() {
    const ws = this.ws;
    if (!ws) return;
    this.ws = null;
    this.ready = false;
    this.stopPing();
    try { ws.close(); } catch (err) { /* already closing */ }
    this.scheduleRetry(0);
  }

  startPing() {
    this.stopPing();
    this.pingTimer = setInterval(() => {
      if (!this.ws || this.ws.readyState !== 1) return;
      this.sendRaw({ type: "ping" });
      clearTimeout(this.pongTimer);
      this.pongTimer = setTimeout(() => this.drop(), PONG_WITHIN_MS);
    }, PING_EVERY_MS);
  }

  alive() {
    clearTimeout(this.pongTimer);
    this.pongTimer = null;
  }

  stopPing() {
    clearInterval(this.pingTimer);
    clearTimeout(this.pongTimer);
    this.pingTimer = null;
    this.pongTimer = null;
  }

  sendRaw(msg) {
    if (!this.ws || this.ws.readyState !== 1) return false;
    this.ws.send(JSON.stringify(msg));
    return true;
  }

  // Send a message after hello; returns its rid, or null when offline.
  send(msg) {
    if (!this.ready) return null;
    this.rid += 1;
    const rid = this.rid;
    return this.sendRaw({ ...msg, rid }) ? rid : null;
  }
}

// The shard a cluster's table or tournament id names ("t3-17", "T3-2": 3;
// docs/scaling.md), or null (one server's ids are "t17", "T2").
export function shardOf(table) {
  const m = /^[tT](\d+)-\d+$/.exec(table || "");
  return m ? Number(m[1]) : null;
}

// Every socket the session uses, with Connection's interface. In a cluster each shard's
// tables are played on a socket of their own (/ws?shard=N: HAProxy sends it there),
// opened when a message for one of them is first sent and kept up like the main one;
// everything else (the hello with a name, the lobby) goes on the main socket. With one
// server there is only the main socket, as before. hello(shard) makes each socket's
// hello (shard null: the main one's); rids are shared, so answers match wherever they
// come from. A shard socket's welcome is not the session's: it tells its seats and the
// wallet's balance (as "seats" and "bankroll" messages).
const SHARDS_KEY = "poker.shards";

export class Links {
  constructor({ url, hello, onMessage, onStatus }) {
    this.url = url;
    this.hello = hello;
    this.onMessage = onMessage;
    this.rid = 0;
    this.shards = new Map(); // shard -> {conn, queue}
    this.used = Links.remembered(); // the shards this browser used before
    this.main = new Connection({
      url,
      hello: () => hello(null),
      onMessage: (msg) => {
        onMessage(msg);
        // Back after a reload: open the shards used before, whose welcomes tell our
        // seats there (the main socket's tells only its own shard's).
        if (msg.type === "welcome") for (const shard of this.used) this.link(shard);
      },
      onStatus,
    });
  }

  static remembered() {
    try {
      return JSON.parse(localStorage.getItem(SHARDS_KEY) || "[]").filter(Number.isInteger);
    } catch (err) {
      return [];
    }
  }

  get ws() { return this.main.ws; }
  get ready() { return this.main.ready; }

  start() {
    this.main.start();
    for (const link of this.shards.values()) link.conn.start();
  }

  stop() {
    this.main.stop();
    for (const link of this.shards.values()) link.conn.stop();
  }

  reconnectNow() {
    this.main.reconnectNow();
    for (const link of this.shards.values()) link.conn.reconnectNow();
  }

  sendRaw(msg) { return this.main.sendRaw(msg); }

  // Drop every link (the tests' way to cut the network): each reconnects by itself.
  drop() {
    this.main.drop();
    for (const link of this.shards.values()) link.conn.drop();
  }

  // Send a message after hello; returns its rid, or null when offline.
  send(msg) {
    if (!this.main.ready) return null;
    this.rid += 1;
    const rid = this.rid;
    const out = { ...msg, rid };
    const shard = shardOf(msg.table || msg.tournament);
    if (shard === null) return this.main.sendRaw(out) ? rid : null;
    const link = this.link(shard);
    if (!(link.conn.ready && link.conn.sendRaw(out))) link.queue.push(out); // after its hello
    return rid;
  }

  link(shard) {
    let link = this.shards.get(shard);
    if (!link) {
      link = { queue: [], conn: null };
      link.conn = new Connection({
        url: `${this.url}?shard=${shard}`,
        hello: () => this.hello(shard),
        onMessage: (msg) => this.fromShard(link, msg),
        onStatus: () => {},
      });
      this.shards.set(shard, link);
      link.conn.start();
      if (!this.used.includes(shard)) {
        this.used.push(shard);
        localStorage.setItem(SHARDS_KEY, JSON.stringify(this.used));
      }
    }
    return link;
  }

  fromShard(link, msg) {
    if (msg.type !== "welcome") return this.onMessage(msg);
    for (const queued of link.queue.splice(0)) link.conn.sendRaw(queued);
    this.onMessage({ type: "seats", seats: msg.seats || {} });
    this.onMessage({ type: "bankroll", bankroll: msg.bankroll });
  }
}
