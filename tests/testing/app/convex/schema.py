from bayou import define_schema, define_table, v

schema = define_schema(
    {
        "notes": define_table({"text": v.string(), "stars": v.optional(v.float64())}).index(
            "by_text", ["text"]
        ),
        "received": define_table({"via": v.string(), "types": v.any(), "value": v.any()}),
    }
)
