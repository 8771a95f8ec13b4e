"""One table for the Python fidelity app."""

from bayou import define_schema, define_table, v

schema = define_schema({"notes": define_table({"body": v.string()})})
