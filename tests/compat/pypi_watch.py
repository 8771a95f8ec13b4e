"""Subscribe with the official PyPI client and print every result as `VALUE <json>`.

    python pypi_watch.py <url> <query path>

Runs until killed; the test reads its stdout (the client also prints function log lines).
"""

from __future__ import annotations

import json
import sys

import convex

if __name__ == "__main__":
    client = convex.ConvexClient(sys.argv[1])
    for value in client.subscribe(sys.argv[2]):
        print("VALUE " + json.dumps(value), flush=True)
