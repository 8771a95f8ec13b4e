"""Predicting a mutation's first reads from its arguments, to answer them ahead.

A mutation usually begins with reads whose arguments are its own arguments, put in the
same places every time: the keynote-2 transfer asks `accounts.by_account_id == from_id`,
then `== to_id`. Each such read is a round trip between the core and the worker, and a
wake-up of both. `ReadTemplates` learns, per function, where the leaves of its leading
reads come from, by comparing two calls:

- a leaf equal in both calls is a constant (`queryId`, an index name, a limit);
- a leaf that changed with exactly one argument leaf, both times equal to it, is that
  argument;
- anything else (a value read from a document, an ambiguous match) ends the template
  before that read: what follows depends on data, not on arguments.

For a new call the template yields the reads the function will probably make;
`MutationReads` picks each attempt's reads (a re-run is given those its last attempt
made). The core makes them in the attempt's transaction before the function starts
(`TransactionSyscalls.answer_ahead`) and the runtime answers the function from them only
while it asks exactly those syscalls, in that order, before anything else — so a wrong
guess costs the reads it made, never a wrong answer. The runtime reports how many it used:
a template that guessed wrong is forgotten and learned again.

A wrong guess also leaves its reads in the transaction's read set, which can only add
conflicts, and counts them against the read limits: so only point reads and limited
queries (`first()`, `unique()`, `take(n)` up to `MAX_PREDICTED_BATCH`) are predicted, at
most `MAX_PREDICTED_READS` of them, and calls whose arguments' JSON is over
`MAX_ARGS_BYTES` are left out (`arguments_of`).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

PREDICTABLE_OPS = frozenset({"1.0/get", "bayou/queryStreamBatch"})
MAX_PREDICTED_READS = 8
MAX_PREDICTED_BATCH = 8
MAX_FUNCTIONS = 1024
MAX_ARGS_BYTES = 4096  # larger arguments are not parsed and searched for every call

Path = tuple[Any, ...]


@dataclass(frozen=True)
class _FromArgs:
    """A leaf taken from the arguments at `path`; `as_float` keeps the read's own spelling
    of a number (5.0 from a Python function, 5 from JS: both a float64 to Convex)."""

    path: Path
    as_float: bool


@dataclass(frozen=True, slots=True)
class _Dict:
    """An object of a read with argument leaves inside (an object without any is kept as
    it is, and shared by every prediction: nothing changes a syscall's arguments)."""

    items: tuple[tuple[str, Any], ...]


@dataclass(frozen=True, slots=True)
class _List:
    items: tuple[Any, ...]


_DERIVED = (_FromArgs, _Dict, _List)


@dataclass
class _Observation:
    args: Any
    reads: list[tuple[str, Any]]


@dataclass
class _Function:
    last: _Observation | None = None
    template: list[tuple[str, Any]] | None = None


def _same(a: Any, b: Any) -> bool:
    """JSON equality where a number is a number (1 == 1.0) but never a bool."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, int | float) and isinstance(b, int | float):
        return a == b
    return type(a) is type(b) and a == b


def _leaves(value: Any, path: Path = ()) -> list[tuple[Path, Any]]:
    if isinstance(value, dict):
        return [leaf for k, v in value.items() for leaf in _leaves(v, (*path, k))]
    if isinstance(value, list):
        return [leaf for i, v in enumerate(value) for leaf in _leaves(v, (*path, i))]
    return [(path, value)]


def _at(value: Any, path: Path) -> Any:
    for step in path:
        value = value[step]
    return value


class _Unexplained(Exception):
    pass


def _generalize(
    before: Any, after: Any, args_before: Any, args_after: list[tuple[Path, Any]]
) -> Any:
    """The skeleton of a read seen twice: constants kept, argument leaves as `_FromArgs`."""
    if isinstance(before, dict) and isinstance(after, dict):
        if list(before) != list(after):
            raise _Unexplained
        fields = tuple(
            (k, _generalize(before[k], after[k], args_before, args_after)) for k in before
        )
        derived = any(isinstance(v, _DERIVED) for _, v in fields)
        return _Dict(fields) if derived else after
    if isinstance(before, list) and isinstance(after, list):
        if len(before) != len(after):
            raise _Unexplained
        items = tuple(
            _generalize(b, a, args_before, args_after) for b, a in zip(before, after, strict=True)
        )
        return _List(items) if any(isinstance(v, _DERIVED) for v in items) else after
    if isinstance(before, dict | list) or isinstance(after, dict | list):
        raise _Unexplained
    if _same(before, after):
        # A constant, or an argument that did not change between the two calls: taken as
        # a constant. If it was the argument, the first call that changes it is a wrong
        # guess, and the template is learned again.
        return before
    sources = [
        path
        for path, value in args_after
        if _same(value, after) and _same(_try_at(args_before, path), before)
    ]
    if len(sources) != 1:
        raise _Unexplained
    return _FromArgs(sources[0], isinstance(after, float))


_MISSING = object()


def _try_at(value: Any, path: Path) -> Any:
    try:
        return _at(value, path)
    except (KeyError, IndexError, TypeError):
        return _MISSING


def _fill(skeleton: Any, args: Any) -> Any:
    kind = type(skeleton)
    if kind is _Dict:
        return {k: _fill(v, args) for k, v in skeleton.items}
    if kind is _List:
        return [_fill(v, args) for v in skeleton.items]
    if kind is _FromArgs:
        value = _at(args, skeleton.path)
        if isinstance(value, dict | list):
            raise _Unexplained
        if skeleton.as_float and isinstance(value, int) and not isinstance(value, bool):
            return float(value)
        return value
    return skeleton


def _predictable(op: str, args: Any) -> bool:
    if op not in PREDICTABLE_OPS or not isinstance(args, dict):
        return False
    if op == "bayou/queryStreamBatch":
        limit = args.get("max")
        return isinstance(limit, int) and 0 < limit <= MAX_PREDICTED_BATCH
    return True


def arguments_of(args_json: str) -> Any:
    """The JSON value of a call's arguments to learn from, or None when too large."""
    if len(args_json) > MAX_ARGS_BYTES:
        return None
    return orjson.loads(args_json)


class ReadTemplates:
    """What each mutation's first reads look like, learned from its calls (see above)."""

    def __init__(self, max_functions: int = MAX_FUNCTIONS) -> None:
        self._functions: OrderedDict[Any, _Function] = OrderedDict()
        self._max = max_functions

    def predict(self, key: Any, args: Any) -> list[tuple[str, Any]]:
        """The reads a call of `key` with these (JSON) arguments will probably begin with."""
        function = self._functions.get(key)
        if function is None or not function.template:
            return []
        predicted = []
        for op, skeleton in function.template:
            try:
                predicted.append((op, _fill(skeleton, args)))
            except (_Unexplained, KeyError, IndexError, TypeError):
                break
        return predicted

    def learn(
        self, key: Any, args: Any, reads: list[tuple[str, Any]], offered: int, used: int
    ) -> None:
        """What a first attempt of `key` read before anything else (`reads`), having been
        offered `offered` predicted reads of which the function used `used`."""
        function = self._functions.get(key)
        if function is None:
            function = self._functions[key] = _Function()
            if len(self._functions) > self._max:
                self._functions.popitem(last=False)
        else:
            self._functions.move_to_end(key)
        if used < offered:
            # A wrong guess: its reads are in `reads` too. Start again from the next call.
            function.template = None
            function.last = None
            return
        leading = []
        for op, read_args in reads[:MAX_PREDICTED_READS]:
            if not _predictable(op, read_args):
                break
            leading.append((op, read_args))
        if function.template is not None and used == len(function.template):
            return  # the template held
        last, function.last = function.last, _Observation(args, leading)
        if last is None:
            return
        template = []
        arg_leaves = _leaves(args)
        for (op_before, before), (op_after, after) in zip(last.reads, leading, strict=False):
            if op_before != op_after:
                break
            try:
                template.append((op_after, _generalize(before, after, last.args, arg_leaves)))
            except _Unexplained:
                break
        function.template = template or None


class MutationReads:
    """The reads answered ahead for each attempt of one mutation call: for the first, what
    its arguments predict; for a re-run, the reads its last attempt made (or the
    prediction, when the last attempt restarted on a hot document while reading ahead)."""

    def __init__(
        self, templates: ReadTemplates | None, key: Any, args_json: Callable[[], str]
    ) -> None:
        self._templates = templates  # None: read-ahead is off
        self._key = key
        self._args_json = args_json  # the call's arguments as JSON text, when needed
        self._args: Any = None
        self._predicted: list[tuple[str, Any]] = []
        self._last: Any = None  # the last attempt's TransactionSyscalls
        self._first = True

    def for_attempt(self, syscalls: Any) -> list[tuple[str, Any]]:
        """The reads to make ahead in this attempt (`syscalls`: its TransactionSyscalls)."""
        earlier, self._last = self._last, syscalls
        if self._templates is None:
            return []
        if earlier is None:
            self._args = arguments_of(self._args_json())
            if self._args is not None:
                self._predicted = self._templates.predict(self._key, self._args)
            return self._predicted
        reads: list[tuple[str, Any]] = earlier.reads_made()
        predicted = self._predicted
        if len(reads) < len(predicted) and reads == predicted[: len(reads)]:
            return predicted
        return reads

    def ran(self, syscalls: Any, offered: int, used: int) -> None:
        """The attempt's function ran, having used `used` of `offered` reads made ahead."""
        syscalls.used_ahead = used
        first, self._first = self._first, False
        if first and self._templates is not None and self._args is not None:
            self._templates.learn(self._key, self._args, syscalls.leading_reads, offered, used)
