// A small client of Bayou's own sync protocol (the WebSocket at /api/sync, the protocol
// Convex's clients speak), written by hand for the dashboard: subscriptions to queries,
// nothing else (writes go through the admin HTTP endpoints). It authenticates with the
// admin key, sends one ModifyQuerySet per tick for every subscribe and unsubscribe, hands
// each QueryUpdated / QueryFailed to its subscriber, and reconnects by itself after a
// server restart, subscribing again to everything that is open. Values are Convex JSON.

import { adminKey } from "./api.js";

const PING_TIMEOUT_MS = 45_000; // the server pings after 15 s of silence
const BACKOFF_MS = [250, 500, 1000, 2000, 3000];

export class Sync {
  constructor() {
    this.sessionId = uuid();
    this.queries = new Map(); // queryId → {udfPath, args, component, onValue, onError, value}
    this.nextQueryId = 0;
    this.pending = []; // modifications not sent yet
    this.flushing = false;
    this.ws = null;
    this.connected = false; // a Transition arrived on this socket: the session is live
    this.connectionCount = 0;
    this.failures = 0;
    this.closed = false;
    this.lastCloseReason = "InitialConnect";
    this.listeners = new Set();
    this.onAuthError = null;
    this.watchdog = null;
    this.open();
  }

  // -- the public surface ---------------------------------------------------------------

  // Subscribe to `udfPath` with `args`; `onValue(value)` on every new result, `onError(message)`
  // when it fails. Returns the function that ends the subscription.
  subscribe(udfPath, args, { component, onValue, onError } = {}) {
    const queryId = this.nextQueryId++;
    const query = { udfPath, args: args ?? {}, component: component || undefined, onValue, onError };
    this.queries.set(queryId, query);
    this.modify(addOf(queryId, query));
    return () => {
      if (!this.queries.delete(queryId)) return;
      this.modify({ type: "Remove", queryId });
    };
  }

  // `listener(state)` with state "live", "connecting" or "reconnecting"; returns unlisten.
  onState(listener) {
    this.listeners.add(listener);
    listener(this.state());
    return () => this.listeners.delete(listener);
  }

  state() {
    if (this.connected) return "live";
    return this.connectionCount === 0 && this.failures === 0 ? "connecting" : "reconnecting";
  }

  close() {
    this.closed = true;
    clearTimeout(this.watchdog);
    this.ws?.close();
  }

  // -- the socket -----------------------------------------------------------------------

  open() {
    if (this.closed) return;
    const scheme = location.protocol === "https:" ? "wss:" : "ws:";
    const ws = new WebSocket(`${scheme}//${location.host}/api/sync`);
    this.ws = ws;
    this.querySet = 0;
    this.identity = 0;
    this.pending = [];
    ws.onopen = () => {
      this.send({
        type: "Connect", sessionId: this.sessionId, connectionCount: this.connectionCount,
        lastCloseReason: this.lastCloseReason, clientTs: Date.now(),
      });
      this.send({ type: "Authenticate", tokenType: "Admin", value: adminKey() ?? "", baseVersion: 0 });
      this.identity = 1;
      // Every open query again: protocol state starts from zero on each socket.
      const adds = [...this.queries].map(([id, q]) => addOf(id, q));
      if (adds.length) this.sendModifications(adds);
      this.connectionCount += 1;
      this.feedWatchdog();
    };
    ws.onmessage = (event) => {
      this.feedWatchdog();
      let message;
      try { message = JSON.parse(event.data); } catch { return; }
      this.receive(message);
    };
    ws.onclose = (event) => {
      if (this.ws !== ws) return;
      this.lastCloseReason = event.reason || `closed with code ${event.code}`;
      this.setConnected(false);
      clearTimeout(this.watchdog);
      if (this.closed) return;
      const delay = BACKOFF_MS[Math.min(this.failures, BACKOFF_MS.length - 1)];
      this.failures += 1;
      this.emit();
      setTimeout(() => this.open(), delay);
    };
  }

  feedWatchdog() {
    clearTimeout(this.watchdog);
    this.watchdog = setTimeout(() => {
      this.lastCloseReason = "InactiveServer";
      this.ws?.close();
    }, PING_TIMEOUT_MS);
  }

  receive(message) {
    switch (message.type) {
      case "Transition":
        if (message.endVersion.identity >= 1) {
          this.failures = 0;
          this.setConnected(true);
        }
        for (const m of message.modifications) {
          const query = this.queries.get(m.queryId);
          if (!query) continue;
          if (m.type === "QueryUpdated") {
            query.value = m.value;
            query.onValue?.(m.value);
          } else if (m.type === "QueryFailed") {
            query.onError?.(m.errorMessage);
          }
        }
        break;
      case "AuthError":
        this.closed = true;
        this.setConnected(false);
        this.onAuthError?.(message.error);
        break;
      case "FatalError":
        console.error(`[bayou sync] ${message.error}`);
        this.ws?.close();
        break;
      default: // Ping, responses: nothing to do
    }
  }

  setConnected(connected) {
    if (this.connected === connected) return;
    this.connected = connected;
    this.emit();
  }

  emit() {
    const state = this.state();
    for (const listener of this.listeners) listener(state);
  }

  // -- query set changes, one message a tick --------------------------------------------

  modify(modification) {
    this.pending.push(modification);
    if (this.flushing) return;
    this.flushing = true;
    queueMicrotask(() => {
      this.flushing = false;
      const modifications = this.pending;
      this.pending = [];
      // Before the socket opens, `onopen` adds every query anyway.
      if (modifications.length && this.ws?.readyState === WebSocket.OPEN) this.sendModifications(modifications);
    });
  }

  sendModifications(modifications) {
    const base = this.querySet;
    this.querySet += 1;
    this.send({ type: "ModifyQuerySet", baseVersion: base, newVersion: this.querySet, modifications });
  }

  send(message) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify(message));
  }
}

function addOf(queryId, query) {
  const add = { type: "Add", queryId, udfPath: query.udfPath, args: [query.args] };
  if (query.component) add.componentPath = query.component;
  return add;
}

// A v4 UUID; crypto.randomUUID exists only in secure contexts (not on plain http to a LAN).
function uuid() {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const hex = [...b].map((x) => x.toString(16).padStart(2, "0")).join("");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
