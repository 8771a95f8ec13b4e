"""Filter expressions (`q.eq(q.field("a"), 1)` …), compiled once into Python closures.

Serialized form and semantics: db-semantics.md §3.4. Comparisons use the total order of
Convex values and never fail; arithmetic is checked 64-bit for Int64 pairs, IEEE for
Float64 pairs, an `EvalError` for anything else; `and`/`or`/`not` and the filter's result
must be booleans.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from bayou.database.index_key import field_value
from bayou.errors import BadRequest
from bayou.values import UNDEFINED, Int64, sort_key, type_name
from bayou.values.json import from_json

Expr = Callable[[dict[str, Any]], Any]

_I64_MIN, _I64_MAX = -(2**63), 2**63 - 1


def eval_error(message: str) -> BadRequest:
    return BadRequest(message, code="EvalError")


def compile_filter(expr_json: Any) -> Callable[[dict[str, Any]], bool]:
    """A predicate over documents; raises EvalError when the expression is not boolean."""
    expr = compile_expression(expr_json)

    def predicate(doc: dict[str, Any]) -> bool:
        result = expr(doc)
        if result is True:
            return True
        if result is False:
            return False
        raise eval_error(
            f"A filter must evaluate to a boolean, but this one gave {type_name(result)}. "
            "Use comparisons (q.eq, q.gt …) combined with q.and / q.or / q.not."
        )

    return predicate


def compile_expression(e: Any) -> Expr:
    if not isinstance(e, dict) or len(e) != 1:
        raise BadRequest(f"Invalid filter expression: {e!r}", code="InvalidFilter")
    ((op, arg),) = e.items()
    if op == "$field":
        if not isinstance(arg, str):
            raise BadRequest("$field needs a field path string", code="InvalidFilter")
        return lambda doc: field_value(doc, arg)
    if op == "$literal":
        value = UNDEFINED if arg == {"$undefined": None} else from_json(arg)
        return lambda doc: value
    if op == "$undefined":
        return lambda doc: UNDEFINED
    if op in _COMPARISONS:
        left, right = _two(op, arg)
        test = _COMPARISONS[op]
        return lambda doc: test(sort_key.compare(left(doc), right(doc)))
    if op in _ARITHMETIC:
        left, right = _two(op, arg)
        fn = _ARITHMETIC[op]
        return lambda doc: fn(left(doc), right(doc))
    if op == "$neg":
        inner = compile_expression(arg)
        return lambda doc: _neg(inner(doc))
    if op == "$not":
        inner = compile_expression(arg)
        return lambda doc: not _boolean("not", inner(doc))
    if op in ("$and", "$or"):
        if not isinstance(arg, list):
            raise BadRequest(f"{op} needs a list of expressions", code="InvalidFilter")
        parts = [compile_expression(a) for a in arg]
        if op == "$and":
            return lambda doc: all(_boolean("and", p(doc)) for p in parts)
        return lambda doc: any(_boolean("or", p(doc)) for p in parts)
    raise BadRequest(f"Unknown filter operator {op!r}", code="InvalidFilter")


def _two(op: str, arg: Any) -> tuple[Expr, Expr]:
    if not isinstance(arg, list) or len(arg) != 2:
        raise BadRequest(f"{op} needs exactly two operands", code="InvalidFilter")
    return compile_expression(arg[0]), compile_expression(arg[1])


def _boolean(op: str, value: Any) -> bool:
    if value is True or value is False:
        return value
    raise eval_error(f"`{op}` needs boolean operands, got {type_name(value)}")


_COMPARISONS: dict[str, Callable[[int], bool]] = {
    "$eq": lambda c: c == 0,
    "$neq": lambda c: c != 0,
    "$lt": lambda c: c < 0,
    "$lte": lambda c: c <= 0,
    "$gt": lambda c: c > 0,
    "$gte": lambda c: c >= 0,
}


def _checked(op: str, n: int) -> Int64:
    if not _I64_MIN <= n <= _I64_MAX:
        raise eval_error(f"Int64 overflow in `{op}`")
    return Int64(n)


def _trunc_div(a: int, b: int) -> int:
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b >= 0) else -q


def _arith(op: str, ints: Callable[[int, int], int], floats: Callable[[float, float], float]):
    def apply(a: Any, b: Any) -> Any:
        if isinstance(a, Int64) and isinstance(b, Int64):
            if op in ("div", "mod") and b.value == 0:
                raise eval_error(f"Int64 division by zero in `{op}`")
            return _checked(op, ints(a.value, b.value))
        if type(a) is float and type(b) is float:
            return floats(a, b)
        raise eval_error(
            f"`{op}` needs two Int64 or two Float64 operands, got {type_name(a)} and {type_name(b)}"
        )

    return apply


def _float_div(a: float, b: float) -> float:
    if b == 0.0:
        if a == 0.0 or math.isnan(a):
            return math.nan
        return math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _float_mod(a: float, b: float) -> float:
    if b == 0.0 or math.isinf(a):
        return math.nan
    return math.fmod(a, b)  # the sign follows the dividend, as in JS and Rust


_ARITHMETIC = {
    "$add": _arith("add", lambda a, b: a + b, lambda a, b: a + b),
    "$sub": _arith("sub", lambda a, b: a - b, lambda a, b: a - b),
    "$mul": _arith("mul", lambda a, b: a * b, lambda a, b: a * b),
    "$div": _arith("div", _trunc_div, _float_div),
    "$mod": _arith("mod", lambda a, b: a - b * _trunc_div(a, b), _float_mod),
}


def _neg(a: Any) -> Any:
    if isinstance(a, Int64):
        return _checked("neg", -a.value)
    if type(a) is float:
        return -a
    raise eval_error(f"`neg` needs an Int64 or Float64 operand, got {type_name(a)}")
