"""The keynote-2 bank in Python: the tables of the harness's convex-app/convex/schema.ts
(bench/apps/keynote-convex), for bench/keynote.py's bayou-py targets."""

from bayou import define_schema, define_table, v

schema = define_schema(
    {
        "accounts": define_table({"id": v.number(), "balance": v.number()}).index(
            "by_account_id", ["id"]
        ),
    }
)
