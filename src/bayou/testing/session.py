"""`Harness`: the test backends of one session, outside pytest too.

    with Harness() as harness:
        convex = harness.open("convex")          # a fresh backend with the app deployed
        convex.mutation("users:create", {"name": "Ada", "email": "ada@example.com"})
        harness.close_test(convex)

The pytest plugin (`bayou.testing.plugin`) does exactly this: one `Harness` per session,
one `open` per test.
"""

from __future__ import annotations

import os
from pathlib import Path
from types import TracebackType
from typing import Any

from bayou.testing.app import AppSource
from bayou.testing.backend import HarnessSession, TestBackend
from bayou.testing.harness import ConvexTest, EventLoopThread


class Harness:
    """Worker processes and an event loop shared by the tests of a session."""

    def __init__(self, *, confine: bool = True) -> None:
        self._confine = confine
        self._loop: EventLoopThread | None = None
        self._session: HarnessSession | None = None
        self._apps: dict[Path, tuple[Any, AppSource]] = {}
        self._open: set[ConvexTest] = set()

    def _started(self) -> tuple[EventLoopThread, HarnessSession]:
        if self._loop is None or self._session is None:
            self._loop = EventLoopThread()
            self._session = HarnessSession(confine=self._confine)
            self._loop.run(self._session.start())
        return self._loop, self._session

    def app(self, functions_dir: str | os.PathLike[str]) -> AppSource:
        """The functions folder, read and compiled (again only when a file changed)."""
        folder = Path(functions_dir).resolve()
        stamp = _stamp(folder)
        cached = self._apps.get(folder)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        source = AppSource.read(folder)
        self._apps[folder] = (stamp, source)
        return source

    def open(
        self,
        functions_dir: str | os.PathLike[str],
        *,
        env: dict[str, str] | None = None,
        seed: str = "",
        query_timeout_s: float = 1.0,
        action_timeout_s: float = 600.0,
    ) -> ConvexTest:
        """A new backend (empty database, fresh clock) with the app deployed."""
        __tracebackhide__ = True
        loop, session = self._started()
        backend = TestBackend(
            session,
            self.app(functions_dir),
            env=env,
            seed=seed,
            query_timeout_s=query_timeout_s,
            action_timeout_s=action_timeout_s,
        )
        try:
            loop.run(backend.start())
        except BaseException:
            loop.run(backend.stop())
            raise
        test = ConvexTest(backend, loop)
        self._open.add(test)
        return test

    def close_test(self, convex: ConvexTest) -> None:
        """Stop a backend `open` returned (its data is gone)."""
        self._open.discard(convex)
        if self._loop is not None:
            self._loop.run(convex.backend.stop())

    def close(self) -> None:
        """Stop the worker processes and the loop."""
        for test in list(self._open):
            self.close_test(test)
        if self._loop is not None and self._session is not None:
            self._loop.run(self._session.close())
            self._loop.close()
        self._loop = self._session = None

    def __enter__(self) -> Harness:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


def _stamp(folder: Path) -> Any:
    if not folder.is_dir():
        return None
    return tuple(
        (str(p), p.stat().st_mtime_ns, p.stat().st_size) for p in sorted(folder.rglob("*.py"))
    ) + tuple(
        (str(p), p.stat().st_mtime_ns) for p in [folder.parent / "requirements.txt"] if p.exists()
    )
