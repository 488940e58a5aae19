"""The S3 blob store: any S3-compatible service (AWS, MinIO, Ceph, R2…) through boto3.

Keys are `prefix/ab/cd/abcd…`, as the filesystem store's paths. Bodies go up from their spooled
file (multipart above a few MB, so never whole in memory) and come down as a stream; an object
appears whole or not at all, so a reader never sees half a blob. Timeouts and retries are short
and bounded: a store that does not answer costs a worker seconds, then is StoreUnavailable.
"""

import hashlib
import io
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

import boto3
import urllib3.exceptions
from boto3.exceptions import Boto3Error
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from sources.blobs.store import CHUNK, BlobMissing, StoreUnavailable, check_hash, fan_out

log = logging.getLogger(__name__)

CLIENT_CONFIG = Config(
    connect_timeout=3,
    read_timeout=10,  # between bytes, not for a whole body
    retries={"mode": "standard", "max_attempts": 2},
    max_pool_connections=32,  # the web worker's threads and the transfer's, reading at once
)
# Parts of 5 MB (S3's least), two at a time: an upload holds about 10 MB, whatever the blob's size.
TRANSFER = TransferConfig(
    multipart_threshold=8 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024, max_concurrency=2
)
MISSING = frozenset({"404", "NoSuchKey", "NotFound"})
STORE_ERRORS = (BotoCoreError, Boto3Error, ClientError, urllib3.exceptions.HTTPError)

_clients: dict[tuple[int, str | None], Any] = {}
_clients_lock = threading.Lock()


def client(endpoint_url: str | None) -> Any:
    """One S3 client per process and endpoint (clients are thread-safe, but not to share across a
    fork, and slow to make: not one a request)."""
    key = (os.getpid(), endpoint_url)
    with _clients_lock:
        if key not in _clients:
            _clients[key] = boto3.session.Session().client(
                "s3", endpoint_url=endpoint_url, config=CLIENT_CONFIG
            )
        return _clients[key]


class S3Store:
    """Blobs as objects in `bucket` under `prefix`; bodies are spooled in `spool` before upload."""

    def __init__(self, bucket: str, prefix: str, *, endpoint_url: str | None, spool: Path) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.spool = spool
        self.s3 = client(endpoint_url)

    def key(self, sha256: str) -> str:
        name = fan_out(sha256)
        return f"{self.prefix}/{name}" if self.prefix else name

    def exists(self, sha256: str) -> bool:
        try:
            self.size(sha256)
        except BlobMissing:
            return False
        return True

    def put_file(self, source: Path, sha256: str) -> None:
        if not self.exists(sha256):
            with _answering("upload"):
                self.s3.upload_file(str(source), self.bucket, self.key(sha256), Config=TRANSFER)
        source.unlink(missing_ok=True)

    def put_bytes(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        if not self.exists(sha256):
            with _answering("put"):
                self.s3.put_object(Bucket=self.bucket, Key=self.key(sha256), Body=data)
        return sha256

    @contextmanager
    def open(self, sha256: str) -> Iterator[BinaryIO]:
        with _answering("get", sha256):
            body = self.s3.get_object(Bucket=self.bucket, Key=self.key(sha256))["Body"]
        reader = io.BufferedReader(_Body(body), CHUNK)
        try:
            yield reader
        finally:
            reader.close()

    def size(self, sha256: str) -> int:
        with _answering("head", sha256):
            head = self.s3.head_object(Bucket=self.bucket, Key=self.key(sha256))
        return int(head["ContentLength"])

    def read_text(self, sha256: str) -> str:
        with self.open(sha256) as reader:
            return reader.read().decode("utf-8")

    @contextmanager
    def local_path(self, sha256: str) -> Iterator[Path]:
        """The blob downloaded to a temp file, deleted after."""
        fd, name = tempfile.mkstemp(dir=self.temp_dir())
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out, self.open(sha256) as reader:
                while chunk := reader.read(CHUNK):
                    out.write(chunk)
            yield path
        finally:
            path.unlink(missing_ok=True)

    def temp_dir(self) -> Path:
        self.spool.mkdir(parents=True, exist_ok=True)
        return self.spool

    def hashes(self) -> Iterator[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.bucket, Prefix=f"{self.prefix}/" if self.prefix else ""
        )
        with _answering("list"):
            for page in pages:
                for item in page.get("Contents", []):
                    try:
                        yield check_hash(item["Key"].rsplit("/", 1)[-1])
                    except ValueError:  # something else shares the bucket: not a blob
                        continue


class _Body(io.RawIOBase):
    """A botocore streaming body as a raw file: read a chunk at a time, never whole."""

    def __init__(self, body: Any) -> None:
        self.body = body

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with _answering("read"):
            data = self.body.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self.body.close()
        super().close()


@contextmanager
def _answering(action: str, sha256: str | None = None) -> Iterator[None]:
    """Turn the client's errors into the store's: BlobMissing for a 404, else StoreUnavailable."""
    try:
        yield
    except ClientError as exc:
        code = str(exc.response.get("Error", {}).get("Code", ""))
        if sha256 is not None and code in MISSING:
            raise BlobMissing(f"No blob {sha256}.") from exc
        log.warning("blob store %s failed: %s", action, code or exc)
        raise StoreUnavailable("The archive store is not answering; try again shortly.") from exc
    except STORE_ERRORS as exc:
        log.warning("blob store %s failed: %s", action, type(exc).__name__)
        raise StoreUnavailable("The archive store is not answering; try again shortly.") from exc
