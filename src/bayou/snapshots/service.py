"""`Snapshots`: a deployment's exports and imports as background jobs, their state in the
`_exports` and `_snapshot_imports` tables (which the CLI watches by subscription).

    request_export()   POST /api/export/request/zip   → a job writing
                       <data>/storage/exports/<key>.zip
    start_upload() / upload_part() / finish_upload()
                       POST /api/import/…             → parts in
                       <data>/storage/snapshot_imports/<token>/, joined on finish; the
                       file is read once: checked and written into hidden tables
                       (`import_.stage`), summarised → `waiting_for_confirmation`
    perform()          POST /api/perform_import       → the hidden tables swapped in, in
                                                        one commit (`import_.finish`)
    cancel()           POST /api/cancel_import        → the hidden tables dropped

With `S3_STORAGE_EXPORTS_BUCKET` an export's ZIP is uploaded to that bucket once written
(and downloads stream from it); with `S3_STORAGE_SNAPSHOT_IMPORTS_BUCKET` the uploaded
parts are kept in that bucket until the upload finishes. Object keys start with the
deployment's storage prefix (`<instance>-<uuid>/`, as its files'), so deployments can
share a bucket. Each export row records where its ZIP is (`zip_storage`: "local" or
"s3:<bucket>"). Backups are written locally, then where `BAYOU_BACKUP_*` says.

A job that was running when the server stopped is marked failed at the next start.
"""

from __future__ import annotations

import asyncio
import errno
import logging
import re
import shutil
import time
import uuid
from collections.abc import AsyncIterable, AsyncIterator, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bayou.blobs import BlobStore, BlobStream, S3BlobStore, S3Config
from bayou.config import Settings
from bayou.database.database import Database
from bayou.database.retry import run_transaction
from bayou.database.transaction import Transaction
from bayou.errors import BadRequest, BayouError, NotFound
from bayou.files.service import FileStorage
from bayou.model import snapshot_exports as exports
from bayou.model import snapshot_imports as imports
from bayou.snapshots import import_, parse
from bayou.snapshots.export import FileSource, write_export
from bayou.snapshots.import_files import store_files

log = logging.getLogger("bayou.snapshots")
MAX_PARTS = 10_000
ZIP = "application/zip"
_TOKEN = re.compile(r"^[0-9a-f]{32}$")


def bucket_store(settings: Settings, bucket: str | None) -> tuple[str, BlobStore] | None:
    """The S3 bucket of `S3_STORAGE_EXPORTS_BUCKET` / `S3_STORAGE_SNAPSHOT_IMPORTS_BUCKET`
    (with the deployment's `AWS_*` / `S3_*` settings), or None when unset."""
    if not bucket:
        return None
    return bucket, S3BlobStore(S3Config.from_settings(settings, bucket))


class Snapshots:
    """One deployment's export and import jobs; `await start()`, `await stop()`."""

    def __init__(
        self,
        db: Database,
        files: FileStorage | None,
        data_dir: Path,
        *,
        clock: Callable[[], int] = time.time_ns,
        components: Callable[[], Iterable[str]] = tuple,
        exports_store: tuple[str, BlobStore] | None = None,
        imports_store: tuple[str, BlobStore] | None = None,
    ) -> None:
        self.db = db
        # (bucket, store) of S3_STORAGE_EXPORTS_BUCKET / S3_STORAGE_SNAPSHOT_IMPORTS_BUCKET.
        self.exports_store = exports_store
        self.imports_store = imports_store
        self.components = components  # the deployed components' paths (exported even empty)
        self.files = files
        self.exports_dir = data_dir / "storage" / "exports"
        self.imports_dir = data_dir / "storage" / "snapshot_imports"
        self.clock = clock
        self._tasks: set[asyncio.Task[Any]] = set()
        self._imports: dict[str, asyncio.Task[Any]] = {}
        # Imports checked and staged, waiting for confirmation: (staged, uploaded file).
        self._staged: dict[str, tuple[import_.Staged, Path]] = {}
        # Export and import jobs of one deployment run one at a time each.
        self._export_lock = asyncio.Lock()
        self._import_lock = asyncio.Lock()

    @property
    def _stores(self) -> list[BlobStore]:
        return [pair[1] for pair in (self.exports_store, self.imports_store) if pair]

    @property
    def _prefix(self) -> str:
        """The deployment's storage prefix (its files'), for object keys in the buckets."""
        return self.files.prefix if self.files is not None else ""

    async def start(self) -> None:
        for store in self._stores:
            await store.open()
        await self._fail_interrupted()

    async def stop(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks))
        # Staged imports stay unconfirmed: the next start fails them and drops their tables.
        for staged, _ in self._staged.values():
            staged.source.close()
        self._staged.clear()
        for store in self._stores:
            await store.close()

    def _spawn(self, work: Any) -> asyncio.Task[Any]:
        task = asyncio.get_running_loop().create_task(work)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _fail_interrupted(self) -> None:
        async def fail(tx: Transaction) -> None:
            for requestor in (exports.SNAPSHOT_EXPORT, exports.BACKUP):
                for doc in await exports.recent(tx, requestor, 10):
                    if doc["state"] in exports.RUNNING:
                        await exports.set_state(
                            tx,
                            doc["_id"],
                            "failed",
                            start_ts=int(doc.get("start_ts") or 0),
                            failed_ts=self.clock(),
                        )
            for doc in await imports.recent(tx, 50):
                if imports.state_of(doc) not in imports.FINISHED:
                    await imports.set_state(
                        tx,
                        doc["_id"],
                        "failed",
                        error_message="The server stopped during the import: nothing was "
                        "imported. Run the import again.",
                    )

        await run_transaction(self.db, fail)
        leftovers = {
            t.namespace
            for t in self.db.catalog.tables()
            if t.namespace.startswith(import_.STAGING_PREFIX)
        }
        for namespace in sorted(leftovers):
            await import_.drop_namespace(self.db, namespace)

    # -- exports ---------------------------------------------------------------------------

    async def request_export(
        self, *, include_storage: bool, requestor: str = exports.SNAPSHOT_EXPORT
    ) -> str:
        """Start an export job; `ExportInProgress` while one runs."""
        now = self.clock()

        async def request(tx: Transaction) -> str:
            return await exports.request(
                tx, include_storage=include_storage, requestor=requestor, now_ns=now
            )

        export_id, _ = await run_transaction(self.db, request)
        self._spawn(self._run_export(export_id, include_storage, requestor))
        return export_id

    async def export_now(self, *, include_storage: bool, requestor: str) -> dict[str, Any]:
        """Run an export to its end; its final `_exports` row."""
        export_id = await self.request_export(include_storage=include_storage, requestor=requestor)
        while True:
            doc = await exports.get(self.db.begin(read_only=True), export_id)
            assert doc is not None
            if doc["state"] not in exports.RUNNING:
                return doc
            await asyncio.sleep(0.05)

    async def _set_export(self, export_id: str, state: str, **fields: Any) -> None:
        async def update(tx: Transaction) -> None:
            await exports.set_state(tx, export_id, state, **fields)

        await run_transaction(self.db, update)

    async def _run_export(self, export_id: str, include_storage: bool, requestor: str) -> None:
        async with self._export_lock:
            start_ts = self.db.latest_ts
            await self._set_export(
                export_id, "in_progress", start_ts=start_ts, progress_message="Starting export"
            )
            key = uuid.uuid4().hex
            path = self.exports_dir / f"{key}.zip"
            files = None
            if include_storage and self.files is not None:
                files = FileSource(self.files.store, self.files.prefix)
            progress = _Progress(self, export_id, start_ts)
            try:
                result = await write_export(
                    self.db,
                    path,
                    files=files,
                    ts=start_ts,
                    progress=progress.report,
                    components=list(self.components()),
                )
            except asyncio.CancelledError:
                path.unlink(missing_ok=True)
                raise
            except Exception:
                log.exception("snapshot export %s failed", export_id)
                path.unlink(missing_ok=True)
                await progress.stop()  # before the final state, which it must not overwrite
                await self._set_export(
                    export_id, "failed", start_ts=start_ts, failed_ts=self.clock()
                )
                return
            finally:
                await progress.stop()
            storage = "local"
            # Backups go where BAYOU_BACKUP_* says: they take the local ZIP from here.
            if self.exports_store is not None and requestor == exports.SNAPSHOT_EXPORT:
                bucket, store = self.exports_store
                try:
                    await store.put(self._prefix + key, _file_chunks(path), content_type=ZIP)
                except Exception:
                    log.exception("uploading snapshot export %s to %s failed", export_id, bucket)
                    await self._set_export(
                        export_id, "failed", start_ts=start_ts, failed_ts=self.clock()
                    )
                    return
                finally:
                    path.unlink(missing_ok=True)
                storage = f"s3:{bucket}"
            await self._set_export(
                export_id,
                "completed",
                complete_ts=self.clock(),
                zip_object_key=key,
                zip_storage=storage,
                size=result.size,
            )
            await self._forget_expired()
            log.info(
                "snapshot export completed: %d tables, %d files, %d bytes (%s)",
                len(result.documents),
                result.files,
                result.size,
                path if storage == "local" else f"{storage}/{self._prefix}{key}",
            )

    async def _forget_expired(self) -> None:
        """Delete the ZIPs of exports past their expiration (14 days, as Convex's)."""
        now = self.clock()
        tx = self.db.begin(read_only=True)
        for doc in await exports.recent(tx, exports.SNAPSHOT_EXPORT):
            expiration = doc.get("expiration_ts")
            if doc["state"] == "completed" and expiration is not None and int(expiration) < now:
                store = self._export_store(doc)
                if store is not None:
                    await store.delete(self._prefix + doc["zip_object_key"])
                elif doc["zip_storage"] == "local":
                    (self.exports_dir / f"{doc['zip_object_key']}.zip").unlink(missing_ok=True)

    def _export_store(self, doc: dict[str, Any]) -> BlobStore | None:
        """The configured bucket when the export's ZIP is in it."""
        if self.exports_store is not None and doc["zip_storage"] == f"s3:{self.exports_store[0]}":
            return self.exports_store[1]
        return None

    async def export_file(self, key: str) -> ExportFile:
        """The completed export named by its id or `start_ts`, and its ZIP."""
        doc = await exports.find(self.db.begin(read_only=True), key)
        if doc["state"] != "completed":
            raise BadRequest(
                f"Export {key} is not complete (it is {doc['state']}): wait for it to finish.",
                code="ExportNotComplete",
            )
        gone = NotFound(f"The file of export {key} is no longer stored", code="ExportNotFound")
        storage = doc["zip_storage"]  # every row has it since on-disk format 2
        if storage == "local":
            path = self.exports_dir / f"{doc['zip_object_key']}.zip"
            if not path.is_file():
                raise gone
            return ExportFile(doc, path.stat().st_size, path=path)
        store = self._export_store(doc)
        if store is None:
            raise NotFound(
                f"Export {key} is stored in {storage.replace('s3:', 'S3 bucket ')}, which "
                "S3_STORAGE_EXPORTS_BUCKET no longer names: set it back to download it.",
                code="ExportNotFound",
            )
        stream = await store.get(self._prefix + doc["zip_object_key"])
        if stream is None:
            raise gone
        return ExportFile(doc, int(doc["size"]), stream=stream)

    # -- imports: the upload ----------------------------------------------------------------

    def _part_key(self, token: str, part: int) -> str:
        return f"{self._prefix}{token}/{part:05d}"

    def start_upload(self) -> str:
        token = uuid.uuid4().hex
        (self.imports_dir / token).mkdir(parents=True, exist_ok=True)
        return token

    def _upload_dir(self, token: str) -> Path:
        if not isinstance(token, str) or not _TOKEN.match(token):
            raise BadRequest("Invalid upload token", code="InvalidUploadToken")
        path = self.imports_dir / token
        if not path.is_dir():
            raise BadRequest(
                "Unknown or finished upload: start the upload again.", code="InvalidUploadToken"
            )
        return path

    async def upload_part(self, token: str, part: int, chunks: AsyncIterable[bytes]) -> str:
        directory = self._upload_dir(token)
        if not 1 <= part < MAX_PARTS:
            raise BadRequest(
                f"partNumber must be between 1 and {MAX_PARTS - 1}", code="InvalidPartNumber"
            )
        if self.imports_store is not None:
            store = self.imports_store[1]
            await store.put(self._part_key(token, part), chunks)
            (directory / f"{part:05d}").touch()  # which parts exist, for finish_upload
            return str(part)
        path = directory / f"{part:05d}"
        try:
            fh = await asyncio.to_thread(path.open, "wb")
            try:
                async for chunk in chunks:
                    await asyncio.to_thread(fh.write, chunk)
            finally:
                await asyncio.to_thread(fh.close)
        except OSError as e:
            path.unlink(missing_ok=True)
            if e.errno == errno.ENOSPC:
                raise BadRequest(
                    f"The server's disk is full ({self.imports_dir}): nothing was imported. "
                    "Free space (an import needs about twice the file's size) and try again.",
                    code="DiskFull",
                ) from None
            raise
        return str(part)

    async def finish_upload(self, spec: dict[str, Any], token: str, parts: list[Any]) -> str:
        """Join the parts into one file and start checking it; returns the import's id."""
        fmt = spec.get("format")
        mode = spec.get("mode", "requireEmpty")
        table = spec.get("tableName")
        component = spec.get("componentPath")
        if fmt not in imports.FORMATS:
            raise BadRequest(
                f"Unknown import format {fmt!r}: use csv, jsonLines, jsonArray or zip",
                code="InvalidImportFormat",
            )
        if mode not in imports.MODES:
            raise BadRequest(
                f"Unknown import mode {mode!r}: use {', '.join(imports.MODES)}",
                code="InvalidImportMode",
            )
        if component is not None and not isinstance(component, str):
            raise BadRequest("componentPath must be a string", code="InvalidImportComponent")
        directory = self._upload_dir(token)
        target = self.imports_dir / f"{token}.upload"
        if self.imports_store is not None:
            await self._join_stored_parts(token, directory, [str(p) for p in parts], target)
        else:
            await asyncio.to_thread(_join_parts, directory, [str(p) for p in parts], target)

        async def create(tx: Transaction) -> str:
            return await imports.create(
                tx,
                format=fmt,
                table=table,
                mode=mode,
                component_path=component,
                object_key=token,
            )

        import_id, _ = await run_transaction(self.db, create)
        self._imports[import_id] = self._spawn(
            self._prepare(import_id, target, fmt, table, mode, component or "")
        )
        return import_id

    async def _join_stored_parts(
        self, token: str, directory: Path, parts: list[str], target: Path
    ) -> None:
        """The parts kept in the imports bucket, joined into the file the import reads (a
        ZIP is read out of order), then deleted from the bucket."""
        assert self.imports_store is not None
        store = self.imports_store[1]
        numbers = [_part_number(directory, part) for part in parts]
        try:
            with target.open("wb") as out:
                for number in numbers:
                    stream = await store.get(self._part_key(token, number))
                    if stream is None:
                        raise BadRequest(
                            f"Part {number} is missing from the imports bucket",
                            code="InvalidPartToken",
                        )
                    try:
                        async for chunk in stream:
                            await asyncio.to_thread(out.write, chunk)
                    finally:
                        await stream.aclose()
        except BaseException:
            target.unlink(missing_ok=True)
            raise
        for path in directory.iterdir():
            if path.name.isdigit():
                await store.delete(self._part_key(token, int(path.name)))
        shutil.rmtree(directory, ignore_errors=True)

    async def _set_import(self, import_id: str, state: str, **fields: Any) -> None:
        async def update(tx: Transaction) -> None:
            await imports.set_state(tx, import_id, state, **fields)

        await run_transaction(self.db, update)

    async def _prepare(
        self, import_id: str, path: Path, fmt: str, table: str | None, mode: str, component: str
    ) -> None:
        """Read the upload once: every row checked and written into hidden tables."""
        try:
            source = await asyncio.to_thread(parse.open_source, path, fmt, table, component)
            try:
                async with self._import_lock:
                    staged = await import_.stage(self.db, source, mode)
            except BaseException:
                source.close()
                raise
        except asyncio.CancelledError:
            path.unlink(missing_ok=True)
            raise
        except BayouError as e:
            path.unlink(missing_ok=True)
            await self._set_import(import_id, "failed", error_message=e.message)
            return
        except Exception as e:
            log.exception("checking import %s failed", import_id)
            path.unlink(missing_ok=True)
            await self._set_import(import_id, "failed", error_message=f"Import failed: {e}")
            return
        finally:
            self._imports.pop(import_id, None)
        self._staged[import_id] = (staged, path)
        await self._set_import(
            import_id,
            "waiting_for_confirmation",
            message_to_confirm=staged.plan.message,
            require_manual_confirmation=staged.plan.deletes,
        )

    # -- imports: performing and canceling --------------------------------------------------

    async def perform(self, import_id: str) -> None:
        doc = await imports.require(self.db.begin(read_only=True), import_id)
        staged = self._staged.pop(import_id, None)
        if imports.state_of(doc) != "waiting_for_confirmation" or staged is None:
            if staged is not None:
                self._staged[import_id] = staged
            raise BadRequest(
                f"Import {import_id} is {imports.state_of(doc)}, not waiting for confirmation",
                code="ImportNotWaiting",
            )
        await self._set_import(
            import_id, "in_progress", progress_message="Importing", checkpoint_messages=[]
        )
        self._imports[import_id] = self._spawn(self._perform(import_id, *staged))

    async def run_import(
        self, path: Path, *, fmt: str, table: str | None, mode: str, component: str = ""
    ) -> tuple[int, int]:
        """Check and import a local file at once (no confirmation); (rows written, commit
        ts)."""
        source = await asyncio.to_thread(parse.open_source, path, fmt, table, component)
        try:
            async with self._import_lock:
                staged = await import_.stage(self.db, source, mode)
            return await self._finish(staged)
        finally:
            source.close()

    async def _finish(self, staged: import_.Staged) -> tuple[int, int]:
        async with self._import_lock:
            files = None
            if staged.source.files:
                if self.files is None:
                    await import_.discard(self.db, staged)
                    raise BadRequest("This deployment has no file storage", code="ImportFailed")
                try:
                    files = await store_files(
                        self.db,
                        self.files.store,
                        self.files.prefix,
                        staged.source,
                        self.clock() / 1e6,
                    )
                except BaseException:
                    await import_.discard(self.db, staged)
                    raise
            written, ts = await import_.finish(self.db, staged, files=files)
        if self.files is not None:
            self.files.wake_collector()
        return written, ts

    async def _perform(self, import_id: str, staged: import_.Staged, path: Path) -> None:
        try:
            written, _ = await self._finish(staged)
        except asyncio.CancelledError:
            await asyncio.shield(
                self._set_import(import_id, "failed", error_message="Import canceled")
            )
            raise
        except BayouError as e:
            await self._set_import(import_id, "failed", error_message=e.message)
            return
        except Exception as e:
            log.exception("import %s failed", import_id)
            await self._set_import(import_id, "failed", error_message=f"Import failed: {e}")
            return
        finally:
            staged.source.close()
            path.unlink(missing_ok=True)
            self._imports.pop(import_id, None)
        await self._set_import(
            import_id, "completed", timestamp=self.clock(), num_rows_written=written
        )
        log.info("import %s completed: %d documents", import_id, written)

    async def cancel(self, import_id: str) -> None:
        doc = await imports.require(self.db.begin(read_only=True), import_id)
        state = imports.state_of(doc)
        if state in imports.FINISHED:
            raise BadRequest(f"Import {import_id} has already {state}", code="ImportFinished")
        task = self._imports.pop(import_id, None)
        if task is not None and not task.done():
            task.cancel()
            await asyncio.wait([task])
        staged = self._staged.pop(import_id, None)
        if staged is not None:
            staged[0].source.close()
            await import_.discard(self.db, staged[0])
        await self._set_import(import_id, "failed", error_message="Import canceled")
        (self.imports_dir / f"{doc['object_key']}.upload").unlink(missing_ok=True)


class _Progress:
    """An export's progress message, written to its row at most once a second (the CLI
    and the dashboard watch it)."""

    def __init__(self, snapshots: Snapshots, export_id: str, start_ts: int) -> None:
        self._snapshots = snapshots
        self._export_id = export_id
        self._start_ts = start_ts
        self._message = ""
        self._written = ""
        self._task = asyncio.get_running_loop().create_task(self._run())

    def report(self, message: str) -> None:
        self._message = message

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(1.0)
            if self._message != self._written:
                self._written = self._message
                await self._snapshots._set_export(
                    self._export_id,
                    "in_progress",
                    start_ts=self._start_ts,
                    progress_message=self._written,
                )

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.wait([self._task])


def _part_number(directory: Path, part: str) -> int:
    """The number of a part the client lists, checked to have been uploaded."""
    if not part.isdigit():
        raise BadRequest(f"Unknown part token {part!r}", code="InvalidPartToken")
    if not (directory / f"{int(part):05d}").is_file():
        raise BadRequest(f"Part {part} was never uploaded", code="InvalidPartToken")
    return int(part)


def _join_parts(directory: Path, parts: list[str], target: Path) -> None:
    """Concatenate the uploaded parts in the order the client lists them."""
    numbers = [_part_number(directory, part) for part in parts]
    with target.open("wb") as out:
        for number in numbers:
            with (directory / f"{number:05d}").open("rb") as f:
                shutil.copyfileobj(f, out, 1 << 20)
    shutil.rmtree(directory, ignore_errors=True)


async def _file_chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := await asyncio.to_thread(f.read, 8 << 20):
            yield chunk


@dataclass
class ExportFile:
    """A completed export's ZIP: a local file, or a stream from the exports bucket."""

    doc: dict[str, Any]
    size: int
    path: Path | None = None
    stream: BlobStream | None = None
