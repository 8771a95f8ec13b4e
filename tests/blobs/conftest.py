"""`blob_store`: one test against every blob store — memory, a local directory, and an S3
bucket on a real S3 API server (moto, started once per session on loopback)."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bayou.blobs import BlobStore, LocalBlobStore, MemoryBlobStore, S3BlobStore
from tests.blobs.moto_server import MotoServer

STORES = ("memory", "local", "s3")


@pytest.fixture(scope="session")
def moto(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """A moto S3 server for the session."""
    with MotoServer.start(tmp_path_factory.mktemp("moto")) as server:
        yield server


@pytest.fixture
def bucket(moto: MotoServer) -> str:
    """A fresh, empty bucket."""
    return moto.create_bucket(f"test-{secrets.token_hex(6)}")


def make_store(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> BlobStore:
    if kind == "memory":
        return MemoryBlobStore()
    if kind == "local":
        return LocalBlobStore(tmp_path / "files")
    moto: MotoServer = request.getfixturevalue("moto")
    return S3BlobStore(moto.config(request.getfixturevalue("bucket")))


@pytest.fixture(params=STORES)
async def blob_store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[BlobStore]:
    """An opened store of each kind, closed afterwards."""
    store = make_store(request.param, request, tmp_path)
    await store.open()
    try:
        yield store
    finally:
        await store.close()
