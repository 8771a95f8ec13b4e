"""Free loopback ports for the servers the tests start, disjoint between xdist workers.

Asking the kernel for port 0 and closing the socket leaves a window in which another
process gets the same port; with two pytest-xdist workers starting servers at once that
window was hit. Each worker takes ports from its own block below Linux's ephemeral range
(32768–60999, which the kernel hands out for port 0 and outgoing connections), walking it
from a random start so that a port is not reused soon after its server stopped.
"""

from __future__ import annotations

import os
import random
import socket
import threading

_WORKER = os.environ.get("PYTEST_XDIST_WORKER", "gw0").removeprefix("gw")
_BLOCK = 4000
_BASE = 20000 + _BLOCK * ((int(_WORKER) if _WORKER.isdigit() else 0) % 3)
_lock = threading.Lock()
_offset = random.randrange(_BLOCK)


def free_port() -> int:
    """A loopback port nothing listens on now, from this worker's block."""
    global _offset
    with _lock:
        for _ in range(_BLOCK):
            port = _BASE + _offset
            _offset = (_offset + 1) % _BLOCK
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    continue
            return port
    raise RuntimeError(f"no free loopback port in {_BASE}–{_BASE + _BLOCK - 1}")
