"""Pushed function modules (`_modules`): source text by path, keyed by content hash.

The official CLI sends only the modules whose hash changed (`get_config_hashes` tells it
what is stored); `hash` is the sha256 hex of `source + (sourceMap or "")`, as the CLI
computes it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any, Literal

from bayou.database.catalog import SystemTable
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest

MODULES = SystemTable("_modules", 21, {"by_path": ("path",)})

Environment = Literal["isolate", "node", "python"]


@dataclass(frozen=True, slots=True)
class Module:
    path: str  # "messages.js", "_deps/ABC.js", "messages.py"
    source: str
    source_map: str | None = None
    environment: Environment = "isolate"
    # The component definition the module belongs to ("" for the app's own `convex/`):
    # `../node_modules/@convex-dev/workpool/dist/component`, as the CLI names it.
    definition: str = ""

    @property
    def hash(self) -> str:
        return hashlib.sha256((self.source + (self.source_map or "")).encode()).hexdigest()

    @classmethod
    def from_push(cls, obj: Any, definition: str = "") -> Module:
        """A module as the CLI sends it: `{path, source, sourceMap?, environment}`."""
        if (
            not isinstance(obj, dict)
            or not isinstance(obj.get("path"), str)
            or not isinstance(obj.get("source"), str)
        ):
            raise BadRequest(
                "Each module needs a `path` and a `source` string", code="InvalidModule"
            )
        path = obj["path"]
        if path.startswith("/") or ".." in path.split("/"):
            raise BadRequest(f"Invalid module path {path!r}", code="InvalidModule")
        env = obj.get("environment") or "isolate"
        if env not in ("isolate", "node", "python"):
            raise BadRequest(f"Unknown module environment {env!r} for {path}", code="InvalidModule")
        source_map = obj.get("sourceMap")
        return cls(
            path,
            obj["source"],
            source_map if isinstance(source_map, str) else None,
            env,
            definition,
        )

    def to_push(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "source": self.source,
            "sourceMap": self.source_map,
            "environment": self.environment,
        }


def version_of(modules: list[Module]) -> str:
    """A content hash of a whole module set: equal sets, equal versions."""
    h = hashlib.sha256()
    for m in sorted(modules, key=lambda m: m.path):
        h.update(f"{m.path}\0{m.environment}\0{m.hash}\0".encode())
    return h.hexdigest()[:32]


async def load_all(tx: Transaction) -> list[Module]:
    docs = await tx.query(
        {
            "source": {"type": "FullTableScan", "tableName": MODULES.name, "order": "asc"},
            "operators": [],
        },
        system=True,
    ).collect()
    return [
        Module(
            d["path"],
            d["source"],
            d.get("sourceMap"),
            d.get("environment", "isolate"),
            d.get("definitionPath", ""),
        )
        for d in docs
    ]


async def replace_all(tx: Transaction, modules: list[Module]) -> tuple[list[str], list[str]]:
    """Make `_modules` hold exactly `modules` (those of every component definition);
    returns the app's (added paths, removed paths)."""
    docs = await tx.query(
        {
            "source": {"type": "FullTableScan", "tableName": MODULES.name, "order": "asc"},
            "operators": [],
        },
        system=True,
    ).collect()
    existing = {(d.get("definitionPath", ""), d["path"]): d for d in docs}
    wanted = {(m.definition, m.path): m for m in modules}
    added, removed = [], []
    for key, doc in existing.items():
        if key not in wanted:
            await tx.delete(doc["_id"], system=True)
            if not key[0]:
                removed.append(key[1])
    for key, m in wanted.items():
        fields = {
            "path": m.path,
            "source": m.source,
            "sourceMap": m.source_map,
            "environment": m.environment,
            "sha256": m.hash,
        }
        if m.definition:
            fields["definitionPath"] = m.definition
        doc = existing.get(key)
        if doc is None:
            await tx.insert(MODULES.name, fields, system=True)
            if not m.definition:
                added.append(m.path)
        elif doc.get("sha256") != m.hash or doc.get("environment") != m.environment:
            await tx.replace(doc["_id"], fields, system=True)
    return sorted(added), sorted(removed)
