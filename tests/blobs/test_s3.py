"""The S3 store against a real S3 API server (moto): the AWS_S3_* switches, addressing,
leftovers of interrupted uploads, and failures that name the bucket — bounded, never a
hang."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

import pytest

from bayou.blobs import BlobStoreError, S3BlobStore, S3Config, one_chunk, read_all
from tests.blobs.moto_server import MotoServer, free_port
from tests.blobs.test_stores import chunks


async def opened(config: S3Config) -> S3BlobStore:
    store = S3BlobStore(config)
    await store.open()
    return store


def capture(store: S3BlobStore, event: str) -> list[Any]:
    seen: list[Any] = []
    store._client.meta.events.register(event, lambda request, **_: seen.append(request))
    return seen


@pytest.mark.parametrize("disabled", [False, True])
async def test_server_side_encryption_is_asked_for_unless_disabled(
    moto: MotoServer, bucket: str, disabled: bool
) -> None:
    store = await opened(moto.config(bucket, disable_sse=disabled))
    await store.put("k", one_chunk(b"secret"))
    await store.put("big", chunks(9 * 1024 * 1024))  # multipart
    for key in ("k", "big"):
        head = moto.client().head_object(Bucket=bucket, Key=key)
        assert head.get("ServerSideEncryption") == (None if disabled else "AES256")


@pytest.mark.parametrize("disabled", [False, True])
async def test_upload_checksums_are_sent_unless_disabled(
    moto: MotoServer, bucket: str, disabled: bool
) -> None:
    store = await opened(moto.config(bucket, disable_checksums=disabled))
    sent = capture(store, "before-send.s3.PutObject")
    await store.put("k", one_chunk(b"summed"))
    headers = {k.lower() for k in sent[0].headers}
    has_checksum = any(h.startswith("x-amz-checksum-") or "checksum" in h for h in headers)
    assert has_checksum is not disabled
    assert await read_all(store, "k") == b"summed"


@pytest.mark.parametrize("path_style", [True, False])
async def test_path_style_or_virtual_hosted_addressing(path_style: bool) -> None:
    """`AWS_S3_FORCE_PATH_STYLE` decides whether the bucket is in the path or the host."""
    from botocore.awsrequest import AWSResponse

    class Empty:
        def stream(self, **_: Any) -> Any:
            return iter([b""])

    endpoint = f"http://localhost:{free_port()}"
    store = S3BlobStore(
        S3Config("my-bucket", "us-east-1", endpoint, "k", "s", force_path_style=path_style)
    )
    store._client = store._make_client()
    urls: list[str] = []

    def answer(request: Any, **_: Any) -> AWSResponse:
        urls.append(request.url)
        return AWSResponse(request.url, 200, {}, Empty())

    store._client.meta.events.register("before-send.s3.HeadBucket", answer)
    await store._call(store._client.head_bucket, Bucket="my-bucket")
    host = urls[0].split("/")[2]
    if path_style:
        assert host.startswith("localhost:") and "/my-bucket" in urls[0]
    else:
        assert host.startswith("my-bucket.localhost:")
    assert "path-style" in store.description if path_style else "virtual" in store.description


async def test_clean_incomplete_aborts_the_unfinished_uploads_under_the_prefix(
    moto: MotoServer, bucket: str
) -> None:
    s3 = moto.client()
    s3.create_multipart_upload(Bucket=bucket, Key="mine/a")
    s3.create_multipart_upload(Bucket=bucket, Key="theirs/b")
    store = await opened(moto.config(bucket))
    # (moto dates every upload 2010, so "too recent to abort" cannot be shown here.)
    assert await store.clean_incomplete("mine/", time.time() + 60) == 1
    assert moto.unfinished_uploads(bucket) == ["theirs/b"]


async def test_a_missing_bucket_is_named_at_open(moto: MotoServer) -> None:
    with pytest.raises(BlobStoreError) as e:
        await opened(moto.config("no-such-bucket"))
    assert e.value.code == "StorageBucketMissing"
    assert "'no-such-bucket'" in e.value.message and moto.url in e.value.message


async def test_an_endpoint_that_is_down_fails_fast_naming_bucket_and_endpoint() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    started = time.monotonic()
    with pytest.raises(BlobStoreError) as e:
        await opened(S3Config("files", "us-east-1", endpoint, "k", "s", force_path_style=True))
    assert time.monotonic() - started < 15
    assert "Cannot reach the file store" in e.value.message
    assert "'files'" in e.value.message and endpoint in e.value.message
    assert "3 attempts" in e.value.message and "S3_ENDPOINT_URL" in e.value.message


async def test_wrong_credentials_are_refused_naming_the_bucket(tmp_path: Path) -> None:
    with MotoServer.start(tmp_path, auth=True) as moto:
        bucket = moto.create_bucket("guarded")
        store = await opened(moto.config(bucket))  # the right keys work
        await store.put("k", one_chunk(b"ok"))
        wrong = dataclasses.replace(moto.config(bucket), access_key_id="AKIAWRONGKEY0000000")
        with pytest.raises(BlobStoreError) as e:
            await opened(wrong)
        assert e.value.code == "StorageAccessDenied"
        assert "'guarded'" in e.value.message and "AWS_ACCESS_KEY_ID" in e.value.message
        store_with_wrong_keys = S3BlobStore(wrong)
        store_with_wrong_keys._client = store_with_wrong_keys._make_client()
        with pytest.raises(BlobStoreError, match="refused the credentials"):
            await store_with_wrong_keys.put("k2", one_chunk(b"no"))


async def test_a_store_that_goes_down_during_a_call_fails_it_within_seconds(
    tmp_path: Path,
) -> None:
    with MotoServer.start(tmp_path) as moto:
        bucket = moto.create_bucket("fleeting")
        store = await opened(moto.config(bucket))
        await store.put("k", one_chunk(b"before"))
        moto.process.terminate()
        moto.process.wait()
        for call in (
            lambda: store.put("k2", chunks(10 * 1024 * 1024)),
            lambda: read_all(store, "k"),
            lambda: store.delete("k"),
        ):
            started = time.monotonic()
            with pytest.raises(BlobStoreError) as e:
                await call()
            assert time.monotonic() - started < 15
            assert "'fleeting'" in e.value.message and moto.url in e.value.message
