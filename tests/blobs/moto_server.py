"""A real S3 API server on loopback for the tests: moto's (`moto[server]`), as a process.

    with MotoServer.start(tmp_dir) as s3:     # a free port, ready when this returns
        s3.create_bucket("files")
        s3.config("files")                    # an S3Config for Bayou's store
        s3.env("files")                       # the same as `bayou serve`'s environment

`start(auth=True)` turns on moto's credential checks (IAM): `s3.key_id`/`s3.secret` are
then the only keys it accepts.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bayou.blobs import S3Config
from tests.ports import free_port

REGION = "us-east-1"


@dataclass
class MotoServer:
    url: str
    process: subprocess.Popen[bytes]
    log_path: Path
    key_id: str = "bayou-test"
    secret: str = "bayou-test-secret"
    buckets: list[str] = field(default_factory=list)

    @classmethod
    @contextlib.contextmanager
    def start(cls, tmp_dir: Path, *, auth: bool = False) -> Iterator[MotoServer]:
        port = free_port()
        log_path = tmp_dir / f"moto-{port}.log"
        env = {**os.environ}
        if auth:
            env["INITIAL_NO_AUTH_ACTION_COUNT"] = "3"  # enough to create the user and key
        with open(log_path, "ab") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=env,
            )
        server = cls(f"http://127.0.0.1:{port}", process, log_path)
        try:
            server._wait_ready()
            if auth:
                server._make_user()
            yield server
        finally:
            process.terminate()
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"moto exited:\n{self.log_path.read_text()[-3000:]}")
            try:
                with urllib.request.urlopen(self.url + "/moto-api/", timeout=2):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("moto did not start in 30 s")

    def _make_user(self) -> None:
        iam = self.client("iam")
        iam.create_user(UserName="bayou")
        key = iam.create_access_key(UserName="bayou")["AccessKey"]
        self.key_id, self.secret = key["AccessKeyId"], key["SecretAccessKey"]
        policy = {
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
        }
        self.client("iam").put_user_policy(
            UserName="bayou", PolicyName="all", PolicyDocument=json.dumps(policy)
        )

    def client(self, service: str = "s3") -> Any:
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.url,
            region_name=REGION,
            aws_access_key_id=self.key_id,
            aws_secret_access_key=self.secret,
        )

    def create_bucket(self, name: str) -> str:
        self.client().create_bucket(Bucket=name)
        self.buckets.append(name)
        return name

    def keys(self, bucket: str, prefix: str = "") -> list[str]:
        pages = (
            self.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        )
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def unfinished_uploads(self, bucket: str) -> list[str]:
        return [
            u["Key"] for u in self.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        ]

    def config(self, bucket: str, **overrides: Any) -> S3Config:
        values: dict[str, Any] = {
            "bucket": bucket,
            "region": REGION,
            "endpoint_url": self.url,
            "access_key_id": self.key_id,
            "secret_access_key": self.secret,
            "force_path_style": True,
            **overrides,
        }
        return S3Config(**values)

    def env(self, bucket: str) -> dict[str, str]:
        """`bayou serve`'s environment for S3 file storage in `bucket` here."""
        return {
            "S3_STORAGE_FILES_BUCKET": bucket,
            "AWS_REGION": REGION,
            "AWS_ACCESS_KEY_ID": self.key_id,
            "AWS_SECRET_ACCESS_KEY": self.secret,
            "S3_ENDPOINT_URL": self.url,
            "AWS_S3_FORCE_PATH_STYLE": "true",
        }
