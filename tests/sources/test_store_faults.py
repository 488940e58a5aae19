"""A blob store that stops answering (S3, reached through a proxy the tests cut): archive reads
are 503 with Retry-After, uploads are refused the same way, captures are retried later and never
leave a snapshot without its bytes; all heals when the store is back."""

from urllib.parse import urlsplit

import boto3
import pytest
import sqlalchemy as sa

from service.ops import jobs
from tests.conftest import STATEMENT
from tests.service.web.test_faults import TcpProxy, assert_unavailable
from tests.sources.test_archive_storage import PAGE, content_url, store_of, upload


@pytest.fixture
def proxy(s3_endpoint: str):
    target = urlsplit(s3_endpoint)
    proxy = TcpProxy((target.hostname or "127.0.0.1", target.port or 80))
    proxy.start()
    yield proxy
    proxy.stop()


@pytest.fixture
def app(make_app, s3_store_url: str, proxy: TcpProxy):
    """The app of these tests: its S3 store is reached through `proxy`."""
    return make_app(blob_url=s3_store_url, s3_endpoint_url=f"http://127.0.0.1:{proxy.port}")


def test_a_store_that_stops_answering_is_503_to_readers_then_heals(client, proxy, reviewer) -> None:
    source = upload(client, reviewer, STATEMENT).get_json()
    url, sha = content_url(source), source["latest_snapshot"]["sha256"]
    text_url = url.removesuffix("/content") + "/text"  # read once the upload committed
    assert client.get(text_url, headers=reviewer.headers).status_code == 200

    proxy.stop()
    assert_unavailable(client.get(url, headers=reviewer.headers))
    assert_unavailable(client.get(text_url, headers=reviewer.headers))
    # A reader holding the bytes (by their hash) needs no store to be told they are current.
    assert client.get(url, headers={**reviewer.headers, "If-None-Match": f'"{sha}"'}).status_code == 304
    refused = upload(client, reviewer, b"another statement, while the store is away")
    assert_unavailable(refused)
    listed = client.get("/api/v1/sources", headers=reviewer.headers).get_json()["items"]
    assert [s["id"] for s in listed] == [source["id"]]  # the refused upload left no source behind

    proxy.start()
    healed = client.get(url, headers=reviewer.headers)
    assert healed.status_code == 200
    assert healed.get_data() == STATEMENT


def test_a_capture_the_store_cannot_keep_is_retried_and_leaves_no_snapshot(
    app, client, proxy, reviewer, httpserver, engine
) -> None:
    httpserver.expect_request("/statement").respond_with_data(PAGE, content_type="text/html")
    proxy.stop()
    added = client.post(
        "/api/v1/sources", json={"url": httpserver.url_for("/statement")}, headers=reviewer.headers
    )
    assert added.status_code == 201  # the source is kept; its capture could not be stored
    source_id = added.get_json()["id"]
    source = client.get(f"/api/v1/sources/{source_id}", headers=reviewer.headers).get_json()
    assert source["latest_snapshot"] is None
    assert source["capture"]["status"] == "pending"  # still owed: the sweep queues it again
    with engine.connect() as conn:
        assert conn.execute(sa.text("SELECT count(*) FROM snapshot")).scalar() == 0
    assert list(store_of(app).temp_dir().iterdir()) == []
    retry = [task for task in jobs.huey.scheduled() if task.name.endswith("capture_source")]
    assert [(task.args, task.retries) for task in retry] == [((source_id,), 1)]  # tried again later

    proxy.start()
    jobs.run_capture(source_id)  # the retry
    source = client.get(f"/api/v1/sources/{source_id}", headers=reviewer.headers).get_json()
    assert source["latest_snapshot"]["ok"]
    assert source["capture"]["status"] == "done"
    read = client.get(content_url(source), headers=reviewer.headers)
    assert read.get_data() == PAGE
    bucket = urlsplit(app.extensions["factdesk.settings"].blob_url).netloc
    endpoint = app.extensions["factdesk.settings"].s3_endpoint_url
    keys = [
        o["Key"] for o in boto3.client("s3", endpoint_url=endpoint).list_objects_v2(Bucket=bucket)["Contents"]
    ]
    assert f"archive/{source['latest_snapshot']['sha256'][:2]}/" in " ".join(keys)
