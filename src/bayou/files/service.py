"""`FileStorage`: a deployment's files — its blob store, key prefix, upload tokens, URLs
and collector — as the backend owns it and the server and function syscalls use it.

    start()   open the store (a clear error naming it when unusable), check the
              fingerprint (`files.fingerprint`), start the collector
    upload()  POST /api/storage/upload?token=…     → the new file's `_storage` id
    serve()   GET /api/storage/{uuid} [Range]      → what to send
    store_bytes() / read_bytes()                   → actions' ctx.storage.store/get
    audit()   orphaned blobs and rows without blobs (`bayou doctor`)
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from bayou.blobs import BlobStore, BlobStream, S3Config, make_blob_store, one_chunk, read_all
from bayou.config import Settings
from bayou.database.database import Database
from bayou.database.namespaced import in_namespace
from bayou.errors import BadRequest, InternalError, NotFound
from bayou.files import audit, fingerprint, uploads
from bayou.files.collector import BlobCollector
from bayou.files.ranges import ByteRange, RangeNotSatisfiable, parse_range
from bayou.files.tokens import VALIDITY_S, UploadTokens
from bayou.model import file_storage

# An upload may still finish this long after its URL expired; its blob is collected after.
UPLOAD_GRACE_S = 3600.0
# Files written at once; more wait their turn (their clients' bytes wait in the sockets).
# Each holds a few MiB (local) to ~40 MiB (S3 parts in flight): memory stays bounded.
MAX_CONCURRENT_UPLOADS = 16
CACHE_CONTROL = "private, max-age=2592000"  # Convex's: files never change, 30 days


def blob_store_for(settings: Settings) -> BlobStore:
    """The store the settings name: S3 when `S3_STORAGE_FILES_BUCKET` is set, else
    `<data dir>/storage/files` (as Convex's image keeps its files in `<data>/storage`)."""
    bucket = settings.s3_storage_files_bucket
    s3 = S3Config.from_settings(settings, bucket) if bucket else None
    return make_blob_store(local_root=settings.data_dir / "storage" / "files", s3=s3)


@dataclass
class FileAnswer:
    """What `GET /api/storage/{uuid}` sends: status, headers and the body's stream."""

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: BlobStream | None = None


class FileStorage:
    """One deployment's files; `await start()` before use, `await stop()` after."""

    def __init__(
        self,
        db: Database,
        store: BlobStore,
        *,
        secret: bytes,
        instance_name: str,
        origin: str,
        clock=time.time,  # type: ignore[no-untyped-def]
    ) -> None:
        self.db = db
        self.store = store
        self.origin = origin.rstrip("/")
        self.instance_name = instance_name
        self.tokens = UploadTokens(secret, instance_name, clock=clock)
        self.clock = clock
        self.prefix = ""
        self.collector: BlobCollector | None = None
        self._writing = asyncio.Semaphore(MAX_CONCURRENT_UPLOADS)

    @property
    def description(self) -> str:
        return self.store.description

    async def start(self) -> None:
        await self.store.open()
        self.prefix = await fingerprint.attach(self.db, self.store, self.instance_name)
        self.collector = BlobCollector(self.db, self.store, self.prefix, clock=self.clock)
        self.collector.start()

    async def stop(self) -> None:
        if self.collector is not None:
            await self.collector.stop()
            self.collector = None
        await self.store.close()

    # -- URLs ----------------------------------------------------------------------------

    def upload_url(self, component: str = "") -> str:
        """An upload URL; the file goes into `component`'s files ("" is the app's)."""
        return f"{self.origin}/api/storage/upload?token={self.tokens.issue(component)}"

    def file_url(self, internal_id: bytes) -> str:
        return f"{self.origin}/api/storage/{file_storage.uuid_of(internal_id)}"

    # -- storing -----------------------------------------------------------------------

    async def upload(
        self,
        token: str,
        chunks: AsyncIterable[bytes],
        *,
        content_type: str | None,
        digest: str | None,
    ) -> str:
        """An upload through a URL of `upload_url()`; returns the `_storage` id."""
        issued_s, component = self.tokens.open(token)
        expected = uploads.parse_digest(digest)
        async with self._writing:
            return await uploads.store_file(
                self.db,
                self.store,
                self.prefix,
                chunks,
                content_type=content_type or None,
                expected_sha256=expected,
                collect_after_ms=(issued_s + VALIDITY_S + UPLOAD_GRACE_S) * 1000.0,
                namespace=component,
            )

    async def store_bytes(
        self,
        data: bytes,
        content_type: str | None,
        sha256: bytes | None = None,
        component: str = "",
    ) -> str:
        """`ctx.storage.store(blob)` of an action: the bytes are in memory already."""
        async with self._writing:
            return await self._store_bytes(data, content_type, sha256, component)

    async def _store_bytes(
        self, data: bytes, content_type: str | None, sha256: bytes | None, component: str = ""
    ) -> str:
        return await uploads.store_file(
            self.db,
            self.store,
            self.prefix,
            one_chunk(data),
            content_type=content_type or None,
            expected_sha256=sha256,
            collect_after_ms=(self.clock() + UPLOAD_GRACE_S) * 1000.0,
            namespace=component,
        )

    # -- reading -----------------------------------------------------------------------

    async def read_bytes(self, internal_id: bytes) -> bytes:
        """The blob of a file whose row exists (`ctx.storage.get` of an action)."""
        data = await read_all(self.store, self.prefix + file_storage.uuid_of(internal_id))
        if data is None:
            raise missing_blob(file_storage.uuid_of(internal_id))
        return data

    async def serve(self, uuid_text: str, range_header: str | None) -> FileAnswer:
        """`GET /api/storage/{uuid}`: Convex's statuses and headers, the body streamed."""
        internal_id = file_storage.internal_id_of(uuid_text)
        if internal_id is None:
            raise BadRequest(
                f'Invalid storage path: "{uuid_text}". Please use `storage.getUrl(storageId: '
                'Id<"_storage">)` to generate a valid URL to retrieve files. See '
                "https://docs.convex.dev/file-storage/serve-files for more details",
                code="InvalidStoragePath",
            )
        doc = await self._find(internal_id)
        if doc is None:
            raise NotFound(f"File {uuid_text} not found", code="FileNotFound")
        size = int(doc["size"])
        try:
            wanted = parse_range(range_header, size)
        except RangeNotSatisfiable:
            return FileAnswer(416, {"content-range": f"bytes */{size}"})
        headers = {"cache-control": CACHE_CONTROL, "accept-ranges": "bytes"}
        if doc.get("contentType"):
            headers["content-type"] = doc["contentType"]
        span = wanted or ByteRange(0, size)
        key = file_storage.uuid_of(internal_id)
        body = await self.store.get(self.prefix + key, span.start, span.end)
        if body is None:
            raise missing_blob(uuid_text)
        headers["content-length"] = str(span.end - span.start)
        if wanted is None:
            headers["digest"] = f"sha-256={doc['sha256']}"
            return FileAnswer(200, headers, body)
        headers["content-range"] = wanted.content_range(size)
        return FileAnswer(206, headers, body)

    async def _find(self, internal_id: bytes) -> dict[str, Any] | None:
        """The `_storage` row of a file: the app's, or a component's (each keeps its own)."""
        tx = self.db.begin(read_only=True)
        for namespace in file_storage.namespaces(tx):
            doc = await file_storage.get(in_namespace(tx, namespace), internal_id)
            if doc is not None:
                return doc
        return None

    # -- checks ------------------------------------------------------------------------

    async def audit(self, limit: int = 20) -> dict[str, Any]:
        """Blobs without a row (orphans) and rows without a blob, for `bayou doctor`."""
        return await audit.audit(self.db, self.store, self.prefix, limit=limit)

    def wake_collector(self) -> None:
        if self.collector is not None:
            self.collector.wake()


class FileDataMissing(InternalError):
    default_code = "FileDataMissing"


def missing_blob(uuid_text: str) -> FileDataMissing:
    return FileDataMissing(
        f"The file {uuid_text} has a row in _storage but its data is missing from the file "
        "store: restore it from a backup (`bayou doctor` lists every such file)."
    )


async def stream(body: BlobStream) -> AsyncIterator[bytes]:
    """A body for a streaming response that always releases the store's stream."""
    try:
        async for chunk in body:
            yield chunk
    finally:
        await body.aclose()
