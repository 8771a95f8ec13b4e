"""HTTP from actions answered by the test harness (`bayou.testing`), not by the network.

Installed in the action workers of a runtime started with `PythonRuntime(testing=True)`
(the host sets `BAYOU_TESTING_NETWORK` in their environment). Every HTTP request an action
makes through one of the clients Python code uses —

    urllib.request (urlopen, any opener)      the standard library
    httpx.Client / httpx.AsyncClient          when httpx is installed
    requests                                  when requests is installed

— becomes the syscall `bayou/testing/fetch` of the running call: the host (the test)
answers it from the stubs the test registered (`convex.stub_fetch(...)`), so a test sees
every request and decides every answer, and its actions never wait on a real server. Any
other connection (a raw socket, a database driver) raises an error that says how to stub.
"""

from __future__ import annotations

import base64
import email.parser
import http.client
import importlib.util
import io
import socket
import urllib.request
import urllib.response
from collections.abc import Iterable
from contextvars import ContextVar
from typing import Any, Final

from bayou.runtimes.python.api.syscalls import CallInfo, SyscallFailed

FETCH_SYSCALL: Final = "bayou/testing/fetch"
"""The syscall of one HTTP request: `{method, url, headers: [[k, v]…], body: base64|null}`
→ `{status, headers, body: base64}`."""
ENV_FLAG: Final = "BAYOU_TESTING_NETWORK"

CURRENT_CALL: ContextVar[CallInfo | None] = ContextVar("bayou_current_call", default=None)

NETWORK_REFUSED: Final = (
    "network access from a function under bayou.testing: only HTTP requests (urllib, httpx, "
    "requests) are served, by the test's stubs: add convex.stub_fetch(url, ...) to the test"
)


def _request(method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes | None) -> Any:
    return {
        "method": method.upper(),
        "url": url,
        "headers": [[str(k), str(v)] for k, v in headers],
        "body": None if body is None else base64.b64encode(body).decode("ascii"),
    }


def _answer(result: Any) -> tuple[int, list[tuple[str, str]], bytes]:
    headers = [(str(k), str(v)) for k, v in result.get("headers") or []]
    return int(result["status"]), headers, base64.b64decode(result.get("body") or "")


def _info() -> CallInfo:
    info = CURRENT_CALL.get()
    if info is None:
        raise RuntimeError("HTTP requests under bayou.testing are served only inside a call")
    return info


def fetch(
    method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes | None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request through the harness (blocking): `(status, headers, body)`."""
    try:
        result = _info().channel.call(FETCH_SYSCALL, _request(method, url, headers, body))
    except SyscallFailed as failed:
        raise failed.to_user_error() from None
    return _answer(result)


async def afetch(
    method: str, url: str, headers: Iterable[tuple[str, str]], body: bytes | None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """One request through the harness, awaited."""
    try:
        result = await _info().channel.acall(FETCH_SYSCALL, _request(method, url, headers, body))
    except SyscallFailed as failed:
        raise failed.to_user_error() from None
    return _answer(result)


# --------------------------------------------------------------------------- urllib


def _body_bytes(data: Any) -> bytes | None:
    if data is None:
        return None
    if isinstance(data, (bytes, bytearray, memoryview)):
        return bytes(data)
    if hasattr(data, "read"):
        return bytes(data.read())
    return b"".join(bytes(chunk) for chunk in data)


def _urllib_open(handler: Any, request: urllib.request.Request) -> Any:
    status, headers, body = fetch(
        request.get_method(), request.full_url, request.header_items(), _body_bytes(request.data)
    )
    text = "".join(f"{k}: {v}\r\n" for k, v in headers) + "\r\n"
    message = email.parser.Parser(_class=http.client.HTTPMessage).parsestr(text)
    response = urllib.response.addinfourl(io.BytesIO(body), message, request.full_url, status)
    response.msg = http.client.responses.get(status, "")  # type: ignore[attr-defined]
    return response


def _patch_urllib() -> None:
    urllib.request.HTTPHandler.http_open = _urllib_open  # type: ignore[method-assign,assignment]
    urllib.request.HTTPSHandler.https_open = _urllib_open  # type: ignore[attr-defined,assignment]


# --------------------------------------------------------------------------- httpx


def _patch_httpx() -> None:
    import httpx

    def handle_request(self: Any, request: httpx.Request) -> httpx.Response:
        request.read()
        status, headers, body = fetch(
            request.method, str(request.url), request.headers.multi_items(), request.content
        )
        return httpx.Response(status, headers=headers, content=body, request=request)

    async def handle_async_request(self: Any, request: httpx.Request) -> httpx.Response:
        await request.aread()
        status, headers, body = await afetch(
            request.method, str(request.url), request.headers.multi_items(), request.content
        )
        return httpx.Response(status, headers=headers, content=body, request=request)

    httpx.HTTPTransport.handle_request = handle_request  # type: ignore[method-assign]
    httpx.AsyncHTTPTransport.handle_async_request = handle_async_request  # type: ignore[method-assign]


# --------------------------------------------------------------------------- requests


def _patch_requests() -> None:
    import requests
    import requests.adapters
    import requests.structures

    def send(self: Any, request: Any, **kwargs: Any) -> Any:
        body = request.body.encode() if isinstance(request.body, str) else request.body
        status, headers, content = fetch(
            request.method, request.url, request.headers.items(), _body_bytes(body)
        )
        response = requests.Response()
        response.status_code = status
        response.headers = requests.structures.CaseInsensitiveDict(headers)
        response._content = content
        response.url = request.url
        response.request = request
        response.reason = http.client.responses.get(status, "")
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        return response

    requests.adapters.HTTPAdapter.send = send  # type: ignore[method-assign]


# --------------------------------------------------------------------------- the rest


def _refuse_sockets() -> None:
    original_connect = socket.socket.connect

    def refuse(self: socket.socket, *args: Any, **kwargs: Any) -> Any:
        if self.family in (socket.AF_INET, socket.AF_INET6):
            raise RuntimeError(NETWORK_REFUSED)
        return original_connect(self, *args, **kwargs)

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign,assignment]

    def no_lookup(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(NETWORK_REFUSED)

    socket.getaddrinfo = no_lookup
    socket.gethostbyname = no_lookup


def install() -> None:
    """Route HTTP through the harness and refuse other connections (once, at start)."""
    _patch_urllib()
    if importlib.util.find_spec("httpx") is not None:
        _patch_httpx()
    if importlib.util.find_spec("requests") is not None:
        _patch_requests()
    _refuse_sockets()
