"""Bayou's Python API exports the very JSON text the official npm `convex` package does.

npm_exports.cjs builds validators, function args/returns, a schema and crons with
`convex/values` and `convex/server`; this module builds the same cases with `bayou` and
compares the texts exactly (same keys, same order, same numbers), so the dashboard, `npx
convex function-spec` and the core see Python functions exactly like TypeScript ones.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path
from typing import Any

import orjson
import pytest

from bayou import Crons, Int64, api, define_schema, define_table, query, v

pytestmark = pytest.mark.compat

SCRIPT = Path(__file__).parent / "npm_exports.cjs"


@pytest.fixture(scope="module")
def npm_exports(node: str, js_dir: Path) -> dict[str, str]:
    env = {**os.environ, "NODE_PATH": str(js_dir / "node_modules")}
    out = subprocess.run(
        [node, str(SCRIPT)], env=env, capture_output=True, check=True, timeout=60
    ).stdout
    result: dict[str, str] = orjson.loads(out)
    return result


def python_exports() -> dict[str, str]:
    out: dict[str, str] = {}
    validators = {
        "string": v.string(),
        "float64": v.float64(),
        "number": v.number(),
        "int64": v.int64(),
        "bigint": v.bigint(),
        "boolean": v.boolean(),
        "null": v.null(),
        "bytes": v.bytes(),
        "any": v.any(),
        "id": v.id("users"),
        "literal_string": v.literal('a"b'),
        "literal_int": v.literal(2),
        "literal_float": v.literal(2.5),
        "literal_negative_zero": v.literal(-0.0),
        "literal_true": v.literal(True),
        "literal_bigint": v.literal(Int64(3)),
        "array": v.array(v.union(v.string(), v.null())),
        "object": v.object(
            {"b": v.string(), "a": v.optional(v.float64()), "nested": v.object({"x": v.any()})}
        ),
        "record_string": v.record(v.string(), v.float64()),
        "record_id": v.record(v.id("users"), v.array(v.bytes())),
        "union": v.union(v.literal("x"), v.literal(1), v.object({"kind": v.literal("y")})),
        "nullable": v.nullable(v.string()),
    }
    from bayou.runtimes.python.api.values import js_json_text

    for name, validator in validators.items():
        out[f"v.{name}"] = js_json_text(validator.json)

    def handler(ctx: Any, **kwargs: Any) -> None:
        return None

    with_args = query(
        args={
            "channel": v.id("channels"),
            "likes": v.optional(v.float64()),
            "tags": v.array(v.string()),
        },
        returns=v.union(v.null(), v.string()),
    )(handler)
    object_args = query(args=v.object({"a": v.string()}), returns={"b": v.int64()})(handler)
    no_args = query(handler)
    empty_args = query(args={})(handler)
    out["args.with_args"] = with_args.export_args()
    out["returns.with_args"] = with_args.export_returns()
    out["args.object_args"] = object_args.export_args()
    out["returns.object_args"] = object_args.export_returns()
    out["args.no_args"] = no_args.export_args()
    out["returns.no_args"] = no_args.export_returns()
    out["args.empty_args"] = empty_args.export_args()

    out["schema"] = define_schema(
        {
            "channels": define_table({"name": v.string()}),
            "messages": define_table(
                {
                    "channel": v.id("channels"),
                    "body": v.string(),
                    "likes": v.optional(v.float64()),
                    "embedding": v.optional(v.array(v.float64())),
                }
            )
            .index("by_channel", ["channel"])
            .index("by_channel_body", fields=["channel", "body"])
            .index("by_body", fields=["body"], staged=True)
            .search_index("search_body", search_field="body", filter_fields=["channel"])
            .search_index("search_staged", search_field="body", staged=True)
            .vector_index(
                "by_embedding", vector_field="embedding", dimensions=1536, filter_fields=["channel"]
            ),
            "events": define_table(
                v.union(
                    v.object({"kind": v.literal("a")}),
                    v.object({"kind": v.literal("b"), "n": v.int64()}),
                )
            ),
            "anything": define_table(v.any()),
        }
    ).export()
    out["schema.no_validation"] = define_schema(
        {"t": define_table({})}, schema_validation=False
    ).export()

    crons = Crons()
    crons.interval("seconds", api.jobs.tick, seconds=30)
    crons.interval("minutes", api.jobs.tick, {"n": 1, "s": "x"}, minutes=10)
    crons.interval("hours", api.admin.jobs.tick, {}, hours=2)
    crons.hourly("hourly", api.jobs.tick, minute_utc=5)
    crons.hourly("hourly random", api.jobs.tick)
    crons.daily("daily", api.jobs.tick, hour_utc=7, minute_utc=30)
    crons.daily("daily random minute", api.jobs.tick, hour_utc=7)
    crons.weekly("weekly", api.jobs.tick, day_of_week="tuesday", hour_utc=8, minute_utc=0)
    crons.monthly(
        "monthly", api.jobs.tick, {"big": Int64(5), "bytes": b"\x01\x02"}, day=1, hour_utc=0
    )
    crons.cron("cron", "*/5 * * * *", api.jobs.tick)
    crons.cron("string path", "0 0 * * *", "jobs:tick")
    out["crons"] = crons.export()
    return out


def test_every_export_is_the_npm_packages_text(npm_exports: dict[str, str]) -> None:
    ours = python_exports()
    assert set(ours) == set(npm_exports)
    mismatches = {
        name: (ours[name], npm_exports[name]) for name in ours if ours[name] != npm_exports[name]
    }
    assert not mismatches, "\n".join(
        f"{name}:\n  bayou: {a}\n  npm:   {b}" for name, (a, b) in mismatches.items()
    )
