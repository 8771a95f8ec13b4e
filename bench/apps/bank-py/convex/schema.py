"""The bank of the transfer benchmark (the same tables as bench/apps/bank, in Python)."""

from bayou import define_schema, define_table, v

schema = define_schema(
    {
        "accounts": define_table({"n": v.number(), "balance": v.number()}).index("by_n", ["n"]),
    }
)
