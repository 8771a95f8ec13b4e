"""A query execution's result, encoded once for every session that will receive it.

The value is Convex-encoded a single time into the body of its `QueryUpdated` (or
`QueryFailed`) modification; sessions only prepend their own `queryId`. Two outcomes are
the same result for a client when their bodies are equal (value, log lines, journal, or
error), which is how a session decides that a re-run changed nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from bayou.protocol import sync_messages as msg
from bayou.runner.function_runner import CallResult
from bayou.values import json as vjson


@dataclass(frozen=True, slots=True)
class QueryOutcome:
    """The shared modification body of one query result, and its journal."""

    body: str
    journal: str | None
    ok: bool

    @classmethod
    def from_result(cls, result: CallResult, *, redact: bool = False) -> QueryOutcome:
        logs = [] if redact else result.log_texts
        if result.ok:
            value_json = vjson.dumps(result.value).decode()
            return cls(
                msg.query_updated_body(value_json, logs, result.journal), result.journal, True
            )
        return cls.failure(
            result.client_error(redact=redact),
            logs,
            result.journal,
            vjson.dumps(result.error_data).decode() if result.has_error_data else None,
        )

    @classmethod
    def failure(
        cls,
        message: str,
        log_lines: list[str] | None = None,
        journal: str | None = None,
        error_data_json: str | None = None,
    ) -> QueryOutcome:
        body = msg.query_failed_body(message, log_lines or [], journal, error_data_json)
        return cls(body, journal, False)

    def same_as(self, other: QueryOutcome | None) -> bool:
        return other is self or (other is not None and other.body == self.body)
