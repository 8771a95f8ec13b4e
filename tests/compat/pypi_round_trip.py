"""Exercise the official PyPI `convex` client against a deployment; prints one JSON object.

    python pypi_round_trip.py <url> [admin key]

Run as its own process: the client's Rust core blocks while holding the GIL, so it must
not share an interpreter with an in-process server. The app must have `messages:list`,
`messages:send({body})`, `messages:count` (a float), `actions:echo({value})` and
`messages:failWith({convex: true})` throwing `ConvexError({code: "NOPE"})`.
"""

from __future__ import annotations

import json
import sys

import convex


def main(url: str) -> dict:
    client = convex.ConvexClient(url)
    out: dict = {}
    out["before"] = client.query("messages:count")
    subscription = client.subscribe("messages:list")
    results = iter(subscription)
    out["first"] = next(results)
    out["id"] = client.mutation("messages:send", {"body": "from python"})
    out["second"] = next(results)
    out["after"] = client.query("messages:count")
    out["action"] = client.action("actions:echo", {"value": "py"})
    try:
        client.mutation("messages:failWith", {"convex": True})
    except convex.ConvexError as e:
        out["error_data"] = e.data
    subscription.unsubscribe()
    return out


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1])), flush=True)
