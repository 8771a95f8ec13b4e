"""A small OpenID Connect issuer for tests: a Starlette app that serves discovery
(`/.well-known/openid-configuration`) and its keys (`/jwks`), and mints tokens with them.

    issuer = TestIssuer()
    with issuer.serve() as url:               # on a free loopback port, in a thread
        token = issuer.mint("user-1", aud="convex")

It has an RSA key (RS256), an Ed25519 key (EdDSA) and a P-256 key (ES256), each with a
`kid`; `published` says which the JWKS lists. `mode` makes the JWKS misbehave: "hang",
"garbage", "error" (500) or "html" (a text/html answer). `jwks_fetches` counts requests.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import jwt
import uvicorn
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.ports import free_port

ALGORITHMS = {"rsa": "RS256", "ed": "EdDSA", "ec": "ES256"}


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


class TestIssuer:
    """Keys, a JWKS, discovery, and tokens signed with them (see the module docstring)."""

    __test__ = False  # not a pytest class

    def __init__(self, url: str = "http://issuer.invalid") -> None:
        self.url = url
        self.keys: dict[str, Any] = {
            "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
            "ed": ed25519.Ed25519PrivateKey.generate(),
            "ec": ec.generate_private_key(ec.SECP256R1()),
        }
        self.kids = {"rsa": "rsa-1", "ed": "ed-1", "ec": "ec-1"}
        self.published = {"rsa", "ed"}
        self.mode = "ok"
        self.discovery_issuer: str | None = None  # what discovery says, when not `url`
        self.jwks_fetches = 0
        self.discovery_fetches = 0

    # -- keys and tokens -------------------------------------------------------------------

    def jwk(self, name: str) -> dict[str, Any]:
        public = self.keys[name].public_key()
        algorithm = jwt.get_algorithm_by_name(ALGORITHMS[name])
        data = json.loads(algorithm.to_jwk(public))
        data.update(kid=self.kids[name], use="sig", alg=ALGORITHMS[name])
        return data

    def jwks(self, names: set[str] | None = None) -> dict[str, Any]:
        names = self.published if names is None else names
        return {"keys": [self.jwk(n) for n in sorted(names)]}

    def jwks_data_uri(self, names: set[str] | None = None) -> str:
        raw = json.dumps(self.jwks(names)).encode()
        return "data:text/plain;charset=utf-8;base64," + base64.b64encode(raw).decode()

    def claims(
        self,
        sub: str = "user-1",
        *,
        aud: str | list[str] | None = "convex",
        lifetime: float = 3600,
        iss: str | None = None,
        **extra: Any,
    ) -> dict[str, Any]:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.url if iss is None else iss,
            "sub": sub,
            "iat": now,
            "exp": int(now + lifetime),
        }
        if aud is not None:
            claims["aud"] = aud
        claims.update(extra)
        return claims

    def mint(
        self,
        sub: str = "user-1",
        *,
        key: str = "rsa",
        kid: str | None = "default",
        headers: dict[str, Any] | None = None,
        **claims: Any,
    ) -> str:
        """A token signed with `key` ("rsa", "ed", "ec"); `kid=None` leaves it out."""
        header: dict[str, Any] = dict(headers or {})
        if kid is not None:
            header["kid"] = self.kids[key] if kid == "default" else kid
        return jwt.encode(
            self.claims(sub, **claims),
            self.keys[key],
            algorithm=ALGORITHMS[key],
            headers=header or None,
        )

    def unsigned(self, sub: str = "user-1", **claims: Any) -> str:
        """An `alg: none` token (no signature)."""
        header = b64url(json.dumps({"alg": "none", "typ": "JWT"}).encode())
        payload = b64url(json.dumps(self.claims(sub, **claims)).encode())
        return f"{header}.{payload}."

    def hs256_with_public_key(self, sub: str = "user-1", **claims: Any) -> str:
        """An HS256 token whose HMAC secret is the RSA public key (algorithm confusion)."""
        header = b64url(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa-1"}).encode())
        payload = b64url(json.dumps(self.claims(sub, **claims)).encode())
        secret = json.dumps(self.jwk("rsa")).encode()
        signature = hmac.new(secret, f"{header}.{payload}".encode(), hashlib.sha256).digest()
        return f"{header}.{payload}.{b64url(signature)}"

    # -- the app -----------------------------------------------------------------------------

    def app(self) -> Starlette:
        async def discovery(request: Request) -> Response:
            self.discovery_fetches += 1
            return JSONResponse(
                {
                    "issuer": self.discovery_issuer or self.url,
                    "jwks_uri": f"{self.url}/jwks",
                    "authorization_endpoint": f"{self.url}/authorize",
                    "response_types_supported": ["id_token"],
                    "subject_types_supported": ["public"],
                    "id_token_signing_alg_values_supported": ["RS256", "EdDSA"],
                }
            )

        async def jwks(request: Request) -> Response:
            self.jwks_fetches += 1
            if self.mode == "hang":
                await asyncio.sleep(3600)
            if self.mode == "garbage":
                return Response(b"\x00not json{{", media_type="application/json")
            if self.mode == "error":
                return Response(b"boom", status_code=500, media_type="text/plain")
            if self.mode == "html":
                return Response(b"<html></html>", media_type="text/html")
            return JSONResponse(self.jwks(), headers={"Cache-Control": "max-age=3600"})

        return Starlette(
            routes=[
                Route("/.well-known/openid-configuration", discovery),
                Route("/jwks", jwks),
            ]
        )

    @contextlib.contextmanager
    def serve(self) -> Iterator[str]:
        """Serve the app on a free loopback port (in a thread); yields its URL."""
        port = free_port()
        self.url = f"http://127.0.0.1:{port}"
        config = uvicorn.Config(
            self.app(), host="127.0.0.1", port=port, log_level="warning", lifespan="off"
        )
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise RuntimeError("the test issuer did not start")
            time.sleep(0.01)
        try:
            yield self.url
        finally:
            server.should_exit = True
            server.force_exit = True
            thread.join(10)
