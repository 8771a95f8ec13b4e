// The load generator of bench/keynote.py: the keynote-2 harness's closed-loop runner, its
// Convex and RPC connectors and its `rpc_single_call` scenario, ported from SpacetimeDB's
// templates/keynote-2 (src/core/runner.ts, src/core/collision_tracker.ts,
// src/connectors/convex.ts, src/connectors/rpc/sqlite_rpc.ts + postgres_rpc.ts,
// src/scenario_recipes/rpc_single_call.ts; https://github.com/clockworklabs/SpacetimeDB,
// Apache License 2.0; see ./NOTICE).
//
// Changes from the harness: TypeScript types removed; only the non-pipelined path (the
// published default); the configuration comes as one JSON argument instead of the
// harness's CLI/env; an optional warm-up window runs first and is discarded (the measured
// window then starts the pair sequence where the harness starts it, so it sends exactly
// the harness's transfers); failed transfers are counted and a few messages kept (the
// harness only logs them with LOG_ERRORS); the result is printed as one JSON line; the
// HTTP client is node:http with a keep-alive agent by default, the harness's global fetch
// with `"client": "fetch"` (see "the HTTP client" below). The harness's verify() is done
// by bench/keynote.py. Unchanged: `concurrency` workers each awaiting one transfer at a
// time, the precomputed seeded pair sequence and each worker's start in it, the per-op
// timeout race (max(minOpTimeoutMs, min(opTimeoutMs, timeLeft + tailSlackMs)), not
// aborting the request), the requests (URL, headers, bodies), success =
// `status === "success"` (Convex) / `ok` (RPC), TPS =
// transfers completed inside the window / seconds, latency percentiles from an HDR
// histogram of those transfers.
//
//   node runner.mjs '{"kind":"convex","url":"http://127.0.0.1:3210","seconds":10,...}'
import hdr from 'hdr-histogram-js';
import http from 'node:http';
import { performance } from 'node:perf_hooks';
import { pickTwoDistinct, zipfSampler } from './zipf.mjs';

const defaults = {
  kind: 'convex', // 'convex' (POST /api/mutation) or 'rpc' (POST /rpc)
  url: 'http://127.0.0.1:3210',
  seconds: 10,
  warmup: 0,
  concurrency: 50,
  accounts: 100_000,
  alpha: 0,
  // the harness's defaults (src/config.ts)
  opTimeoutMs: 15000,
  minOpTimeoutMs: 250,
  tailSlackMs: 1000,
  precomputedTransferPairs: 10_000_000,
  logErrors: false,
  client: 'http', // 'http' (node:http, keep-alive) or 'fetch' (the harness's)
};

// ---- the HTTP client ----
//
// 'fetch' is the harness's (Node's global fetch, undici). 'http' is node:http with a
// keep-alive agent: the same requests (method, path, headers, body) for about a third of
// the client CPU per request, which matters when the load generator shares a small
// machine with the server it measures (bench/keynote.py --client; its docstring has the
// numbers).

const agent = new http.Agent({ keepAlive: true });

function postFetch(url, body) {
  return fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  }).then(async (res) => ({
    ok: res.ok,
    status: res.status,
    statusText: res.statusText,
    text: await res.text(),
  }));
}

function postHttp(url, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: {
          'content-type': 'application/json',
          'content-length': Buffer.byteLength(body),
        },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk) => {
          text += chunk;
        });
        res.on('end', () =>
          resolve({
            ok: res.statusCode >= 200 && res.statusCode < 300,
            status: res.statusCode,
            statusText: res.statusMessage,
            text,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

let post = postHttp;

// ---- connectors (src/connectors/convex.ts, src/connectors/rpc/*_rpc.ts) ----

function convex(url) {
  const mutationUrl = new URL(`${url}/api/mutation?format=json`);

  async function mutationConvex(path, args) {
    const res = await post(mutationUrl, JSON.stringify({ path, args }));

    let json = {};
    try {
      json = JSON.parse(res.text);
    } catch {}

    if (res.ok && json.status === 'success') {
      return json.value;
    }

    const msg =
      json?.errorMessage ??
      json?.message ??
      `HTTP ${res.status} ${res.statusText}`;

    throw new Error(`convex mutation ${path} failed: ${msg}`);
  }

  return {
    name: 'convex',
    async open() {},
    async call(method, args) {
      return mutationConvex(method, args ?? {});
    },
  };
}

function rpc(url, name) {
  const rpcUrl = new URL('/rpc', new URL(url));

  async function httpCall(method, args) {
    const body = { name: method, args };

    let res;
    try {
      res = await post(rpcUrl, JSON.stringify(body));
    } catch (err) {
      throw new Error(`[${name}] RPC ${method} network error: ${String(err)}`);
    }

    const text = res.text;
    let json;
    try {
      json = JSON.parse(text);
    } catch {
      throw new Error(
        `[${name}] RPC ${method} invalid JSON: HTTP ${res.status} ${res.statusText} body=${text.slice(0, 200)}`,
      );
    }

    if (!res.ok || !json.ok) {
      const msg =
        !json.ok && json.error ? json.error : `HTTP ${res.status} ${res.statusText}`;
      throw new Error(`[${name}] RPC ${method} failed: ${msg} body=${text.slice(0, 200)}`);
    }

    return json.result;
  }

  return {
    name,
    async open() {
      await httpCall('health');
    },
    async call(method, args) {
      return httpCall(method, args);
    },
  };
}

// ---- scenario (src/scenario_recipes/rpc_single_call.ts) ----

async function rpc_single_call(conn, from, to, amount) {
  if (from === to || amount <= 0) return;
  const fn = conn.name === 'convex' ? 'transfer:transfer' : 'transfer';
  await conn.call(fn, { amount, from_id: from, to_id: to });
}

// ---- runner (src/core/runner.ts, non-pipelined) ----

function precomputeZipfTransferPairs(accounts, alpha, count) {
  const pick = zipfSampler(accounts, alpha);
  const from = new Uint32Array(count);
  const to = new Uint32Array(count);

  for (let i = 0; i < count; i++) {
    const [a, b] = pickTwoDistinct(pick);
    from[i] = a;
    to[i] = b;
  }

  return { from, to, count };
}

async function withOpTimeout(promise, label, defaultTimeoutMs, timeoutOverrideMs) {
  const timeoutMs = timeoutOverrideMs ?? defaultTimeoutMs;
  let timer;

  const timeoutPromise = new Promise((_, reject) => {
    timer = setTimeout(() => {
      reject(new Error(`[runOne] ${label} timed out after ${timeoutMs}ms`));
    }, timeoutMs);
  });

  try {
    return await Promise.race([promise, timeoutPromise]);
  } finally {
    if (timer) clearTimeout(timer);
  }
}

function makeCollisionTracker() {
  const inflight = new Map();
  let total = 0;
  let collisions = 0;
  return {
    begin(id) {
      total++;
      const prev = inflight.get(id) ?? 0;
      if (prev > 0) collisions++;
      inflight.set(id, prev + 1);
    },
    end(id) {
      const prev = inflight.get(id);
      if (prev === undefined) return;
      const next = prev - 1;
      if (next <= 0) inflight.delete(id);
      else inflight.set(id, next);
    },
    stats() {
      return { total, collisions, collisionRate: total === 0 ? 0 : collisions / total };
    },
  };
}

function makeHist() {
  return hdr.build({
    lowestDiscernibleValue: 1,
    highestTrackableValue: 10_000_000_000,
    numberOfSignificantValueDigits: 3,
  });
}

async function runOne(cfg) {
  const { seconds, concurrency, accounts, alpha, opTimeoutMs, minOpTimeoutMs, tailSlackMs } = cfg;
  const make = () => (cfg.kind === 'convex' ? convex(cfg.url) : rpc(cfg.url, cfg.name ?? 'rpc'));
  const connector = make();
  await connector.open();
  const workers = [];
  for (let i = 0; i < concurrency; i++) {
    workers.push(make()); // createWorker(): a connector of its own, not opened

  }

  const precomputeStart = performance.now();
  const transferPairs = precomputeZipfTransferPairs(accounts, alpha, cfg.precomputedTransferPairs);
  const precomputeSeconds = (performance.now() - precomputeStart) / 1000;

  const run = async (seconds) => {
    const collisionTracker = makeCollisionTracker();
    const hist = makeHist();
    const start = performance.now();
    const endAt = start + seconds * 1000;
    const cpuAtStart = process.cpuUsage();

    let completedWithinWindow = 0;
    let completedTotal = 0;
    let failedWithinWindow = 0;
    let failedTotal = 0;
    const errors = new Map(); // message -> count (the first few kinds)

    const series = [];
    let intervalCount = 0;
    const intervalTimer = setInterval(() => {
      const now = performance.now();
      if (now > endAt) return;
      series.push(intervalCount);
      intervalCount = 0;
    }, 1000);

    async function worker(workerIndex) {
      const conn = workers[workerIndex];
      const pairsPerWorker = Math.max(1, Math.floor(transferPairs.count / concurrency));
      let pairIndex = workerIndex * pairsPerWorker;

      const nextTransferPair = () => {
        if (pairIndex >= transferPairs.count) {
          pairIndex = 0;
        }
        const from = transferPairs.from[pairIndex];
        const to = transferPairs.to[pairIndex];
        pairIndex++;
        return [from, to];
      };

      while (true) {
        const now = performance.now();
        if (now >= endAt) break;

        const timeLeft = endAt - now;
        const dynamicTimeout = Math.max(minOpTimeoutMs, Math.min(opTimeoutMs, timeLeft + tailSlackMs));

        const [from, to] = nextTransferPair();

        collisionTracker.begin(from);
        collisionTracker.begin(to);

        const t0 = performance.now();
        let ok = false;
        try {
          await withOpTimeout(
            rpc_single_call(conn, from, to, 1),
            `${connector.name} scenario ${from}->${to}`,
            opTimeoutMs,
            dynamicTimeout,
          );
          ok = true;
        } catch (err) {
          const msg = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
          const key = msg.replace(/\d+->\d+/, 'A->B').replace(/\d+(\.\d+)?/g, 'N').slice(0, 300);
          if (errors.has(key)) errors.set(key, errors.get(key) + 1);
          else if (errors.size < 5) errors.set(key, 1);
          if (cfg.logErrors) {
            console.error(`[${connector.name}] Scenario failed for ${from} -> ${to}: ${msg}`);
          }
        } finally {
          collisionTracker.end(from);
          collisionTracker.end(to);
        }

        const t1 = performance.now();
        if (ok) {
          completedTotal++;
          if (t1 <= endAt) {
            completedWithinWindow++;
            const latencyUs = Math.max(1, Math.round((t1 - t0) * 1e3));
            hist.recordValue(latencyUs);
            intervalCount++;
          }
        } else {
          failedTotal++;
          if (t1 <= endAt) failedWithinWindow++;
        }
      }
    }

    try {
      await Promise.all(Array.from({ length: concurrency }, (_, i) => worker(i)));
    } finally {
      clearInterval(intervalTimer);
    }

    const cpu = process.cpuUsage(cpuAtStart);
    const q = (p) => hist.getValueAtPercentile(p) / 1000;
    const c = collisionTracker.stats();
    return {
      tps: completedWithinWindow / seconds,
      samples: completedWithinWindow,
      completed_total: completedTotal,
      failed: failedWithinWindow,
      failed_total: failedTotal,
      errors: Object.fromEntries(errors),
      p50_ms: q(50),
      p95_ms: q(95),
      p99_ms: q(99),
      collision_rate: c.collisionRate,
      elapsed_s: (performance.now() - start) / 1000,
      // the load generator's own CPU time (user + system) over the window
      cpu_s: (cpu.user + cpu.system) / 1e6,
      series,
    };
  };

  let warmup = null;
  if (cfg.warmup > 0) {
    const w = await run(cfg.warmup);
    warmup = { tps: w.tps, failed: w.failed, errors: w.errors, completed: w.completed_total };
  }
  const result = await run(seconds);
  return { ...result, warmup, precompute_s: precomputeSeconds };
}

const cfg = { ...defaults, ...JSON.parse(process.argv[2] ?? '{}') };
if (cfg.client === 'fetch') post = postFetch;
else if (cfg.client !== 'http') throw new Error(`unknown client ${cfg.client}`);
const result = await runOne(cfg);
process.stdout.write(`RESULT ${JSON.stringify(result)}\n`);
// Requests abandoned by the timeout race may still be open: do not wait for them.
process.exit(0);
