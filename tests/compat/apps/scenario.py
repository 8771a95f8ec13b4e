"""The chat scenario: every public function of examples/ts-app (and py-app), called in one
fixed order by one client, with the answers normalized so that two runs compare equal when
the deployments behave the same.

Normalization replaces what legitimately differs between runs — document ids (numbered
by first appearance), `_creationTime`s, pagination cursors, the run's tag — and reduces
an error to what a client can act on: a `ConvexError`'s data, else the error's message
without the request id, the exception's class name and the stack (`Uncaught Error:
boom\\n    at handler (…)` and `Uncaught Exception: boom\\n  File "…"` both read `boom`).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from tests.compat.apps.clients import DriverClient

ID = re.compile(r"^[0-9a-z]{31,37}$")
ID_IN_TEXT = re.compile(r"\b[0-9a-z]{31,37}\b")
_UNCAUGHT = re.compile(r"^Uncaught \w+: ")

Transcript = dict[str, Any]


def essential_message(text: str) -> str:
    """The line of an error message that says what went wrong."""
    lines = [line for line in text.splitlines() if line.strip()]
    for i, line in enumerate(lines):
        if line.endswith("Server Error") and i + 1 < len(lines):
            return _UNCAUGHT.sub("", lines[i + 1].strip())
    return _UNCAUGHT.sub("", lines[0].strip()) if lines else ""


class Normalizer:
    """Replaces ids, times and cursors consistently within one run."""

    def __init__(self, tag: str) -> None:
        self.tag = tag
        self.ids: dict[str, str] = {}

    def id(self, value: str) -> str:
        return self.ids.setdefault(value, f"<id{len(self.ids) + 1}>")

    def __call__(self, value: Any, key: str | None = None) -> Any:
        if key == "_creationTime":
            return "<time>"
        if key == "continueCursor" and isinstance(value, str):
            return "<cursor>" if value else value
        if isinstance(value, str):
            if ID.match(value):
                return self.id(value)
            value = ID_IN_TEXT.sub(lambda m: self.id(m.group(0)), value)
            return value.replace(self.tag, "<tag>")
        if isinstance(value, list):
            return [self(v) for v in value]
        if isinstance(value, dict):
            return {k: self(v, k) for k, v in value.items()}
        if isinstance(value, float) and value == int(value):
            return int(value)  # JSON from Node writes 1, from Python 1.0: the same number
        return value

    def outcome(self, answer: dict[str, Any]) -> Any:
        if "value" in answer:
            return {"value": self(answer["value"])}
        if "data" in answer:
            return {"errorData": self(answer["data"])}
        return {"error": self(essential_message(answer["error"]))}


class Run:
    """One client's pass through the scenario."""

    def __init__(self, client: DriverClient, tag: str) -> None:
        self.client = client
        self.tag = tag
        self.normalize = Normalizer(tag)
        self.transcript: Transcript = {}

    def call(self, step: str, kind: str, path: str, args: dict[str, Any] | None = None) -> Any:
        """Call, record the normalized outcome under `step`, return the raw value (or None)."""
        assert step not in self.transcript, step
        answer = self.client.call(kind, path, args or {})
        self.transcript[step] = self.normalize.outcome(answer)
        return answer.get("value")

    def keep(self, step: str, predicate: Callable[[Any], bool]) -> None:
        """Keep only the list items of `step` that belong to this run."""
        outcome = self.transcript[step]
        if "value" in outcome:
            outcome["value"] = [item for item in outcome["value"] if predicate(item)]


def run_scenario(client: DriverClient, tag: str) -> Transcript:
    """Exercise every public function (and the errors clients can meet) with `client`."""
    r = Run(client, tag)
    q, m, a = "query", "mutation", "action"

    # users: validators, ConvexError with object and string data, index lookups
    u1 = r.call("createAda", m, "users:create", {"name": "Ada", "email": f"ada-{tag}@example.com"})
    u2 = r.call("createBob", m, "users:create", {"name": "Bob", "email": f"bob-{tag}@example.com"})
    r.call("emailTaken", m, "users:create", {"name": "Eve", "email": f"ada-{tag}@example.com"})
    r.call("nameRequired", m, "users:create", {"name": "  ", "email": f"x-{tag}@example.com"})
    r.call("getAda", q, "users:get", {"id": u1})
    r.call("byEmail", q, "users:byEmail", {"email": f"bob-{tag}@example.com"})
    r.call("byEmailMissing", q, "users:byEmail", {"email": f"nobody-{tag}@example.com"})
    r.call("listUsers", q, "users:list")
    r.keep("listUsers", lambda u: "<tag>" in u["email"])

    # channels
    c1 = r.call("createGeneral", m, "channels:create", {"name": f"general-{tag}", "topic": "all"})
    c2 = r.call("createRandom", m, "channels:create", {"name": f"random-{tag}"})
    r.call("channelExists", m, "channels:create", {"name": f"general-{tag}"})
    r.call("channelByName", q, "channels:byName", {"name": f"general-{tag}"})
    r.call("listChannels", q, "channels:list")
    r.keep("listChannels", lambda c: "<tag>" in c["name"])

    # messages: a sequence per channel, index ranges, filters, pagination
    sent = []
    for i, body in enumerate(["one", " two ", "three", "four", "five"]):
        author = u1 if i % 2 == 0 else u2
        sent.append(
            r.call(
                f"send{i + 1}", m, "messages:send", {"channel": c1, "author": author, "body": body}
            )
        )
    r.call("sendElsewhere", m, "messages:send", {"channel": c2, "author": u2, "body": "elsewhere"})
    r.call("sendEmpty", m, "messages:send", {"channel": c1, "author": u1, "body": "   "})
    ids = [s["id"] if isinstance(s, dict) else None for s in sent]
    r.call("listThree", q, "messages:list", {"channel": c1, "limit": 3})
    r.call("listAll", q, "messages:list", {"channel": c1})
    r.call("range", q, "messages:range", {"channel": c1, "from": 2, "to": 4})
    r.call("like2", m, "messages:like", {"id": ids[1]})
    r.call("like2again", m, "messages:like", {"id": ids[1]})
    r.call("like3", m, "messages:like", {"id": ids[2]})
    r.call("popular", q, "messages:popular", {"channel": c1, "minLikes": 1})
    r.call("popularTwo", q, "messages:popular", {"channel": c1, "minLikes": 2})
    r.call("byAda", q, "messages:byAuthor", {"author": u1})
    r.call("byBobInRandom", q, "messages:byAuthor", {"author": u2, "channel": c2})
    cursor = None
    for page in range(1, 6):
        value = r.call(
            f"page{page}",
            q,
            "messages:page",
            {"channel": c1, "paginationOpts": {"numItems": 2, "cursor": cursor}},
        )
        if not isinstance(value, dict) or value.get("isDone"):
            break
        cursor = value["continueCursor"]
    r.call("edit", m, "messages:edit", {"id": ids[0], "body": "uno"})
    r.call("remove", m, "messages:remove", {"id": ids[4]})
    r.call("likeRemoved", m, "messages:like", {"id": ids[4]})
    r.call("listAfterChanges", q, "messages:list", {"channel": c1})

    # an action calling a query, a mutation, a query
    r.call("welcome", a, "actions:welcome", {"channel": c2, "author": u1})
    r.call("listRandom", q, "messages:list", {"channel": c2})

    # values and failures
    value = {
        "float": 1.5,
        "int64": {"$integer": "KgAAAAAAAAA="},
        "bytes": {"$bytes": "AAECAw=="},
        "nan": {"$float": "AAAAAAAA+H8="},
        "negativeZero": {"$float": "AAAAAAAAAIA="},
        "array": [1, "x", None, True, []],
        "nested": {"a": {"b": {"c": "deep"}}},
    }
    r.call("echo", q, "diagnostics:echo", {"value": value})
    r.call("failConvexError", q, "diagnostics:fail", {"convex": True})
    r.call("failPlainError", q, "diagnostics:fail", {"convex": False})
    r.call("settingUnset", q, "diagnostics:setting", {"name": "BAYOU_SCENARIO_UNSET"})
    r.call("whoamiAnonymous", q, "diagnostics:whoami")

    # errors a client can meet
    r.call("unknownFunction", q, "messages:nope")
    r.call("unknownModule", q, "nowhere:list")
    r.call("internalQuery", q, "channels:stats", {"channel": c1})
    r.call("internalMutation", m, "users:rename", {"id": u1, "name": "Mallory"})
    r.call("mutationAsQuery", q, "messages:send", {"channel": c1, "author": u1, "body": "x"})
    r.call("missingArgument", q, "messages:list", {})
    r.call("wrongType", q, "messages:list", {"channel": c1, "limit": "ten"})
    r.call("extraArgument", q, "users:get", {"id": u1, "extra": 1})
    r.call("idOfAnotherTable", q, "users:get", {"id": c1})
    r.call("notAnId", q, "users:get", {"id": "not-an-id"})
    return r.transcript
