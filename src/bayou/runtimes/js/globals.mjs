// The globals of a function's context: what Convex's runtime (udf-runtime) gives user code,
// built from Node's own implementations.
//
// `contextSetup` runs inside each new context (compiled once, from its source text), so it
// must not close over anything of this module: everything it needs from the worker comes
// in `host` (realm.mjs builds it). It installs Web APIs, realm-independent `instanceof` for
// the types Node's APIs return, the seeded Math.random and frozen Date of queries and
// mutations (which may not fetch or set timers), process.env, console, and `Convex`.

import { webcrypto } from "node:crypto";
import { types } from "node:util";
import vm from "node:vm";

const WEB_GLOBALS = [
  "URL", "URLSearchParams", "TextEncoder", "TextDecoder", "TextEncoderStream", "TextDecoderStream",
  "atob", "btoa", "structuredClone", "Blob", "File", "FormData", "Headers", "Request", "Response",
  "ReadableStream", "ReadableStreamDefaultReader", "ReadableStreamBYOBReader",
  "ReadableStreamDefaultController", "ReadableByteStreamController", "WritableStream",
  "WritableStreamDefaultWriter", "TransformStream", "ByteLengthQueuingStrategy",
  "CountQueuingStrategy", "CompressionStream", "DecompressionStream", "AbortController",
  "AbortSignal", "Event", "EventTarget", "DOMException", "MessageChannel", "MessagePort",
  "Crypto", "CryptoKey", "SubtleCrypto",
];
const NODE_GLOBALS = [
  "Buffer", "setImmediate", "clearImmediate", "queueMicrotask", "fetch", "performance",
  "BroadcastChannel", "WebSocket", "navigator",
];

function hostGlobals(names) {
  const out = {};
  for (const name of names) {
    if (globalThis[name] !== undefined) out[name] = globalThis[name];
  }
  return out;
}

export const ISOLATE_GLOBALS = hostGlobals(WEB_GLOBALS);
export const NODE_ONLY_GLOBALS = hostGlobals(NODE_GLOBALS);

/**
 * Freeze every host object a query, mutation or isolate action can reach: the Web API
 * globals handed to realms, what their prototypes and properties lead to, and the
 * prototypes of the objects they return (iterators). The worker runs with
 * `--frozen-intrinsics` (Object.prototype, Array.prototype, Promise … frozen) and
 * `--disallow-code-generation-from-strings` (the host's Function and eval refuse
 * strings), so a host object reached through `constructor` chains yields neither code
 * nor a prototype to poison. Once per process, before the first realm.
 */
export function hardenHost() {
  const roots = [
    ...Object.values(ISOLATE_GLOBALS),
    webcrypto,
    webcrypto.subtle,
    globalThis.performance,
    Object.getPrototypeOf(new URLSearchParams().entries()),
    Object.getPrototypeOf(new Headers().entries()),
    Object.getPrototypeOf(new FormData().entries()),
  ];
  const never = new Set([globalThis, process]); // the host's own, never handed out
  const seen = new Set();
  const pending = [...roots];
  while (pending.length > 0) {
    const value = pending.pop();
    if ((typeof value !== "object" && typeof value !== "function") || value === null) continue;
    if (seen.has(value) || never.has(value)) continue;
    seen.add(value);
    try {
      Object.freeze(value);
    } catch {
      // A typed array with elements cannot be frozen; nothing reachable holds one.
    }
    pending.push(Object.getPrototypeOf(value));
    for (const key of Reflect.ownKeys(value)) {
      const property = Reflect.getOwnPropertyDescriptor(value, key);
      if (property === undefined) continue;
      if ("value" in property) pending.push(property.value);
      else pending.push(property.get, property.set);
    }
  }
  return seen.size;
}

export const TYPE_TESTS = {
  ArrayBuffer: types.isArrayBuffer,
  SharedArrayBuffer: types.isSharedArrayBuffer,
  DataView: types.isDataView,
  Uint8Array: types.isUint8Array,
  Uint8ClampedArray: types.isUint8ClampedArray,
  Uint16Array: types.isUint16Array,
  Uint32Array: types.isUint32Array,
  Int8Array: types.isInt8Array,
  Int16Array: types.isInt16Array,
  Int32Array: types.isInt32Array,
  Float32Array: types.isFloat32Array,
  Float64Array: types.isFloat64Array,
  BigInt64Array: types.isBigInt64Array,
  BigUint64Array: types.isBigUint64Array,
  Promise: types.isPromise,
  Map: types.isMap,
  Set: types.isSet,
  RegExp: types.isRegExp,
  Array: Array.isArray,
  Error: types.isNativeError,
};

export const QM_ONLY_MESSAGE = (what) =>
  `Can't use ${what} in queries and mutations. Please consider using an action. ` +
  "See https://docs.convex.dev/functions/actions for more details.";

function contextSetup(host, kind, webGlobals) {
  "use strict";
  const g = globalThis;
  const hidden = (target, name, value) =>
    Object.defineProperty(target, name, { value, writable: true, configurable: true, enumerable: false });
  for (const name of Object.keys(webGlobals)) hidden(g, name, webGlobals[name]);
  hidden(g, "self", g);

  // Objects made by Node's Web APIs belong to the host realm; `instanceof` with this realm's
  // constructors (as `convexToJson` does for ArrayBuffer) must still recognise them.
  const ordinary = Function.prototype[Symbol.hasInstance];
  for (const name of Object.keys(host.typeTests)) {
    const ctor = g[name];
    const test = host.typeTests[name];
    if (typeof ctor !== "function") continue;
    Object.defineProperty(ctor, Symbol.hasInstance, {
      value: function (v) {
        if (this !== ctor) return ordinary.call(this, v);
        return ordinary.call(ctor, v) || test(v);
      },
      configurable: true,
    });
  }

  Error.prepareStackTrace = (error, sites) => host.prepareStackTrace(error, sites);
  hidden(Math, "random", () => host.random());

  if (kind === "udf") {
    const OriginalDate = Date;
    const FrozenDate = function Date(...args) {
      if (!new.target) return new OriginalDate(host.now()).toString();
      if (args.length === 0) return Reflect.construct(OriginalDate, [host.now()], new.target);
      return Reflect.construct(OriginalDate, args, new.target);
    };
    FrozenDate.now = () => host.now();
    FrozenDate.parse = OriginalDate.parse;
    FrozenDate.UTC = OriginalDate.UTC;
    FrozenDate.prototype = OriginalDate.prototype;
    hidden(OriginalDate.prototype, "constructor", FrozenDate);
    Object.defineProperty(FrozenDate, Symbol.hasInstance, {
      value: (v) => host.typeTests.Date(v),
      configurable: true,
    });
    hidden(g, "Date", FrozenDate);
    const notHere = (what) => () => {
      throw new Error(host.qmOnly(what));
    };
    hidden(g, "fetch", notHere("fetch()"));
    hidden(g, "setTimeout", notHere("setTimeout"));
    hidden(g, "setInterval", notHere("setInterval"));
    hidden(g, "clearTimeout", () => {});
    hidden(g, "clearInterval", () => {});
    hidden(g, "crypto", {
      getRandomValues: (array) => host.getRandomValues(array),
      randomUUID: () => host.randomUUID(),
      subtle: host.subtle,
    });
    hidden(g, "performance", { now: () => 0, timeOrigin: 0 });
    hidden(g, "WeakRef", class WeakRef {
      #target;
      constructor(target) {
        this.#target = target;
      }
      deref() {
        return this.#target;
      }
    });
    hidden(g, "FinalizationRegistry", class FinalizationRegistry {
      register() {}
      unregister() {
        return false;
      }
    });
  } else {
    hidden(g, "setTimeout", (fn, ms, ...args) => host.setTimer(fn, ms, args, false));
    hidden(g, "setInterval", (fn, ms, ...args) => host.setTimer(fn, ms, args, true));
    hidden(g, "clearTimeout", (id) => host.clearTimer(id));
    hidden(g, "clearInterval", (id) => host.clearTimer(id));
    hidden(g, "fetch", (...args) => host.fetch(...args));
    hidden(g, "crypto", host.webcrypto);
    if (!("performance" in webGlobals)) hidden(g, "performance", host.performance);
  }
  if (!("queueMicrotask" in webGlobals)) {
    hidden(g, "queueMicrotask", (fn) => {
      Promise.resolve().then(() => fn());
    });
  }

  const env = new Proxy({}, {
    get: (_t, name) => (typeof name === "string" ? host.envGet(name) : undefined),
    set: (_t, name, value) => host.envSet(name, value),
    has: (_t, name) => typeof name === "string" && host.envHas(name),
    deleteProperty: (_t, name) => host.envSet(name, undefined),
    ownKeys: () => host.envKeys(),
    getOwnPropertyDescriptor: (_t, name) => {
      if (typeof name !== "string" || !host.envHas(name)) return undefined;
      return { value: host.envGet(name), writable: true, enumerable: true, configurable: true };
    },
  });
  if (kind === "node") {
    hidden(g, "global", g);
    hidden(g, "process", new Proxy(host.process, {
      get: (target, name) => (name === "env" ? env : Reflect.get(target, name)),
    }));
    hidden(g, "require", host.require);
    // Bundled CommonJS packages read these (e.g. to locate data files next to themselves).
    hidden(g, "__dirname", host.dirname);
    hidden(g, "__filename", host.filename);
  } else {
    hidden(g, "process", { env });
  }

  const consoleImpl = Object.create({});
  for (const [method, level] of [["debug", "DEBUG"], ["error", "ERROR"], ["info", "INFO"], ["log", "LOG"], ["warn", "WARN"]]) {
    consoleImpl[method] = (...args) => host.log(level, args);
  }
  consoleImpl.trace = (...args) => host.trace(args, new Error());
  consoleImpl.time = (label) => host.time(label, "start", []);
  consoleImpl.timeLog = (label, ...args) => host.time(label, "log", args);
  consoleImpl.timeEnd = (label) => host.time(label, "end", []);
  if (kind === "node") {
    consoleImpl.dir = (value) => host.log("LOG", [value]);
    consoleImpl.table = (value) => host.log("LOG", [value]);
    consoleImpl.assert = (ok, ...args) => ok || host.log("ERROR", ["Assertion failed", ...args]);
  }
  hidden(g, "console", consoleImpl);

  hidden(g, "Convex", {
    syscall: (op, args) => host.syscall(op, args),
    asyncSyscall: (op, args) => host.asyncSyscall(op, args),
    jsSyscall: (op, args) => host.jsSyscall(op, args),
  });
  hidden(g, Symbol.for("bayou.pump"), () => host.pump());

  return {
    // Reactions created here (in this realm) run inside the pump that settles `promise`.
    then: (promise, onValue, onError) => {
      Promise.resolve(promise).then((v) => onValue(v), (e) => onError(e));
    },
    deferred: () => {
      let resolve;
      let reject;
      const promise = new Promise((a, b) => {
        resolve = a;
        reject = b;
      });
      return { promise, resolve, reject };
    },
    makeError: (message) => new Error(message),
  };
}

export const SETUP = new vm.Script(`(${contextSetup.toString()})`, { filename: "bayou:setup" });
