// ObserveInsert with the official npm ConvexClient (and `ws`): hold `count` subscriptions
// (`items:latest` on channels first..first+count-1), then `iterations` times insert into a
// random one of them and time from the mutation's start until that subscription shows it.
//
//   node observe_insert.cjs <url> <first> <count> <iterations> <pause ms>
// prints {"latenciesMs": [...]} on stdout.
"use strict";
for (const level of ["log", "info", "warn", "debug"]) console[level] = console.error;
const WebSocket = require("ws");
const { ConvexClient } = require("convex/browser");
const { makeFunctionReference } = require("convex/server");

const [url, first, count, iterations, pauseMs] = [
  process.argv[2],
  ...process.argv.slice(3).map(Number),
];
const latest = makeFunctionReference("items:latest");
const insert = makeFunctionReference("items:insert");
const client = new ConvexClient(url, { webSocketConstructor: WebSocket, unsavedChangesWarning: false });
const waiting = new Map();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const LOST_AFTER_MS = 10000;

async function main() {
  let ready = 0;
  const allReady = new Promise((resolve) => {
    for (let i = first; i < first + count; i++) {
      const channel = `c${i}`;
      let seen = false;
      client.onUpdate(latest, { channel }, (docs) => {
        if (!seen) {
          seen = true;
          if (++ready === count) resolve();
        }
        const w = waiting.get(channel);
        if (w && docs.some((d) => d.marker === w.marker)) {
          waiting.delete(channel);
          w.resolve(performance.now() - w.start);
        }
      });
    }
  });
  await allReady;
  process.stderr.write(`ready: ${count} subscriptions\n`);
  const latencies = [];
  for (let n = 0; n < iterations; n++) {
    const channel = `c${first + Math.floor(Math.random() * count)}`;
    const marker = `${process.pid}-${n}-${Math.random()}`;
    const observed = new Promise((resolve) => waiting.set(channel, { marker, resolve, start: 0 }));
    const w = waiting.get(channel);
    w.start = performance.now();
    const done = client.mutation(insert, { channel, marker });
    // A lost update would otherwise hang the benchmark: fail loudly instead.
    const latency = await Promise.race([observed, sleep(LOST_AFTER_MS).then(() => null)]);
    if (latency === null) {
      throw new Error(`insert ${marker} into ${channel} not observed within ${LOST_AFTER_MS} ms`);
    }
    latencies.push(latency);
    await done;
    await sleep(pauseMs);
  }
  process.stdout.write(JSON.stringify({ latenciesMs: latencies }) + "\n");
  await client.close();
  process.exit(0);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
