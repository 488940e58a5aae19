"""Claims from reporting over HTTP: pasted text, a captured page and a source read into sentences,
scored and matched; chosen sentences made into claims whose appearances quote the archive."""

import io
import itertools
from importlib.resources import files

import pytest

from tests.conftest import publish

REPORT = (files("service.ops.demo") / "report.txt").read_text(encoding="utf-8").strip()

PAGE = """<!doctype html><html><head>
<title>UN resolution on North Korea | World News</title>
<meta property="og:title" content="41 states back U.N. resolution on North Korea">
<meta property="og:site_name" content="The Daily Example">
<meta property="article:published_time" content="2025-11-19T08:00:00Z">
</head><body><nav>Home | World | Sport</nav>
<article><h1>41 states back U.N. resolution on North Korea</h1>
<p>Forty-one U.N. member states co-sponsored the resolution on North Korea's human rights, a U.N. document showed.</p>
<p>The United States was not among the countries sponsoring the resolution this year.</p>
<p>It was a sunny day in New York.</p>
</article><footer>Copyright The Daily Example</footer></body></html>"""


def extract(client, person, **body):
    return client.post("/api/v1/extractions", json=body, headers=person.headers)


def sentence_with(extraction: dict, words: str) -> dict:
    found = [s for s in extraction["sentences"] if words in s["text"]]
    assert len(found) == 1, (words, [s["text"] for s in extraction["sentences"]])
    return found[0]


@pytest.fixture
def page(httpserver) -> str:
    httpserver.expect_request("/story").respond_with_data(PAGE, content_type="text/html; charset=utf-8")
    return httpserver.url_for("/story")


def test_pasted_report_is_read_at_once_with_exact_offsets(client, submitter) -> None:
    response = extract(client, submitter, text=REPORT, url="https://example.com/story", publisher="UPI")
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["id"].startswith("ext_")
    assert response.headers["Location"].endswith(f"/api/v1/extractions/{body['id']}")
    assert body["status"] == "done"
    assert body["error"] is None
    assert body["article"]["publisher"] == "UPI"
    assert body["article"]["url"] == "https://example.com/story"
    assert body["created_by"] == submitter.id
    sentences = body["sentences"]
    assert len(sentences) > 15
    covered = 0
    for i, sentence in enumerate(sentences):
        assert sentence["index"] == i
        assert REPORT[sentence["start"] : sentence["end"]] == sentence["text"]
        assert sentence["text"] == sentence["text"].strip()
        assert sentence["text"]
        assert 0.0 <= sentence["score"] <= 1.0
        assert sentence["start"] >= covered
        assert "\n" not in sentence["text"]  # a line break always ends a sentence
        covered = sentence["end"]
    # Nothing of the text is left out: what lies between sentences is whitespace.
    gaps = [REPORT[a["end"] : b["start"]] for a, b in itertools.pairwise(sentences)]
    assert all(not gap.strip() for gap in gaps)
    assert any(s["checkworthy"] for s in sentences)
    assert not all(s["checkworthy"] for s in sentences)
    again = client.get(f"/api/v1/extractions/{body['id']}", headers=submitter.headers)
    assert again.status_code == 200
    assert again.get_json() == body


def test_numbers_kinds_and_negation_of_each_sentence(client, submitter) -> None:
    body = extract(client, submitter, text=REPORT).get_json()
    numbers = [n for s in body["sentences"] for n in s["numbers"]]
    assert any(n["value"] == 41 for n in numbers)
    co_sponsors = next(s for s in body["sentences"] if any(n["value"] == 41 for n in s["numbers"]))
    assert "number" in co_sponsors["kinds"]
    assert any("negation" in s["kinds"] for s in body["sentences"])
    text = "Forty-one states co-sponsored it, the ministry said.\nUnemployment fell to 3.5% in May."
    lines = extract(client, submitter, text=text).get_json()["sentences"]
    assert [s["text"] for s in lines] == text.split("\n")
    assert lines[0]["numbers"][0]["value"] == 41
    assert lines[0]["numbers"][0]["text"] == "Forty-one"
    assert "attribution" in lines[0]["kinds"]
    assert lines[1]["numbers"][0]["value"] == 3.5


def test_a_captured_page_is_read_from_its_archive(client, submitter, reviewer, page) -> None:
    response = extract(client, submitter, url=page)
    assert response.status_code == 202, response.get_json()
    pending = response.get_json()
    assert pending["status"] == "pending"
    assert pending["sentences"] == []
    # Tests run the queue at once: the capture and the reading are done by now.
    body = client.get(f"/api/v1/extractions/{pending['id']}", headers=submitter.headers).get_json()
    assert body["status"] == "done", body
    article = body["article"]
    assert article["url"] == page
    assert article["title"] == "41 states back U.N. resolution on North Korea"
    assert article["publisher"] == "The Daily Example"
    assert article["published_at"] == "2025-11-19"
    assert article["source_id"].startswith("src_")
    assert article["snapshot_id"].startswith("snp_")
    source = client.get(f"/api/v1/sources/{article['source_id']}", headers=reviewer.headers).get_json()
    assert source["kind"] == "news"
    assert source["title"] == "41 states back U.N. resolution on North Korea"
    texts = [s["text"] for s in body["sentences"]]
    assert any(t.startswith("Forty-one U.N. member states co-sponsored") for t in texts)

    # The same page again: read at once from the archive already made.
    second = extract(client, submitter, url=page)
    assert second.status_code == 201
    assert second.get_json()["article"]["snapshot_id"] == article["snapshot_id"]


def test_chosen_sentences_become_claims_quoting_the_archive(client, submitter, reviewer, page) -> None:
    extraction = extract(client, submitter, url=page).get_json()
    extraction = client.get(f"/api/v1/extractions/{extraction['id']}", headers=submitter.headers).get_json()
    forty_one = sentence_with(extraction, "Forty-one")
    not_among = sentence_with(extraction, "not among")
    response = client.post(
        f"/api/v1/extractions/{extraction['id']}/claims",
        json={
            "items": [
                {"index": forty_one["index"]},
                {
                    "index": not_among["index"],
                    "text": "The United States did not co-sponsor the 2025 resolution.",
                    "claimant": "The Daily Example",
                    "tags": ["un"],
                },
            ]
        },
        headers=submitter.headers,
    )
    assert response.status_code == 201, response.get_json()
    made = response.get_json()["claims"]
    assert [c["text"] for c in made] == [
        forty_one["text"],
        "The United States did not co-sponsor the 2025 resolution.",
    ]
    assert made[1]["claimant"] == "The Daily Example"
    assert made[1]["tags"] == ["un"]
    text = client.get(
        f"/api/v1/sources/{extraction['article']['source_id']}/snapshots/"
        f"{extraction['article']['snapshot_id']}/text",
        headers=reviewer.headers,
    ).get_data(as_text=True)
    for claim, sentence in zip(made, (forty_one, not_among), strict=True):
        [appearance] = claim["appearances"]
        assert appearance["quote"] == sentence["text"]
        assert appearance["url"] == extraction["article"]["url"]
        assert appearance["publisher"] == "The Daily Example"
        assert appearance["published_at"] == "2025-11-19"
        assert appearance["source_id"] == extraction["article"]["source_id"]
        assert appearance["snapshot_id"] == extraction["article"]["snapshot_id"]
        # The quote anchors in the archived copy's text, where the extraction found it.
        assert text[appearance["anchor"]["start"] : appearance["anchor"]["end"]] == sentence["text"]

    # The same sentence again is the same claim (de-duplicated as POST /api/v1/claims does).
    again = client.post(
        f"/api/v1/extractions/{extraction['id']}/claims",
        json={"items": [{"index": forty_one["index"]}]},
        headers=submitter.headers,
    )
    assert again.status_code == 201
    assert again.get_json()["claims"][0]["id"] == made[0]["id"]
    assert len(client.get("/api/v1/claims", headers=submitter.headers).get_json()["items"]) == 2


def test_matches_carry_ratings_and_relations(client, act, desk) -> None:
    publish(act, desk, rating="true")
    text = (
        "Seoul co-sponsored the resolution, the ministry said.\n"
        "The ministry said Seoul did not co-sponsor the resolution in 2025."
    )
    body = extract(client, desk["submitter"], text=text).get_json()
    same, negated = body["sentences"]
    assert same["checkworthy"]
    assert negated["checkworthy"]
    [first, *_] = same["matches"]
    assert first["id"] == desk["claim_id"]
    assert first["kind"] == "claim"
    assert first["relation"] == "same"
    assert first["rating"] == "true"
    top = negated["matches"][0]
    assert top["id"] == desk["claim_id"]
    assert top["relation"] == "negation"
    assert top["verdict_implies"] == "opposite"


def test_a_transcript_of_many_lines(client, submitter) -> None:
    lines = [
        f"SPEAKER {i % 3}: We spent {i} million dollars on roads in {2000 + i % 20}." for i in range(400)
    ]
    text = "\n".join(lines)
    response = extract(client, submitter, text=text)
    assert response.status_code == 201
    sentences = response.get_json()["sentences"]
    assert len(sentences) == 400
    assert [n["value"] for n in sentences[7]["numbers"]] == [1, 7_000_000, 2007]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({}, "text"),
        ({"text": ""}, "text"),
        ({"text": "   \n\t "}, "text"),
        ({"text": "x" * 200_001}, "text"),
        ({"text": "Seoul co-sponsored it.", "source_id": "src_x"}, "text"),
        ({"url": "https://example.com/a", "source_id": "src_x"}, "text"),
        ({"url": "https://example.com/a", "title": "T"}, "title"),
        ({"url": "ftp://example.com/a"}, "url"),
        ({"text": "A\x00B"}, "text"),
        ({"text": "Fine.", "surprise": 1}, "surprise"),
    ],
)
def test_bad_input_is_a_clear_problem(client, submitter, body, field) -> None:
    response = client.post("/api/v1/extractions", json=body, headers=submitter.headers)
    assert response.status_code == 422, response.get_json()
    assert response.content_type == "application/problem+json"
    assert field in response.get_json()["errors"]


def test_unicode_and_the_longest_text(client, submitter) -> None:
    text = "서울은 결의안을 공동 제안했다. Ünïcödé: 41 “quoted” words said Zoë.\n" * 10
    body = extract(client, submitter, text=text).get_json()
    for sentence in body["sentences"]:
        assert text.strip()[sentence["start"] : sentence["end"]] == sentence["text"]
    longest = ("The ministry said 41 states co-sponsored the resolution. " * 3500)[:200_000]
    assert extract(client, submitter, text=longest).status_code == 201


def test_a_page_that_cannot_be_captured_fails_with_a_reason(client, submitter, httpserver) -> None:
    httpserver.expect_request("/gone").respond_with_data("", status=404)
    pending = extract(client, submitter, url=httpserver.url_for("/gone")).get_json()
    body = client.get(f"/api/v1/extractions/{pending['id']}", headers=submitter.headers).get_json()
    assert body["status"] == "failed"
    assert "could not be captured" in body["error"]
    assert body["sentences"] == []
    # Its source now says why, and a second extraction of it is refused at once.
    again = extract(client, submitter, url=httpserver.url_for("/gone"))
    assert again.status_code == 422
    assert "could not be captured" in again.get_json()["detail"]


def test_a_blocked_address_fails(make_app, make_user, httpserver) -> None:
    app = make_app(fetch_allowed_networks=())
    client, person = app.test_client(), make_user("submitter")
    httpserver.expect_request("/secret").respond_with_data("secret", content_type="text/plain")
    pending = extract(client, person, url=httpserver.url_for("/secret")).get_json()
    body = client.get(f"/api/v1/extractions/{pending['id']}", headers=person.headers).get_json()
    assert body["status"] == "failed"
    assert "could not be captured" in body["error"]


def test_sources_with_and_without_text(client, submitter, reviewer) -> None:
    statement = b"The Foreign Ministry said 41 states co-sponsored the resolution.\nIt was sunny."
    source = client.post(
        "/api/v1/sources",
        data={"file": (io.BytesIO(statement), "statement.txt")},
        headers=reviewer.headers,
        content_type="multipart/form-data",
    ).get_json()
    response = extract(client, submitter, source_id=source["id"])
    assert response.status_code == 201, response.get_json()
    assert [s["text"] for s in response.get_json()["sentences"]] == statement.decode().split("\n")

    blank = client.post(
        "/api/v1/sources",
        data={"file": (io.BytesIO(b"   \n  \n"), "blank.txt")},
        headers=reviewer.headers,
        content_type="multipart/form-data",
    ).get_json()
    refused = extract(client, submitter, source_id=blank["id"])
    assert refused.status_code == 422
    assert "no text" in refused.get_json()["detail"]
    missing = extract(client, submitter, source_id="src_nope")
    assert missing.status_code == 404


def test_choices_that_cannot_become_claims_write_nothing(client, submitter) -> None:
    body = extract(client, submitter, text="Seoul co-sponsored the resolution.\nNo").get_json()
    url = f"/api/v1/extractions/{body['id']}/claims"
    for items, field in [
        ([{"index": 0}, {"index": 9}], "items.1.index"),
        ([{"index": 1}], "items.0.text"),  # "No" is too short for a claim without new wording
    ]:
        response = client.post(url, json={"items": items}, headers=submitter.headers)
        assert response.status_code == 422, response.get_json()
        assert field in response.get_json()["errors"]
    assert client.post(url, json={"items": []}, headers=submitter.headers).status_code == 422
    assert client.get("/api/v1/claims", headers=submitter.headers).get_json()["items"] == []


def test_roles_and_unknown_ids(client, submitter) -> None:
    assert client.post("/api/v1/extractions", json={"text": "A claim here."}).status_code == 401
    assert client.get("/api/v1/extractions/ext_nope", headers=submitter.headers).status_code == 404
    response = client.post(
        "/api/v1/extractions/ext_nope/claims", json={"items": [{"index": 0}]}, headers=submitter.headers
    )
    assert response.status_code == 404
    body = extract(client, submitter, text="Seoul co-sponsored the resolution.").get_json()
    assert client.get(f"/api/v1/extractions/{body['id']}").status_code == 401
