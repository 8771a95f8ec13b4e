"""The table the Python action of tests/compat/test_bad_input_limits.py writes."""

from bayou import define_schema, define_table, v

schema = define_schema({"ticks": define_table({"run": v.string()}).index("by_run", ["run"])})
