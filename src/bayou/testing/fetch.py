"""Stubbed HTTP for actions under test: what `convex.stub_fetch(...)` registers.

In a test backend, an action's HTTP request (urllib, httpx, requests) never reaches the
network: the worker sends it to the test (`bayou.runtimes.python.stubbed_network`), which
answers it with the first stub that matches, newest first, and records it in
`convex.fetches`. A request no stub matches fails in the action with an error naming it.

    convex.stub_fetch("https://api.example.com/weather", json={"temp": 21})
    convex.stub_fetch("https://api.example.com/*", status=503)      # a prefix
    convex.stub_fetch(lambda request: FetchResponse(200, body=request.body))
"""

from __future__ import annotations

import base64
import json as _json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from bayou.errors import BadRequest


@dataclass(frozen=True)
class FetchRequest:
    """An HTTP request an action made."""

    method: str
    url: str
    headers: dict[str, str]
    body: bytes | None

    def json(self) -> Any:
        """The body parsed as JSON."""
        return _json.loads(self.body or b"null")

    def text(self) -> str:
        """The body as UTF-8 text."""
        return (self.body or b"").decode()


@dataclass
class FetchResponse:
    """The answer a stub gives."""

    status: int = 200
    body: bytes | str = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def of_json(cls, data: Any, status: int = 200) -> FetchResponse:
        """A JSON answer (`content-type: application/json`)."""
        return cls(status, _json.dumps(data).encode(), {"content-type": "application/json"})


Responder = Callable[[FetchRequest], "FetchResponse | dict[str, Any] | list[Any] | str | bytes"]


@dataclass
class _Stub:
    url: str | None
    method: str | None
    respond: Responder

    def matches(self, request: FetchRequest) -> bool:
        if self.method is not None and self.method != request.method:
            return False
        if self.url is None:
            return True
        if self.url.endswith("*"):
            return request.url.startswith(self.url[:-1])
        return request.url == self.url


class FetchStubs:
    """The stubs of one test and the requests they answered."""

    def __init__(self) -> None:
        self._stubs: list[_Stub] = []
        self.requests: list[FetchRequest] = []

    def add(
        self,
        url: str | Responder | None = None,
        *,
        method: str | None = None,
        status: int = 200,
        json: Any = None,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        respond: Responder | None = None,
    ) -> None:
        """Answer requests to `url` (exact, or a prefix ending in `*`; None: any URL) with
        `json=`, or `body=`, `status=` and `headers=`, or whatever `respond(request)`
        returns. A callable as the first argument is `respond` for any URL."""
        if callable(url):
            url, respond = None, url
        if respond is None:
            if json is not None:
                canned = FetchResponse.of_json(json, status)
                canned.headers.update(headers or {})
            else:
                canned = FetchResponse(status, body if body is not None else b"", headers or {})

            def respond(request: FetchRequest, canned: FetchResponse = canned) -> FetchResponse:
                return canned

        self._stubs.append(_Stub(url, method.upper() if method else None, respond))

    def clear(self) -> None:
        """Forget every stub and recorded request."""
        self._stubs.clear()
        self.requests.clear()

    def answer(self, args: dict[str, Any]) -> dict[str, Any]:
        """The syscall `bayou/testing/fetch`: the matching stub's answer, as JSON."""
        body = args.get("body")
        request = FetchRequest(
            str(args["method"]),
            str(args["url"]),
            {str(k).lower(): str(v) for k, v in args.get("headers") or []},
            None if body is None else base64.b64decode(body),
        )
        self.requests.append(request)
        for stub in reversed(self._stubs):
            if stub.matches(request):
                return _encode(stub.respond(request))
        raise BadRequest(
            f"No stub answers {request.method} {request.url}: the test backend makes no real "
            "network requests. Add one in the test, e.g. convex.stub_fetch("
            f'"{request.url}", json={{...}})',
            code="FetchNotStubbed",
        )


def _encode(answer: Any) -> dict[str, Any]:
    if isinstance(answer, (dict, list)):
        answer = FetchResponse.of_json(answer)
    elif isinstance(answer, (str, bytes)):
        answer = FetchResponse(200, answer)
    if not isinstance(answer, FetchResponse):
        raise TypeError(
            f"a fetch stub returned {type(answer).__name__}: return a FetchResponse, a dict "
            "or list (JSON), or a str or bytes body"
        )
    body = answer.body.encode() if isinstance(answer.body, str) else bytes(answer.body)
    return {
        "status": answer.status,
        "headers": [[k, v] for k, v in answer.headers.items()],
        "body": base64.b64encode(body).decode("ascii"),
    }
