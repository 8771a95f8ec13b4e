"""Backups: snapshot exports with file storage, kept as ZIPs in a directory, on demand
(`bayou backup now`) and on a cron schedule — beyond Convex, whose self-hosted build has
none. A backup is an ordinary snapshot export (Convex's layout), so `bayou restore`,
`npx convex import` and Convex's own backend all read it.

    BAYOU_BACKUP_SCHEDULE   cron expression in UTC (`0 3 * * *`); unset: no schedule
    BAYOU_BACKUP_DIR        where the ZIPs go (default `<data dir>/backups`)
    BAYOU_BACKUP_S3_BUCKET  an S3 bucket instead: each ZIP is written in the directory,
                            then uploaded and deleted locally
    BAYOU_BACKUP_KEEP       scheduled backups kept; older ones are deleted (default 7)

Files are named `backup-<UTC time>-<snapshot ts>.zip` and appear only once complete (a
`.partial` file is renamed), so a listing never shows half a backup.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from bayou.blobs import BlobStore, S3BlobStore, S3Config
from bayou.config import Settings
from bayou.errors import BadRequest
from bayou.model import snapshot_exports as exports
from bayou.snapshots.service import Snapshots

log = logging.getLogger("bayou.backups")
PREFIX = "backup-"


@dataclass(frozen=True, slots=True)
class Backup:
    name: str
    location: str  # a local path, or s3://<bucket>/<key>
    size: int
    created: datetime

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "path": self.location,
            "size": self.size,
            "created": self.created.isoformat(),
        }


def backup_bucket(settings: Settings) -> S3Config | None:
    """The S3 bucket of `BAYOU_BACKUP_S3_BUCKET`, with the deployment's S3 settings."""
    if not settings.backup_s3_bucket:
        return None
    return S3Config.from_settings(settings, settings.backup_s3_bucket)


def check_schedule(expression: str) -> None:
    """`BadRequest` naming the setting when `expression` is not a cron expression."""
    from cronsim import CronSim, CronSimError

    try:
        CronSim(expression, datetime.now(UTC))
    except CronSimError as e:
        raise BadRequest(
            f"BAYOU_BACKUP_SCHEDULE={expression!r} is not a cron expression ({e}): use five "
            "fields, e.g. `0 3 * * *` for 03:00 UTC every day.",
            code="InvalidSetting",
        ) from None


class Backups:
    """Backups of one deployment into `directory`; `start()` runs the schedule if any."""

    def __init__(
        self,
        snapshots: Snapshots,
        directory: Path,
        *,
        schedule: str | None,
        keep: int,
        bucket: S3Config | None = None,
    ) -> None:
        self.snapshots = snapshots
        self.directory = directory
        self.bucket = bucket
        self.store: BlobStore | None = S3BlobStore(bucket) if bucket is not None else None
        self.schedule = schedule
        self.keep = max(1, keep)
        self._task: asyncio.Task[None] | None = None
        if schedule:
            check_schedule(schedule)

    @property
    def where(self) -> str:
        return f"s3://{self.bucket.bucket}/" if self.bucket is not None else str(self.directory)

    async def start(self) -> None:
        if self.store is not None:
            await self.store.open()
        if self.schedule:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="bayou-backups")
            log.info("scheduled backups: %s (UTC) into %s", self.schedule, self.where)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.wait([self._task])
            self._task = None
        if self.store is not None:
            await self.store.close()

    async def backup_now(self) -> Backup:
        """Export the deployment with its files into a new backup ZIP."""
        doc = await self.snapshots.export_now(include_storage=True, requestor=exports.BACKUP)
        if doc["state"] != "completed":
            raise BadRequest(
                "The backup's export failed: see the server log for the reason.",
                code="BackupFailed",
            )
        source = self.snapshots.exports_dir / f"{doc['zip_object_key']}.zip"
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.directory.mkdir(parents=True, exist_ok=True)
        target = self.directory / f"{PREFIX}{stamp}-{int(doc['start_ts'])}.zip"
        partial = target.with_suffix(".zip.partial")
        await asyncio.to_thread(shutil.move, source, partial)
        partial.rename(target)
        made = _backup(target)
        if self.store is not None:
            assert self.bucket is not None
            await self.store.put(target.name, _chunks(target), content_type="application/zip")
            target.unlink()
            made = Backup(
                made.name, f"s3://{self.bucket.bucket}/{made.name}", made.size, made.created
            )
        log.info("backup written: %s (%d bytes)", made.location, made.size)
        return made

    async def list(self) -> list[Backup]:
        """The complete backups, oldest first."""
        if self.store is not None:
            assert self.bucket is not None
            found = [
                Backup(
                    info.key,
                    f"s3://{self.bucket.bucket}/{info.key}",
                    info.size,
                    datetime.fromtimestamp(info.modified, UTC),
                )
                async for info in self.store.list(PREFIX)
                if info.key.endswith(".zip")
            ]
            return sorted(found, key=lambda b: b.name)
        if not self.directory.is_dir():
            return []
        return [_backup(p) for p in sorted(self.directory.glob(f"{PREFIX}*.zip"))]

    async def prune(self) -> list[str]:
        """Delete the oldest backups beyond `keep`; returns what was deleted."""
        old = (await self.list())[: -self.keep]
        for backup in old:
            if self.store is not None:
                await self.store.delete(backup.name)
            else:
                Path(backup.location).unlink(missing_ok=True)
            log.info("backup deleted (BAYOU_BACKUP_KEEP=%d): %s", self.keep, backup.location)
        return [b.location for b in old]

    def next_run(self) -> datetime | None:
        """When the schedule takes the next backup (None without a schedule)."""
        if not self.schedule:
            return None
        from cronsim import CronSim

        return next(CronSim(self.schedule, datetime.now(UTC)))

    async def _run(self) -> None:
        from cronsim import CronSim

        assert self.schedule is not None
        while True:
            now = datetime.now(UTC)
            due = next(CronSim(self.schedule, now))
            await asyncio.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds()))
            try:
                await self.backup_now()
                await self.prune()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scheduled backup failed")


def _backup(path: Path) -> Backup:
    stat = path.stat()
    return Backup(path.name, str(path), stat.st_size, datetime.fromtimestamp(stat.st_mtime, UTC))


async def _chunks(path: Path) -> AsyncIterator[bytes]:
    with path.open("rb") as f:
        while chunk := await asyncio.to_thread(f.read, 8 << 20):
            yield chunk
