// Drives the official npm `ConvexClient` (with the `ws` package) from a test, over JSON lines.
//
//   node client_driver.cjs <deployment url>
//
// stdin, one command per line:
//   {"op":"subscribe","id":"q1","path":"messages:list","args":{}}   Convex-encoded args
//   {"op":"unsubscribe","id":"q1"}
//   {"op":"query"|"mutation"|"action","id":"r1","path":"...","args":{}}
//   {"op":"adminAuth","key":"...","identity":{...}?}
//   {"op":"setAuth"}          user auth: the client asks for tokens with tokenRequest events
//   {"op":"token","n":1,"token":"..."|null}     the answer to tokenRequest n
//   {"op":"close"}
// stdout, one event per line:
//   {"event":"ready"}
//   {"event":"update","id":"q1","value":<convex json>}
//   {"event":"queryError","id":"q1","message":"...","data":<convex json>?}
//   {"event":"result","id":"r1","value":<convex json>}
//   {"event":"failure","id":"r1","message":"...","data":<convex json>?}
//   {"event":"closed"}
//   {"event":"tokenRequest","n":1,"forceRefreshToken":false}
//   {"event":"authChange","isAuthenticated":true}
"use strict";
// The client prints function log lines with console.*: keep stdout for events.
for (const level of ["log", "info", "warn", "debug"]) console[level] = console.error;
const readline = require("node:readline");
const WebSocket = require("ws");
const { ConvexClient } = require("convex/browser");
const { makeFunctionReference } = require("convex/server");
const { convexToJson, jsonToConvex } = require("convex/values");

const client = new ConvexClient(process.argv[2], {
  webSocketConstructor: WebSocket,
  unsavedChangesWarning: false,
});
const subscriptions = new Map();
const tokenRequests = new Map();
let tokenRequestCount = 0;

function emit(event) {
  process.stdout.write(JSON.stringify(event) + "\n");
}

function failure(event, id, error) {
  const out = { event, id, message: String(error && error.message ? error.message : error) };
  if (error && error.data !== undefined) out.data = convexToJson(error.data);
  emit(out);
}

const lines = readline.createInterface({ input: process.stdin });
lines.on("line", async (line) => {
  if (!line.trim()) return;
  const cmd = JSON.parse(line);
  const ref = cmd.path ? makeFunctionReference(cmd.path) : null;
  const args = cmd.args === undefined ? {} : jsonToConvex(cmd.args);
  switch (cmd.op) {
    case "subscribe": {
      const unsubscribe = client.onUpdate(
        ref,
        args,
        (value) => emit({ event: "update", id: cmd.id, value: convexToJson(value) }),
        (error) => failure("queryError", cmd.id, error),
      );
      subscriptions.set(cmd.id, unsubscribe);
      break;
    }
    case "unsubscribe":
      subscriptions.get(cmd.id)?.();
      subscriptions.delete(cmd.id);
      break;
    case "query":
    case "mutation":
    case "action":
      try {
        const value = await client[cmd.op](ref, args);
        emit({ event: "result", id: cmd.id, value: convexToJson(value === undefined ? null : value) });
      } catch (error) {
        failure("failure", cmd.id, error);
      }
      break;
    case "adminAuth":
      client.setAdminAuth(cmd.key, cmd.identity);
      break;
    case "setAuth":
      client.setAuth(
        ({ forceRefreshToken }) =>
          new Promise((resolve) => {
            const n = ++tokenRequestCount;
            tokenRequests.set(n, resolve);
            emit({ event: "tokenRequest", n, forceRefreshToken });
          }),
        (isAuthenticated) => emit({ event: "authChange", isAuthenticated }),
      );
      break;
    case "token":
      tokenRequests.get(cmd.n)?.(cmd.token);
      tokenRequests.delete(cmd.n);
      break;
    case "close":
      await client.close();
      emit({ event: "closed" });
      process.exit(0);
  }
});
lines.on("close", async () => {
  await client.close();
  process.exit(0);
});
emit({ event: "ready" });
