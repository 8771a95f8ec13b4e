// A realm: one `vm` context holding one version's pushed modules, as a Convex function sees
// the world. Its globals (globals.mjs) are what Convex's runtime gives user code:
//
//   Convex {syscall, asyncSyscall, jsSyscall}   routed to the call the realm is running
//   console.*                                   captured as log lines
//   process.env                                 a proxy over the call's environment variables
//   Web APIs (URL, TextEncoder, Request, crypto.subtle, streams, …) from Node
//
// Kinds:
//   "udf"     queries and mutations: Date frozen and Math.random/crypto seeded per call, no
//             fetch and no timers; microtaskMode "afterEvaluate", so user code only ever runs
//             inside `realm.pump()` and its JS time can be measured exactly;
//   "action"  isolate actions: real time, randomness, fetch and timers;
//   "node"    `"use node"` actions: Node's globals, `require` and `node:*` builtins.
//
// Modules are vm.SourceTextModules linked within the realm (relative imports between
// pushed modules and `_deps/` chunks). A realm evaluates the modules it needs once and
// serves call after call (see worker.mjs for why). Per-call state lives in a *scope*
// ({call, env, logTarget}): for "udf" realms, which run one call at a time, the realm's own
// fields, rebound per call (`bind`); action realms run many calls at once, so their scope
// is an AsyncLocalStorage store that follows each call through promises and timers — and
// a stray continuation of a finished action still carries its own, finished call.

import { AsyncLocalStorage } from "node:async_hooks";
import { tmpdir } from "node:os";
import path from "node:path";
import { createRequire, isBuiltin } from "node:module";
import { webcrypto } from "node:crypto";
import { types } from "node:util";
import vm from "node:vm";

import { ISOLATE_GLOBALS, NODE_ONLY_GLOBALS, QM_ONLY_MESSAGE, SETUP, TYPE_TESTS } from "./globals.mjs";
import { inspect } from "./inspect.mjs";
import { fillFrom, floatFrom, makeWords, uuidFrom } from "./random.mjs";
import { MODULE_SCHEME, formatFrame } from "./stack.mjs";

const hostRequire = createRequire(import.meta.url);
const PUMP = new vm.Script('globalThis[Symbol.for("bayou.pump")]()', { filename: "bayou:pump" });

const IMPORT_DB_OPS = new Set(["count", "get", "insert", "update", "replace", "queryStreamNext", "queryPage", "remove", "shallowMerge", "queryStream"]);

/** The error a syscall made at import time gets (no request exists yet). */
export function importPhaseError(op) {
  const short = op.replace(/^1\.0\//, "");
  if (IMPORT_DB_OPS.has(short)) return "Can't use database at import time";
  return `Syscall ${op} unsupported at import time`;
}

let nextRealmId = 1;

/** The scope of action calls (created on first use: it turns on promise hooks). */
let actionScopes = null;
const NO_SCOPE = Object.freeze({ call: null, env: Object.freeze({}), logTarget: null });

/** Run `fn` with `scope` ({call, env, logTarget}) as the current action scope. */
export function inActionScope(scope, fn) {
  actionScopes ??= new AsyncLocalStorage();
  return actionScopes.run(scope, fn);
}

/** The action call whose code (or callback of a host API) is running now, or null. */
export function currentActionCall() {
  return actionScopes?.getStore()?.call ?? null;
}

export class Realm {
  /**
   * @param version   the worker's Version (modules, source maps, code caches)
   * @param kind      "udf" | "action" | "node"
   */
  constructor(version, kind) {
    this.id = nextRealmId++;
    this.version = version;
    this.kind = kind;
    this.modules = new Map();
    this.builtins = new Map();
    this.tasks = [];
    this.linkChain = Promise.resolve();
    this.nextTimer = 1;
    this.call = null; // the call whose syscalls this realm serves (null: import phase)
    this.logTarget = null; // where console lines go (a call, or an import-phase collector)
    this.words = makeWords(version.importSeed);
    this.frozenNow = version.importNow;
    this.env = {};
    this.uses = 0;
    this.broken = false;
    this.authConfig = false; // evaluating auth.config for a push: unset variables throw
    this.context = vm.createContext({}, {
      name: `bayou ${kind} ${version.id}`,
      microtaskMode: kind === "udf" ? "afterEvaluate" : undefined,
    });
    const webGlobals = kind === "node" ? { ...ISOLATE_GLOBALS, ...NODE_ONLY_GLOBALS } : ISOLATE_GLOBALS;
    this.api = SETUP.runInContext(this.context)(this.hostHooks(), kind, webGlobals);
  }

  hostHooks() {
    // Node's own objects (process, require) reach "use node" realms only, which run on
    // workers of their own (worker.mjs): elsewhere nothing of the host's is handed in but
    // the hardened Web APIs (globals.mjs).
    const node = this.kind === "node";
    return {
      typeTests: { ...TYPE_TESTS, Date: types.isDate },
      qmOnly: QM_ONLY_MESSAGE,
      subtle: webcrypto.subtle,
      webcrypto,
      performance: globalThis.performance,
      process: node ? process : null,
      require: node ? (name) => this.requireBuiltin(name) : null,
      dirname: path.join(tmpdir(), "bayou-node", String(this.version.id)),
      filename: path.join(tmpdir(), "bayou-node", String(this.version.id), "bundle.js"),
      now: () => this.frozenNow,
      random: () => (this.kind === "udf" ? floatFrom(this.words) : Math.random()),
      getRandomValues: (array) => {
        if (!ArrayBuffer.isView(array) || types.isFloat32Array(array) || types.isFloat64Array(array) || types.isDataView(array)) {
          throw new TypeError("crypto.getRandomValues: argument must be an integer typed array");
        }
        if (array.byteLength > 65536) throw new RangeError("crypto.getRandomValues: at most 65536 bytes");
        return fillFrom(this.words, array);
      },
      randomUUID: () => uuidFrom(this.words),
      envGet: (name) => {
        const env = this.scope().env;
        if (Object.hasOwn(env, name)) return env[name];
        if (this.authConfig) {
          // Convex evaluates auth.config with the deployment's variables and refuses
          // one that is not set (the CLI recognises this error and says how to set it).
          throw this.api.makeError(`Environment variable ${name} is used in auth config file but its value was not set`);
        }
        return undefined;
      },
      envHas: (name) => Object.hasOwn(this.scope().env, name),
      envKeys: () => Object.keys(this.scope().env),
      // Writes change the calling function's own copy (Node and Convex allow them: the
      // `debug` package deletes DEBUG on load); outside any call they go nowhere.
      envSet: (name, value) => {
        const env = this.scope().env;
        if (typeof name !== "string" || Object.isFrozen(env)) return true;
        if (value === undefined) delete env[name];
        else env[name] = String(value);
        return true;
      },
      log: (level, args) => this.log(level, args.map(inspect)),
      trace: (args, error) => {
        const frames = this.version.stacks.framesOf(error).slice(1);
        const text = "\n" + frames.map((f) => formatFrame(f) + "\n").join("");
        this.log("LOG", [...args.map(inspect), text]);
      },
      time: (label, what, args) =>
        this.scope().logTarget?.consoleTime?.(label === undefined ? "default" : String(label), what, args.map(inspect)),
      prepareStackTrace: (error, sites) => this.version.stacks.prepare(error, sites, this.kind === "node"),
      syscall: (op, args) => this.target(op).syscall(op, args),
      asyncSyscall: (op, args) => this.target(op).asyncSyscall(op, args),
      jsSyscall: (op, args) => this.target(op).jsSyscall(op, args),
      pump: () => this.runTasks(),
      setTimer: (fn, ms, args, repeat) => this.setTimer(fn, ms, args, repeat),
      clearTimer: (id) => this.clearTimer(id),
      fetch: (...args) => {
        if (this.scope().call === null) throw this.api.makeError("fetch() unsupported at import time");
        return fetch(...args);
      },
    };
  }

  /** The per-call state code running now belongs to. */
  scope() {
    if (this.kind === "udf") return this;
    return actionScopes?.getStore() ?? NO_SCOPE;
  }

  target(op) {
    const call = this.scope().call;
    if (call === null) throw this.api.makeError(importPhaseError(op));
    return call;
  }

  log(level, messages) {
    this.scope().logTarget?.addLog(level, messages);
  }

  // --- per-call state ---------------------------------------------------------------

  /** Point the realm at `call` (or at nothing between calls). */
  bind(call) {
    this.call = call;
    this.logTarget = call;
    if (call === null) {
      this.env = {};
      return;
    }
    this.env = call.env;
    if (this.kind === "udf") {
      this.words = makeWords(call.seed);
      this.frozenNow = call.now;
    }
  }

  /** Enter import phase (module top level): import seed and time, `env`, no syscalls. */
  enterImportPhase(logTarget, env) {
    this.call = null;
    this.logTarget = logTarget;
    this.env = env ?? {};
    if (this.kind === "udf") {
      this.words = makeWords(this.version.importSeed);
      this.frozenNow = this.version.importNow;
    }
  }

  // --- running code -----------------------------------------------------------------

  /**
   * Run `task` with this realm's code on the stack. For "udf" realms this is the only way
   * user code runs: the task and every microtask it triggers finish before `pump` returns.
   */
  pump(task) {
    if (this.kind !== "udf") {
      task();
      return;
    }
    this.tasks.push(task);
    PUMP.runInContext(this.context);
  }

  runTasks() {
    while (this.tasks.length > 0) this.tasks.shift()();
  }

  setTimer(fn, ms, args, repeat) {
    const call = this.scope().call;
    if (call === null) throw this.api.makeError(`${repeat ? "setInterval" : "setTimeout"} unsupported at import time`);
    const id = this.nextTimer++;
    const fire = () => {
      if (!repeat) call.timers.delete(id);
      if (typeof fn !== "function" || call.finished) return;
      try {
        fn(...args);
      } catch (error) {
        call.failUncaught(error);
      }
    };
    const delay = Math.max(0, Number(ms) || 0);
    call.timers.set(id, repeat ? setInterval(fire, delay) : setTimeout(fire, delay));
    return id;
  }

  clearTimer(id) {
    const call = this.scope().call;
    const handle = call?.timers.get(id);
    if (handle !== undefined) {
      clearTimeout(handle);
      call.timers.delete(id);
    }
  }

  // --- modules ----------------------------------------------------------------------

  moduleFor(modulePath) {
    let module = this.modules.get(modulePath);
    if (module !== undefined) return module;
    const entry = this.version.modules.get(modulePath);
    if (entry === undefined) throw new Error(`Couldn't find JavaScript module '${modulePath}'`);
    module = new vm.SourceTextModule(entry.source, {
      identifier: MODULE_SCHEME + modulePath,
      context: this.context,
      cachedData: entry.cachedData ?? undefined,
      initializeImportMeta: (meta) => {
        meta.url = MODULE_SCHEME + modulePath;
      },
      importModuleDynamically: (specifier, referrer) => this.importDynamically(specifier, referrer),
    });
    if (entry.cachedData === null) {
      // V8 serializes a module's code only before it runs: keep it now, so the version's
      // next realms (fresh contexts, new environments, actions) skip compiling (~4 ms).
      try {
        entry.cachedData = module.createCachedData();
      } catch {
        entry.cachedData = undefined;
      }
    }
    this.modules.set(modulePath, module);
    return module;
  }

  resolve(specifier, referencing) {
    const from = referencing.identifier.slice(MODULE_SCHEME.length);
    if (specifier.startsWith("./") || specifier.startsWith("../") || specifier.startsWith("/")) {
      const target = specifier.startsWith("/")
        ? specifier.slice(1)
        : path.posix.normalize(path.posix.join(path.posix.dirname(from), specifier));
      if (!this.version.modules.has(target)) {
        throw new Error(`Couldn't find JavaScript module '${target}' imported by '${from}'`);
      }
      return this.moduleFor(target);
    }
    if (this.kind === "node" && isBuiltin(specifier)) return this.builtinModule(specifier);
    if (this.kind === "node") {
      throw new Error(
        `'${from}' imports the package '${specifier}', an external dependency of a "use node" ` +
          "module (nodeDependencies): Bayou does not install external packages yet. Bundle it " +
          "instead (remove it from `node.externalPackages` in convex.json).",
      );
    }
    throw new Error(
      `'${from}' imports '${specifier}': modules in the Convex runtime can only import other ` +
        'pushed modules. Add "use node" at the top of the file to use Node.js packages.',
    );
  }

  builtinModule(specifier) {
    if (this.kind !== "node") throw new Error(`Node.js modules are for "use node" modules only: ${specifier}`);
    let module = this.builtins.get(specifier);
    if (module !== undefined) return module;
    const exports = hostRequire(specifier);
    const names = Object.keys(exports).filter((name) => name !== "default");
    module = new vm.SyntheticModule(
      [...names, "default"],
      function () {
        for (const name of names) this.setExport(name, exports[name]);
        this.setExport("default", exports);
      },
      { identifier: `node:${specifier.replace(/^node:/, "")}`, context: this.context },
    );
    this.builtins.set(specifier, module);
    return module;
  }

  requireBuiltin(name) {
    if (this.kind === "node" && typeof name === "string" && isBuiltin(name)) return hostRequire(name);
    throw new Error(`Cannot require '${name}': only Node.js builtin modules can be required here`);
  }

  async importDynamically(specifier, referrer) {
    const module = this.resolve(specifier, referrer);
    if (module.status === "unlinked") await module.link((s, r) => this.resolve(s, r));
    if (module.status === "linked") await module.evaluate();
    return module;
  }

  /** Link `modulePath` and its imports (async: vm's linker API is). */
  async link(modulePath) {
    const module = this.moduleFor(modulePath);
    if (module.status === "unlinked" || module.status === "linking") {
      // One link at a time: concurrent calls may need modules that share dependencies.
      const run = this.linkChain.then(() => {
        if (module.status === "unlinked") return module.link((s, r) => this.resolve(s, r));
        return undefined;
      });
      this.linkChain = run.catch(() => {});
      await run;
    }
    return module;
  }

  /**
   * Start evaluating a linked module; returns its status ("evaluated", "evaluating" while a
   * top-level await is pending, or "errored" with `module.error`). For "udf" realms, call
   * this inside `pump`.
   */
  evaluate(module, timeoutMs) {
    if (module.status === "linked") {
      const options = timeoutMs ? { timeout: timeoutMs } : undefined;
      module.evaluate(options).catch(() => {});
    }
    return module.status;
  }
}
