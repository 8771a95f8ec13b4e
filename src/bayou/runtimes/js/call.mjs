// One function call inside the worker: its syscalls, its log lines, its outcome.
//
// Synchronous syscalls are answered here: `1.0/queryStream` (a local query id; the query
// travels to Python with the first `1.0/queryStreamNext`), `1.0/queryCleanup` (forwarded
// to Python without waiting, only for queries Python has seen), `1.0/db/normalizeId` (the
// id codec and the call's table numbers), `1.0/getSnapshotTs`, `1.0/componentArgument`.
// Asynchronous ones are queued in `outbox` as JSON text spliced around the arguments
// string the `convex` library already produced, and leave in one `sys` message per batch.

import { normalizeId } from "./ids.mjs";
import { inspect } from "./inspect.mjs";
import { formatFrame, headerOf } from "./stack.mjs";
import { STORAGE_JS_SYSCALLS, storageJsSyscall } from "./storage.mjs";
import { inspect as nodeInspect, types } from "node:util";

export const MAX_LOG_LINES = 256;
// The `convex` library ignores the results of these (db.patch, db.replace, db.delete).
const DEFERRABLE_WRITES = new Set(["1.0/shallowMerge", "1.0/replace", "1.0/remove"]);
const MAX_PREFETCH = 128;

/** The most results a query can yield (the smallest of its limits), or null. */
function limitOf(query) {
  let least = null;
  for (const operator of query?.operators ?? []) {
    if (operator !== null && typeof operator === "object" && "limit" in operator) {
      const n = Math.max(0, Math.floor(Number(operator.limit)));
      if (Number.isFinite(n) && (least === null || n < least)) least = n;
    }
  }
  return least;
}

/** The next queryStreamNext answer (JSON text) of a stream's prefetched results. */
function nextOf(stream) {
  if (stream.buffer.length === 0) return `{"value":null,"done":true}`;
  stream.left -= 1;
  return `{"value":${JSON.stringify(stream.buffer.shift())},"done":false}`;
}
export const MAX_LOG_LINE_LENGTH = 32768;
const utf8 = new TextEncoder();

/** Seconds the way Rust's Duration Debug prints them: 1s, 1.5s, 600s. */
export function formatDuration(ms) {
  return `${Number((ms / 1000).toFixed(6))}s`;
}

/** A byte count as Convex's messages write it: `512 B`, `1.5 KiB`, `16 MiB`. */
export function formatSize(bytes) {
  for (const [unit, scale] of [["MiB", 2 ** 20], ["KiB", 2 ** 10]]) {
    if (bytes >= scale) return `${Number((bytes / scale).toFixed(2))} ${unit}`;
  }
  return `${bytes} B`;
}

export function timeoutMessage(limitMs) {
  return `Function execution timed out (maximum duration: ${formatDuration(limitMs)})`;
}

export class Call {
  constructor(msg, version) {
    this.id = msg.id;
    this.kind = msg.kind; // "query" | "mutation" | "action"
    this.version = version;
    this.modulePath = msg.path;
    this.exportName = msg.name;
    this.args = msg.args;
    this.env = msg.env ?? {};
    this.seed = msg.seed ?? 0;
    this.now = msg.now ?? 0;
    this.tables = msg.tables ?? {};
    this.requestId = msg.rid ?? "";
    this.limitMs = msg.limit;
    this.snapshotTs = msg.snap ?? null;
    // Mutations: writes whose result user code cannot use resolve at once and travel with
    // the next batch under a negative id (the host answers them only by failing the attempt,
    // which it then re-runs with this off: see worker.py `_answer_batches`).
    this.deferWrites = msg.dw === 1;
    this.nextDeferredSid = -1;
    // A mutation's [op, args, result] of reads the host made ahead in this attempt's
    // transaction, answered here while the function asks exactly these, in this
    // order, before anything else (worker.py; transaction_syscalls.py `answer_ahead`).
    this.readAhead = Array.isArray(msg.pre) && msg.pre.length > 0 ? msg.pre : null;
    this.readAheadAt = 0;
    this.realm = null;
    this.used = 0; // ms of JS time (udf realms)
    this.outbox = [];
    this.pending = new Map();
    this.nextSid = 1;
    this.queries = new Map();
    this.nextQueryId = 1;
    this.logs = [];
    this.consoleTimers = new Map();
    this.timers = new Map(); // setTimeout/setInterval handles of an action, cleared at the end
    this.outcome = null; // {ok: true, value} | {ok: false, message, data}
    this.finished = false;
    this.waitingModule = null;
    this.onOutbox = null; // set by the worker: how a non-empty outbox gets flushed
  }

  // --- syscalls ---------------------------------------------------------------------

  syscall(op, argsJson) {
    switch (op) {
      case "1.0/queryStream": {
        const { query, version } = JSON.parse(argsJson);
        const queryId = this.nextQueryId++;
        this.queries.set(queryId, {
          query,
          version: version ?? null,
          forwarded: false,
          // A query with a limit (first(), unique(), take(n)) can yield at most `left`
          // more results: they come in one round trip and are handed out from `buffer`.
          left: limitOf(query),
          buffer: [],
          exhausted: false,
        });
        return `{"queryId":${queryId}}`;
      }
      case "1.0/queryCleanup": {
        const { queryId } = JSON.parse(argsJson);
        const stream = this.queries.get(queryId);
        if (stream === undefined) return "false";
        this.queries.delete(queryId);
        if (stream.forwarded) this.post(0, op, `{"queryId":${queryId}}`);
        return "true";
      }
      case "1.0/db/normalizeId": {
        const { table, idString } = JSON.parse(argsJson);
        return JSON.stringify(normalizeId(table, idString, this.tables));
      }
      case "1.0/getSnapshotTs":
        if (this.snapshotTs === null) throw this.realm.api.makeError("getSnapshotTs() is not available here");
        return JSON.stringify(this.snapshotTs);
      case "1.0/componentArgument":
        return "{}";
      default:
        throw this.realm.api.makeError(`Unknown operation ${op}`);
    }
  }

  asyncSyscall(op, argsJson) {
    const deferred = this.realm.api.deferred();
    if (this.finished) {
      deferred.reject(this.realm.api.makeError("This function call has already finished"));
      return deferred.promise;
    }
    let args = argsJson;
    let answer = deferred;
    if (op === "1.0/queryStreamNext") {
      const { queryId } = JSON.parse(argsJson);
      const stream = this.queries.get(queryId);
      if (stream === undefined) {
        deferred.reject(this.realm.api.makeError(`Query ${queryId} not found`));
        return deferred.promise;
      }
      if (stream.buffer.length > 0 || stream.exhausted || stream.left === 0) {
        deferred.resolve(nextOf(stream));
        return deferred.promise;
      }
      const head = `{"queryId":${queryId}`;
      const query = stream.forwarded ? "" : `,"query":${JSON.stringify(stream.query)},"version":${JSON.stringify(stream.version)}`;
      stream.forwarded = true;
      if (stream.left !== null) {
        // The results the limit still allows, at once (the host reads no further than
        // queryStreamNext would: the limit stops the stream there).
        op = "bayou/queryStreamBatch";
        args = `${head}${query},"max":${Math.min(stream.left, MAX_PREFETCH)}}`;
        answer = {
          resolve: (text) => {
            const { values, done } = JSON.parse(text);
            stream.buffer = values;
            stream.exhausted = done;
            deferred.resolve(nextOf(stream));
          },
          reject: (error) => deferred.reject(error),
        };
      } else if (query !== "") {
        args = `${head}${query}}`;
      }
    }
    if (this.readAhead !== null) {
      const ahead = this.readAhead[this.readAheadAt];
      if (ahead !== undefined && ahead[0] === op && JSON.stringify(ahead[1]) === args) {
        this.readAheadAt += 1;
        answer.resolve(JSON.stringify(ahead[2]));
        return deferred.promise;
      }
      this.readAhead = null; // anything else, a write included, ends the run of reads
    }
    if (this.deferWrites && DEFERRABLE_WRITES.has(op)) {
      this.post(this.nextDeferredSid--, op, args);
      deferred.resolve("null");
      return deferred.promise;
    }
    const sid = this.nextSid++;
    this.pending.set(sid, answer);
    this.post(sid, op, args);
    return deferred.promise;
  }

  jsSyscall(op, args) {
    if (STORAGE_JS_SYSCALLS.has(op)) return storageJsSyscall(this, op, args);
    throw this.realm.api.makeError(`Unknown JS syscall ${op}`);
  }

  post(sid, op, argsJson) {
    this.outbox.push(`[${sid},${JSON.stringify(op)},${argsJson}]`);
    if (this.outbox.length === 1 && this.onOutbox !== null) this.onOutbox(this);
  }

  /** Settle pending syscalls with the results of one `ret` message. */
  settle(results) {
    const api = this.realm.api;
    for (const [sid, ok, payload] of results) {
      const deferred = this.pending.get(sid);
      if (deferred === undefined) continue;
      this.pending.delete(sid);
      if (ok) {
        deferred.resolve(JSON.stringify(payload));
      } else {
        const error = api.makeError(payload.message);
        if (payload.data !== undefined && payload.data !== null) error.data = JSON.parse(payload.data);
        deferred.reject(error);
      }
    }
  }

  // --- logs -------------------------------------------------------------------------

  addLog(level, messages) {
    if (this.logs.length >= MAX_LOG_LINES) return;
    if (this.logs.length === MAX_LOG_LINES - 1) {
      this.logs.push(logLine("ERROR", [`Log overflow (maximum ${MAX_LOG_LINES}). Remaining log lines omitted.`]));
      return;
    }
    this.logs.push(logLine(level, messages));
  }

  /**
   * console.time / timeLog / timeEnd. The texts are Convex's; in "use node" actions every
   * part goes through Node's util.inspect, so there even the timing is quoted
   * (`'label: 12ms'`), as Convex's Node executor logs it.
   */
  consoleTime(label, what, extra) {
    const now = Date.now();
    const node = this.realm?.kind === "node";
    const say = (level, text) => this.addLog(level, [node ? nodeInspect(text) : text, ...(what === "log" && level === "INFO" ? extra : [])]);
    if (what === "start") {
      if (this.consoleTimers.has(label)) say("WARN", `Timer '${label}' already exists`);
      else this.consoleTimers.set(label, now);
      return;
    }
    const start = this.consoleTimers.get(label);
    if (start === undefined) {
      say("WARN", `Timer '${label}' does not exist`);
      return;
    }
    if (what === "end") this.consoleTimers.delete(label);
    say("INFO", `${label}: ${now - start}ms`);
  }

  // --- outcome ----------------------------------------------------------------------

  succeed(value) {
    if (this.outcome === null) this.outcome = { ok: true, value };
  }

  failWith(message, data = null) {
    if (this.outcome === null) this.outcome = { ok: false, message, data };
  }

  fail(error) {
    if (this.outcome !== null) return;
    const { message, data } = describeError(this.version, error);
    this.failWith(message, data);
  }

  /** An exception escaped a timer callback: the call fails with it. */
  failUncaught(error) {
    this.fail(error);
    this.onUncaught?.(this);
  }

  /**
   * Node reported `event` ("uncaughtException", "unhandledRejection") for code of this
   * call: it fails at once, worded as Convex's Node executor reports it
   * ("Uncaught uncaughtException: Yikes" and the user's frames).
   */
  failProcessEvent(event, error) {
    if (this.outcome !== null) return;
    let text;
    try {
      text = types.isNativeError(error) || typeof error?.message === "string" ? String(error.message) : String(error);
    } catch {
      text = "(an error that cannot be shown)";
    }
    const frames = this.version.stacks.framesOf(error);
    let message = `Uncaught ${event}: ${text}`;
    if (frames.length > 0) message += "\n" + frames.map(formatFrame).join("\n");
    this.failWith(message);
    this.onUncaught?.(this);
  }
}

function logLine(level, messages) {
  let total = -1;
  for (const m of messages) total += utf8.encode(m).length + 1;
  if (total <= MAX_LOG_LINE_LENGTH) {
    return { level, messages, timestamp: Date.now(), isTruncated: false };
  }
  const kept = [];
  let used = 0;
  for (const message of messages) {
    const bytes = utf8.encode(message);
    const room = MAX_LOG_LINE_LENGTH - used;
    if (bytes.length <= room) {
      used += bytes.length + 1;
      kept.push(message);
    } else {
      kept.push(truncateUtf8(message, room));
      break;
    }
  }
  return { level, messages: kept, timestamp: Date.now(), isTruncated: true };
}

function truncateUtf8(text, maxBytes) {
  let bytes = 0;
  let end = 0;
  for (const ch of text) {
    const size = utf8.encode(ch).length;
    if (bytes + size > maxBytes) break;
    bytes += size;
    end += ch.length;
  }
  return text.slice(0, end);
}

function isConvexError(error) {
  try {
    const symbol = error.ConvexErrorSymbol;
    return typeof symbol === "symbol" && error[symbol] === true;
  } catch {
    return false;
  }
}

/** `{message, data}` of a thrown value, as Convex reports it: "Uncaught Error: …" + frames. */
export function describeError(version, error) {
  if (error === null || (typeof error !== "object" && typeof error !== "function")) {
    return { message: `Uncaught ${String(error)}`, data: null };
  }
  if (!types.isNativeError(error) && typeof error.message !== "string") {
    return { message: `Uncaught ${inspect(error)}`, data: null };
  }
  const frames = version.stacks.framesOf(error);
  let message = `Uncaught ${headerOf(error)}`;
  if (frames.length > 0) message += "\n" + frames.map(formatFrame).join("\n");
  let data = null;
  if (isConvexError(error)) {
    const raw = error.data;
    data = typeof raw === "string" ? raw : JSON.stringify(raw ?? null);
  }
  return { message, data };
}

