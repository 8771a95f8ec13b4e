// Analysis of a pushed module set: evaluate every module (not `_deps/` chunks) in a fresh
// realm in import phase (fixed seed and timestamp, the deployment's environment, no
// syscalls) and read what it exports, the way Convex's backend does at `start_push`:
//
//   functions   exports carrying isQuery / isMutation / isAction (exactly one) or isHttp,
//               with isPublic / isInternal and the JSON of exportArgs() / exportReturns()
//   http.js     the default export's getRoutes() → [{route: {path, method}, pos}]
//               (prefix routes have paths ending in "*")
//   crons.js    the default export's export() (the crons JSON, as the npm package writes it)
//   schema.js   the default export's export()
//   auth.config.js       the default export (its `providers`)
//   convex.config.js     the definition's export()
//
// A module that throws at import time fails the analysis with "Failed to analyze <path>:
// Uncaught Error: … at (../convex/file.ts:line:col)" and the console lines it printed.

import { describeError } from "./call.mjs";
import { inActionScope, Realm } from "./realm.mjs";

const ROUTABLE_METHODS = new Set(["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]);

export class AnalysisError extends Error {
  constructor(message, code = null) {
    super(message);
    this.code = code;
  }
}

const MISSING_VARIABLE = "Uncaught Error: Environment variable ";

class ImportLogs {
  constructor() {
    this.lines = [];
  }

  addLog(level, messages) {
    this.lines.push(`[${level}] ${messages.join(" ")}`);
  }

  consoleTime() {}
}

/** Analyze every module of `version`; throws AnalysisError with the user-facing message. */
export async function analyzeVersion(version, { env, timeoutMs, only = null, skip = [] }) {
  const result = { modules: {}, schema: null, authConfig: null, definition: null };
  // "use node" modules are analyzed by a node worker, the others by a udf worker.
  const paths = [...version.modules.keys()]
    .filter((p) => !p.startsWith("_deps/") && !p.startsWith("_componentDeps/") && (only === null || only.includes(p)) && !skip.includes(p))
    .sort();
  for (const modulePath of paths) {
    // Each module gets its own copy: what one writes to process.env, the next never sees.
    const namespace = await evaluateForAnalysis(version, modulePath, { ...env }, timeoutMs);
    if (modulePath === "schema.js") {
      result.schema = exportedJson(namespace, modulePath, "a schema (defineSchema)");
    } else if (modulePath === "convex.config.js") {
      result.definition = exportedJson(namespace, modulePath, "an app definition (defineApp)");
    } else {
      result.modules[modulePath] = analyzeModule(version, modulePath, namespace);
      if (modulePath === "auth.config.js") result.authConfig = plainJson(namespace.default ?? null);
    }
  }
  return result;
}

async function evaluateForAnalysis(version, modulePath, env, timeoutMs) {
  const entry = version.modules.get(modulePath);
  const kind = entry.environment === "node" ? "node" : "udf";
  const realm = new Realm(version, kind);
  const logs = new ImportLogs();
  realm.enterImportPhase(logs, env);
  realm.authConfig = modulePath === "auth.config.js";
  // "use node" realms find their environment and console in the action scope.
  const scoped = kind === "node" ? (fn) => inActionScope({ call: null, env, logTarget: logs }, fn) : (fn) => fn();
  const fail = (message) => {
    const text = logs.lines.length ? `${message}\n\n${logs.lines.join("\n")}` : message;
    throw new AnalysisError(`Failed to analyze ${modulePath}: ${text}`);
  };
  let module;
  try {
    module = await realm.link(modulePath);
  } catch (error) {
    // A module that does not parse: say so as a thrown error reads ("Uncaught SyntaxError: …").
    const name = error?.name === "SyntaxError" ? "Uncaught SyntaxError: " : "";
    fail(name + (error?.message ?? String(error)));
  }
  let status = null;
  realm.pump(() => {
    status = scoped(() => realm.evaluate(module, timeoutMs));
  });
  const deadline = Date.now() + timeoutMs;
  while (status === "evaluating" && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 1));
    realm.pump(() => {});
    status = module.status;
  }
  if (status === "errored") {
    const error = module.error;
    if (error?.code === "ERR_SCRIPT_EXECUTION_TIMEOUT") {
      fail(`Uncaught Error: Module evaluation timed out after ${timeoutMs}ms (a top-level infinite loop?)`);
    }
    const { message } = describeError(version, error);
    if (realm.authConfig && message.startsWith(MISSING_VARIABLE)) {
      // Convex's code and text, which the CLI turns into "npx convex env set …" advice.
      throw new AnalysisError(message.slice("Uncaught Error: ".length), "AuthConfigMissingEnvironmentVariable");
    }
    fail(message);
  }
  if (status !== "evaluated") fail(`Top-level await did not finish within ${timeoutMs}ms`);
  return module.namespace;
}

function plainJson(value) {
  return value === undefined ? null : JSON.parse(JSON.stringify(value));
}

function exportedJson(namespace, modulePath, what) {
  const definition = namespace.default;
  if (definition === undefined || typeof definition?.export !== "function") {
    throw new AnalysisError(`Failed to analyze ${modulePath}: the default export must be ${what}`);
  }
  const exported = callExport(modulePath, () => definition.export());
  return typeof exported === "string" ? JSON.parse(exported) : plainJson(exported);
}

function callExport(modulePath, fn) {
  try {
    return fn();
  } catch (error) {
    throw new AnalysisError(`Failed to analyze ${modulePath}: Uncaught ${error?.message ?? error}`);
  }
}

function analyzeModule(version, modulePath, namespace) {
  const functions = [];
  for (const name of Object.keys(namespace)) {
    const fn = namespace[name];
    if (fn === null || (typeof fn !== "object" && typeof fn !== "function")) continue;
    const analyzed = analyzeExport(modulePath, name, fn);
    if (analyzed !== null) functions.push(analyzed);
  }
  const module = { functions, httpRoutes: null, cronSpecs: null, sourceMapped: null, crons: null };
  if (modulePath === "http.js") module.httpRoutes = analyzeRouter(namespace);
  if (modulePath === "crons.js") module.crons = analyzeCrons(namespace);
  return module;
}

function analyzeExport(modulePath, name, fn) {
  const flags = [fn.isQuery, fn.isMutation, fn.isAction].map((f) => f !== undefined && f !== false);
  let udfType;
  if (flags[0] && !flags[1] && !flags[2]) udfType = "Query";
  else if (!flags[0] && flags[1] && !flags[2]) udfType = "Mutation";
  else if (!flags[0] && !flags[1] && flags[2]) udfType = "Action";
  else if (!flags.some(Boolean) && fn.isHttp) udfType = "HttpAction";
  else return null;
  const isPublic = "isPublic" in fn;
  const isInternal = "isInternal" in fn;
  if (isPublic && isInternal) return null;
  const visibility = isPublic ? { kind: "public" } : isInternal ? { kind: "internal" } : null;
  const where = `${modulePath}:${name}`;
  const validator = (method) => {
    if (typeof fn[method] !== "function") return null;
    const text = callExport(modulePath, () => fn[method]());
    if (typeof text !== "string") {
      throw new AnalysisError(`Failed to analyze ${modulePath}: ${where}.${method}() did not return a string`);
    }
    return text;
  };
  return {
    name,
    pos: null,
    udfType,
    visibility,
    args: validator("exportArgs"),
    returns: validator("exportReturns"),
  };
}

function routesError(detail) {
  return new AnalysisError(
    "Failed to analyze http.js: The `getRoutes()` method of Router did not return the expected " +
      "type. `getRoutes()` should be a function returning an array of entries of the form " +
      `[path: string, method: string, handler: HttpAction] (${detail})`,
  );
}

function analyzeRouter(namespace) {
  const router = namespace.default;
  if (router === undefined) {
    throw new AnalysisError("Failed to analyze http.js: `convex/http.js` must have a default export of a Router.");
  }
  if (router === null || typeof router !== "object" || router.isRouter !== true) {
    throw new AnalysisError("Failed to analyze http.js: The default export of `convex/http.js` is not a Router.");
  }
  if (typeof router.getRoutes !== "function") {
    throw new AnalysisError("Failed to analyze http.js: .getRoutes property on Router not found");
  }
  const routes = callExport("http.js", () => router.getRoutes());
  if (!Array.isArray(routes)) throw routesError("return value is not an array");
  return routes.map((entry, i) => {
    if (!Array.isArray(entry)) throw routesError(`arr[${i}] is not an object`);
    const [routePath, method, handler] = entry;
    if (typeof routePath !== "string") throw routesError(`arr[${i}][0] is not a string`);
    if (typeof method !== "string") throw routesError(`arr[${i}][1] is not a string`);
    if (!ROUTABLE_METHODS.has(method)) {
      throw routesError(`'${method}' is not not a routable method (one of GET, POST, PUT, DELETE, PATCH, OPTIONS)`);
    }
    if (handler === null || (typeof handler !== "object" && typeof handler !== "function")) {
      throw routesError(`arr[${i}][2] not an HttpAction`);
    }
    return { route: { path: routePath, method }, pos: null };
  });
}

function analyzeCrons(namespace) {
  const crons = namespace.default;
  if (crons === undefined) {
    throw new AnalysisError("Failed to analyze crons.js: `convex/crons.js` must have a default export of a Crons object.");
  }
  if (crons === null || typeof crons !== "object" || crons.isCrons !== true) {
    throw new AnalysisError("Failed to analyze crons.js: The default export of `convex/crons.js` is not a Crons object.");
  }
  if (typeof crons.export !== "function") {
    throw new AnalysisError("Failed to analyze crons.js: .export of Crons object is not a function");
  }
  return JSON.parse(callExport("crons.js", () => crons.export()));
}
