// Bayou's Node worker: runs Convex functions from the module sets `npx convex deploy`
// pushes, bridging their syscalls to the Python host (bayou/runtimes/js/worker.py).
//
// Run as: node --experimental-vm-modules --no-warnings worker.mjs --role=udf|action|node
//          [--max-context-uses=N] [--retire-after-discards=N] [--memory-limit-mb=N]
//
// Roles: "udf" workers run queries and mutations (and analyze isolate modules), "action"
// workers isolate actions, "node" workers "use node" actions (and analyze their modules).
// Only "node" workers are Node as Node is: the others run with the host's intrinsics
// frozen and its code generation from strings disallowed (worker.py passes the flags)
// and harden every host object a realm can reach at start (globals.mjs), so that function
// code that reaches a host object through a constructor chain finds no way out.
//
// PROTOCOL — one JSON object per line on stdin (host → worker) and stdout (worker → host);
// stderr is free text the host copies to its logger. Values cross as JSON text where they
// already are text (function arguments and results), so each side parses them once.
//
// host → worker
//   {"t":"load","v":V,"modules":[{"path","source","sourceMap","environment"}],"seed":N,"now":MS}
//   {"t":"unload","v":V}
//   {"t":"analyze","id":N,"v":V,"env":{…},"timeout":MS,"only":[paths]?,"skip":[paths]?}
//   {"t":"call","id":N,"v":V,"kind":"query"|"mutation"|"action","path":"dir/m.js","name":"export",
//    "args":"<JSON text of [args]>","env":{…},"seed":N,"now":MS,"tables":{"name":number},
//    "rid":"request id","limit":MS,"snap":<convex-json Int64>|null,"dw":0|1,"pre":[[op,args,result],…]?}
//        dw 1 (mutations): patch/replace/delete resolve at once and travel as deferred writes
//        pre (mutations): reads the host made ahead, answered here while the function asks
//        exactly these syscalls in this order before anything else (call.mjs)
//   {"t":"ret","id":N,"r":[[sid,1,<result JSON>],[sid,0,{"message":"…","data":"<JSON>"|null}]]}
//   {"t":"cancel","id":N,"message":"…"}             (actions past their time limit)
//   {"t":"ping","id":N}                              → {"t":"pong","id":N}
//
// worker → host
//   {"t":"ready","pid":N,"node":"v20.…"}
//   {"t":"sys","id":N,"u":MS,"b":[[sid,"1.0/get",{…args}],…]}   a batch of async syscalls, in
//        the order user code issued them; sid 0 wants no answer (1.0/queryCleanup); a
//        negative sid is a deferred write, answered only by the host voiding the attempt
//   {"t":"evaluating","id":N}        the call's fresh realm evaluates the app's modules now
//   {"t":"done","id":N,"u":MS,"ra":N,"ok":true,"value":"<JSON text>","logs":[…]}
//        ra: how many of the call's `pre` reads the function used
//   {"t":"done","id":N,"u":MS,"ra":N,"ok":false,"error":{"message":"Uncaught Error: …","data":"<JSON>"|null},
//        "logs":[…],"timeout":true|false}
//   {"t":"analyzed","id":N,"ok":true,"result":{…}} | {"t":"analyzed","id":N,"ok":false,"message":"…"}
//   {"t":"retire","discarded":N}   this process leaked enough contexts: replace it when idle
//
// "u" is the call's JS time so far (queries and mutations): the host arms its watchdog with
// limit − u whenever it hands the call control, and kills this process if a pump overruns
// (an infinite loop cannot be interrupted from inside without V8's per-call watchdog
// thread, which costs ~70 µs a pump; see worker.py).
//
// Calls run in realms (realm.mjs). Queries and mutations use "udf" realms, kept per version
// and reused call after call (only the per-call state is rebound): evaluating a fresh
// module graph costs ~3-5 ms, reuse ~nothing. `--max-context-uses=1` restores a fresh
// context per call (prepared while idle). Actions of a version share one realm per worker,
// each call carrying its own state through an AsyncLocalStorage scope.

import { getHeapStatistics } from "node:v8";

import { analyzeVersion, AnalysisError } from "./analyze.mjs";
import { Call, formatSize, timeoutMessage } from "./call.mjs";
import { hardenHost } from "./globals.mjs";
import { currentActionCall, inActionScope, Realm } from "./realm.mjs";
import { formatFrame, StackMapper } from "./stack.mjs";

const options = parseOptions(process.argv.slice(2));
const versions = new Map();
const calls = new Map();

// Convex's limit on a function's return value (its `FUNCTION_MAX_RESULT_SIZE`).
const MAX_RESULT_BYTES = 16 * 2 ** 20;
// …and on an HTTP action's request and response bodies.
const MAX_HTTP_BODY_BYTES = 20 * 2 ** 20;

function parseOptions(argv) {
  const out = { role: "udf", maxContextUses: 0, retireAfterDiscards: 100, retireHeapBytes: 768 * 2 ** 20, memoryLimitMb: 0 };
  for (const arg of argv) {
    let match = /^--max-context-uses=(\d+)$/.exec(arg);
    if (match) out.maxContextUses = Number(match[1]);
    match = /^--retire-after-discards=(\d+)$/.exec(arg);
    if (match) out.retireAfterDiscards = Number(match[1]);
    match = /^--role=(udf|action|node)$/.exec(arg);
    if (match) out.role = match[1];
    match = /^--memory-limit-mb=(\d+)$/.exec(arg);
    if (match) out.memoryLimitMb = Number(match[1]);
  }
  return out;
}

if (options.role !== "node") hardenHost();

// The server is gone when its pipes are: never outlive it (nor spin on a closed pipe).
process.stdout.on("error", () => process.exit(0));
process.stderr.on("error", () => process.exit(0));

// Node never frees a vm context that had a SourceTextModule (true of Node 20 and 24:
// the module wrap holds its context strongly), so every realm dropped leaks ~0.5 MB.
// Realms are reused to keep that rare; a worker that has dropped many asks the host to
// replace it once it is idle.
let discarded = 0;
let retiring = false;

function noteDiscarded(count = 1) {
  discarded += count;
}

let finishes = 0;

function maybeRetire() {
  if (retiring || discarded === 0) return;
  const tooMany = options.retireAfterDiscards > 0 && discarded >= options.retireAfterDiscards;
  // Reading the heap size costs a few µs: look every 64 calls.
  const heavy = (++finishes & 63) === 0 && getHeapStatistics().used_heap_size > options.retireHeapBytes;
  if (tooMany || heavy) {
    retiring = true;
    send(`{"t":"retire","discarded":${discarded}}`);
  }
}

class Version {
  constructor(msg) {
    this.id = msg.v;
    this.modules = new Map();
    for (const m of msg.modules) {
      this.modules.set(m.path, {
        source: m.source,
        sourceMap: m.sourceMap ?? null,
        environment: m.environment ?? "isolate",
        cachedData: null,
      });
    }
    this.importSeed = msg.seed ?? 0;
    this.importNow = msg.now ?? 0;
    this.stacks = new StackMapper((p) => this.modules.get(p)?.sourceMap ?? null);
    this.idle = { udf: [], action: [], node: [] };
    this.shared = new Map(); // action realms, by kind and environment
    this.spares = 0;
  }
}

// --- output ---------------------------------------------------------------------------

function send(line) {
  process.stdout.write(line + "\n");
}

/** The `sys` line (newline included) of the call's outbox, which it empties; or "". */
function takeBatch(call) {
  if (call.outbox.length === 0) return "";
  const batch = call.outbox.join(",");
  call.outbox = [];
  return `{"t":"sys","id":${call.id},"u":${call.used},"b":[${batch}]}\n`;
}

function flush(call) {
  const line = takeBatch(call);
  if (line !== "") process.stdout.write(line);
}

// --- realms ---------------------------------------------------------------------------

function realmKind(call) {
  if (call.kind !== "action") return "udf";
  return call.version.modules.get(call.modulePath)?.environment === "node" ? "node" : "action";
}

/** Why this worker may not run a realm of `kind`, or null (the pool routes by role). */
function wrongRole(kind) {
  if ((kind === "node") === (options.role === "node")) return null;
  return `Uncaught Error: Bayou's ${options.role} worker cannot run a ${kind === "node" ? '"use node"' : "Convex runtime"} function`;
}

function acquireRealm(version, kind, envKey) {
  const idle = version.idle[kind];
  while (idle.length > 0) {
    const realm = idle.pop();
    if (realm.envKey === envKey) return realm;
    noteDiscarded(); // module top levels may have read the old environment
  }
  const realm = new Realm(version, kind);
  realm.envKey = envKey;
  return realm;
}

function releaseRealm(realm, healthy, modulePath, env) {
  realm.bind(null);
  const version = realm.version;
  const reusable =
    healthy &&
    realm.kind === "udf" &&
    versions.get(version.id) === version &&
    (options.maxContextUses === 0 || realm.uses < options.maxContextUses);
  if (reusable) {
    // Stale reactions (a promise the last call left behind) run now, bound to no call.
    realm.pump(() => {});
    version.idle.udf.push(realm);
    return;
  }
  noteDiscarded();
  prepareSpare(version, realm.kind, modulePath, env);
}

/** The realm the actions of `version` share (one per kind and environment). */
function sharedRealm(version, kind, envKey) {
  const key = `${kind}\u0000${envKey}`;
  let realm = version.shared.get(key);
  if (realm === undefined) {
    for (const other of version.shared.keys()) {
      if (other.startsWith(`${kind}\u0000`)) {
        version.shared.delete(other);
        noteDiscarded();
      }
    }
    realm = new Realm(version, kind);
    realm.envKey = envKey;
    version.shared.set(key, realm);
  }
  return realm;
}

/** Evaluate a realm for the next call while the worker is idle. */
function prepareSpare(version, kind, modulePath, env) {
  if (version.idle[kind].length > 0 || version.spares > 0) return;
  version.spares += 1;
  setImmediate(async () => {
    try {
      if (versions.get(version.id) !== version) return;
      const realm = new Realm(version, kind);
      realm.envKey = JSON.stringify(env);
      const module = await realm.link(modulePath);
      realm.pump(() => {
        realm.enterImportPhase(null, env);
        realm.evaluate(module);
      });
      if (module.status === "evaluated") {
        realm.bind(null);
        version.idle[kind].push(realm);
      }
    } catch {
      // The call that needs this module reports the problem.
    } finally {
      version.spares -= 1;
    }
  });
}

// --- calls ----------------------------------------------------------------------------

async function startCall(msg) {
  const version = versions.get(msg.v);
  const call = new Call(msg, version ?? new Version({ v: msg.v, modules: [] }));
  calls.set(call.id, call);
  if (version === undefined) {
    call.failWith(`Uncaught Error: Bayou worker: module set ${msg.v} is not loaded`);
    finish(call, false);
    return;
  }
  const kind = realmKind(call);
  const refused = wrongRole(kind);
  if (refused !== null) {
    call.failWith(refused);
    finish(call, false);
    return;
  }
  if (kind !== "udf") {
    await startAction(call, version, kind);
    return;
  }
  const realm = acquireRealm(version, kind, JSON.stringify(call.env));
  realm.uses += 1;
  call.realm = realm;
  call.onUncaught = afterStep;
  let module;
  try {
    module = await realm.link(call.modulePath);
  } catch (error) {
    call.failWith(`Uncaught Error: ${error.message}`);
    finish(call, false);
    return;
  }
  step(call, () => {
    if (module.status === "linked") {
      // A fresh realm evaluates the app's modules once, for whichever call lands on it
      // first: that is not the call's own work, so it is not charged to its time limit
      // (a large bundle on a busy machine would otherwise time calls out at random).
      send(`{"t":"evaluating","id":${call.id}}`); // the host's watchdog allows for it
      const evaluating = performance.now();
      realm.enterImportPhase(call, call.env);
      realm.evaluate(module);
      call.used -= performance.now() - evaluating;
    }
    realm.bind(call);
    proceed(call, module);
  });
}

async function startAction(call, version, kind) {
  const envKey = JSON.stringify(call.env);
  const realm = sharedRealm(version, kind, envKey);
  call.realm = realm;
  call.onOutbox = scheduleFlush;
  call.onUncaught = afterStep;
  try {
    const module = await realm.link(call.modulePath);
    if (module.status === "linked") {
      inActionScope({ call: null, env: call.env, logTarget: call }, () => realm.evaluate(module));
    }
    while (module.status === "evaluating" && !call.finished) {
      await new Promise((resolve) => setImmediate(resolve));
    }
    if (call.finished) return;
    if (module.status === "errored") {
      version.shared.delete(`${kind}\u0000${envKey}`);
      noteDiscarded();
      call.fail(module.error);
    } else {
      inActionScope({ call, env: call.env, logTarget: call }, () => invoke(call, module.namespace));
    }
  } catch (error) {
    call.fail(error);
  }
  afterStep(call);
}

function proceed(call, module) {
  if (module.status === "evaluating") {
    call.waitingModule = module;
    return;
  }
  call.waitingModule = null;
  if (module.status === "errored") {
    call.realm.broken = true;
    call.fail(module.error);
    return;
  }
  invoke(call, module.namespace);
}

const INVOKERS = {
  query: ["isQuery", "Query", (fn, call) => fn.invokeQuery(call.args)],
  mutation: ["isMutation", "Mutation", (fn, call) => fn.invokeMutation(call.args)],
  action: ["isAction", "Action", (fn, call) => fn.invokeAction(call.requestId, call.args)],
};

function definedAs(fn) {
  if (fn?.isQuery) return "Query";
  if (fn?.isMutation) return "Mutation";
  if (fn?.isAction) return "Action";
  if (fn?.isHttp) return "HttpAction";
  return null;
}

function invoke(call, namespace) {
  const [flag, label, run] = INVOKERS[call.kind];
  const fn = namespace[call.exportName];
  const udfPath = `${call.modulePath}:${call.exportName}`;
  if (call.kind === "action" && fn?.isRouter === true) {
    runHttpAction(call, fn).then(
      (value) => call.succeed(value),
      (error) => call.fail(error),
    ).finally(() => afterStep(call));
    return;
  }
  if (fn === undefined || fn === null) {
    call.failWith(`Uncaught Error: Couldn't find function '${call.exportName}' in module '${call.modulePath}'`);
    return;
  }
  if (!fn[flag]) {
    const actual = definedAs(fn);
    call.failWith(
      actual === null
        ? `Uncaught Error: ${udfPath} is not a Convex function`
        : `Uncaught Error: Trying to execute ${udfPath} as ${label}, but it is defined as ${actual}.`,
    );
    return;
  }
  const settled = call.realm.kind === "udf" ? () => {} : () => afterStep(call);
  const result = run(fn, call);
  call.realm.api.then(
    result,
    (value) => {
      const tooLarge = resultTooLarge(udfPath, value);
      if (tooLarge === null) call.succeed(value);
      else call.failWith(tooLarge);
      settled();
    },
    (error) => {
      call.fail(error);
      settled();
    },
  );
}

/**
 * An HTTP action: `call.args` is `[{method, url, headers: [[name, value]…], body}]` (body
 * Convex-encoded bytes or null); the deployment's router (`convex/http.ts`) picks the
 * handler — exact path, then longest prefix — and its Response comes back as the JSON text
 * of `{status, headers, body, routedPath}`.
 */
async function runHttpAction(call, router) {
  const [incoming] = JSON.parse(call.args);
  const method = String(incoming.method).toUpperCase();
  const body = incoming.body && method !== "GET" && method !== "HEAD" ? Buffer.from(incoming.body.$bytes, "base64") : null;
  const request = new Request(incoming.url, { method, headers: incoming.headers, body });
  const pathname = new URL(request.url).pathname;
  const match = router.lookup(pathname, method);
  let response;
  if (match === null) {
    response = new Response(`No HttpAction routed for ${pathname}`, { status: 404 });
  } else {
    response = await match[0].invokeHttpAction(request);
  }
  if (!(response instanceof Response)) {
    throw new Error("HTTP actions must return a Response");
  }
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length > MAX_HTTP_BODY_BYTES) {
    throw new Error(`HTTP action response body is too large (actual: ${formatSize(bytes.length)}, limit: ${formatSize(MAX_HTTP_BODY_BYTES)})`);
  }
  return JSON.stringify({
    status: response.status,
    headers: [...response.headers.entries()],
    body: { $bytes: bytes.toString("base64") },
    routedPath: match === null ? null : match[2],
  });
}

/** Convex's error for a return value past its limit, or null (`json`: the value's JSON). */
function resultTooLarge(udfPath, json) {
  // A UTF-8 byte is at least one UTF-16 unit, and a unit at most three bytes.
  if (typeof json !== "string" || json.length * 3 <= MAX_RESULT_BYTES) return null;
  if (json.length > MAX_RESULT_BYTES) return tooLargeMessage(udfPath, json.length, true);
  const bytes = Buffer.byteLength(json, "utf8");
  return bytes > MAX_RESULT_BYTES ? tooLargeMessage(udfPath, bytes, false) : null;
}

function tooLargeMessage(udfPath, bytes, atLeast) {
  const actual = `${atLeast ? "at least " : ""}${formatSize(bytes)}`;
  return `Function ${udfPath} return value is too large (actual: ${actual}, limit: ${formatSize(MAX_RESULT_BYTES)})`;
}

/** The call failed for want of memory (an allocation the address-space cap refused). */
function outOfMemory(outcome) {
  return !outcome.ok && /^Uncaught RangeError: Array buffer allocation failed/.test(outcome.message ?? "") && options.memoryLimitMb > 0;
}

/** Run `task` as user code of `call` (inside its realm's pump) and account its JS time. */
function step(call, task) {
  const start = performance.now();
  try {
    call.realm.pump(task);
  } catch (error) {
    call.fail(error);
  }
  if (call.realm.kind === "udf") call.used += performance.now() - start;
  afterStep(call);
}

function afterStep(call) {
  if (call.finished) return;
  if (call.outcome !== null) {
    finish(call, !call.timedOut);
    return;
  }
  if (call.realm.kind !== "udf") return;
  if (call.used > call.limitMs) {
    call.timedOut = true;
    call.failWith(timeoutMessage(call.limitMs));
    finish(call, false);
    return;
  }
  if (call.outbox.length > 0) flush(call);
  // A notice (sid 0, e.g. queryCleanup) gets no answer: host promises still need pumping.
  if (call.pending.size === 0) waitForHostPromises(call);
}

// User code awaits neither a syscall nor anything else we drive (e.g. crypto.subtle, a
// Response body): pump again until it settles. Reactions to host promises land in the
// realm's own microtask queue, which only drains when we run code in it.
function waitForHostPromises(call) {
  call.idleSteps = (call.idleSteps ?? 0) + 1;
  call.idleSince ??= Date.now();
  const giveUpAfter = Math.max(10_000, call.limitMs * 10);
  if (Date.now() - call.idleSince > giveUpAfter) {
    call.failWith("Uncaught Error: The function never finished: it awaits a promise that nothing resolves");
    finish(call, false);
    return;
  }
  const again = () => {
    if (call.finished) return;
    step(call, () => {
      if (call.waitingModule !== null) proceed(call, call.waitingModule);
    });
  };
  if (call.idleSteps < 20) setImmediate(again);
  else setTimeout(again, Math.min(50, 2 ** (call.idleSteps - 20)));
}

function scheduleFlush(call) {
  if (call.flushScheduled) return;
  call.flushScheduled = true;
  setImmediate(() => {
    call.flushScheduled = false;
    if (!call.finished) flush(call);
  });
}

function finish(call, healthy) {
  if (call.finished) return;
  call.finished = true;
  calls.delete(call.id);
  // What the host still gets: notices (id 0) and deferred writes (negative ids), in the
  // same write as `done` (one wake-up of the host, not two).
  call.outbox = call.outbox.filter((entry) => entry.startsWith("[0,") || entry.startsWith("[-"));
  const batch = takeBatch(call);
  let outcome = call.outcome;
  if (outOfMemory(outcome)) {
    // As Convex: the call fails with its out-of-memory error, and this worker, which may
    // be short of memory now, is replaced once it is idle.
    outcome = { ok: false, message: `JavaScript execution ran out of memory (maximum memory usage: ${options.memoryLimitMb} MB)`, data: null };
    retiring = true;
    send(`{"t":"retire","discarded":${discarded}}`);
  }
  const head = `{"t":"done","id":${call.id},"u":${call.used},"ra":${call.readAheadAt},"logs":${JSON.stringify(call.logs)},`;
  if (outcome.ok) {
    send(`${batch}${head}"ok":true,"value":${JSON.stringify(outcome.value ?? "null")}}`);
  } else {
    const error = JSON.stringify({ message: outcome.message, data: outcome.data ?? null });
    send(`${batch}${head}"ok":false,"timeout":${call.timedOut === true},"error":${error}}`);
  }
  for (const handle of call.timers.values()) clearTimeout(handle);
  call.timers.clear();
  if (call.realm !== null && call.realm.kind === "udf") {
    releaseRealm(call.realm, healthy && !call.realm.broken, call.modulePath, call.env);
  }
  maybeRetire();
}

function cancelCall(msg) {
  const call = calls.get(msg.id);
  if (call === undefined) return;
  call.timedOut = true;
  // Convex's Node executor names the action; its isolate gives the generic text.
  const message =
    call.realm?.kind === "node"
      ? `Action \`${call.exportName}\` execution timed out (maximum duration ${call.limitMs / 1000}s)`
      : (msg.message ?? timeoutMessage(call.limitMs));
  call.failWith(message);
  finish(call, false);
}

function onRet(msg) {
  const call = calls.get(msg.id);
  if (call === undefined || call.finished) return;
  if (call.realm.kind === "udf") {
    // An answer is progress: waiting for host promises starts counting afresh.
    call.idleSince = null;
    call.idleSteps = 0;
    step(call, () => call.settle(msg.r));
  } else {
    call.settle(msg.r);
  }
}

// --- analysis -------------------------------------------------------------------------

async function analyze(msg) {
  const version = versions.get(msg.v);
  if (version === undefined) {
    send(JSON.stringify({ t: "analyzed", id: msg.id, ok: false, message: `Module set ${msg.v} is not loaded` }));
    return;
  }
  try {
    const result = await analyzeVersion(version, { env: msg.env ?? {}, timeoutMs: msg.timeout ?? 10_000, only: msg.only ?? null, skip: msg.skip ?? [] });
    send(JSON.stringify({ t: "analyzed", id: msg.id, ok: true, result }));
  } catch (error) {
    const message = error instanceof AnalysisError ? error.message : `Failed to analyze modules: ${error?.stack ?? error}`;
    const code = error instanceof AnalysisError ? error.code : null;
    send(JSON.stringify({ t: "analyzed", id: msg.id, ok: false, message, code }));
  } finally {
    noteDiscarded(version.modules.size);
    maybeRetire();
  }
}

// --- input ----------------------------------------------------------------------------

function dispatch(msg) {
  switch (msg.t) {
    case "call":
      startCall(msg).catch((error) => internalError(msg.id, error));
      break;
    case "ret":
      onRet(msg);
      break;
    case "load":
      versions.set(msg.v, new Version(msg));
      break;
    case "unload": {
      const version = versions.get(msg.v);
      if (version !== undefined) {
        versions.delete(msg.v);
        const idle = Object.values(version.idle).reduce((n, realms) => n + realms.length, 0);
        noteDiscarded(idle + version.shared.size);
        maybeRetire();
      }
      break;
    }
    case "analyze":
      analyze(msg);
      break;
    case "cancel":
      cancelCall(msg);
      break;
    case "ping":
      send(`{"t":"pong","id":${Number(msg.id)}}`);
      break;
    default:
      process.stderr.write(`bayou worker: unknown message type ${JSON.stringify(msg.t)}\n`);
  }
}

function internalError(id, error) {
  process.stderr.write(`bayou worker: internal error in call ${id}: ${error?.stack ?? error}\n`);
  const call = calls.get(id);
  if (call !== undefined && !call.finished) {
    call.failWith(`Uncaught Error: internal error in Bayou's JS runtime: ${error?.message ?? error}`);
    finish(call, false);
  }
}

let pending = [];
process.stdin.on("data", (chunk) => {
  let start = 0;
  let newline = chunk.indexOf(10);
  while (newline !== -1) {
    pending.push(chunk.subarray(start, newline));
    const line = pending.length === 1 ? pending[0] : Buffer.concat(pending);
    pending = [];
    if (line.length > 0) {
      let msg;
      try {
        msg = JSON.parse(line.toString("utf8"));
      } catch (error) {
        process.stderr.write(`bayou worker: bad message: ${error.message}\n`);
        msg = null;
      }
      if (msg !== null) dispatch(msg);
    }
    start = newline + 1;
    newline = chunk.indexOf(10, start);
  }
  if (start < chunk.length) pending.push(chunk.subarray(start));
});
process.stdin.on("end", () => process.exit(0));

// User code must never take the worker down: a rejection nobody handles, or an exception
// thrown from a callback of a host API, is the problem of the call it belongs to. A "use
// node" action fails with it at once, as on Convex; elsewhere it is only logged.
function onProcessEvent(event, error) {
  const call = currentActionCall();
  if (call !== null && !call.finished && call.realm?.kind === "node") {
    call.failProcessEvent(event, error);
    return;
  }
  if (event === "uncaughtException") {
    process.stderr.write(`bayou worker: uncaught exception: ${error?.stack ?? error}\n`);
  }
}
process.on("unhandledRejection", (reason) => onProcessEvent("unhandledRejection", reason));
process.on("uncaughtException", (error) => onProcessEvent("uncaughtException", error));

send(JSON.stringify({ t: "ready", pid: process.pid, node: process.version }));
