"""Archived copies through the API, on each blob store: the same headers, streamed; a store that
stops answering is a 503 to readers and a capture retried later, never a snapshot without bytes."""

import hashlib
import io
from urllib.parse import urlsplit

import pytest
from werkzeug.datastructures import FileStorage
from werkzeug.test import encode_multipart

from sources.blobs import BlobStore, open_store
from sources.blobs.files import FileStore
from sources.blobs.s3 import S3Store
from tests.conftest import STATEMENT, publish

PAGE = b"<!doctype html><title>Statement</title><p>The ministry co-sponsored the resolution.</p>"


@pytest.fixture
def app(make_app, store_settings):
    """Every app of these tests (and the `desk` built on it) archives in the store under test."""
    return make_app(**store_settings)


def upload(client, person, body: bytes, name: str = "statement.txt"):
    # Encoded here, in memory: the test client spools a large form to a file it never closes.
    boundary, form = encode_multipart({"file": FileStorage(io.BytesIO(body), name)})
    return client.post(
        "/api/v1/sources",
        data=form,
        headers=person.headers,
        content_type=f"multipart/form-data; boundary={boundary}",
    )


def content_url(source: dict) -> str:
    return urlsplit(source["latest_snapshot"]["links"]["content"]).path


def store_of(app) -> BlobStore:
    settings = app.extensions["factdesk.settings"]
    return open_store(settings.blob_url, settings)


def test_readers_get_the_archive_with_the_public_record_headers(client, act, desk, app) -> None:
    publish(act, desk)
    source = client.get(f"/api/v1/sources/{desk['source_id']}", headers=desk["alice"].headers).get_json()
    sha, url = source["latest_snapshot"]["sha256"], content_url(source)
    assert store_of(app).exists(sha)

    read = client.get(url)
    assert read.status_code == 200
    assert read.is_streamed  # a generator, not a body built whole
    assert read.get_data() == STATEMENT
    assert read.headers["Content-Length"] == str(len(STATEMENT))
    assert read.headers["ETag"] == f'"{sha}"'
    assert read.headers["Content-Security-Policy"] == "sandbox"
    assert read.headers["X-Content-Type-Options"] == "nosniff"
    assert read.headers["Content-Disposition"] == "inline"
    assert read.mimetype == "text/plain"
    assert read.cache_control.public
    assert read.cache_control.max_age == 86_400
    assert "Authorization" in read.headers["Vary"]

    again = client.get(url, headers={"If-None-Match": f'"{sha}"'})
    assert again.status_code == 304
    assert again.headers["ETag"] == f'"{sha}"'
    assert again.get_data() == b""
    part = client.get(url, headers={"Range": "bytes=4-13"})
    assert part.status_code == 206
    assert part.get_data() == STATEMENT[4:14]
    assert part.headers["Content-Range"] == f"bytes 4-13/{len(STATEMENT)}"
    head = client.head(url)
    assert head.status_code == 200
    assert head.headers["Content-Length"] == str(len(STATEMENT))

    desk_read = client.get(url, headers=desk["alice"].headers)
    assert desk_read.headers["Cache-Control"] == "private, no-store"
    assert desk_read.get_data() == STATEMENT


def test_a_large_upload_is_stored_and_read_back_whole(client, reviewer, app) -> None:
    body = b"".join(b"line %08d of a long public record, as published\n" % n for n in range(200_000))
    assert len(body) > 9_000_000  # past the S3 store's multipart threshold and many chunks
    created = upload(client, reviewer, body, "record.txt")
    assert created.status_code == 201, created.get_json()
    source = created.get_json()
    read = client.get(content_url(source), headers=reviewer.headers)
    assert read.status_code == 200
    assert hashlib.sha256(read.get_data()).hexdigest() == hashlib.sha256(body).hexdigest()
    assert read.headers["Content-Length"] == str(len(body))
    assert list(store_of(app).temp_dir().iterdir()) == []  # spooled bodies do not linger


def test_a_blob_gone_from_the_store_is_404_not_500(client, reviewer, app) -> None:
    source = upload(client, reviewer, STATEMENT).get_json()
    snapshot = source["latest_snapshot"]
    store = store_of(app)
    if isinstance(store, FileStore):
        store.path(snapshot["sha256"]).unlink()
    else:
        assert isinstance(store, S3Store)
        store.s3.delete_object(Bucket=store.bucket, Key=store.key(snapshot["sha256"]))
    missing = client.get(content_url(source), headers=reviewer.headers)
    assert missing.status_code == 404
    assert missing.mimetype == "application/problem+json"
