"""Builders for serialized queries, as the official JS query builder emits them."""

from __future__ import annotations

from typing import Any

from bayou.values import UNDEFINED
from bayou.values.json import to_json


def lit(value: Any) -> dict[str, Any]:
    return {"$literal": {"$undefined": None} if value is UNDEFINED else to_json(value)}


def field(path: str) -> dict[str, Any]:
    return {"$field": path}


def scan(table: str, order: str = "asc", *operators: dict[str, Any]) -> dict[str, Any]:
    return {
        "source": {"type": "FullTableScan", "tableName": table, "order": order},
        "operators": list(operators),
    }


def index(name: str, bounds: list[tuple[str, str, Any]], order: str = "asc", *operators) -> dict:
    rng = [
        {
            "type": op,
            "fieldPath": f,
            "value": {"$undefined": None} if v is UNDEFINED else to_json(v),
        }
        for op, f, v in bounds
    ]
    return {
        "source": {"type": "IndexRange", "indexName": name, "range": rng, "order": order},
        "operators": list(operators),
    }


def where(expr: dict[str, Any]) -> dict[str, Any]:
    return {"filter": expr}


def limit(n: int) -> dict[str, Any]:
    return {"limit": n}


def schema(tables: dict[str, dict[str, Any]], validation: bool = True) -> dict[str, Any]:
    """`tables`: name → {"indexes": {name: [fields]}, "doc": validator JSON or None}."""
    return {
        "tables": [
            {
                "tableName": name,
                "indexes": [
                    {"indexDescriptor": i, "fields": f} for i, f in spec.get("indexes", {}).items()
                ],
                "stagedDbIndexes": [],
                "searchIndexes": [],
                "stagedSearchIndexes": [],
                "vectorIndexes": [],
                "stagedVectorIndexes": [],
                "documentType": spec.get("doc"),
            }
            for name, spec in tables.items()
        ],
        "schemaValidation": validation,
    }
