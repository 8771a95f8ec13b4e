// Fan-out: N cheap sessions (raw `ws` sockets speaking the sync protocol) subscribe to the
// one query `feed:current`; on "go" (a line on stdin) one more session runs `feed:bump`, and
// we time until every session has received the new result. Each "go" is one round.
//
//   node fanout.cjs <ws url of /api/<ver>/sync> <N>
// stdout: {"event":"ready"} once all N have their first result, then {"event":"done", ...}.
"use strict";
const WebSocket = require("ws");
const crypto = require("node:crypto");
const readline = require("node:readline");

const [url, N] = [process.argv[2], Number(process.argv[3])];
const CONNECT_CONCURRENCY = 200;
let marker = null; // the value every session must show
let t0 = 0;
let pending = 0; // sessions that have not yet seen `marker`
const arrivals = [];
let readyCount = 0;
let requestId = 0;
const sockets = [];

function emit(e) {
  process.stdout.write(JSON.stringify(e) + "\n");
}

function open(onReady, counted = true) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(url, { perMessageDeflate: false });
    let first = true;
    ws.on("open", () => {
      ws.send(JSON.stringify({ type: "Connect", sessionId: crypto.randomUUID(), connectionCount: 0, clientTs: Date.now() }));
      ws.send(JSON.stringify({
        type: "ModifyQuerySet", baseVersion: 0, newVersion: 1,
        modifications: [{ type: "Add", queryId: 0, udfPath: "feed:current", args: [{}] }],
      }));
      resolve(ws);
    });
    ws.on("error", reject);
    ws.on("message", (data) => {
      const m = JSON.parse(data);
      if (m.type !== "Transition") return;
      for (const mod of m.modifications) {
        if (mod.queryId !== 0 || mod.type !== "QueryUpdated") continue;
        if (first) {
          first = false;
          onReady();
        }
        if (counted && marker !== null && mod.value === marker) {
          arrivals.push(performance.now() - t0);
          if (--pending === 0) finish();
        }
      }
    });
    ws.on("close", (code) => {
      if (marker === null || pending > 0) process.stderr.write(`socket closed ${code}\n`);
    });
  });
}

function finish() {
  arrivals.sort((a, b) => a - b);
  const q = (p) => arrivals[Math.min(arrivals.length - 1, Math.floor(p * arrivals.length))];
  emit({ event: "done", n: N, firstMs: arrivals[0], p50Ms: q(0.5), p99Ms: q(0.99), allMs: arrivals[arrivals.length - 1] });
  arrivals.length = 0;
}

async function main() {
  let resolveReady;
  const allReady = new Promise((r) => (resolveReady = r));
  const onReady = () => {
    if (++readyCount === N) resolveReady();
  };
  for (let i = 0; i < N; i += CONNECT_CONCURRENCY) {
    const batch = [];
    for (let j = i; j < Math.min(N, i + CONNECT_CONCURRENCY); j++) batch.push(open(onReady));
    sockets.push(...(await Promise.all(batch)));
  }
  await allReady;
  const writer = await open(() => {}, false);
  emit({ event: "ready", n: N });
  const lines = readline.createInterface({ input: process.stdin });
  lines.on("line", (line) => {
    if (line.trim() !== "go") return;
    marker = `m-${Date.now()}-${Math.random()}`;
    pending = N;
    t0 = performance.now();
    writer.send(JSON.stringify({ type: "Mutation", requestId: requestId++, udfPath: "feed:bump", args: [{ marker }] }));
  });
  lines.on("close", () => process.exit(0));
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
