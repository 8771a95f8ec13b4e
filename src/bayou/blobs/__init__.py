"""Blob stores: the `BlobStore` protocol and its three implementations — a local
directory (the embedded default), an S3-compatible bucket, and memory (tests).

`make_blob_store` picks one the way the settings say: S3 when a bucket is configured
(`S3_STORAGE_FILES_BUCKET` …), else the local directory. The store is not yet opened: the
caller awaits `open()`, which checks that it can be used.
"""

from __future__ import annotations

from pathlib import Path

from bayou.blobs.base import (
    BlobInfo,
    BlobStore,
    BlobStoreError,
    BlobStoreFull,
    BlobStream,
    one_chunk,
    read_all,
)
from bayou.blobs.local import LocalBlobStore
from bayou.blobs.memory import MemoryBlobStore
from bayou.blobs.s3 import S3BlobStore, S3Config

__all__ = [
    "BlobInfo",
    "BlobStore",
    "BlobStoreError",
    "BlobStoreFull",
    "BlobStream",
    "LocalBlobStore",
    "MemoryBlobStore",
    "S3BlobStore",
    "S3Config",
    "make_blob_store",
    "one_chunk",
    "read_all",
]


def make_blob_store(*, local_root: Path, s3: S3Config | None) -> BlobStore:
    """The S3 store when `s3` is given, else the local directory `local_root`."""
    if s3 is not None:
        return S3BlobStore(s3)
    return LocalBlobStore(local_root)
