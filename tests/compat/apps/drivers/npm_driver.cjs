// One official npm client — `ConvexHttpClient` ("http") or `ConvexClient` over the sync
// WebSocket ("ws") — driven by a test over JSON lines.
//
//   node npm_driver.cjs <deployment url> http|ws [admin key]
//
// stdin:  {"id": 1, "kind": "query"|"mutation"|"action", "path": "messages:list", "args": {...}}
// stdout: {"id": 1, "value": <convex json>}  or  {"id": 1, "error": "...", "data"?: <convex json>}
// Values cross as Convex-encoded JSON. The first line out is {"ready": true}.
// {"id": 2, "kind": "setAuth", "args": {"token": "<jwt>"}} makes the client send that user
// token from then on (`setAuth`; the WebSocket client's token fetcher always returns it).
"use strict";
// Clients print function log lines with console.*: keep stdout for answers.
for (const level of ["log", "info", "warn", "debug"]) console[level] = console.error;
const readline = require("node:readline");
const { ConvexHttpClient, ConvexClient } = require("convex/browser");
const { makeFunctionReference } = require("convex/server");
const { convexToJson, jsonToConvex } = require("convex/values");

const [url, mode, adminKey] = process.argv.slice(2);
let client;
if (mode === "http") {
  client = new ConvexHttpClient(url, { logger: false });
} else {
  const WebSocket = require("ws");
  client = new ConvexClient(url, { webSocketConstructor: WebSocket, unsavedChangesWarning: false });
}
if (adminKey) client.setAdminAuth(adminKey);

function emit(out) {
  process.stdout.write(JSON.stringify(out) + "\n");
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  if (cmd.kind === "setAuth") {
    const token = cmd.args.token;
    if (mode === "http") client.setAuth(token);
    else client.setAuth(async () => token);
    emit({ id: cmd.id, value: null });
    return;
  }
  try {
    const ref = makeFunctionReference(cmd.path);
    const value = await client[cmd.kind](ref, jsonToConvex(cmd.args));
    emit({ id: cmd.id, value: convexToJson(value === undefined ? null : value) });
  } catch (error) {
    const out = { id: cmd.id, error: String(error && error.message ? error.message : error) };
    if (error && error.data !== undefined) out.data = convexToJson(error.data);
    emit(out);
  }
});
lines.on("close", async () => {
  if (client.close) await client.close();
  process.exit(0);
});
emit({ ready: true });
