"""The framing between the host and a Python worker: one JSON object per line.

The pipes are dedicated file descriptors (not the worker's stdin/stdout, which user code
and C extensions may write to). orjson never writes a raw newline inside a document, so a
newline ends a frame. Messages (t = type):

host → worker
    {"t": "call", "id", "v": version, "dir": module dir, "kind": "query"|"mutation"|"action",
     "module": "dir/mod", "name": "export", "args": "<JSON text of [args]>", "env": {…},
     "seed", "now": ms, "tables": {name: number}, "rid": request id, "limit": seconds,
     "importSeed", "importNow", "pre": [[op, args, result], …] (reads made ahead; optional)}
    {"t": "ret", "id", "r": [[sid, 1, result] | [sid, 0, {"message", "data": text|null}]]}
    {"t": "analyze", "id", "v", "dir", "env", "importSeed", "importNow"}

worker → host
    {"t": "ready", "pid"}
    {"t": "sys", "id", "u": user ms so far, "b": [[sid, op, args], …]}   sid 0: no answer
    {"t": "done", "id", "u", "ra": reads made ahead used, "ok": true, "value": "<JSON text>",
     "logs": […]}
    {"t": "done", "id", "u", "ra", "ok": false, "error": {"message", "data": text|null},
     "logs": […], "timeout": bool, "retire": bool}
    {"t": "analyzed", "id", "ok": true, "result": {…}} | {…, "ok": false, "message"}
"""

from __future__ import annotations

from typing import Any

import orjson


def encode(message: Any) -> bytes:
    """One frame: the message's JSON and a newline (orjson.Fragment values pass through)."""
    return orjson.dumps(message) + b"\n"


def decode(line: bytes | bytearray | memoryview) -> Any:
    """The message of one frame (without its newline)."""
    return orjson.loads(line)
