"""Text search and vector search: schema, tokenizer, posting keys, queries, vector scans."""
