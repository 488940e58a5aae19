"""Sources over HTTP: URL sources captured from a real local server, uploads, snapshots, health."""

import io
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from werkzeug import Response as WResponse

from service.ops import jobs
from tests.sources.documents import bomb_pdf

ARTICLE = """<!doctype html><html><head><title>Statement</title></head><body>
<nav>Home | About | Contact</nav>
<article><h1>Statement by the Foreign Ministry</h1>
<p>Our government, recognizing the importance of substantially improving the human rights of
North Korean citizens, has participated as a co-sponsor of this resolution.</p>
<p>The decision was taken after consultation with partners at the United Nations.</p>
</article><footer>Copyright</footer></body></html>"""


@pytest.fixture
def page(httpserver):
    httpserver.expect_request("/statement").respond_with_data(ARTICLE, content_type="text/html")
    return httpserver.url_for("/statement")


def add_source(client, person, url: str, **fields):
    return client.post("/api/v1/sources", json={"url": url, **fields}, headers=person.headers)


def test_url_source_is_captured_archived_and_extracted(client, reviewer, page) -> None:
    response = add_source(client, reviewer, page, title="Ministry statement", kind="statement")
    assert response.status_code == 201
    body = response.get_json()
    assert body["id"].startswith("src_")
    assert body["capture"]["status"] == "pending"
    assert body["capture"]["requested_at"]
    assert response.headers["Location"].endswith(body["id"])
    source = client.get(f"/api/v1/sources/{body['id']}", headers=reviewer.headers).get_json()
    assert source["health"] == "ok"
    assert source["kind"] == "statement"
    snapshot = source["latest_snapshot"]
    assert snapshot["ok"]
    assert snapshot["status_code"] == 200
    assert snapshot["content_type"] == "text/html"
    assert snapshot["address"] == "127.0.0.1"
    assert len(snapshot["sha256"]) == 64
    content = client.get(snapshot["links"]["content"].split("localhost", 1)[1], headers=reviewer.headers)
    assert content.data == ARTICLE.encode()
    assert content.headers["Content-Security-Policy"] == "sandbox"
    assert content.headers["X-Content-Type-Options"] == "nosniff"
    assert content.mimetype == "text/html"
    content.close()
    text = client.get(snapshot["links"]["text"].split("localhost", 1)[1], headers=reviewer.headers)
    assert "participated as a co-sponsor" in text.get_data(as_text=True)
    assert text.mimetype == "text/plain"


@pytest.mark.parametrize(
    "spelling",
    [
        "{scheme}://{host}/statement#section-2",
        "{scheme}://{host}/statement?utm_source=newsletter&utm_medium=email",
        "{scheme_upper}://{host_upper}/statement",
    ],
)
def test_same_canonical_url_is_one_source(client, reviewer, page, spelling: str) -> None:
    first = add_source(client, reviewer, page).get_json()
    scheme, rest = page.split("://")
    host = rest.split("/")[0]
    other = spelling.format(scheme=scheme, host=host, scheme_upper=scheme.upper(), host_upper=host.upper())
    again = add_source(client, reviewer, other)
    assert again.status_code == 200
    assert again.get_json()["id"] == first["id"]


def test_query_parameters_other_than_utm_make_another_source(client, reviewer, page) -> None:
    first = add_source(client, reviewer, page).get_json()
    assert add_source(client, reviewer, page + "?page=2").get_json()["id"] != first["id"]


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/doc",
        "javascript:alert(1)",
        "file:///etc/passwd",
        "not a url",
        "http://" + "a" * 2100 + ".com/",
    ],
)
def test_invalid_urls_are_422(client, reviewer, url: str) -> None:
    response = add_source(client, reviewer, url)
    assert response.status_code == 422
    assert "url" in response.get_json()["errors"]


def test_submitters_cannot_add_sources(client, submitter, page) -> None:
    assert add_source(client, submitter, page).status_code == 403


def test_health_follows_what_the_server_answers(client, reviewer, httpserver) -> None:
    httpserver.expect_request("/gone").respond_with_data("", status=410)
    httpserver.expect_request("/missing").respond_with_data("", status=404)
    httpserver.expect_request("/broken").respond_with_data("oops", status=500, content_type="text/plain")
    httpserver.expect_request("/image").respond_with_data(b"\x89PNG", content_type="image/png")
    httpserver.expect_request("/old").respond_with_response(
        WResponse(status=301, headers={"Location": httpserver.url_for("/new")})
    )
    httpserver.expect_request("/new").respond_with_data("moved here", content_type="text/plain")
    expected = {"/gone": "gone", "/missing": "gone", "/broken": "error", "/image": "error", "/old": "moved"}
    for path, health in expected.items():
        source = add_source(client, reviewer, httpserver.url_for(path)).get_json()
        got = client.get(f"/api/v1/sources/{source['id']}", headers=reviewer.headers).get_json()
        assert got["health"] == health, path
        assert got["latest_snapshot"]["error"] or health == "moved"


def test_recapture_with_new_content_is_changed(client, reviewer, httpserver) -> None:
    httpserver.expect_ordered_request("/doc").respond_with_data("first version", content_type="text/plain")
    httpserver.expect_ordered_request("/doc").respond_with_data("second version", content_type="text/plain")
    httpserver.expect_ordered_request("/doc").respond_with_data("second version", content_type="text/plain")
    source = add_source(client, reviewer, httpserver.url_for("/doc")).get_json()
    path = f"/api/v1/sources/{source['id']}"
    assert client.post(f"{path}/captures", headers=reviewer.headers).status_code == 202
    assert client.get(path, headers=reviewer.headers).get_json()["health"] == "changed"
    client.post(f"{path}/captures", headers=reviewer.headers)
    assert client.get(path, headers=reviewer.headers).get_json()["health"] == "ok"
    snapshots = client.get(f"{path}/snapshots", headers=reviewer.headers).get_json()["items"]
    assert len(snapshots) == 3
    assert snapshots[0]["fetched_at"] >= snapshots[-1]["fetched_at"]
    assert snapshots[0]["sha256"] == snapshots[1]["sha256"] != snapshots[2]["sha256"]


def test_private_addresses_are_blocked_without_an_allowlist(make_app, make_user, httpserver) -> None:
    app = make_app(fetch_allowed_networks=())
    client, reviewer = app.test_client(), make_user("reviewer")
    source = add_source(client, reviewer, httpserver.url_for("/secret")).get_json()
    got = client.get(f"/api/v1/sources/{source['id']}", headers=reviewer.headers).get_json()
    assert got["health"] == "blocked"
    assert not got["latest_snapshot"]["ok"]
    assert got["latest_snapshot"]["error"].startswith("Refused")
    assert httpserver.log == []


def upload(client, person, data: bytes, filename: str, **fields):
    form = {"file": (io.BytesIO(data), filename), **fields}
    return client.post(
        "/api/v1/sources", data=form, headers=person.headers, content_type="multipart/form-data"
    )


def test_upload_is_archived_at_once_and_typed_by_its_bytes(client, reviewer) -> None:
    statement = "The ministry said Seoul has participated as a co-sponsor of this resolution.\n"
    response = upload(
        client, reviewer, statement.encode(), "statement.pdf", title="Statement to UPI", kind="statement"
    )
    assert response.status_code == 201, response.get_json()
    source = response.get_json()
    assert source["health"] == "ok"
    assert source["upload_filename"] == "statement.pdf"
    assert source["latest_snapshot"]["content_type"] == "text/plain"  # not what the name claims
    again = upload(client, reviewer, statement.encode(), "copy.txt")
    assert again.status_code == 200
    assert again.get_json()["id"] == source["id"]


@pytest.mark.parametrize(
    ("data", "name"),
    [
        (b"\x89PNG\r\n\x1a\n" + b"\x00" * 100, "chart.pdf"),
        (b"PK\x03\x04" + b"\x00" * 100, "doc.txt"),
        (b"", "empty.txt"),
    ],
)
def test_uploads_of_other_types_are_refused(client, reviewer, data: bytes, name: str) -> None:
    response = upload(client, reviewer, data, name)
    assert response.status_code == 422
    assert "file" in response.get_json()["errors"]


def test_upload_over_the_cap_is_refused(make_app, make_user) -> None:
    app = make_app(capture_max_bytes=2000)
    response = upload(app.test_client(), make_user("reviewer"), b"a" * 5000, "big.txt")
    assert response.status_code == 413
    ok = upload(app.test_client(), make_user("reviewer"), b"b" * 1500, "fits.txt")
    assert ok.status_code == 201


def test_a_source_is_json_with_a_url_or_multipart_with_a_file(client, reviewer) -> None:
    as_text = client.post(
        "/api/v1/sources", data="https://example.com", headers=reviewer.headers, content_type="text/plain"
    )
    assert as_text.status_code == 415
    no_file = client.post(
        "/api/v1/sources",
        data={"title": "A statement"},
        headers=reviewer.headers,
        content_type="multipart/form-data",
    )
    assert no_file.status_code == 422
    assert "file" in no_file.get_json()["errors"]
    file_in_json = client.post("/api/v1/sources", json={"file": "x"}, headers=reviewer.headers)
    assert file_in_json.status_code == 422
    assert set(file_in_json.get_json()["errors"]) == {"file", "url"}
    bad_kind = upload(client, reviewer, b"A statement.", "s.txt", kind="rumour")
    assert bad_kind.status_code == 422
    assert "kind" in bad_kind.get_json()["errors"]
    malformed = client.post(
        "/api/v1/sources", data="{not json", headers=reviewer.headers, content_type="application/json"
    )
    assert malformed.status_code == 400
    assert malformed.mimetype == "application/problem+json"


def test_anonymous_readers_cannot_read_undisclosed_archives(client, reviewer, page) -> None:
    source = add_source(client, reviewer, page).get_json()
    snapshot = client.get(f"/api/v1/sources/{source['id']}", headers=reviewer.headers).get_json()[
        "latest_snapshot"
    ]
    path = f"/api/v1/sources/{source['id']}/snapshots/{snapshot['id']}"
    assert client.get(path + "/content").status_code == 404
    assert client.get(path + "/text").status_code == 404
    assert client.get(f"/api/v1/sources/{source['id']}").status_code == 401


def test_an_uploaded_document_cannot_be_captured_again(client, reviewer) -> None:
    source = upload(client, reviewer, b"A statement sent to the press.", "statement.txt").get_json()
    response = client.post(f"/api/v1/sources/{source['id']}/captures", headers=reviewer.headers)
    assert response.status_code == 409
    assert "no URL" in response.get_json()["detail"]


@pytest.mark.slow
def test_a_hostile_upload_never_holds_up_the_desk(make_app, make_user) -> None:
    app = make_app(extract_seconds=3)
    reviewer, submitter = make_user("reviewer"), make_user("submitter")
    uploading = ThreadPoolExecutor(1).submit(
        upload, app.test_client(), reviewer, bomb_pdf(), "statement.pdf", title="A hostile PDF"
    )
    time.sleep(0.5)  # the upload is stored; its text is being read (inline here, after the commit)
    client = app.test_client()
    for n in range(3):
        began = time.monotonic()
        written = client.post(
            "/api/v1/claims", json={"text": f"Claim {n} while a PDF is read."}, headers=submitter.headers
        )
        assert written.status_code == 201
        assert time.monotonic() - began < 2
    answer = uploading.result(timeout=60)
    assert answer.status_code == 201
    source = client.get(f"/api/v1/sources/{answer.get_json()['id']}", headers=reviewer.headers).get_json()
    snapshot = source["latest_snapshot"]
    assert snapshot["ok"] is False
    assert snapshot["error"] == "Reading this document took longer than 3 s: it was stopped."
    assert source["health"] == "error"


@pytest.mark.slow
def test_a_hostile_document_by_url_is_stopped_and_says_so(make_app, make_user, httpserver) -> None:
    httpserver.expect_request("/report.pdf").respond_with_data(bomb_pdf(), content_type="application/pdf")
    app = make_app(extract_seconds=2)
    reviewer = make_user("reviewer")
    client = app.test_client()
    started = time.monotonic()
    created = add_source(client, reviewer, httpserver.url_for("/report.pdf")).get_json()
    assert time.monotonic() - started < 15
    source = client.get(f"/api/v1/sources/{created['id']}", headers=reviewer.headers).get_json()
    assert source["health"] == "error"
    assert source["capture"] == {
        "status": "failed",
        "snapshot_id": source["latest_snapshot"]["id"],
        "error": "Reading this document took longer than 2 s: it was stopped.",
    }


def test_the_same_document_uploaded_at_once_many_times_is_one_source(client, reviewer) -> None:
    statement = b"A statement the ministry sent to every newsroom at once.\n"

    def send(n: int) -> tuple[int, str]:
        answer = upload(client.application.test_client(), reviewer, statement, f"copy-{n}.txt")
        return answer.status_code, answer.get_json().get("id", "")

    with ThreadPoolExecutor(10) as pool:
        answers = list(pool.map(send, range(30)))
    assert sorted(code for code, _ in answers).count(201) == 1
    assert {code for code, _ in answers} <= {200, 201}
    assert len({source_id for _, source_id in answers}) == 1


def test_a_recapture_answers_that_it_is_pending(make_app, make_user, httpserver) -> None:
    httpserver.expect_request("/doc").respond_with_data("A document.", content_type="text/plain")
    app = make_app(JOBS_IMMEDIATE=False)
    reviewer = make_user("reviewer")
    client = app.test_client()
    source = add_source(client, reviewer, httpserver.url_for("/doc")).get_json()
    try:
        jobs.run_capture(source["id"])  # the first capture, done
        done = client.get(f"/api/v1/sources/{source['id']}", headers=reviewer.headers).get_json()
        assert done["capture"]["status"] == "done"
        again = client.post(f"/api/v1/sources/{source['id']}/captures", headers=reviewer.headers)
        assert again.status_code == 202
        assert again.get_json()["capture"]["status"] == "pending"  # not the previous capture's "done"
        jobs.run_capture(source["id"])
        assert (
            client.get(f"/api/v1/sources/{source['id']}", headers=reviewer.headers).get_json()["capture"][
                "status"
            ]
            == "done"
        )
    finally:
        jobs.huey.flush()
