"""A blob store in an S3-compatible bucket: AWS S3, MinIO, Cloudflare R2, Backblaze B2,
DigitalOcean Spaces … through boto3, the AWS SDK.

boto3 rather than aiobotocore or obstore: it is AWS's own, speaks every S3 dialect (path-
style and virtual-hosted addressing, optional SSE and checksums — the two switches that
non-AWS stores need, Convex issue #85), and has the whole API, including the listing and
aborting of unfinished multipart uploads that a crashed upload leaves behind; it pins
nothing an app's own boto3 would conflict with (aiobotocore pins botocore exactly), and it
is imported only when S3 is configured. Its calls block, so they run in a small thread
pool of their own, one call (one part, one 1 MiB read) at a time.

Streaming: `put` sends an object of up to one part (8 MiB) in one PUT, a larger one as a
multipart upload of 8 MiB parts (more per part after 1,000 parts, so 10,000 parts reach
~400 GiB), two parts in flight: an upload holds at most ~24 MiB, whatever its size. A
failed or cancelled upload is aborted; one a crash interrupted is aborted by
`clean_incomplete` at the next start. `get` streams the object (or a byte range) 1 MiB
at a time.

Failures: every call retries transient errors (standard mode, 3 attempts) with short
connect and read time-outs, then raises a `BlobStoreError` naming the bucket, the endpoint
and the likely fix — never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from bayou.blobs.base import CHUNK, BlobInfo, BlobStoreError, check_key

if TYPE_CHECKING:
    from bayou.config import Settings

PART = 8 * 1024 * 1024
PARTS_IN_FLIGHT = 2
CONNECT_TIMEOUT_S = 3.0
READ_TIMEOUT_S = 20.0
ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class S3Config:
    """Where the bucket is and how to talk to it (the `AWS_*` / `S3_*` settings)."""

    bucket: str
    region: str | None = None
    endpoint_url: str | None = None
    access_key_id: str | None = None
    secret_access_key: str | None = None
    session_token: str | None = None
    force_path_style: bool = False
    disable_sse: bool = False
    disable_checksums: bool = False

    @classmethod
    def from_settings(cls, settings: Settings, bucket: str) -> S3Config:
        """`bucket` with the deployment's `AWS_*` / `S3_*` settings (files, backups)."""
        return cls(
            bucket=bucket,
            region=settings.aws_region or "us-east-1",
            endpoint_url=settings.s3_endpoint_url,
            access_key_id=settings.aws_access_key_id,
            secret_access_key=settings.aws_secret_access_key,
            session_token=settings.aws_session_token,
            force_path_style=settings.aws_s3_force_path_style,
            disable_sse=settings.aws_s3_disable_sse,
            disable_checksums=settings.aws_s3_disable_checksums,
        )

    @property
    def where(self) -> str:
        """`S3 bucket 'b' at http://minio:9000` / `… in AWS region eu-west-1`."""
        at = f"at {self.endpoint_url}" if self.endpoint_url else f"in AWS region {self.region}"
        return f"S3 bucket {self.bucket!r} {at}"


class S3BlobStore:
    """Objects in one bucket; keys are used as they are (the caller adds its prefix)."""

    kind = "s3"
    clock_skew_s = 60.0

    def __init__(self, config: S3Config) -> None:
        self.config = config
        style = "path-style" if config.force_path_style else "virtual-hosted-style"
        self.description = f"{config.where} ({style} addressing)"
        self._client: Any = None
        self._pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="bayou-s3")

    # -- life cycle --------------------------------------------------------------------

    async def open(self) -> None:
        self._client = await asyncio.get_running_loop().run_in_executor(
            self._pool, self._make_client
        )
        await self._call(self._client.head_bucket, Bucket=self.config.bucket)

    def _make_client(self) -> Any:
        import boto3
        from botocore.config import Config

        c = self.config
        checksums = "when_required" if c.disable_checksums else "when_supported"
        config = Config(
            region_name=c.region,
            s3={"addressing_style": "path" if c.force_path_style else "virtual"},
            retries={"max_attempts": ATTEMPTS, "mode": "standard"},
            connect_timeout=CONNECT_TIMEOUT_S,
            read_timeout=READ_TIMEOUT_S,
            max_pool_connections=32,
            request_checksum_calculation=checksums,
            response_checksum_validation=checksums,
        )
        session = boto3.session.Session(
            aws_access_key_id=c.access_key_id,
            aws_secret_access_key=c.secret_access_key,
            aws_session_token=c.session_token,
            region_name=c.region,
        )
        return session.client("s3", endpoint_url=c.endpoint_url, config=config)

    async def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)

    async def _call(self, fn: Callable[..., Any], **kwargs: Any) -> Any:
        """One boto3 call off the event loop; its failures as `BlobStoreError`s."""
        try:
            return await asyncio.get_running_loop().run_in_executor(
                self._pool, lambda: fn(**kwargs)
            )
        except Exception as e:
            raise self.error(e) from None

    def error(self, e: Exception) -> BlobStoreError:
        """A boto3 failure in words that name the bucket and what to do."""
        from botocore.exceptions import (
            ClientError,
            ConnectionClosedError,
            ConnectTimeoutError,
            EndpointConnectionError,
            NoCredentialsError,
            ReadTimeoutError,
        )

        where = self.description
        if isinstance(e, BlobStoreError):
            return e
        if isinstance(e, NoCredentialsError):
            return BlobStoreError(
                f"No AWS credentials for the file store, {where}: set AWS_ACCESS_KEY_ID and "
                "AWS_SECRET_ACCESS_KEY (or another source of AWS credentials)."
            )
        if isinstance(e, EndpointConnectionError | ConnectTimeoutError | ConnectionClosedError):
            return BlobStoreError(
                f"Cannot reach the file store, {where} ({e}), after {ATTEMPTS} attempts: check "
                "S3_ENDPOINT_URL and that the server is up."
            )
        if isinstance(e, ReadTimeoutError):
            return BlobStoreError(
                f"The file store, {where}, did not answer within {READ_TIMEOUT_S:g} s "
                f"({ATTEMPTS} attempts)."
            )
        if isinstance(e, ClientError):
            error = e.response.get("Error", {})
            code = str(error.get("Code", ""))
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in ("NoSuchBucket", "404") or (code == "" and status == 404):
                return BlobStoreError(
                    f"The bucket of the file store, {where}, does not exist: create it, or fix "
                    "S3_STORAGE_FILES_BUCKET / S3_ENDPOINT_URL.",
                    code="StorageBucketMissing",
                )
            if code in _REFUSED or status == 403:
                return BlobStoreError(
                    f"The file store, {where}, refused the credentials ({code or status}: "
                    f"{error.get('Message') or 'access denied'}): check AWS_ACCESS_KEY_ID, "
                    "AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), and that they may read and "
                    "write the bucket.",
                    code="StorageAccessDenied",
                )
            return BlobStoreError(
                f"The file store, {where}, failed: {code or status} {error.get('Message', '')}"
            )
        return BlobStoreError(f"The file store, {where}, failed: {type(e).__name__}: {e}")

    # -- writing -----------------------------------------------------------------------

    def _put_args(self, key: str, content_type: str | None) -> dict[str, Any]:
        args: dict[str, Any] = {"Bucket": self.config.bucket, "Key": check_key(key)}
        if content_type:
            args["ContentType"] = content_type
        if not self.config.disable_sse:
            args["ServerSideEncryption"] = "AES256"
        return args

    async def put(
        self, key: str, chunks: AsyncIterable[bytes], *, content_type: str | None = None
    ) -> int:
        upload = _Multipart(self, self._put_args(key, content_type))
        buffer = bytearray()
        size = 0
        try:
            async for chunk in chunks:
                buffer += chunk
                size += len(chunk)
                while len(buffer) >= upload.part_size and len(buffer) > 0:
                    part = bytes(buffer[: upload.part_size])
                    del buffer[: upload.part_size]
                    await upload.send(part)
            if upload.upload_id is None:
                await self._call(self._client.put_object, Body=bytes(buffer), **upload.args)
            else:
                if buffer:
                    await upload.send(bytes(buffer))
                await upload.complete()
        except BaseException:
            await upload.abort()
            raise
        return size

    # -- reading -----------------------------------------------------------------------

    async def get(self, key: str, start: int = 0, end: int | None = None) -> _S3Stream | None:
        args: dict[str, Any] = {"Bucket": self.config.bucket, "Key": check_key(key)}
        if end is not None and end <= start:  # an empty range: S3 refuses to serve one
            info = await self.head(key)
            return None if info is None else _S3Stream(self, None, info.size, start, start)
        if start > 0 or end is not None:
            args["Range"] = f"bytes={start}-{'' if end is None else end - 1}"
        try:
            response = await asyncio.get_running_loop().run_in_executor(
                self._pool, lambda: self._client.get_object(**args)
            )
        except Exception as e:
            if _missing(e):
                return None
            if _code(e) == "InvalidRange":  # start at or past the end
                info = await self.head(key)
                return None if info is None else _S3Stream(self, None, info.size, start, start)
            raise self.error(e) from None
        length = int(response.get("ContentLength", 0))
        total = response.get("ContentRange")  # "bytes 0-9/100"
        size = int(total.rsplit("/", 1)[1]) if total else length
        return _S3Stream(self, response["Body"], size, start, start + length)

    async def head(self, key: str) -> BlobInfo | None:
        try:
            response = await asyncio.get_running_loop().run_in_executor(
                self._pool,
                lambda: self._client.head_object(Bucket=self.config.bucket, Key=check_key(key)),
            )
        except Exception as e:
            if _missing(e):
                return None
            raise self.error(e) from None
        return BlobInfo(key, int(response["ContentLength"]), response["LastModified"].timestamp())

    async def delete(self, key: str) -> None:
        await self._call(self._client.delete_object, Bucket=self.config.bucket, Key=check_key(key))

    async def list(self, prefix: str = "") -> AsyncIterator[BlobInfo]:
        token: str | None = None
        while True:
            args: dict[str, Any] = {"Bucket": self.config.bucket, "Prefix": prefix}
            if token:
                args["ContinuationToken"] = token
            page = await self._call(self._client.list_objects_v2, **args)
            for item in page.get("Contents", []):
                yield BlobInfo(item["Key"], int(item["Size"]), item["LastModified"].timestamp())
            token = page.get("NextContinuationToken")
            if not page.get("IsTruncated") or not token:
                return

    async def clean_incomplete(self, prefix: str, before: float) -> int:
        aborted = 0
        markers: dict[str, str] = {}
        while True:
            page = await self._call(
                self._client.list_multipart_uploads,
                Bucket=self.config.bucket,
                Prefix=prefix,
                **markers,
            )
            for upload in page.get("Uploads", []):
                if upload["Initiated"].timestamp() < before:
                    with contextlib.suppress(BlobStoreError):
                        await self._call(
                            self._client.abort_multipart_upload,
                            Bucket=self.config.bucket,
                            Key=upload["Key"],
                            UploadId=upload["UploadId"],
                        )
                        aborted += 1
            if not page.get("IsTruncated"):
                return aborted
            markers = {
                "KeyMarker": page.get("NextKeyMarker", ""),
                "UploadIdMarker": page.get("NextUploadIdMarker", ""),
            }


_REFUSED = {
    "AccessDenied",
    "InvalidAccessKeyId",
    "SignatureDoesNotMatch",
    "ExpiredToken",
    "InvalidToken",
    "403",
}


def _code(e: Exception) -> str:
    response = getattr(e, "response", None)
    return str(response.get("Error", {}).get("Code", "")) if isinstance(response, dict) else ""


def _missing(e: Exception) -> bool:
    return _code(e) in ("NoSuchKey", "404", "NotFound")


class _Multipart:
    """One object's multipart upload, started on its first full part."""

    def __init__(self, store: S3BlobStore, args: dict[str, Any]) -> None:
        self.store = store
        self.args = args
        self.upload_id: str | None = None
        self.parts: list[dict[str, Any]] = []
        self.in_flight: list[asyncio.Task[None]] = []

    @property
    def part_size(self) -> int:
        return PART * (1 + len(self.parts) // 1000)

    async def send(self, data: bytes) -> None:
        if self.upload_id is None:
            created = await self.store._call(
                self.store._client.create_multipart_upload, **self.args
            )
            self.upload_id = created["UploadId"]
        number = len(self.parts) + 1
        entry: dict[str, Any] = {"PartNumber": number}
        self.parts.append(entry)
        while len(self.in_flight) >= PARTS_IN_FLIGHT:
            await self.in_flight.pop(0)
        self.in_flight.append(asyncio.ensure_future(self._upload(entry, data)))

    async def _upload(self, entry: dict[str, Any], data: bytes) -> None:
        result = await self.store._call(
            self.store._client.upload_part,
            Bucket=self.args["Bucket"],
            Key=self.args["Key"],
            UploadId=self.upload_id,
            PartNumber=entry["PartNumber"],
            Body=data,
        )
        entry["ETag"] = result["ETag"]
        for name in ("ChecksumCRC32", "ChecksumCRC32C", "ChecksumSHA1", "ChecksumSHA256"):
            if result.get(name):
                entry[name] = result[name]

    async def complete(self) -> None:
        for task in self.in_flight:
            await task
        self.in_flight = []
        await self.store._call(
            self.store._client.complete_multipart_upload,
            Bucket=self.args["Bucket"],
            Key=self.args["Key"],
            UploadId=self.upload_id,
            MultipartUpload={"Parts": self.parts},
        )
        self.upload_id = None

    async def abort(self) -> None:
        """Give up: stop the parts in flight and abort the upload (even when cancelled)."""
        for task in self.in_flight:
            task.cancel()
        if self.in_flight:
            await asyncio.wait(self.in_flight)
        self.in_flight = []
        if self.upload_id is None:
            return
        upload_id, self.upload_id = self.upload_id, None
        aborting = asyncio.ensure_future(
            self.store._call(
                self.store._client.abort_multipart_upload,
                Bucket=self.args["Bucket"],
                Key=self.args["Key"],
                UploadId=upload_id,
            )
        )
        with contextlib.suppress(BaseException):  # left over: clean_incomplete removes it
            await asyncio.shield(aborting)


class _S3Stream:
    """The body of a GET, read 1 MiB at a time in the store's threads."""

    def __init__(self, store: S3BlobStore, body: Any, size: int, start: int, end: int) -> None:
        self._store = store
        self._body = body
        self.size = size
        self.start = start
        self.end = end

    async def __aiter__(self) -> AsyncIterator[bytes]:
        if self._body is None:
            return
        loop = asyncio.get_running_loop()
        try:
            while True:
                try:
                    chunk = await loop.run_in_executor(self._store._pool, self._body.read, CHUNK)
                except Exception as e:
                    raise self._store.error(e) from None
                if not chunk:
                    return
                yield chunk
        finally:
            await self.aclose()

    async def aclose(self) -> None:
        if self._body is not None:
            body, self._body = self._body, None
            body.close()
