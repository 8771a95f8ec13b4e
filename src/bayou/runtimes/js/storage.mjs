// An action's `ctx.storage.store(blob)` and `ctx.storage.get(id)`: the npm package sends
// them as the JS syscalls `storage/storeBlob` and `storage/getBlob`, which Convex's runtime
// answers itself. Here they become the async syscalls the host serves, `1.0/storageStore`
// and `1.0/storageGet`, with the bytes in base64 inside the worker's JSON lines (the host
// takes files of up to 20 MiB this way, as an HTTP action's body).

import { Buffer } from "node:buffer";

const NOT_A_BLOB =
  "store() expects a Blob. If you are trying to store a Request, `await request.blob()` will give you the correct input.";

export const STORAGE_JS_SYSCALLS = new Set(["storage/storeBlob", "storage/getBlob"]);

/** The realm's promise of the syscall's outcome (a storage id, or a Blob or null). */
export function storageJsSyscall(call, op, args) {
  const api = call.realm.api;
  const deferred = api.deferred();
  run(call, op, args ?? {}).then(deferred.resolve, (error) =>
    deferred.reject(error instanceof Error ? error : api.makeError(String(error))),
  );
  return deferred.promise;
}

async function run(call, op, args) {
  const api = call.realm.api;
  if (op === "storage/storeBlob") {
    const { blob, options } = args;
    if (!(blob instanceof Blob)) throw api.makeError(NOT_A_BLOB);
    const bytes = Buffer.from(await blob.arrayBuffer());
    const request = { blob: bytes.toString("base64"), contentType: blob.type || null };
    if (options?.sha256 !== undefined) request.sha256 = options.sha256;
    return JSON.parse(await call.asyncSyscall("1.0/storageStore", JSON.stringify(request)));
  }
  const { storageId } = args;
  if (typeof storageId !== "string") {
    throw api.makeError(`storage.get requires a string storageId but received ${storageId}`);
  }
  const result = JSON.parse(await call.asyncSyscall("1.0/storageGet", JSON.stringify({ storageId })));
  if (result === null) return null;
  return new Blob([Buffer.from(result.blob, "base64")], { type: result.contentType ?? "" });
}
