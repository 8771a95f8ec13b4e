from bayou import define_schema, define_table, v

schema = define_schema({"visits": define_table({"page": v.string()})})
