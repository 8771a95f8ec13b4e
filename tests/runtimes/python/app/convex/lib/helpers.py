"""Shared helpers: imported relatively and absolutely by the function modules."""


def normalize(text: str) -> str:
    return " ".join(text.split())


def summary(doc: dict[str, object]) -> str:
    return f"{doc['author']}: {doc['body']}"
