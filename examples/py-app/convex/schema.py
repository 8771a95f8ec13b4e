"""The chat's tables: users, channels, and messages numbered per channel."""

from bayou import define_schema, define_table, v

schema = define_schema(
    {
        "users": define_table({"name": v.string(), "email": v.string()})
        .index("by_email", ["email"])
        .index("by_name", ["name"]),
        "channels": define_table(
            {"name": v.string(), "topic": v.optional(v.string()), "lastSeq": v.number()}
        ).index("by_name", ["name"]),
        "messages": define_table(
            {
                "channel": v.id("channels"),
                "author": v.id("users"),
                "body": v.string(),
                "seq": v.number(),
                "likes": v.number(),
            }
        )
        .index("by_channel_seq", ["channel", "seq"])
        .index("by_author", ["author"]),
        # Written by the cron jobs (crons.py).
        "heartbeats": define_table({"cron": v.string()}).index("by_cron", ["cron"]),
        # Uploaded files (files.py): the id of each in _storage.
        "files": define_table({"name": v.string(), "storageId": v.id("_storage")}),
    }
)
