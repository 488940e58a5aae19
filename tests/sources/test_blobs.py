"""Every blob store operation, against the filesystem store and against S3 (moto's server)."""

import hashlib
import os
import time
import tracemalloc
from pathlib import Path

import pytest

from service.core.config import Settings, SettingsError
from sources.blobs import BlobMissing, BlobStore, StoreUnavailable, open_store
from sources.blobs.files import FileStore
from sources.blobs.s3 import S3Store
from tests.s3 import free_port

BIG = 25_000_000  # FACTDESK_CAPTURE_MAX_BYTES' default: the largest archive a capture keeps


def spool(store: BlobStore, data: bytes) -> tuple[Path, str]:
    path = store.temp_dir() / f"body-{hashlib.sha256(data).hexdigest()[:8]}-{time.monotonic_ns()}"
    path.write_bytes(data)
    return path, hashlib.sha256(data).hexdigest()


def test_the_same_bytes_are_stored_once(blob_store: BlobStore) -> None:
    first, sha = spool(blob_store, b"<p>the statement</p>")
    again, _ = spool(blob_store, b"<p>the statement</p>")
    blob_store.put_file(first, sha)
    blob_store.put_file(again, sha)
    assert blob_store.put_bytes(b"<p>the statement</p>") == sha
    assert not first.exists()
    assert not again.exists()
    assert list(blob_store.hashes()) == [sha]
    assert blob_store.exists(sha)
    assert blob_store.size(sha) == len(b"<p>the statement</p>")


def test_text_round_trips_in_utf8(blob_store: BlobStore) -> None:
    text = "Ministry says “41%” — née Zoë, 東京, 🙂\n" * 3
    sha = blob_store.put_bytes(text.encode("utf-8"))
    assert sha == hashlib.sha256(text.encode()).hexdigest()
    assert blob_store.read_text(sha) == text


def test_an_empty_blob_is_a_blob(blob_store: BlobStore) -> None:
    sha = blob_store.put_bytes(b"")
    assert blob_store.exists(sha)
    assert blob_store.size(sha) == 0
    with blob_store.open(sha) as reader:
        assert reader.read() == b""


def test_a_25_mb_blob_round_trips_streamed(blob_store: BlobStore) -> None:
    data = os.urandom(BIG)
    path, sha = spool(blob_store, data)
    del data  # what is measured below is the store's memory, not this copy
    tracemalloc.start()
    try:
        blob_store.put_file(path, sha)
        _, stored_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        digest, size = hashlib.sha256(), 0
        with blob_store.open(sha) as reader:
            while chunk := reader.read(1024 * 1024):
                digest.update(chunk)
                size += len(chunk)
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert (digest.hexdigest(), size) == (sha, BIG)
    assert blob_store.size(sha) == BIG
    assert stored_peak < 16_000_000, f"storing held {stored_peak} bytes"  # parts, not the whole
    assert read_peak < 8_000_000, f"reading held {read_peak} bytes"


def test_local_path_is_the_blob_on_disk_while_it_is_needed(blob_store: BlobStore) -> None:
    sha = blob_store.put_bytes(b"%PDF-1.4 a document")
    with blob_store.local_path(sha) as path:
        assert path.read_bytes() == b"%PDF-1.4 a document"
    if isinstance(blob_store, S3Store):
        assert not path.exists()  # a downloaded copy is removed after
        assert list(blob_store.temp_dir().iterdir()) == []
    else:
        assert path.exists()  # the store's own file


def test_a_missing_blob_is_blob_missing_everywhere(blob_store: BlobStore) -> None:
    sha = hashlib.sha256(b"never stored").hexdigest()
    assert not blob_store.exists(sha)
    with pytest.raises(BlobMissing):
        blob_store.size(sha)
    with pytest.raises(BlobMissing), blob_store.open(sha):
        pass
    with pytest.raises(BlobMissing):
        blob_store.read_text(sha)
    with pytest.raises(BlobMissing), blob_store.local_path(sha):
        pass


@pytest.mark.parametrize("name", ["../../etc/passwd", "AB" * 32, "a" * 63, "", "a/" * 32])
def test_a_name_that_is_not_a_hash_is_refused(blob_store: BlobStore, name: str) -> None:
    with pytest.raises(ValueError, match="sha256"):
        blob_store.exists(name)


def test_hashes_lists_every_blob_and_nothing_else(blob_store: BlobStore) -> None:
    stored = {blob_store.put_bytes(f"document {n}".encode()) for n in range(7)}
    if isinstance(blob_store, FileStore):  # an interrupted copy's leftovers beside the blobs
        sha = next(iter(stored))
        (blob_store.root / sha[:2] / sha[2:4] / "tmpa1b2c3").write_bytes(b"half")
    else:
        blob_store.s3.put_object(Bucket=blob_store.bucket, Key=f"{blob_store.prefix}/notes.txt", Body=b"x")
    assert sorted(blob_store.hashes()) == sorted(stored)


def test_a_store_that_does_not_answer_is_unavailable_quickly(tmp_path: Path, s3_store_url: str) -> None:
    settings = Settings.from_env(
        {}, data_dir=tmp_path, blob_url=s3_store_url, s3_endpoint_url=f"http://127.0.0.1:{free_port()}"
    )
    store = open_store(settings.blob_url, settings)
    sha = hashlib.sha256(b"x").hexdigest()
    path, _ = spool(store, b"x")
    started = time.monotonic()
    with pytest.raises(StoreUnavailable) as refused:
        store.put_file(path, sha)
    for operation in (store.exists, store.size, store.read_text):
        with pytest.raises(StoreUnavailable):
            operation(sha)
    with pytest.raises(StoreUnavailable), store.open(sha):
        pass
    with pytest.raises(StoreUnavailable):
        list(store.hashes())
    assert time.monotonic() - started < 30  # bounded retries, no hanging worker
    assert refused.value.retry_after > 0
    assert path.exists()  # not stored: the caller's to keep or remove


def test_open_store_follows_the_setting(tmp_path: Path) -> None:
    default = Settings.from_env({}, data_dir=tmp_path)
    assert default.blob_url == (tmp_path / "blobs").as_uri()
    store = open_store(default.blob_url, default)
    assert isinstance(store, FileStore)
    assert store.root == tmp_path / "blobs"
    spaced = Settings.from_env({}, data_dir=tmp_path, blob_url=(tmp_path / "my archive").as_uri())
    assert open_store(spaced.blob_url, spaced).root == tmp_path / "my archive"  # type: ignore[attr-defined]
    s3 = Settings.from_env({"FACTDESK_BLOB_URL": "s3://desk-archive/prod/blobs"}, data_dir=tmp_path)
    bucket = open_store(s3.blob_url, s3)
    assert isinstance(bucket, S3Store)
    assert (bucket.bucket, bucket.prefix) == ("desk-archive", "prod/blobs")
    assert bucket.key("ab" * 32) == f"prod/blobs/ab/ab/{'ab' * 32}"


@pytest.mark.parametrize(
    "environ",
    [
        {"FACTDESK_BLOB_URL": "ftp://archive/blobs"},
        {"FACTDESK_BLOB_URL": "s3:///no-bucket"},
        {"FACTDESK_BLOB_URL": "/just/a/path"},
        {"FACTDESK_S3_ENDPOINT_URL": "minio:9000"},
    ],
)
def test_a_blob_setting_the_service_cannot_use_is_refused_at_start(environ: dict[str, str]) -> None:
    with pytest.raises(SettingsError, match=r"FACTDESK_(BLOB_URL|S3_ENDPOINT_URL)"):
        Settings.from_env(environ)
