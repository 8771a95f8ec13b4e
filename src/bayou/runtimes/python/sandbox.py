"""What user code sees of the process: seeded randomness, a frozen clock, no network in
queries and mutations, the deployment's environment variables.

The patches are installed once, when the worker starts (before any user module is
imported), and look up the current `Execution` in a context variable on every use, so
they cost a dictionary lookup and follow `asyncio` tasks. Outside an execution (the
worker's own code) everything behaves normally.

Inside a query or a mutation (and while modules are imported):
- `random`'s module functions, `random.Random()` without a seed, `os.urandom`, `uuid.uuid4`
  and `secrets` draw from a generator seeded per execution;
- `time.time()`, `time.time_ns()`, `datetime.now()/utcnow()/today()`, `date.today()` and
  the no-argument forms of `time.localtime/gmtime/ctime/strftime` return the frozen time
  (`time.monotonic`/`perf_counter` keep running: they measure, they do not date);
- `socket` connections and name lookups raise "network access is only allowed in actions".
Actions see the real world (but for the clock under the test harness, `bayou.testing`,
which freezes theirs too at its fake clock's time: `Execution.frozen_clock`).

None of this is a security boundary: function code can undo any patch (`_socket`,
`ctypes`). What queries and mutations may not do — the network, processes, files — is
enforced by the OS confinement of their workers (`bayou.runtimes.confinement`); the
network patch only words the refusal for users.
"""

from __future__ import annotations

import datetime
import functools
import os
import random
import socket
import time
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, Final

from bayou.runtimes.python.logs import LogSink

NETWORK_BLOCKED: Final = (
    "network access is only allowed in actions: move this code into an action "
    "(@action) and call it with ctx.run_action or the scheduler"
)


@dataclass
class Execution:
    """The world of one function call (or of one import phase)."""

    deterministic: bool
    now_ms: float
    seed: int
    logs: LogSink = field(default_factory=LogSink)
    network: bool = False
    # The harness (bayou.testing) freezes actions' clock too, at its fake clock's time.
    frozen_clock: bool = False
    _rng: random.Random | None = field(default=None, init=False, repr=False)

    @property
    def rng(self) -> random.Random:
        """The execution's random generator (seeded on first use)."""
        if self._rng is None:
            self._rng = _ORIGINAL_RANDOM(self.seed)
        return self._rng


CURRENT: ContextVar[Execution | None] = ContextVar("bayou_execution", default=None)
_ORIGINAL_RANDOM: Final = random.Random
_RANDOM_FUNCTIONS: Final = (
    "random",
    "uniform",
    "triangular",
    "randint",
    "choice",
    "choices",
    "randrange",
    "sample",
    "shuffle",
    "normalvariate",
    "lognormvariate",
    "expovariate",
    "vonmisesvariate",
    "gammavariate",
    "gauss",
    "betavariate",
    "paretovariate",
    "weibullvariate",
    "getrandbits",
    "randbytes",
    "seed",
    "getstate",
    "setstate",
)


def _deterministic() -> Execution | None:
    execution = CURRENT.get()
    return execution if execution is not None and execution.deterministic else None


def _frozen_clock() -> Execution | None:
    execution = CURRENT.get()
    if execution is None or not (execution.deterministic or execution.frozen_clock):
        return None
    return execution


def current_logs() -> LogSink | None:
    """The log sink of the current execution, if any."""
    execution = CURRENT.get()
    return None if execution is None else execution.logs


# --------------------------------------------------------------------------- randomness


def _patch_random() -> None:
    instance = random._inst
    for name in _RANDOM_FUNCTIONS:
        original = getattr(instance, name, None)
        if original is None:
            continue

        def dispatch(*args: Any, _name: str = name, _original: Any = original, **kw: Any) -> Any:
            execution = _deterministic()
            if execution is None:
                return _original(*args, **kw)
            return getattr(execution.rng, _name)(*args, **kw)

        functools.update_wrapper(dispatch, original)
        setattr(random, name, dispatch)

    original_seed = random.Random.seed

    def seed(self: random.Random, a: Any = None, version: int = 2) -> None:
        if a is None:
            execution = _deterministic()
            if execution is not None:
                a = execution.rng.getrandbits(64)
        original_seed(self, a, version)

    random.Random.seed = seed  # type: ignore[method-assign]

    original_urandom = os.urandom

    def urandom(size: int, /) -> bytes:
        execution = _deterministic()
        if execution is None:
            return original_urandom(size)
        return execution.rng.randbytes(size)

    os.urandom = urandom
    random._urandom = urandom  # type: ignore[attr-defined]  # SystemRandom, secrets


# --------------------------------------------------------------------------- time


def _patch_time() -> None:
    original_time, original_time_ns = time.time, time.time_ns

    def frozen_time() -> float:
        execution = _frozen_clock()
        return original_time() if execution is None else execution.now_ms / 1000.0

    def frozen_time_ns() -> int:
        execution = _frozen_clock()
        return original_time_ns() if execution is None else int(execution.now_ms * 1_000_000)

    time.time = frozen_time
    time.time_ns = frozen_time_ns

    def with_default_now(original: Any) -> Any:
        @functools.wraps(original)
        def wrapper(*args: Any) -> Any:
            if not args and _frozen_clock() is not None:
                return original(frozen_time())
            return original(*args)

        return wrapper

    time.localtime = with_default_now(time.localtime)
    time.gmtime = with_default_now(time.gmtime)
    time.ctime = with_default_now(time.ctime)
    original_strftime, original_localtime = time.strftime, time.localtime

    @functools.wraps(original_strftime)
    def strftime(fmt: str, t: Any = None, /) -> str:
        if t is None:
            t = original_localtime()
        return original_strftime(fmt, t)

    time.strftime = strftime
    _patch_datetime(frozen_time)


def _patch_datetime(now: Any) -> None:
    real_datetime: Any = datetime.datetime
    real_date: Any = datetime.date

    class _DateTimeMeta(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return isinstance(obj, real_datetime)

        def __subclasscheck__(cls, sub: type) -> bool:
            return issubclass(sub, real_datetime)

    class _DateMeta(type):
        def __instancecheck__(cls, obj: object) -> bool:
            return isinstance(obj, real_date)

        def __subclasscheck__(cls, sub: type) -> bool:
            return issubclass(sub, real_date)

    class FrozenDateTime(real_datetime, metaclass=_DateTimeMeta):  # type: ignore[misc]
        """`datetime.datetime`, frozen inside queries and mutations."""

        @classmethod
        def now(cls, tz: datetime.tzinfo | None = None) -> Any:
            if _frozen_clock() is None:
                return real_datetime.now(tz)
            return real_datetime.fromtimestamp(now(), tz)

        @classmethod
        def utcnow(cls) -> Any:
            if _frozen_clock() is None:
                return real_datetime.utcnow()
            return real_datetime.fromtimestamp(now(), datetime.UTC).replace(tzinfo=None)

        @classmethod
        def today(cls) -> Any:
            return cls.now()

    class FrozenDate(real_date, metaclass=_DateMeta):  # type: ignore[misc]
        """`datetime.date`, frozen inside queries and mutations."""

        @classmethod
        def today(cls) -> Any:
            if _frozen_clock() is None:
                return real_date.today()
            return real_date.fromtimestamp(now())

    for cls, real in ((FrozenDateTime, real_datetime), (FrozenDate, real_date)):
        cls.__name__ = real.__name__
        cls.__qualname__ = real.__qualname__
        cls.__module__ = "datetime"
    datetime.datetime = FrozenDateTime  # type: ignore[misc]
    datetime.date = FrozenDate  # type: ignore[misc]


# --------------------------------------------------------------------------- network


def _blocked() -> bool:
    execution = CURRENT.get()
    return execution is not None and not execution.network


def _guard(original: Any) -> Any:
    @functools.wraps(original)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        if _blocked():
            raise RuntimeError(NETWORK_BLOCKED)
        return original(*args, **kwargs)

    return guarded


def _patch_network() -> None:
    sock = socket.socket
    for name in ("connect", "connect_ex", "sendto"):
        setattr(sock, name, _guard(getattr(sock, name)))
    socket.create_connection = _guard(socket.create_connection)
    socket.getaddrinfo = _guard(socket.getaddrinfo)
    socket.gethostbyname = _guard(socket.gethostbyname)


# --------------------------------------------------------------------------- environment


class Environment:
    """Lays the deployment's environment variables over the worker's own, per call."""

    def __init__(self) -> None:
        self._base = dict(os.environ)
        self._applied: dict[str, str] = {}

    def apply(self, env: dict[str, str]) -> None:
        """Make `os.environ` the worker's variables plus `env` (cheap when unchanged)."""
        if env == self._applied:
            return
        for key in self._applied:
            if key not in env:
                if key in self._base:
                    os.environ[key] = self._base[key]
                else:
                    os.environ.pop(key, None)
        for key, value in env.items():
            if os.environ.get(key) != value:
                os.environ[key] = value
        self._applied = dict(env)

    def reset(self) -> None:
        """Back to the worker's own variables."""
        self.apply({})


def install() -> None:
    """Install the patches (once per process; the worker calls it at start)."""
    if getattr(random, "_bayou_sandbox", False):
        return
    random._bayou_sandbox = True  # type: ignore[attr-defined]
    _patch_random()
    _patch_time()
    _patch_network()
