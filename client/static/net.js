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
