// How console arguments become log-line messages.
//
// Convex's runtime renders each console argument with the npm package `object-inspect`
// (options: indent 2, maxStringLength 32768, customInspect) and the CLI prints a line as
// `[LOG] 'hello' {\n  a: 1\n}`. This is our own renderer of the same notation: strings in
// single quotes, objects one key a line, arrays on one line unless an element spans
// lines, `[Circular]`, `[Object]` past depth 5, `Map (1) {…}`, `[Error: boom]`.
//
// It runs in the host realm over values of the function's realm, so every type test
// here is realm-independent (util.types, constructor names), never `instanceof`.

import { types } from "node:util";

const MAX_DEPTH = 5;
const MAX_STRING_LENGTH = 32768;
const INDENT = "  ";
const CUSTOM_INSPECT = Symbol.for("nodejs.util.inspect.custom");
const BARE_KEY = /^[\w$]*$/;
const NAMED_ESCAPES = { 8: "b", 9: "t", 10: "n", 12: "f", 13: "r" };

function escapeChar(ch) {
  const code = ch.charCodeAt(0);
  const named = NAMED_ESCAPES[code];
  if (named) return "\\" + named;
  return "\\x" + (code < 0x10 ? "0" : "") + code.toString(16).toUpperCase();
}

function quote(str) {
  let text = str;
  let suffix = "";
  if (text.length > MAX_STRING_LENGTH) {
    const remaining = text.length - MAX_STRING_LENGTH;
    text = text.slice(0, MAX_STRING_LENGTH);
    suffix = `... ${remaining} more character${remaining > 1 ? "s" : ""}`;
  }
  // eslint-disable-next-line no-control-regex
  const escaped = text.replace(/(['\\])/g, "\\$1").replace(/[\x00-\x1f]/g, escapeChar);
  return `'${escaped}'${suffix}`;
}

function functionName(fn) {
  try {
    const name = fn.name;
    return typeof name === "string" && name ? name : null;
  } catch {
    return null;
  }
}

function constructorName(obj) {
  try {
    const proto = Object.getPrototypeOf(obj);
    if (proto === null) return null;
    const ctor = proto.constructor;
    return typeof ctor === "function" ? functionName(ctor) : null;
  } catch {
    return null;
  }
}

function isPlainObject(obj) {
  const proto = Object.getPrototypeOf(obj);
  if (proto === null) return false;
  // Object.prototype of any realm: its own prototype is null and its constructor is Object.
  return Object.getPrototypeOf(proto) === null && constructorName(obj) === "Object";
}

function toStringTag(obj) {
  try {
    const tag = obj[Symbol.toStringTag];
    return typeof tag === "string" ? tag : null;
  } catch {
    return null;
  }
}

function formatKey(key, inspectNoIndent) {
  return BARE_KEY.test(key) ? key : inspectNoIndent(key);
}

function ownEntries(obj, inspect, inspectNoIndent, skipIndices) {
  const parts = [];
  for (const key of Object.keys(obj)) {
    if (skipIndices && /^(0|[1-9]\d*)$/.test(key) && Number(key) < obj.length) continue;
    parts.push(`${formatKey(key, inspectNoIndent)}: ${inspect(obj[key])}`);
  }
  for (const sym of Object.getOwnPropertySymbols(obj)) {
    if (Object.prototype.propertyIsEnumerable.call(obj, sym)) {
      parts.push(`[${String(sym)}]: ${inspect(obj[sym])}`);
    }
  }
  return parts;
}

function joinIndented(parts, level) {
  const inner = "\n" + INDENT.repeat(level + 1);
  return inner + parts.join("," + inner) + "\n" + INDENT.repeat(level);
}

function spansLines(parts) {
  return parts.some((part) => part.includes("\n"));
}

/** One console argument, rendered the way Convex's log lines render it. */
export function inspect(value) {
  return render(value, 0, [], true);
}

function render(value, depth, seen, indent) {
  switch (typeof value) {
    case "string":
      return quote(value);
    case "number":
      return value === 0 && 1 / value < 0 ? "-0" : String(value);
    case "bigint":
      return `${value}n`;
    case "boolean":
      return String(value);
    case "undefined":
      return "undefined";
    case "symbol":
      return String(value);
    default:
      break;
  }
  if (value === null) return "null";
  if (seen.includes(value)) return "[Circular]";
  if (depth >= MAX_DEPTH && typeof value === "object") {
    return Array.isArray(value) ? "[Array]" : "[Object]";
  }
  const next = [...seen, value];
  const level = depth;
  const sub = (v) => render(v, depth + 1, next, indent);
  const subNoIndent = (v) => render(v, depth + 1, next, false);
  return renderObject(value, { level, sub, subNoIndent, indent });
}

function renderObject(obj, { level, sub, subNoIndent, indent }) {
  if (typeof obj === "function") {
    const name = functionName(obj);
    const keys = ownEntries(obj, sub, subNoIndent, false).filter((p) => !p.startsWith("prototype:"));
    const head = `[Function${name ? ": " + name : " (anonymous)"}]`;
    return keys.length ? `${head} { ${keys.join(", ")} }` : head;
  }
  const custom = customInspect(obj);
  if (custom !== undefined) return custom;
  if (Array.isArray(obj)) {
    const parts = [];
    for (let i = 0; i < obj.length; i++) parts.push(Object.hasOwn(obj, i) ? sub(obj[i]) : "");
    parts.push(...ownEntries(obj, sub, subNoIndent, true));
    if (parts.length === 0) return "[]";
    return indent && spansLines(parts) ? `[${joinIndented(parts, level)}]` : `[ ${parts.join(", ")} ]`;
  }
  if (types.isNativeError(obj)) {
    const parts = ownEntries(obj, sub, subNoIndent, false);
    if ("cause" in obj && !Object.prototype.propertyIsEnumerable.call(obj, "cause")) {
      parts.unshift(`[cause]: ${sub(obj.cause)}`);
    }
    const text = `[${errorToString(obj)}]`;
    return parts.length ? `{ ${text} ${parts.join(", ")} }` : text;
  }
  if (types.isDate(obj)) return Date.prototype.toString.call(obj);
  if (types.isRegExp(obj)) return RegExp.prototype.toString.call(obj);
  if (types.isMap(obj)) return renderCollection("Map", obj, level, indent, (v, k) => `${subNoIndent(k)} => ${sub(v)}`);
  if (types.isSet(obj)) return renderCollection("Set", obj, level, indent, (v) => sub(v));
  if (types.isWeakMap(obj)) return "WeakMap { ? }";
  if (types.isWeakSet(obj)) return "WeakSet { ? }";
  if (typeof WeakRef === "function" && constructorName(obj) === "WeakRef") return "WeakRef { ? }";
  if (types.isBoxedPrimitive(obj)) return `Object(${sub(obj.valueOf())})`;
  return renderPlain(obj, { level, sub, subNoIndent, indent });
}

function renderCollection(kind, collection, level, indent, renderEntry) {
  const parts = [];
  collection.forEach((v, k) => parts.push(renderEntry(v, k)));
  const head = `${kind} (${collection.size}) `;
  if (parts.length === 0) return head + "{}";
  return head + (indent ? `{${joinIndented(parts, level)}}` : `{${parts.join(", ")}}`);
}

function renderPlain(obj, { level, sub, subNoIndent, indent }) {
  const parts = ownEntries(obj, sub, subNoIndent, false);
  const plain = isPlainObject(obj);
  const nullProto = Object.getPrototypeOf(obj) === null;
  const stringTag = !plain ? toStringTag(obj) : null;
  const tags = [];
  if (stringTag) tags.push(stringTag);
  else if (nullProto) tags.push("Object");
  if (nullProto) tags.push("null prototype");
  const ctor = plain || nullProto ? null : constructorName(obj);
  const prefix = (ctor ? ctor + " " : "") + (tags.length ? `[${tags.join(": ")}] ` : "");
  if (parts.length === 0) return prefix + "{}";
  return prefix + (indent ? `{${joinIndented(parts, level)}}` : `{ ${parts.join(", ")} }`);
}

function customInspect(obj) {
  try {
    if (typeof obj[CUSTOM_INSPECT] === "function") return String(obj[CUSTOM_INSPECT]());
    if (typeof obj.inspect === "function") return String(obj.inspect());
  } catch {
    return undefined;
  }
  return undefined;
}

function errorToString(err) {
  try {
    return String(err);
  } catch {
    return "Error";
  }
}
