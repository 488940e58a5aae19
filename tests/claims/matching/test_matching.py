"""POST /api/v1/match and intake's possible duplicates, through the API on the real database.

The issue's examples: a published "41 co-sponsors" claim and a published "not among the sponsors"
claim, matched by a different number, a negation and a rewording in words; imported fact-checks
ranked with the desk's claims; ratings and what a published verdict implies; the edges of input.
"""

import pytest
from sqlalchemy import event

from tests.conftest import Act, cite_statement, publish

URL = "/api/v1/match"
PROBLEM = "application/problem+json"
FORTY_ONE = "41 U.N. member states co-sponsored the resolution."
FORTY = "40 U.N. member states co-sponsored the resolution."
NOT_AMONG = "The United States was not among the countries sponsoring the resolution."
REVIEW = {
    "@context": "https://schema.org",
    "@type": "ClaimReview",
    "url": "https://factcheck.example.org/2025/pyongyang-satellite",
    "claimReviewed": "North Korea launched a spy satellite into orbit in November 2023.",
    "headline": "Did North Korea put a spy satellite into orbit?",
    "author": {"@type": "Organization", "name": "Example Checks"},
    "reviewRating": {"@type": "Rating", "ratingValue": "5", "bestRating": "5", "alternateName": "Correct"},
}


def match(client, person, text: str, **body: object):
    response = client.post(URL, json={"text": text, **body}, headers=person.headers)
    assert response.status_code == 200, response.get_json()
    assert response.headers["Cache-Control"] == "private, no-store"
    matches = response.get_json()["matches"]
    scores = [m["score"] for m in matches]
    assert scores == sorted(scores, reverse=True)
    assert all(0 <= s <= 1 for s in scores)
    return matches


def by_id(matches: list[dict]) -> dict[str, dict]:
    return {m["id"]: m for m in matches}


def problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    return response.get_json(force=True)


def published(client, desk, submit, text: str, rating: str) -> str:
    """A claim made public through the workflow: submitted, cited, proposed and approved."""
    claim_id = submit(text, person=desk["submitter"]).get_json()["id"]
    cite_statement(client, claim_id, desk["alice"].headers)
    publish(Act(client, claim_id), desk, rating)
    return claim_id


@pytest.fixture
def record(client, desk, submit) -> dict[str, str]:
    """The published 41 claim (rated true), the published "not among" claim (rated false), and the
    40 claim, submitted but never published."""
    return {
        "41": published(client, desk, submit, FORTY_ONE, "true"),
        "not_among": published(client, desk, submit, NOT_AMONG, "false"),
        "40": submit(FORTY, person=desk["submitter"]).get_json()["id"],
    }


def test_a_different_number_is_a_number_conflict_with_the_rating(client, desk, record) -> None:
    found = by_id(
        match(client, desk["submitter"], "40 U.N. member states co-sponsored the resolution on North Korea.")
    )
    forty_one = found[record["41"]]
    assert forty_one["relation"] == "number_conflict"
    assert forty_one["kind"] == "claim"
    assert (forty_one["status"], forty_one["rating"]) == ("published", "true")
    assert forty_one["verdict_implies"] is None  # a verdict on 41 says nothing of 40
    forty = found[record["40"]]
    assert (forty["relation"], forty["status"], forty["rating"]) == ("same", "submitted", None)
    assert forty["score"] > forty_one["score"]


def test_a_negation_says_the_verdict_implies_the_opposite(client, desk, record) -> None:
    matches = match(
        client, desk["submitter"], "The United States was among the countries sponsoring the resolution."
    )
    assert matches[0]["id"] == record["not_among"]
    assert matches[0]["relation"] == "negation"
    assert matches[0]["rating"] == "false"
    assert matches[0]["verdict_implies"] == "opposite"


def test_the_number_in_words_is_the_same_claim_and_ranks_above_the_other_number(client, desk, record) -> None:
    text = "Forty-one countries co-sponsored the UN resolution on North Korea's human rights"
    found = by_id(match(client, desk["submitter"], text))
    same, conflict = found[record["41"]], found[record["40"]]
    assert same["relation"] == "same"
    assert same["verdict_implies"] == "same"
    assert conflict["relation"] == "number_conflict"
    assert same["score"] > conflict["score"]


def test_the_same_words_match_best_and_unrelated_claims_are_not_found(client, desk, record, submit) -> None:
    other = submit("Lee Jae Myung took office in June.", person=desk["submitter"]).get_json()["id"]
    matches = match(client, desk["submitter"], FORTY_ONE)
    assert matches[0]["id"] == record["41"]
    assert matches[0]["relation"] == "same"
    assert matches[0]["score"] > 0.5
    assert other not in by_id(matches)


def test_imported_fact_checks_are_matched_with_the_desk_claims(client, desk, record, make_user) -> None:
    editor = make_user("editor")
    review = {
        **REVIEW,
        "url": "https://factcheck.example.org/2025/co-sponsors",
        "claimReviewed": FORTY_ONE.replace("41", "Forty-one"),
        "headline": "41 co-sponsors?",
    }
    imported = client.post("/api/v1/factchecks", json=[REVIEW, review], headers=editor.headers)
    assert imported.get_json()["imported"] == 2
    matches = match(client, desk["submitter"], "Forty-one U.N. members co-sponsored the resolution.")
    kinds = {m["kind"] for m in matches[:3]}
    assert kinds == {"claim", "factcheck"}  # one list, both kinds
    checked = next(m for m in matches if m["kind"] == "factcheck")
    assert checked["id"].startswith("fck_")
    assert checked["text"] == review["claimReviewed"]
    assert checked["relation"] == "same"
    assert (checked["rating"], checked["verdict"]) == ("Correct", "true")
    assert (checked["url"], checked["publisher"]) == (review["url"], "Example Checks")
    assert checked["verdict_implies"] == "same"
    assert checked["status"] is None
    satellite = match(
        client, desk["submitter"], "Pyongyang says its spy satellite reached orbit in November 2023"
    )
    assert satellite[0]["url"] == REVIEW["url"]
    assert satellite[0]["kind"] == "factcheck"


def test_an_unrated_match_implies_nothing(client, desk, submit) -> None:
    claim = submit("Seoul will host the next round of talks in March.", person=desk["submitter"]).get_json()
    found = match(client, desk["submitter"], "Seoul will host the next round of talks in March.")
    assert found[0]["id"] == claim["id"]
    assert (found[0]["relation"], found[0]["rating"], found[0]["verdict_implies"]) == ("same", None, None)


def test_matching_needs_a_token(client, record) -> None:
    body = problem(client.post(URL, json={"text": FORTY_ONE}), 401)
    assert "token" in body["detail"]
    assert "matches" not in body


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": FORTY_ONE, "limit": 0}, "limit"),
        ({"text": FORTY_ONE, "limit": 51}, "limit"),
        ({"text": FORTY_ONE, "limit": "ten"}, "limit"),
        ({"text": ""}, "text"),
        ({"text": "   \n\t "}, "text"),
        ({"text": "x" * 5001}, "text"),
        ({"text": "bell \x07 claim"}, "text"),
        ({"limit": 3}, "text"),
        ({"text": FORTY_ONE, "kind": "claim"}, "kind"),
    ],
)
def test_bad_bodies_are_refused(client, submitter, body: dict, field: str) -> None:
    answer = problem(client.post(URL, json=body, headers=submitter.headers), 422)
    assert field in answer["errors"]


def test_a_body_that_is_not_json_is_refused(client, submitter) -> None:
    problem(client.post(URL, data="text=41", headers=submitter.headers, content_type="text/plain"), 415)
    problem(client.post(URL, data="{", headers=submitter.headers, content_type="application/json"), 400)


def test_limit_bounds_the_answer(client, desk, submit) -> None:
    for n in range(12):
        submit(f"Resolution number {n} on North Korea was co-sponsored by Seoul.", person=desk["submitter"])
    text = "Seoul co-sponsored the resolution on North Korea."
    assert len(match(client, desk["submitter"], text)) == 10  # the default
    assert len(match(client, desk["submitter"], text, limit=1)) == 1
    assert len(match(client, desk["submitter"], text, limit=50)) == 13  # every claim sharing words


@pytest.mark.parametrize(
    "text",
    [
        "북한 인권결의안에 41개국이 공동제안국으로 참여했다.",
        "مجلس حقوق الإنسان التابع للأمم المتحدة",
        "Emoji claim 🇰🇷🇺🇳 about the vote",
        "Café owners in Zürich backed the résolution",
        '"co-sponsored" OR resolution* NEAR(un, korea) AND -"states" ^41',
        "'; DROP TABLE claim; -- ",
        "🇰🇷",
        "the of and a",  # only stopwords
    ],
)
def test_any_text_is_matched_without_error(client, desk, record, submit, text: str) -> None:
    submit("북한 인권결의안에 41개국이 공동제안국으로 참여했다.", person=desk["submitter"])
    submit("Cafe owners in Zurich backed the resolution", person=desk["submitter"])
    matches = match(client, desk["submitter"], text)
    if text.startswith("북한"):
        assert matches[0]["text"] == text
    if text.startswith("Café"):
        assert matches[0]["text"] == "Cafe owners in Zurich backed the resolution"  # diacritics aside
    if text in ("🇰🇷", "the of and a"):
        assert matches == []


def test_a_long_text_is_matched(client, desk, record) -> None:
    text = (FORTY_ONE + " ") * 90  # 4,590 characters, under the limit of 5,000
    assert len(text) <= 5000
    assert match(client, desk["submitter"], text)[0]["id"] == record["41"]


def test_matching_is_not_counted_as_a_write(make_app, make_user) -> None:
    client = make_app(rate_limit_writes="2/minute").test_client()
    person = make_user("submitter")
    for _ in range(5):
        response = client.post(URL, json={"text": FORTY_ONE}, headers=person.headers)
        assert response.status_code == 200
    posts = [
        client.post("/api/v1/claims", json={"text": f"Claim {n}"}, headers=person.headers) for n in range(3)
    ]
    assert [p.status_code for p in posts] == [201, 201, 429]


def test_a_match_reads_in_one_transaction_on_postgresql(make_app, make_user) -> None:
    app = make_app()
    engine = app.extensions["factdesk.engine"]
    person = make_user("submitter")
    client = app.test_client()
    client.post(URL, json={"text": FORTY_ONE}, headers=person.headers)  # the models loaded
    checkouts: list[object] = []

    def note(*args: object) -> None:
        checkouts.append(args)

    event.listen(engine, "checkout", note)
    try:
        assert client.post(URL, json={"text": FORTY_ONE}, headers=person.headers).status_code == 200
    finally:
        event.remove(engine, "checkout", note)
    # SQLite ends the token's read before the request's own transaction (its write lock); on
    # PostgreSQL the request goes on in it: one connection, one BEGIN and one COMMIT.
    assert len(checkouts) == (1 if engine.dialect.name == "postgresql" else 2)


def test_intake_duplicates_carry_relations_and_leave_out_the_claim_itself(
    client, desk, record, make_user
) -> None:
    editor = make_user("editor")
    review = {
        **REVIEW,
        "url": "https://factcheck.example.org/2025/us-sponsor",
        "claimReviewed": "The U.S. was among the countries that sponsored the resolution.",
        "headline": "Did the U.S. sponsor the U.N. resolution?",
    }
    client.post("/api/v1/factchecks", json=review, headers=editor.headers)
    response = client.post(
        "/api/v1/claims",
        json={"text": "The United States was among the countries sponsoring the resolution."},
        headers=desk["submitter"].headers,
    )
    assert response.status_code == 201
    claim = response.get_json()
    duplicates = by_id(claim["possible_duplicates"])
    assert claim["id"] not in duplicates
    negated = duplicates[record["not_among"]]
    assert (negated["relation"], negated["kind"], negated["rating"]) == ("negation", "claim", "false")
    assert negated["verdict_implies"] == "opposite"
    checked = next(d for d in duplicates.values() if d["kind"] == "factcheck")
    assert (checked["relation"], checked["rating"], checked["url"]) == ("same", "Correct", review["url"])
    # The same text again: the existing claim (answered 200) is not its own duplicate either.
    again = client.post("/api/v1/claims", json={"text": claim["text"]}, headers=desk["submitter"].headers)
    assert again.status_code == 200
    assert claim["id"] not in by_id(again.get_json()["possible_duplicates"])
    assert record["not_among"] in by_id(again.get_json()["possible_duplicates"])


def test_the_openapi_document_describes_matching(client) -> None:
    spec = client.get("/api/openapi.json").get_json()
    post = spec["paths"]["/api/v1/match"]["post"]
    assert post["security"]
    schemas = spec["components"]["schemas"]
    assert set(schemas["MatchOut"]["properties"]["relation"]["enum"]) == {
        "same",
        "number_conflict",
        "negation",
        "related",
    }
    assert schemas["MatchIn"]["properties"]["limit"]["maximum"] == 50


def intake(client, desk, text: str) -> list[dict]:
    """The possible duplicates intake answers for a new claim `text`."""
    response = client.post("/api/v1/claims", json={"text": text}, headers=desk["submitter"].headers)
    assert response.status_code == 201
    return response.get_json()["possible_duplicates"]


def test_intake_tells_the_number_in_words_from_another_number(client, desk, record) -> None:
    # Intake scores by shared content alone, not with the re-ranker: the examples hold.
    duplicates = intake(
        client, desk, "Forty-one U.N. member states co-sponsored the resolution on North Korea."
    )
    found = by_id(duplicates)
    same, conflict = found[record["41"]], found[record["40"]]
    assert (same["relation"], same["verdict_implies"]) == ("same", "same")
    assert conflict["relation"] == "number_conflict"
    assert duplicates[0]["id"] == record["41"]
    assert same["score"] > conflict["score"]
    assert record["not_among"] not in found  # another claim about the resolution, below the cut


def test_intake_does_not_list_claims_sharing_only_a_word(client, desk, record) -> None:
    assert intake(client, desk, "The resolution was adopted without a vote in December.") == []
