"""One official PyPI `convex` client — `convex.http_client.ConvexHttpClient` ("http") or the
Rust-core `convex.ConvexClient` ("ws") — driven by a test over JSON lines, in its own process
(the Rust core blocks while holding the GIL).

    python pypi_driver.py <deployment url> http|ws [admin key]

The protocol is npm_driver.cjs's: Convex-encoded JSON both ways (`setAuth` included).
"""

from __future__ import annotations

import base64
import json
import math
import struct
import sys
from typing import Any

import convex
from convex.http_client import ConvexHttpClient
from convex.values import ConvexInt64, json_to_convex


def to_json(value: Any) -> Any:
    """A value the client returned, as Convex-encoded JSON (ints are int64s)."""
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, ConvexInt64):
        value = value.value
    if isinstance(value, int):
        return {"$integer": base64.b64encode(struct.pack("<q", value)).decode()}
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value) or (value == 0 and math.copysign(1, value) < 0):
            return {"$float": base64.b64encode(struct.pack("<d", value)).decode()}
        return value
    if isinstance(value, bytes):
        return {"$bytes": base64.b64encode(value).decode()}
    if isinstance(value, list):
        return [to_json(v) for v in value]
    if isinstance(value, dict):
        return {k: to_json(v) for k, v in value.items()}
    raise TypeError(f"unexpected value {value!r}")


def from_json(value: Any) -> Any:
    """Convex-encoded JSON as the client's values (a JSON number is a float64)."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return float(value)
    if isinstance(value, list):
        return [from_json(v) for v in value]
    if isinstance(value, dict):
        if len(value) == 1 and next(iter(value)).startswith("$"):
            return json_to_convex(value)
        return {k: from_json(v) for k, v in value.items()}
    return value


def main(url: str, mode: str, admin_key: str | None) -> None:
    client: Any = ConvexHttpClient(url) if mode == "http" else convex.ConvexClient(url)
    if admin_key:
        client.set_admin_auth(admin_key)
    print(json.dumps({"ready": True}), flush=True)
    for line in sys.stdin:
        if not line.strip():
            continue
        cmd = json.loads(line)
        out: dict[str, Any] = {"id": cmd["id"]}
        if cmd["kind"] == "setAuth":
            client.set_auth(cmd["args"]["token"])
            out["value"] = None
            print(json.dumps(out), flush=True)
            continue
        try:
            value = getattr(client, cmd["kind"])(cmd["path"], from_json(cmd["args"]))
            out["value"] = to_json(value)
        except convex.ConvexError as error:
            out["error"] = str(error)
            out["data"] = to_json(error.data)
        except Exception as error:
            out["error"] = str(error)
        print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
