"""Sources on the desk through Flask's test client: uploads under the API's rules, search, filters
and pages of the list, and every cited quote highlighted in a capture's text."""

import io
import re

import sqlalchemy as sa

from sources.models import Source
from tests.conftest import STATEMENT, cite_statement
from tests.service.reviewer.conftest import text_of

PDF_NAME_ONLY = b"MZ\x90\x00 not a document at all \x00\x01\x02"


def upload(desk, content: bytes, filename: str, **fields: str):
    data = {"csrf_token": desk.token, "file": (io.BytesIO(content), filename), **fields}
    return desk.http.post("/desk/sources", data=data, content_type="multipart/form-data")


def test_a_document_is_uploaded_as_the_api_would(client, reviewer, signed_in) -> None:
    desk = signed_in(reviewer)
    desk.get("/desk/sources")
    made = upload(desk, STATEMENT, "statement.txt", title="Foreign Ministry statement", publisher="MOFA")
    assert made.status_code == 303
    source_id = made.headers["Location"].rsplit("/", 1)[1]
    shown = client.get(f"/api/v1/sources/{source_id}", headers=reviewer.headers).get_json()
    assert (shown["title"], shown["publisher"], shown["health"]) == (
        "Foreign Ministry statement",
        "MOFA",
        "ok",
    )
    page = desk.get(made.headers["Location"])
    assert "Document archived." in text_of(page)
    assert "has participated as a co-sponsor" in text_of(page)
    # The same bytes again: the source on the desk, not a second one.
    again = upload(desk, STATEMENT, "copy.txt")
    assert again.headers["Location"] == made.headers["Location"]
    assert "on the desk already" in text_of(desk.get(again.headers["Location"]))


def test_uploads_refused_say_why_and_keep_nothing(app, engine, make_user, reviewer, signed_in) -> None:
    desk = signed_in(reviewer)
    desk.get("/desk/sources")
    for content, name, fields, status, message in (
        (PDF_NAME_ONLY, "report.pdf", {}, 422, "This file is not a document Factdesk archives"),
        (b"", "empty.txt", {}, 422, "empty"),
        (STATEMENT, "s.txt", {"url": "ftp://example.org/s"}, 422, "URL"),
        (STATEMENT, "s.txt", {"kind": "novel"}, 422, "Must be one of"),
    ):
        refused = upload(desk, content, name, **fields)
        assert refused.status_code == status, (name, fields)
        assert refused.mimetype == "text/html"
        assert message.casefold() in text_of(refused).casefold(), (name, text_of(refused))
    no_file = desk.post("/desk/sources", title="No file")
    assert no_file.status_code == 422
    assert "Choose the document to upload." in text_of(no_file)
    assert 'value="No file"' in no_file.get_data(as_text=True)
    submitter = signed_in(make_user("submitter"))
    submitter.get("/desk/sources")
    assert 'id="upload"' not in submitter.get("/desk/sources").get_data(as_text=True)
    assert upload(submitter, STATEMENT, "s.txt").status_code == 403
    with engine.connect() as conn:
        assert conn.execute(sa.select(sa.func.count()).select_from(Source)).scalar_one() == 0


def test_an_upload_over_the_capture_cap_is_a_page_not_a_500(make_app, engine, reviewer, signed_in) -> None:
    small = make_app(capture_max_bytes=1000, max_body_bytes=100_000)
    from tests.service.reviewer.conftest import Desk, set_password

    set_password(engine, reviewer.id)
    desk = Desk(small, reviewer.user.name)
    desk.sign_in()
    desk.get("/desk/sources")
    within_body = upload(desk, b"x" * 5000, "big.txt")
    assert within_body.status_code == 413
    assert within_body.mimetype == "text/html"
    over_body = upload(desk, b"x" * 200_000, "bigger.txt")
    assert over_body.status_code == 413
    assert "Too large" in text_of(over_body)
    assert "Nothing was saved." in text_of(over_body)


def test_the_sources_list_searches_filters_and_pages(engine, reviewer, signed_in) -> None:
    with engine.begin() as conn:
        rows = [
            {"title": f"Report {n}", "url": f"https://stats.example/r{n}", "publisher": "Statistics Korea"}
            for n in range(60)
        ]
        rows += [
            {
                "title": "UN draft A/C.3/80/L.30",
                "url": "https://un.example/L30",
                "publisher": "United Nations",
            },
            {"title": "100% sure_thing", "url": None, "publisher": "Ünïcödé Press"},
        ]
        for n, row in enumerate(rows):
            conn.execute(
                sa.insert(Source).values(
                    id=f"src_{n:04d}",
                    created_by=reviewer.id,
                    health="gone" if n == 3 else "ok",
                    kind="report",
                    **row,
                )
            )
    desk = signed_in(reviewer)

    def listed(query: str) -> list[str]:
        page = desk.get("/desk/sources" + query)
        assert page.status_code == 200, query
        return re.findall(r'href="/desk/sources/(src_\w+)"', page.get_data(as_text=True))

    first = desk.get("/desk/sources")
    assert "1–50 of 62 sources · page 1 of 2" in text_of(first)
    assert len(listed("")) == 50
    assert len(listed("?page=2")) == 12
    assert listed("?q=united+nations") == ["src_0060"]
    assert listed("?q=un.example") == ["src_0060"]
    assert listed("?q=L.30") == ["src_0060"]
    assert listed("?q=100%25") == ["src_0061"]  # % and _ are literal
    assert listed("?q=t_1") == []  # as a wildcard, _ would match "Report 1…"
    assert listed("?q=%C3%9Cn%C3%AFc%C3%B6d%C3%A9") == ["src_0061"]  # Ünïcödé (SQLite folds ASCII only)
    assert listed("?health=gone") == ["src_0003"]
    assert listed("?q=report+1&health=ok") == [
        f"src_{n:04d}" for n in (19, 18, 17, 16, 15, 14, 13, 12, 11, 10, 1)
    ]
    assert "No sources match." in text_of(desk.get("/desk/sources?q=nothing+like+this"))
    for bad in ("?health=sick", "?page=0", "?q=" + "x" * 300):
        assert desk.get("/desk/sources" + bad).status_code == 400, bad


def test_the_source_page_marks_every_cited_quote(client, desk, signed_in, submit) -> None:
    other = submit("Seoul took part in drafting the resolution.").get_json()
    headers = desk["alice"].headers
    cited = client.post(
        f"/api/v1/claims/{other['id']}/citations",
        headers=headers,
        json={
            "source_id": desk["source_id"],
            "relation": "supports",
            "quote": {"exact": "the Foreign Ministry said"},
        },
    )
    assert cited.status_code == 201
    alice = signed_in(desk["alice"])
    page = alice.get(f"/desk/sources/{desk['source_id']}").get_data(as_text=True)
    assert re.findall(r"<mark>([^<]+)</mark>", page) == [
        "has participated as a co-sponsor of this resolution",
        "the Foreign Ministry said",
    ]
    assert "2 cited quotes highlighted." in text_of(alice.get(f"/desk/sources/{desk['source_id']}"))


def test_quotes_cited_twice_or_overlapping_are_marked_once(client, desk, signed_in, submit) -> None:
    other = submit("Seoul co-sponsored it, the ministry said.").get_json()
    cite_statement(client, other["id"], desk["alice"].headers, "a co-sponsor of this resolution")
    alice = signed_in(desk["alice"])
    page = alice.get(f"/desk/sources/{desk['source_id']}").get_data(as_text=True)
    assert re.findall(r"<mark>([^<]+)</mark>", page) == [
        "has participated as a co-sponsor of this resolution"
    ]
