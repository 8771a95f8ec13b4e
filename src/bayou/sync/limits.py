"""Per-connection bounds of the sync protocol: what keeps one client from exhausting the
server. A connection past a bound gets a `FatalError` (queries, message size) or a refusal
of just that request (pending mutations, actions in flight); other sessions never notice.
"""

from __future__ import annotations

from dataclasses import dataclass

# Function arguments may be 16 MiB (wire-protocol.md §3.3); a message holds one call plus
# a little framing.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024 + 64 * 1024


@dataclass(frozen=True, slots=True)
class SyncLimits:
    """Bounds and timings of sync sessions; the defaults are Convex's where it has one."""

    max_queries: int = 4096  # live queries on one connection
    max_message_bytes: int = MAX_MESSAGE_BYTES
    max_pending_mutations: int = 1000  # queued behind the one running
    max_actions_in_flight: int = 1000
    heartbeat_s: float = 15.0  # a JSON Ping after this long without sending anything
    idle_cache_entries: int = 2000  # query results kept with no subscriber
