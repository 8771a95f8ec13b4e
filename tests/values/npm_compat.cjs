// Answers questions about Convex values with the official npm `convex` package, for
// tests/values/test_npm_compat.py. One request per stdin line, one response per stdout line:
//
//   {"mode": "roundtrip", "values": [<convex-encoded JSON>...]}
//       -> {"json": [convexToJson(jsonToConvex(v))...], "sizes": [getConvexSize(...)...]}
//   {"mode": "compare", "values": [...]}     -> {"matrix": [[sign(compareValues(a, b))...]...]}
//   {"mode": "generate", "seed": n, "count": n}
//       -> {"json": [convexToJson(v)...], "order": [indices sorted with compareValues]}
//   {"mode": "validators"}                  -> {"json": [validator.json ...], "args": [...]}
//
// Run with NODE_PATH=<tests/js/node_modules>; it needs nothing but `convex/values`.
"use strict";

const readline = require("node:readline");
const { jsonToConvex, convexToJson, compareValues, getConvexSize, v, asObjectValidator } =
  require("convex/values");

function sign(n) {
  return n < 0 ? -1 : n > 0 ? 1 : 0;
}

// A small deterministic PRNG (mulberry32) so a seed always yields the same values.
function prng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SPECIAL_NUMBERS = [0, -0, 1, -1, 0.5, 1e300, -1e-300, 5e-324, NaN, Infinity, -Infinity,
  Number.MAX_SAFE_INTEGER, 2 ** 53 + 2, Math.PI];
const SPECIAL_BIGINTS = [0n, 1n, -1n, 127n, 128n, -128n, -129n, 32767n, 32768n, -32769n,
  2n ** 31n, -(2n ** 31n) - 1n, 2n ** 63n - 1n, -(2n ** 63n)];
const CHARS = ["a", "b", "z", "A", "_", " ", "\u0000", "é", "日", "😀", "\uffff", "~"];
const FIELD_CHARS = ["a", "b", "_", "A", "0", " ", "~", "-"];

function generate(random, depth) {
  const pick = (xs) => xs[Math.floor(random() * xs.length)];
  const kind = Math.floor(random() * (depth > 3 ? 7 : 9));
  switch (kind) {
    case 0: return null;
    case 1: return random() < 0.5;
    case 2: return random() < 0.5 ? pick(SPECIAL_NUMBERS) : (random() - 0.5) * 10 ** Math.floor(random() * 20);
    case 3: return random() < 0.5 ? pick(SPECIAL_BIGINTS) : BigInt(Math.floor((random() - 0.5) * 2 ** 40));
    case 4: {
      let s = "";
      const n = Math.floor(random() * 6);
      for (let i = 0; i < n; i++) s += pick(CHARS);
      return s;
    }
    case 5: {
      const n = Math.floor(random() * 6);
      const bytes = new Uint8Array(n);
      for (let i = 0; i < n; i++) bytes[i] = pick([0, 1, 127, 128, 255, Math.floor(random() * 256)]);
      return bytes.buffer;
    }
    case 6: return pick(["", "a", "ab", "b"]);
    case 7: {
      const n = Math.floor(random() * 4);
      const out = [];
      for (let i = 0; i < n; i++) out.push(generate(random, depth + 1));
      return out;
    }
    default: {
      const n = Math.floor(random() * 4);
      const out = {};
      for (let i = 0; i < n; i++) {
        let key = "";
        const len = Math.floor(random() * 3);
        for (let j = 0; j < len; j++) key += pick(FIELD_CHARS);
        out[key] = generate(random, depth + 1);
      }
      return out;
    }
  }
}

function validatorSamples() {
  const obj = v.object({
    name: v.string(),
    age: v.optional(v.number()),
    count: v.int64(),
    big: v.bigint(),
    ratio: v.float64(),
    flag: v.boolean(),
    data: v.bytes(),
    nothing: v.null(),
    anything: v.any(),
    owner: v.id("users"),
    file: v.id("_storage"),
    tags: v.array(v.string()),
    byId: v.record(v.id("users"), v.number()),
    byName: v.record(v.string(), v.array(v.any())),
    kind: v.union(v.literal("a"), v.literal("b")),
    maybe: v.nullable(v.string()),
    nested: v.optional(v.object({ inner: v.literal(5n), empty: v.object({}) })),
  });
  const list = [
    obj,
    v.literal(NaN), v.literal(-0), v.literal(Infinity), v.literal(1.5), v.literal(-(2n ** 63n)),
    v.literal(true), v.literal(""), v.union(), v.union(v.string()),
    v.array(v.union(v.object({ t: v.literal("x") }), v.object({ t: v.literal("y"), n: v.number() }))),
    v.record(v.union(v.string(), v.id("t")), v.any()),
  ];
  if (v.commitTs) list.push(v.commitTs(), v.optional(v.commitTs()));
  const args = [JSON.stringify(asObjectValidator({ a: v.string(), b: v.optional(v.int64()) }).json),
    JSON.stringify(v.any().json)];
  return { json: list.map((x) => x.json), args };
}

function handle(request) {
  switch (request.mode) {
    case "roundtrip": {
      const values = request.values.map((x) => jsonToConvex(x));
      return { json: values.map((x) => convexToJson(x)), sizes: values.map((x) => getConvexSize(x)) };
    }
    case "compare": {
      const values = request.values.map((x) => jsonToConvex(x));
      return { matrix: values.map((a) => values.map((b) => sign(compareValues(a, b)))) };
    }
    case "generate": {
      const random = prng(request.seed);
      const values = [];
      for (let i = 0; i < request.count; i++) values.push(generate(random, 0));
      const order = values.map((_, i) => i);
      order.sort((i, j) => compareValues(values[i], values[j]) || i - j);
      return { json: values.map((x) => convexToJson(x)), order };
    }
    case "validators":
      return validatorSamples();
    default:
      throw new Error(`unknown mode ${request.mode}`);
  }
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", (line) => {
  let response;
  try {
    response = { ok: handle(JSON.parse(line)) };
  } catch (e) {
    response = { error: String(e && e.stack ? e.stack : e) };
  }
  process.stdout.write(JSON.stringify(response) + "\n");
});
