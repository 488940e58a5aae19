"""The fact-check library over HTTP: POST /api/v1/factchecks imports ClaimReview, GET lists and reads.

Real examples (see data/README.md) go through the API one by one, as a list and as a feed; broken
items are reported by index while the good ones are kept; a second import updates or skips;
bad bodies get problem answers; imported fact-checks never show as the desk's own.
"""

import copy
import json
import threading
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlmodel import Session

from claims.library.services import FactCheckLibrary
from tests.conftest import publish

DATA = Path(__file__).parent / "data"
EXAMPLES = json.loads((DATA / "claimreview_examples.json").read_text())
REVIEWS = [e["claimreview"] for e in EXAMPLES]
FEED_ITEM = json.loads((DATA / "datacommons_feed_item_example.json").read_text())
GOOGLE_CLAIM = json.loads((DATA / "google_factcheck_api_claim_example.json").read_text())
URL = "/api/v1/factchecks"
PROBLEM = "application/problem+json"


@pytest.fixture
def editor(make_user):
    return make_user("editor")


def feed(reviews: list) -> dict:
    return {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "dataFeedElement": [{"@type": "DataFeedItem", "item": [r]} for r in reviews],
    }


def made_up(n: int, **changes) -> dict:
    """A ClaimReview shaped as AFP writes them, with its own url and words."""
    review = copy.deepcopy(REVIEWS[3])
    review["url"] = f"https://factcheck.example.org/checks/{n}"
    review["claimReviewed"] = f"Claim number {n} about the harbour tunnel"
    review.update(changes)
    return review


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert (body["status"], bool(body["detail"]), bool(body["title"])) == (status, True, True)
    return body


def import_ok(client, person, payload: object) -> dict:
    response = client.post(URL, json=payload, headers=person.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def listing(client, person, query: str = "") -> list[dict]:
    response = client.get(f"{URL}?{query}", headers=person.headers)
    assert response.status_code == 200, response.get_json()
    return response.get_json()["items"]


def count_rows(engine) -> int:
    with engine.connect() as conn:
        return conn.execute(sa.text("SELECT count(*) FROM factcheck")).scalar_one()


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda e: e["source"].rsplit("/", 1)[1])
def test_each_real_example_imports(client, editor, example: dict) -> None:
    review = example["claimreview"]
    report = import_ok(client, editor, review)
    assert report == {"imported": 1, "updated": 0, "skipped": 0, "errors": []}
    [item] = listing(client, editor)
    assert item["url"] == review["url"]
    assert item["claim_reviewed"] == " ".join(review["claimReviewed"].split())
    assert item["id"].startswith("fck_")
    assert item["imported_by"] == editor.id
    one = client.get(f"{URL}/{item['id']}", headers=editor.headers)
    assert one.status_code == 200
    assert one.get_json()["raw"] == review
    assert one.get_json()["links"]["self"].endswith(f"/api/v1/factchecks/{item['id']}")


def test_the_other_real_shapes_import(client, editor) -> None:
    assert import_ok(client, editor, FEED_ITEM)["imported"] == 1
    assert import_ok(client, editor, GOOGLE_CLAIM)["imported"] == 1
    urls = {i["url"] for i in listing(client, editor)}
    assert urls == {FEED_ITEM["url"], GOOGLE_CLAIM["claimReview"][0]["url"]}


def test_a_list_then_the_same_again_then_changed(client, editor, engine) -> None:
    assert import_ok(client, editor, REVIEWS)["imported"] == len(REVIEWS)
    first = {i["url"]: i for i in listing(client, editor, "limit=200")}
    assert import_ok(client, editor, REVIEWS) == {
        "imported": 0,
        "updated": 0,
        "skipped": len(REVIEWS),
        "errors": [],
    }
    changed = copy.deepcopy(REVIEWS)
    changed[4]["reviewRating"]["alternateName"] = "Correct"
    changed[4]["reviewRating"]["ratingValue"] = "6"
    report = import_ok(client, editor, feed(changed))  # a feed of the same reviews is the same reviews
    assert report == {"imported": 0, "updated": 1, "skipped": len(REVIEWS) - 1, "errors": []}
    after = {i["url"]: i for i in listing(client, editor, "limit=200")}
    url = REVIEWS[4]["url"]
    assert (after[url]["rating"], after[url]["verdict"]) == ("Correct", "true")
    assert after[url]["id"] == first[url]["id"]  # the url is the identity
    assert after[url]["imported_at"] == first[url]["imported_at"]
    assert count_rows(engine) == len(REVIEWS)


def test_a_feed_with_broken_items_keeps_the_good_ones(client, editor, engine) -> None:
    items = [made_up(i) for i in range(6)]
    items[1] = {k: v for k, v in items[1].items() if k != "url"}
    items[3]["claimReviewed"] = ""
    items[4] = {"@type": "Article", "headline": "not a review"}
    body = feed(items)
    body["dataFeedElement"].append("junk")
    report = import_ok(client, editor, body)
    assert (report["imported"], report["updated"], report["skipped"]) == (3, 0, 0)
    assert [(e["index"], e["path"]) for e in report["errors"]] == [
        (1, "/dataFeedElement/1/item/0"),
        (3, "/dataFeedElement/3/item/0"),
        (4, "/dataFeedElement/4/item/0"),
        (6, "/dataFeedElement/6"),
    ]
    assert "No url" in report["errors"][0]["detail"]
    assert "No claimReviewed" in report["errors"][1]["detail"]
    assert "Not a ClaimReview" in report["errors"][2]["detail"]
    kept = {i["url"] for i in listing(client, editor)}
    assert kept == {f"https://factcheck.example.org/checks/{n}" for n in (0, 2, 5)}
    assert count_rows(engine) == 3


def test_every_item_broken_is_422_and_nothing_is_written(client, editor, engine) -> None:
    body = problem(client.post(URL, json=[{"claimReviewed": "no url"}, 7], headers=editor.headers), 422)
    assert body["errors"] == {
        "/0": ["Item 0: No url: the address of the published review, which is its identity."],
        "/1": ["Item 1: Not a ClaimReview: a number."],
    }
    assert count_rows(engine) == 0


def test_the_same_url_twice_in_one_body_counts_as_two_imports(client, editor, engine) -> None:
    report = import_ok(
        client, editor, [made_up(1), made_up(1), made_up(1, claimReviewed="Claim one, reworded")]
    )
    assert (report["imported"], report["skipped"], report["updated"]) == (1, 1, 1)
    [item] = listing(client, editor)
    assert item["claim_reviewed"] == "Claim one, reworded"  # the last one wins
    assert count_rows(engine) == 1


def test_thousands_in_one_feed_cross_the_chunks(client, editor, engine) -> None:
    reviews = [made_up(i) for i in range(2_345)]
    assert import_ok(client, editor, feed(reviews))["imported"] == 2_345
    reviews[2_000]["claimReviewed"] = "The tunnel opened in 1988"
    again = import_ok(client, editor, feed([*reviews, made_up(5_000)]))
    assert (again["imported"], again["updated"], again["skipped"]) == (1, 1, 2_344)
    assert count_rows(engine) == 2_346
    [found] = listing(client, editor, "q=tunnel+opened")
    assert found["url"] == "https://factcheck.example.org/checks/2000"


def test_empty_containers_import_nothing(client, editor) -> None:
    assert import_ok(client, editor, []) == {"imported": 0, "updated": 0, "skipped": 0, "errors": []}
    assert import_ok(client, editor, feed([]))["imported"] == 0


def test_json_ld_content_type_is_taken(client, editor) -> None:
    response = client.post(
        URL,
        data=json.dumps(REVIEWS[0]),
        headers={**editor.headers, "Content-Type": "application/ld+json"},
    )
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["imported"] == 1


def test_a_body_over_64_mb_is_413(client, editor, engine) -> None:
    response = client.post(
        URL,
        data=b" " * (64_000_000 + 1),
        headers={**editor.headers, "Content-Type": "application/json"},
    )
    assert "64000000" in problem(response, 413)["detail"]
    assert count_rows(engine) == 0


def test_bodies_over_the_usual_limit_are_taken_here_only(client, editor, submitter) -> None:
    big = [made_up(i, reviewBody="Lorem ipsum dolor sit amet. " * 150) for i in range(400)]
    data = json.dumps(big)
    assert 1_000_000 < len(data) < 64_000_000
    response = client.post(URL, data=data, headers={**editor.headers, "Content-Type": "application/json"})
    assert response.status_code == 200, response.get_json()
    assert response.get_json()["imported"] == 400
    claim = json.dumps({"text": "x" * 2_000_000})
    elsewhere = client.post(
        "/api/v1/claims", data=claim, headers={**submitter.headers, "Content-Type": "application/json"}
    )
    problem(elsewhere, 413)


def test_more_than_100_000_items_is_413(client, editor, engine) -> None:
    response = client.post(URL, json=[made_up(0), *([1] * 100_000)], headers=editor.headers)
    assert "100,000 items" in problem(response, 413)["detail"]
    assert count_rows(engine) == 0


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "text/html"])
def test_a_body_not_json_is_415(client, editor, content_type: str) -> None:
    response = client.post(
        URL, data=json.dumps(REVIEWS[0]), headers={**editor.headers, "Content-Type": content_type}
    )
    problem(response, 415)


@pytest.mark.parametrize("data", [b'{"@type": "ClaimReview", "url": ', b"[1, 2", b"\xff\xfe", b"NaN-ish"])
def test_malformed_json_is_400(client, editor, data: bytes) -> None:
    response = client.post(URL, data=data, headers={**editor.headers, "Content-Type": "application/json"})
    problem(response, 400)


@pytest.mark.parametrize(
    ("payload", "detail"),
    [
        ({"foo": 1}, "got an object with keys foo"),
        (42, "got a number"),
        ("ClaimReview", "got a string"),
        (None, "got null"),
        ({"@type": "NewsArticle", "headline": "x"}, "got an object of @type NewsArticle"),
        ({}, "got an empty object"),
        ({"@context": "https://schema.org", "@graph": [{"@type": "WebPage"}]}, "holds no ClaimReview"),
    ],
)
def test_unknown_shapes_are_422(client, editor, engine, payload: object, detail: str) -> None:
    response = client.post(
        URL, data=json.dumps(payload), headers={**editor.headers, "Content-Type": "application/json"}
    )
    assert detail in problem(response, 422)["detail"]
    assert count_rows(engine) == 0


@pytest.mark.parametrize("role", ["submitter", "reviewer"])
def test_importing_needs_the_editor_role(client, make_user, engine, role: str) -> None:
    person = make_user(role)
    problem(client.post(URL, json=REVIEWS[0], headers=person.headers), 403)
    assert count_rows(engine) == 0
    assert client.get(URL, headers=person.headers).status_code == 200  # reading is for the desk


def test_without_a_token_nothing_is_readable(client, editor) -> None:
    [made] = [import_ok(client, editor, REVIEWS[0])]
    assert made["imported"] == 1
    fid = listing(client, editor)[0]["id"]
    problem(client.post(URL, json=REVIEWS[1]), 401)
    problem(client.get(URL), 401)
    problem(client.get(f"{URL}/{fid}"), 401)


def test_search_and_publisher_filters(client, editor, submitter) -> None:
    import_ok(client, editor, [*REVIEWS, GOOGLE_CLAIM])

    def urls(query: str) -> set[str]:
        return {i["url"] for i in listing(client, submitter, query)}

    assert urls("q=covid") == {REVIEWS[3]["url"], REVIEWS[4]["url"]}  # claims and headlines, any case
    assert urls("q=COVID-19+vaccine") == {REVIEWS[4]["url"]}
    assert urls('q="pneumonia deaths"') == {REVIEWS[3]["url"]}  # the headline's phrase
    assert urls("q=Ramaphosa") == {REVIEWS[5]["url"]}  # the claimant
    assert urls("q=nothing+like+this") == set()
    assert urls("q=%21%21%21") == set()  # no words at all
    assert urls("publisher=india+today") == {REVIEWS[9]["url"], REVIEWS[10]["url"]}
    assert urls("publisher=India%20Today&q=bank") == {REVIEWS[10]["url"]}
    assert urls("publisher=India") == set()  # the whole name
    assert urls("q=covid&publisher=AFP+Fact+Check") == {REVIEWS[3]["url"]}


def test_search_reads_words_as_the_index_does(client, editor, submitter) -> None:
    import_ok(
        client, editor, [made_up(1, claimReviewed="The U.S. was not among the co-sponsors"), made_up(2)]
    )

    def urls(query: str) -> set[str]:
        return {i["url"] for i in listing(client, submitter, query)}

    one = {"https://factcheck.example.org/checks/1"}
    assert urls("q=U.S.") == one  # one token to PostgreSQL's parser, two to FTS5's: found by both
    assert urls("q=co-sponsors") == urls("q=CO-SPONSORS") == one
    assert urls("q=cosponsors") == set()
    assert urls('q="co sponsors"') == urls("q=“not+among”") == one  # typographic quotes make a phrase
    assert urls('q="among not"') == set()


def test_unicode_in_search_and_publishers(client, editor, submitter, engine) -> None:
    import_ok(client, editor, REVIEWS)

    def urls(query: str) -> set[str]:
        return {i["url"] for i in listing(client, submitter, query)}

    assert urls("q=गलवान") == {REVIEWS[13]["url"]}  # Hindi
    assert urls("q=Kölns") == {REVIEWS[6]["url"]}
    folds_accents = (
        engine.dialect.name == "sqlite"
    )  # FTS5's remove_diacritics; PostgreSQL's 'simple' keeps them
    assert urls("q=kolns") == ({REVIEWS[6]["url"]} if folds_accents else set())
    assert urls("publisher=台灣事實查核中心") == {REVIEWS[12]["url"]}
    assert urls("publisher=AGÊNCIA+LUPA") == {REVIEWS[11]["url"]}
    [item] = listing(client, submitter, "publisher=Aajtak")
    assert item["claimant"] == "सोशल मीडिया यूजर्स"


def test_pages_follow_the_cursor_newest_first(client, editor, submitter) -> None:
    for n in range(7):
        import_ok(client, editor, made_up(n))
    seen, url = [], f"{URL}?limit=3&q=tunnel"
    while url:
        response = client.get(url, headers=submitter.headers)
        page = response.get_json()
        seen += [i["url"] for i in page["items"]]
        if page["next_cursor"]:
            link = response.headers["Link"]
            assert link.endswith('rel="next"')
            assert page["next_cursor"] in link
            assert "q=tunnel" in link
            url = "/" + link[1 : link.index(">")].split("://", 1)[1].split("/", 1)[1]
        else:
            assert "Link" not in response.headers
            url = None
    assert seen == [f"https://factcheck.example.org/checks/{n}" for n in reversed(range(7))]


@pytest.mark.parametrize("query", ["limit=0", "limit=201", "cursor=not-a-cursor", "q=" + "x" * 501])
def test_bad_list_arguments_are_422(client, submitter, query: str) -> None:
    problem(client.get(f"{URL}?{query}", headers=submitter.headers), 422)


def test_unknown_id_is_404(client, submitter) -> None:
    problem(client.get(f"{URL}/fck_01JD5Q0F6X1N3ZB2W8V4T7K9M0", headers=submitter.headers), 404)
    problem(client.get(f"{URL}/clm_whatever", headers=submitter.headers), 404)


def test_imported_fact_checks_never_show_as_the_desks_own(client, editor, submitter) -> None:
    review = made_up(1, claimReviewed="The harbour tunnel cost 41 million")
    import_ok(client, editor, review)
    [item] = listing(client, editor)
    assert client.get("/api/v1/claims?q=harbour", headers=submitter.headers).get_json()["items"] == []
    assert client.get("/api/v1/claims", headers=submitter.headers).get_json()["items"] == []
    assert client.get("/api/v1/claims?q=harbour").get_json()["items"] == []  # readers
    feed_body = client.get("/claimreview.json").get_data(as_text=True)
    assert review["url"] not in feed_body
    assert "harbour" not in feed_body
    assert client.get(f"/badges/{item['id']}.svg").status_code == 404
    assert client.get(f"/badges/{item['id']}.json").status_code == 404
    assert client.get(f"/c/{item['id']}").status_code == 404
    assert client.get(f"/api/v1/claims/{item['id']}", headers=submitter.headers).status_code == 404


def test_our_own_published_feed_imports(client, desk, act, make_user) -> None:
    """Another desk running Factdesk can import this one's ClaimReview feed."""
    publish(act, desk, rating="mostly_false")
    ours = client.get("/claimreview.json").get_json()
    editor = make_user("editor")
    assert import_ok(client, editor, ours)["imported"] == 1
    [item] = listing(client, editor)
    assert item["url"].endswith(f"/c/{desk['claim_id']}")
    assert item["claim_reviewed"] == "Seoul co-sponsored the resolution."
    assert (item["rating"], item["verdict"]) == ("Mostly false", "mostly-false")
    assert import_ok(client, editor, ours)["skipped"] == 1


def test_the_openapi_document_describes_the_library(client) -> None:
    spec = client.get("/api/openapi.json").get_json()
    post = spec["paths"]["/api/v1/factchecks"]["post"]
    assert {"200", "400", "413", "415", "422"} <= set(post["responses"])
    assert {"application/json", "application/ld+json"} <= set(post["requestBody"]["content"])
    assert "get" in spec["paths"]["/api/v1/factchecks"]
    assert "get" in spec["paths"]["/api/v1/factchecks/{factcheck_id}"]


def test_two_imports_of_the_same_url_at_once_both_succeed(engine, editor) -> None:
    """The second waits for the first (SQLite's write lock, PostgreSQL's unique index) and then
    updates the row the first wrote: one row, no error, on either engine."""
    first, second = made_up(1), made_up(1, claimReviewed="Claim one, as the second import has it")
    outcome: dict[str, object] = {}

    def import_second() -> None:
        try:
            with Session(engine) as session:
                outcome["report"] = FactCheckLibrary(session).import_payload(second, editor.user)
                session.commit()
        except Exception as exc:  # the assertion below shows it
            outcome["error"] = exc

    with Session(engine) as session:
        assert FactCheckLibrary(session).import_payload(first, editor.user).imported == 1
        racer = threading.Thread(target=import_second)
        racer.start()
        racer.join(timeout=0.5)
        assert racer.is_alive()  # waiting on the first, which has not committed
        session.commit()
    racer.join(timeout=20)
    assert "error" not in outcome, outcome
    assert count_rows(engine) == 1
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT claim_reviewed FROM factcheck")).scalar_one()
    assert stored == "Claim one, as the second import has it"
