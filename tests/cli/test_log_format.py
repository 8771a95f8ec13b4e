"""Log entries printed as `npx convex logs` prints them."""

from __future__ import annotations

from datetime import datetime

from bayou.cli.log_format import format_entry, timestamp_text

ENTRY = {
    "kind": "Completion",
    "udfType": "Mutation",
    "identifier": "messages:send",
    "logLines": [
        {"level": "LOG", "messages": ["'hi'", "1"], "timestamp": 0.0, "isTruncated": False},
        "[WARN] 'old style'",
    ],
    "timestamp": 0.0,
    "executionTime": 0.0031,
    "error": None,
}


def test_timestamps_read_like_en_us_local_time() -> None:
    ms = datetime(2025, 11, 24, 17, 5, 9).timestamp() * 1000
    assert timestamp_text(ms) == "11/24/2025, 5:05:09 PM"
    midnight = datetime(2025, 1, 2, 0, 0, 0).timestamp() * 1000
    assert timestamp_text(midnight) == "1/2/2025, 12:00:00 AM"


def test_log_lines_then_success_line() -> None:
    lines = format_entry(ENTRY, success=True)
    stamp = timestamp_text(0)
    assert lines == [
        f"{stamp} [CONVEX M(messages:send)] [LOG] 'hi' 1",
        f"{stamp} [CONVEX M(messages:send)] [WARN] 'old style'",
        f"{stamp} [CONVEX M(messages:send)] Function executed in 4 ms",
    ]
    assert len(format_entry(ENTRY)) == 2  # no success line unless asked


def test_an_error_replaces_the_success_line() -> None:
    failed = {**ENTRY, "logLines": [], "error": "Uncaught Error: boom"}
    assert format_entry(failed, success=True) == [
        f"{timestamp_text(0)} [CONVEX M(messages:send)] Uncaught Error: boom"
    ]
