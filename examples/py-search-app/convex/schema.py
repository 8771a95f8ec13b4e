"""The search app's tables: searchable notes and embeddings with a vector index."""

from bayou import define_schema, define_table, v

schema = define_schema(
    {
        "notes": define_table({"body": v.string(), "channel": v.string()}).search_index(
            "search_body", search_field="body", filter_fields=["channel"]
        ),
        "embeddings": define_table(
            {"text": v.string(), "kind": v.string(), "vector": v.array(v.float64())}
        ).vector_index("by_vector", vector_field="vector", dimensions=4, filter_fields=["kind"]),
    }
)
