"""HTTP actions: `HttpRouter` (in `http.py`), and the `Request` / `Response` handlers see.

    http = HttpRouter()

    @http_action
    def post_message(ctx, request):
        body = request.json()
        ctx.run_mutation(api.messages.send, body)
        return Response(status=200)

    http.route(path="/postMessage", method="POST", handler=post_message)

Routing is Convex's: an exact `path` wins, then the longest `path_prefix` (which must end
with `/`); HEAD is routed as GET; unmatched requests get 404 `No HttpAction routed for …`.
"""

from __future__ import annotations

import json as _json
from collections.abc import Iterable, Iterator, Mapping
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any, Final
from urllib.parse import parse_qsl, urlsplit

from bayou.runtimes.python.api.functions import RegisteredFunction

ROUTABLE_METHODS: Final = ("GET", "POST", "PUT", "DELETE", "OPTIONS", "PATCH")


class Headers(Mapping[str, str]):
    """Case-insensitive, read-only HTTP headers; repeated headers join with ", "."""

    def __init__(self, pairs: Iterable[tuple[str, str]] = ()) -> None:
        self._pairs = [(str(k), str(v)) for k, v in pairs]
        joined: dict[str, str] = {}
        for k, v in self._pairs:
            key = k.lower()
            joined[key] = f"{joined[key]}, {v}" if key in joined else v
        self._joined = joined

    def __getitem__(self, key: str) -> str:
        return self._joined[key.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._joined)

    def __len__(self) -> int:
        return len(self._joined)

    def raw(self) -> list[tuple[str, str]]:
        """Every header as received, in order, with repeats."""
        return list(self._pairs)

    def __repr__(self) -> str:
        return f"Headers({self._pairs!r})"


class Request:
    """An incoming HTTP request (the body is read completely)."""

    def __init__(
        self, method: str, url: str, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
    ) -> None:
        self.method = method
        self.url = url
        self.headers = Headers(headers)
        self.body = body

    @property
    def path(self) -> str:
        """The URL's path (`/postMessage`)."""
        return urlsplit(self.url).path

    @property
    def query_params(self) -> dict[str, str]:
        """The URL's query parameters (the last value of a repeated one)."""
        return dict(parse_qsl(urlsplit(self.url).query, keep_blank_values=True))

    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8", errors="replace")

    def json(self) -> Any:
        """The body parsed as JSON (numbers stay as JSON parses them: int or float)."""
        return _json.loads(self.body or b"null")

    def form(self) -> dict[str, str | UploadedFile]:
        """The body as a form: `application/x-www-form-urlencoded` fields are strings;
        `multipart/form-data` files are `UploadedFile`s (the last value of a repeated name)."""
        kind = self.headers.get("content-type", "")
        if kind.startswith("application/x-www-form-urlencoded"):
            return dict(parse_qsl(self.text(), keep_blank_values=True))
        if not kind.startswith("multipart/form-data"):
            raise ValueError(f"Request.form() needs a form body, not {kind or 'no content type'!r}")
        message = BytesParser(policy=HTTP).parsebytes(
            b"Content-Type: " + kind.encode("latin-1") + b"\r\n\r\n" + self.body
        )
        out: dict[str, str | UploadedFile] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            if not isinstance(name, str):
                continue
            data = part.get_payload(decode=True) or b""
            filename = part.get_filename()
            if filename is None:
                out[name] = data.decode(part.get_content_charset() or "utf-8", errors="replace")
            else:
                out[name] = UploadedFile(filename, part.get_content_type(), data)
        return out

    def __repr__(self) -> str:
        return f"<Request {self.method} {self.url}>"


class UploadedFile:
    """A file of a `multipart/form-data` request: `filename`, `content_type`, `data`."""

    def __init__(self, filename: str, content_type: str, data: bytes) -> None:
        self.filename = filename
        self.content_type = content_type
        self.data = data

    @property
    def size(self) -> int:
        return len(self.data)

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")

    def __repr__(self) -> str:
        return f"<UploadedFile {self.filename!r} {self.content_type} {self.size} bytes>"


class Response:
    """An HTTP response. A `str` body defaults to `text/plain;charset=UTF-8`."""

    def __init__(
        self,
        body: str | bytes | None = None,
        *,
        status: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    ) -> None:
        if isinstance(status, bool) or not isinstance(status, int) or not 200 <= status <= 599:
            raise ValueError(f"Response status must be an int from 200 to 599, not {status!r}")
        pairs = list(headers.items() if isinstance(headers, Mapping) else headers or ())
        if isinstance(body, str):
            if not any(k.lower() == "content-type" for k, _ in pairs):
                pairs.append(("content-type", "text/plain;charset=UTF-8"))
            body = body.encode()
        elif body is not None and not isinstance(body, (bytes, bytearray, memoryview)):
            raise TypeError(
                f"Response body must be str, bytes or None, not {type(body).__name__}: use "
                "Response.json(data) for JSON"
            )
        self.status = status
        self.headers = Headers(pairs)
        self.body = None if body is None else bytes(body)

    @classmethod
    def json(
        cls,
        data: Any,
        *,
        status: int = 200,
        headers: Mapping[str, str] | Iterable[tuple[str, str]] | None = None,
    ) -> Response:
        """A JSON response (`application/json`)."""
        pairs = list(headers.items() if isinstance(headers, Mapping) else headers or ())
        pairs.append(("content-type", "application/json"))
        return cls(_json.dumps(data).encode(), status=status, headers=pairs)

    @classmethod
    def redirect(cls, url: str, status: int = 302) -> Response:
        """A redirect to `url` (301, 302, 303, 307 or 308), like the Fetch API's."""
        if status not in (301, 302, 303, 307, 308):
            raise ValueError(f"A redirect status is 301, 302, 303, 307 or 308, not {status!r}")
        return cls(None, status=status, headers=[("location", url)])

    def __repr__(self) -> str:
        return f"<Response {self.status}>"


class HttpRouter:
    """The HTTP routes of a deployment; assign one instance to `http` in `http.py`."""

    is_router: Final = True

    def __init__(self) -> None:
        self._exact: dict[str, dict[str, RegisteredFunction[Any, Any]]] = {}
        self._prefix: dict[str, dict[str, RegisteredFunction[Any, Any]]] = {}

    def route(
        self,
        *,
        method: str,
        handler: RegisteredFunction[Any, Any],
        path: str | None = None,
        path_prefix: str | None = None,
    ) -> None:
        """Route `method` requests for `path` (exact) or under `path_prefix` to `handler`."""
        if not isinstance(handler, RegisteredFunction) or handler.udf_type != "HttpAction":
            raise TypeError(f"route handler must be an @http_action function, not {handler!r}")
        if method not in ROUTABLE_METHODS:
            raise ValueError(f"'{method}' is not an allowed HTTP method (like GET, POST, PUT etc.)")
        if (path is None) == (path_prefix is None):
            raise ValueError("route() needs exactly one of path= or path_prefix=")
        if path is not None:
            if not path.startswith("/"):
                raise ValueError(f"path '{path}' does not start with a /")
            if path == "/.files" or path.startswith("/.files/"):
                raise ValueError(f"path '{path}' is reserved")
            methods = self._exact.setdefault(path, {})
            if method in methods:
                raise ValueError(f"Path '{path}' for method {method} already in use")
            methods[method] = handler
            return
        assert path_prefix is not None
        if not path_prefix.startswith("/"):
            raise ValueError(f"path_prefix '{path_prefix}' does not start with a /")
        if not path_prefix.endswith("/"):
            raise ValueError(f"path_prefix {path_prefix} must end with a /")
        if path_prefix.startswith("/.files/"):
            raise ValueError(f"path_prefix '{path_prefix}' is reserved")
        prefixes = self._prefix.setdefault(method, {})
        if path_prefix in prefixes:
            raise ValueError(f"{method} path_prefix {path_prefix} is already defined")
        prefixes[path_prefix] = handler

    def get_routes(self) -> list[tuple[str, str, RegisteredFunction[Any, Any]]]:
        """`(path, method, handler)` for every route, prefix routes as `"/prefix/*"`, in
        the npm router's order."""
        exact = [
            (path, method, self._exact[path][method])
            for path in sorted(self._exact)
            for method in sorted(self._exact[path])
        ]
        prefixes = [
            (f"{prefix}*", method, self._prefix[method][prefix])
            for method in sorted(self._prefix)
            for prefix in sorted(self._prefix[method])
        ]
        return exact + prefixes

    def lookup(
        self, path: str, method: str
    ) -> tuple[RegisteredFunction[Any, Any], str, str] | None:
        """`(handler, method, routed path)` for a request, or None (a 404)."""
        if method == "HEAD":
            method = "GET"
        found = self._exact.get(path, {}).get(method)
        if found is not None:
            return found, method, path
        prefixes = self._prefix.get(method, {})
        for prefix in sorted(prefixes, key=len, reverse=True):
            if path.startswith(prefix):
                return prefixes[prefix], method, f"{prefix}*"
        return None

    def __repr__(self) -> str:
        return f"<HttpRouter {len(self.get_routes())} routes>"
