// Stack traces of user errors, mapped through the source maps the CLI pushed.
//
// Node's --enable-source-maps does not reach vm modules, so each realm installs
// `Error.prepareStackTrace`, which hands V8's call sites to `StackMapper.prepare`: every
// frame of a pushed module (`convex:/<path>`) is looked up with node:module's SourceMap
// (parsed lazily, once per version and module) and printed V8-style with the original
// file, 1-based line and column: `    at handler (../convex/messages.ts:12:11)`. Frames of
// the bundled `convex/server` implementation at either end of the stack and frames of
// this worker are dropped, the way Convex shows users only their own code.

import { SourceMap } from "node:module";

export const MODULE_SCHEME = "convex:/";
const WORKER_URL_PREFIX = new URL(".", import.meta.url).href;
const INTERNAL_MARKERS = ["convex/src/server/impl", "convex/dist/esm/server/impl", "udf-runtime/src"];

export class StackMapper {
  /** `sourceMapOf(path)` gives the source map text of a pushed module, or null. */
  constructor(sourceMapOf) {
    this.sourceMapOf = sourceMapOf;
    this.maps = new Map();
    this.framesByError = new WeakMap();
  }

  /**
   * The `Error.prepareStackTrace` body: records mapped frames, returns the stack text —
   * only the frames, as in Convex's isolate, or V8's `Name: message` and the frames
   * (`withHeader`, "use node" actions, as in Node).
   */
  prepare(error, callSites, withHeader = false) {
    const frames = trimInternal(callSites.map((site) => this.frameOf(site)).filter(isShown));
    try {
      this.framesByError.set(error, frames);
    } catch {
      // `error` was a primitive given to Error.captureStackTrace: nothing to remember.
    }
    const lines = frames.map(formatFrame);
    return (withHeader ? [headerOf(error), ...lines] : lines).join("\n");
  }

  /** The mapped frames of `error` (after its `.stack` was read), or []. */
  framesOf(error) {
    try {
      void error.stack;
    } catch {
      return [];
    }
    return this.framesByError.get(error) ?? [];
  }

  frameOf(site) {
    const frame = {
      typeName: safe(() => site.getTypeName()),
      functionName: safe(() => site.getFunctionName()),
      methodName: safe(() => site.getMethodName()),
      fileName: safe(() => site.getFileName()) ?? safe(() => site.getScriptNameOrSourceURL()),
      line: safe(() => site.getLineNumber()),
      column: safe(() => site.getColumnNumber()),
      isToplevel: safe(() => site.isToplevel()),
      isConstructor: safe(() => site.isConstructor()),
      isNative: safe(() => site.isNative()),
      isEval: safe(() => site.isEval()),
      evalOrigin: safe(() => site.getEvalOrigin()),
      isAsync: safe(() => site.isAsync()),
      isPromiseAll: safe(() => site.isPromiseAll()),
      promiseIndex: safe(() => site.getPromiseIndex()),
    };
    if (frame.fileName?.startsWith(MODULE_SCHEME) && frame.line != null && frame.column != null) {
      const path = frame.fileName.slice(MODULE_SCHEME.length);
      const entry = this.lookup(path, frame.line - 1, frame.column - 1);
      if (entry?.originalSource) {
        frame.fileName = entry.originalSource;
        frame.line = entry.originalLine + 1;
        frame.column = entry.originalColumn + 1;
      }
    }
    return frame;
  }

  lookup(path, line, column) {
    let map = this.maps.get(path);
    if (map === undefined) {
      map = null;
      const text = this.sourceMapOf(path);
      if (text) {
        try {
          map = new SourceMap(JSON.parse(text));
        } catch {
          map = null;
        }
      }
      this.maps.set(path, map);
    }
    if (map === null) return null;
    const entry = map.findEntry(line, column);
    return entry && typeof entry.originalLine === "number" ? entry : null;
  }
}

function safe(fn) {
  try {
    const value = fn();
    return value === undefined ? null : value;
  } catch {
    return null;
  }
}

function isShown(frame) {
  const file = frame.fileName;
  return !(file && (file.startsWith(WORKER_URL_PREFIX) || file.startsWith("bayou:")));
}

function isInternal(frame) {
  const file = frame.fileName;
  if (!file) return false;
  return file.startsWith("node:") || INTERNAL_MARKERS.some((marker) => file.includes(marker));
}

function trimInternal(frames) {
  let start = 0;
  let end = frames.length;
  while (start < end && isInternal(frames[start])) start += 1;
  while (end > start && isInternal(frames[end - 1])) end -= 1;
  return frames.slice(start, end);
}

/** `Name: message`, the first line of a V8 stack. */
export function headerOf(error) {
  let name = "Error";
  let message = "";
  try {
    if (error !== null && typeof error === "object") {
      name = error.name === undefined ? "Error" : String(error.name);
      message = error.message === undefined ? "" : String(error.message);
    } else {
      return String(error);
    }
  } catch {
    return "Error";
  }
  if (!name) return message;
  if (!message) return name;
  return `${name}: ${message}`;
}

function location(frame) {
  if (frame.isNative) return "native";
  let text = frame.fileName;
  if (!text) text = (frame.isEval && frame.evalOrigin ? `${frame.evalOrigin}, ` : "") + "<anonymous>";
  if (frame.line != null) {
    text += `:${frame.line}`;
    if (frame.column != null) text += `:${frame.column}`;
  }
  return text;
}

/**
 * One frame the way Convex prints it (its port of Deno's formatCallSite): the name, then
 * the mapped location in parentheses. Convex never learns which frames are top-level, so
 * every frame but a constructor's is named like a method call: an anonymous function is
 * `<anonymous>`, and `Type.` / ` [as method]` appear only when the function's own name
 * starts with the type / ends with the method.
 */
export function formatFrame(frame) {
  let text = "    at ";
  if (frame.isAsync) text += "async ";
  if (frame.isPromiseAll && frame.promiseIndex != null) text += `Promise.all (index ${frame.promiseIndex})`;
  const { typeName, functionName, methodName } = frame;
  if (frame.isConstructor) {
    text += `new ${functionName || "<anonymous>"}`;
  } else if (functionName) {
    if (typeName && functionName.startsWith(typeName)) text += `${typeName}.`;
    text += functionName;
    if (methodName && functionName.endsWith(methodName)) text += ` [as ${methodName}]`;
  } else {
    if (typeName) text += `${typeName}.`;
    text += methodName || "<anonymous>";
  }
  return `${text} (${location(frame)})`;
}
