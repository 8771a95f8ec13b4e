from bayou import define_schema, define_table, v

schema = define_schema(
    {
        "channels": define_table({"name": v.string()}),
        "messages": define_table(
            {
                "channel": v.id("channels"),
                "author": v.string(),
                "body": v.string(),
                "likes": v.optional(v.float64()),
            }
        )
        .index("by_channel", ["channel"])
        .index("by_channel_author", ["channel", "author"])
        .search_index("search_body", search_field="body", filter_fields=["channel"]),
        "counters": define_table({"name": v.string(), "value": v.int64()}).index(
            "by_name", ["name"]
        ),
    }
)
