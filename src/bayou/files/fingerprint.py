"""The storage fingerprint: which store this database's files live in, checked at start.

On its first start a deployment picks a key prefix, `<instance>-<uuid4>/` (as Convex's
storage tag), records it in the database's globals with the store it used, and writes a
marker object, `<prefix>bayou-store.json`, into the store. Every file's blob lives under
that prefix, so deployments can share a bucket.

At each start the configured store must hold this database's marker. When it does not —
the volume with the files was not mounted, `S3_STORAGE_FILES_BUCKET` or `S3_ENDPOINT_URL`
changed, local storage became S3 — and the database references files, Bayou refuses to
start, naming the store it found (empty, or holding other deployments' files) and the one
the files were written to, and how to fix it. A database without files just adopts the
configured store. A store that moved whole (a copied bucket, a moved data directory) is
recognised by its marker; the recorded location is updated.
"""

from __future__ import annotations

import time
import uuid
from dataclasses import dataclass
from typing import Any

import orjson

from bayou.blobs import BlobStore, one_chunk, read_all
from bayou.database.database import Database
from bayou.errors import BadRequest
from bayou.model import file_storage

GLOBAL = "file_storage"
MARKER = "bayou-store.json"
SCAN_FOR_OTHERS = 10_000  # keys looked at to name other deployments in a refusal


class FileStoreMismatch(BadRequest):
    default_code = "FileStoreMismatch"


@dataclass(frozen=True, slots=True)
class Record:
    """What the database remembers about its store."""

    prefix: str
    kind: str
    location: str

    def to_json(self) -> dict[str, Any]:
        return {"prefix": self.prefix, "kind": self.kind, "location": self.location}


async def attach(db: Database, store: BlobStore, instance_name: str) -> str:
    """Check (or, the first time, make) the store this database's files live in; returns
    the key prefix of its blobs. Raises `FileStoreMismatch` when the files are elsewhere."""
    globals_ = await db.persistence.load_globals()
    saved = globals_.get(GLOBAL)
    here = Record("", store.kind, store.description)
    if not isinstance(saved, dict) or not saved.get("prefix"):
        record = Record(f"{instance_name}-{uuid.uuid4()}/", here.kind, here.location)
        await _remember(db, record)
        await _mark(store, record, instance_name, db)
        return record.prefix
    record = Record(saved["prefix"], saved.get("kind", "?"), saved.get("location", "?"))
    if await read_all(store, record.prefix + MARKER) is None:
        files = await _files(db)
        if files:
            raise FileStoreMismatch(await _refusal(db, store, record, files))
        await _mark(store, record, instance_name, db)
    if (record.kind, record.location) != (here.kind, here.location):
        await _remember(db, Record(record.prefix, here.kind, here.location))
    return record.prefix


async def _remember(db: Database, record: Record) -> None:
    tx = db.begin()
    tx.globals = {GLOBAL: record.to_json()}
    await db.commit(tx)


async def _mark(store: BlobStore, record: Record, instance_name: str, db: Database) -> None:
    marker = {
        "bayou": 1,
        "prefix": record.prefix,
        "instance": instance_name,
        "database": db.persistence.description,
        "createdAt": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    data = orjson.dumps(marker, option=orjson.OPT_INDENT_2)
    await store.put(record.prefix + MARKER, one_chunk(data), content_type="application/json")


async def _files(db: Database) -> int:
    tx = db.begin(read_only=True)
    return await file_storage.count(tx, at_most=1000)


async def _others(store: BlobStore) -> list[str]:
    """The markers of other deployments in the store: "prefix (instance x, database y)"."""
    found = []
    seen = 0
    async for info in store.list(""):
        seen += 1
        if seen > SCAN_FOR_OTHERS:
            break
        if info.key.endswith("/" + MARKER) and info.key.count("/") == 1:
            raw = await read_all(store, info.key)
            try:
                marker = orjson.loads(raw or b"{}")
                found.append(
                    f"{marker['prefix']} (instance {marker['instance']}, database "
                    f"{marker['database']})"
                )
            except (orjson.JSONDecodeError, KeyError, TypeError):
                found.append(info.key.removesuffix(MARKER))
    return found


async def _refusal(db: Database, store: BlobStore, record: Record, files: int) -> str:
    count = f"{files} file{'s' if files != 1 else ''}" if files < 1000 else "1000+ files"
    others = await _others(store)
    holds = (
        "it holds the files of other deployments only: " + "; ".join(others)
        if others
        else "it holds no Bayou files"
    )
    recorded = (
        "the same store (was its content removed or replaced?)"
        if record.location == store.description
        else record.location
    )
    return (
        f"This database ({db.persistence.description}) references {count} that "
        f"{'is' if files == 1 else 'are'} not in "
        f"the configured file store, {store.description}: {holds}. Its files were written to "
        f"{recorded}, under the key prefix {record.prefix!r}. Point the settings back at "
        "that store (S3_STORAGE_FILES_BUCKET, S3_ENDPOINT_URL, AWS_REGION; or DATA_DIR for "
        f"a local directory), or copy everything under {record.prefix!r} — "
        f"{MARKER} included — into the configured store, then start again."
    )
