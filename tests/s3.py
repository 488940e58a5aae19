"""An S3 API for the tests: moto's standalone server (`moto_server`), a process on a free port.

No S3-compatible server is installable here except emulators, so the S3 store is tested against
moto's, through the same boto3 client code a deployment uses. Fixtures (loaded by conftest.py):

- `s3_endpoint` (session): the server's URL; the AWS_* test credentials are set for the session.
- `s3_store_url`: `s3://<a new bucket>/archive`, one bucket per test.
- `s3_settings`: the app overrides for that bucket (`make_app(**s3_settings)`).
- `s3_env`: the environment a `factdesk` process needs to use that bucket.
- `blob_store`: a BlobStore, parametrized over the filesystem and S3 (`store_settings` likewise
  gives the app overrides, empty for the filesystem, the default).
"""

import os
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from service.core.config import Settings
from sources.blobs import BlobStore, open_store

CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "us-east-1"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for_port(port: int, seconds: float = 30.0) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


@pytest.fixture(scope="session")
def s3_endpoint() -> Iterator[str]:
    """moto's S3 server in its own process, for the whole session."""
    saved = {name: os.environ.get(name) for name in CREDENTIALS}
    os.environ.update(CREDENTIALS)
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def s3_store_url(s3_endpoint: str) -> str:
    """A new, empty bucket: its blob URL (with a prefix, as deployments sharing a bucket use)."""
    bucket = f"factdesk-{uuid.uuid4().hex[:16]}"
    boto3.client("s3", endpoint_url=s3_endpoint).create_bucket(Bucket=bucket)
    return f"s3://{bucket}/archive"


@pytest.fixture
def s3_settings(s3_endpoint: str, s3_store_url: str) -> dict[str, str]:
    return {"blob_url": s3_store_url, "s3_endpoint_url": s3_endpoint}


@pytest.fixture
def s3_env(s3_endpoint: str, s3_store_url: str) -> dict[str, str]:
    """What a `factdesk serve` or `worker` process needs in its environment to use the bucket."""
    return {"FACTDESK_BLOB_URL": s3_store_url, "FACTDESK_S3_ENDPOINT_URL": s3_endpoint, **CREDENTIALS}


@pytest.fixture(params=["file", "s3"])
def store_settings(request: pytest.FixtureRequest) -> dict[str, str]:
    """App overrides for each store: none for the filesystem (the default), a bucket for S3."""
    if request.param == "file":
        return {}
    settings: dict[str, str] = request.getfixturevalue("s3_settings")
    return settings


@pytest.fixture
def blob_store(store_settings: dict[str, str], tmp_path: Path) -> BlobStore:
    settings = Settings.from_env({}, data_dir=tmp_path, **store_settings)
    return open_store(settings.blob_url, settings)
