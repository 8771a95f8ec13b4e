"""The Health page's server side: `bayou doctor`'s checks that a running server can make
of itself, and the last hour of its metrics (`bayou.runner.metrics_history`).

    GET /api/dashboard/doctor            [{name, ok: true|false|null (a note), detail}]
    GET /api/dashboard/metrics_history   {intervalS, windowS, latencyBounds, samples}

What `bayou doctor` checks on the machine it runs on — the data directory and the secret
it holds, `.env.local` and what `npx convex` will talk to, the admin key in your
environment, auth providers' keys — stays with the command: the page says so.
"""

from __future__ import annotations

import asyncio
from dataclasses import asdict, dataclass
from typing import Any

from starlette.requests import Request

from bayou import __version__
from bayou.backend import Backend
from bayou.files.audit_findings import findings
from bayou.runtimes.base import UnavailableRuntime
from bayou.runtimes.confinement import detect

PROBE_TIMEOUT_S = 5.0


@dataclass
class Check:
    name: str
    ok: bool | None  # None: a note, not a failure
    detail: str


async def checks(backend: Backend, request: Request) -> list[dict[str, Any]]:
    found = [
        _server(backend, request),
        await _database(backend),
        await _file_store(backend),
        await _files(backend),
        *_runtimes(backend),
        _sandbox(),
        _code(backend),
    ]
    return [asdict(c) for c in found]


def _server(backend: Backend, request: Request) -> Check:
    s = backend.settings
    detail = (
        f"Bayou {__version__}, instance {backend.instance_name}; clients are told "
        f"{s.api_origin} (API) and {s.http_origin} (HTTP actions)"
    )
    opened = f"{request.url.scheme}://{request.headers.get('host', '')}"
    if opened.rstrip("/") != s.api_origin.rstrip("/"):
        return Check(
            "origins",
            None,
            detail + f"; this page was opened at {opened}: if clients reach the server there, "
            "set CONVEX_CLOUD_ORIGIN (and CONVEX_SITE_ORIGIN) to it",
        )
    return Check("origins", True, detail)


async def _database(backend: Backend) -> Check:
    db = backend.db
    if db is None:
        return Check("database", False, "not started")
    try:
        await asyncio.wait_for(db.persistence.max_ts(), PROBE_TIMEOUT_S)
    except Exception as e:
        return Check("database", False, f"{db.persistence.description}: does not answer ({e})")
    return Check("database", True, f"{db.persistence.description}: answers")


async def _file_store(backend: Backend) -> Check:
    files = backend.files
    if files is None:
        return Check("file store", False, "not started")
    try:
        await asyncio.wait_for(
            files.store.head(files.prefix + "bayou-ready-check"), PROBE_TIMEOUT_S
        )
    except Exception as e:
        return Check("file store", False, f"{files.description}: does not answer ({e})")
    return Check("file store", True, f"{files.description}: answers")


async def _files(backend: Backend) -> Check:
    """Every file's data in the store, and no blob without a file (as `bayou doctor`)."""
    if backend.files is None:
        return Check("files", None, "not started")
    try:
        report = await backend.files.audit()
    except Exception as e:
        return Check("files", None, f"could not check them: {e}")
    verdict, summary, problems = findings(report)
    return Check("files", verdict, "; ".join([summary, *problems]))


def _runtimes(backend: Backend) -> list[Check]:
    names = {"js": "JavaScript runtime", "python": "Python runtime"}
    out = []
    for name, runtime in sorted(backend.runtimes.items()):
        label = names.get(name, f"{name} runtime")
        if isinstance(runtime, UnavailableRuntime):
            out.append(Check(label, False, runtime.reason))
        else:
            out.append(Check(label, True, "running"))
    return out


def _sandbox() -> Check:
    support = detect()
    notes = support.problems()
    return Check("sandbox", None if notes else True, "; ".join([support.summary(), *notes]))


def _code(backend: Backend) -> Check:
    version = backend.deployment.version
    if version == "empty":
        return Check("deployed code", None, "nothing deployed yet (npx convex deploy)")
    functions = sum(
        len((info or {}).get("functions") or []) for info in backend.deployment.analysis.values()
    )
    components = len(backend.deployment.components)
    return Check(
        "deployed code",
        True,
        f"version {version}: {functions} function(s)"
        + (f", {components} component(s)" if components else ""),
    )
