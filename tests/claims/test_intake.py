"""Submitting claims: creation, de-duplication, near-duplicates, text hygiene, appearances."""

import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

STORY = {
    "url": "https://example.com/story",
    "title": "South Korea to co-sponsor U.N. resolution",
    "publisher": "UPI",
    "published_at": "2025-11-19",
    "quote": "South Korea was among the 41 U.N. member states that co-sponsored the resolution.",
}


def test_submit_creates_a_claim_with_location_and_etag(submit, submitter) -> None:
    response = submit(
        "41 U.N. member states co-sponsored the resolution.",
        claimant="UPI",
        appearance=STORY,
        language="en",
        tags=["UN", "dprk", "un"],
    )
    assert response.status_code == 201
    claim = response.get_json()
    assert claim["id"].startswith("clm_")
    assert len(claim["id"]) == 30
    assert response.headers["Location"].endswith(f"/api/v1/claims/{claim['id']}")
    assert response.headers["ETag"] == claim["etag"]
    assert claim["status"] == "submitted"
    assert claim["tags"] == ["un", "dprk"]
    assert claim["submitted_by"] == submitter.id
    assert claim["appearances"][0]["published_at"] == "2025-11-19"
    assert claim["appearances"][0]["quote"] == STORY["quote"]
    assert claim["created_at"].endswith("Z")
    assert claim["links"]["badge"].endswith(f"/badges/{claim['id']}.svg")
    assert claim["links"]["page"].endswith(f"/c/{claim['id']}")
    for key in ("verdict", "proposal", "duplicate_of", "assignee"):
        assert claim[key] is None
    assert claim["verdicts"] == []
    assert claim["citations"] == []
    assert claim["needs_review"] is False


def test_same_text_again_answers_200_and_adds_the_appearance(submit, client, submitter) -> None:
    first = submit("The United States was not among the sponsoring countries.", appearance=STORY)
    other = {"url": "https://example.org/other", "quote": "The U.S. did not sponsor it."}
    # Same claim modulo case, spacing, curly quotes and a final full stop.
    again = submit("  the United   States was NOT among the sponsoring countries ", appearance=other)
    assert first.status_code == 201
    assert again.status_code == 200
    claim = again.get_json()
    assert claim["id"] == first.get_json()["id"]
    assert [a["url"] for a in claim["appearances"]] == [STORY["url"], other["url"]]
    # The identical appearance a third time adds nothing.
    third = submit("The United States was not among the sponsoring countries.", appearance=other)
    assert len(third.get_json()["appearances"]) == 2
    listed = client.get("/api/v1/claims", headers=submitter.headers).get_json()["items"]
    assert len(listed) == 1


def test_possible_duplicates_are_ranked_and_exclude_the_claim_itself(submit) -> None:
    near = submit("41 U.N. member states co-sponsored the resolution on North Korea.").get_json()
    submit("The General Assembly will vote on the resolution in December.")
    unrelated = submit("Lee Jae Myung took office in June.").get_json()
    claim = submit("41 UN member states co-sponsored the resolution.").get_json()
    ids = [d["id"] for d in claim["possible_duplicates"]]
    assert ids[0] == near["id"]
    assert claim["id"] not in ids
    assert unrelated["id"] not in ids
    scores = [d["score"] for d in claim["possible_duplicates"]]
    assert scores == sorted(scores, reverse=True)
    assert all(0 < s <= 1 for s in scores)
    best = claim["possible_duplicates"][0]
    assert (best["kind"], best["relation"], best["status"], best["rating"]) == (
        "claim",
        "same",
        "submitted",
        None,
    )


def test_text_is_nfc_normalised_and_trimmed(submit) -> None:
    decomposed = "Cafe\u0301 owners in Seoul backed the resolution."
    claim = submit(f"\n  {decomposed}\t ").get_json()
    assert claim["text"] == unicodedata.normalize("NFC", decomposed)
    # The composed spelling is the same claim.
    again = submit(unicodedata.normalize("NFC", decomposed))
    assert again.status_code == 200


@pytest.mark.parametrize(
    "bad", ["nul\x00byte claim", "bell\x07 claim", "escape \x1b[31m red", "del\x7f claim", "c1 \x85 control"]
)
def test_control_characters_are_refused(submit, bad: str) -> None:
    response = submit(bad)
    assert response.status_code == 422
    assert "text" in response.get_json()["errors"]


def test_newlines_and_tabs_are_kept(submit) -> None:
    claim = submit("First line\nsecond\tline of one claim").get_json()
    assert claim["text"] == "First line\nsecond\tline of one claim"


@pytest.mark.parametrize(
    ("text", "status"),
    [("ab", 422), ("   ab   ", 422), ("abc", 201), ("x" * 1000, 201), ("x" * 1001, 422), ("", 422)],
)
def test_text_length_is_counted_after_cleaning(submit, text: str, status: int) -> None:
    assert submit(text).status_code == status


@pytest.mark.parametrize(
    "text",
    [
        "북한 인권결의안에 41개국이 공동제안국으로 참여했다.",
        "مجلس حقوق الإنسان التابع للأمم المتحدة",
        "联合国大会将于十二月表决该决议。",
        "Резолюцию поддержали 41 государство.",
        "Emoji claim 🇰🇷🇺🇳 about the vote",
    ],
)
def test_non_latin_claims_round_trip(submit, client, submitter, text: str) -> None:
    claim = submit(text).get_json()
    fetched = client.get(f"/api/v1/claims/{claim['id']}", headers=submitter.headers).get_json()
    assert fetched["text"] == text


def test_unknown_fields_in_the_appearance_are_refused(submit) -> None:
    response = submit("A claim with a strange appearance", appearance={**STORY, "author": "x"})
    assert response.status_code == 422
    assert "appearance.author" in response.get_json()["errors"]


def test_appearances_endpoint_adds_one_and_records_history(client, submit, submitter) -> None:
    claim = submit("The U.N. General Assembly votes in December.").get_json()
    response = client.post(
        f"/api/v1/claims/{claim['id']}/appearances",
        json={"url": "https://example.net/a", "quote": "votes in December"},
        headers=submitter.headers,
    )
    assert response.status_code == 201
    assert response.get_json()["etag"] != claim["etag"]
    history = client.get(f"/api/v1/claims/{claim['id']}/history", headers=submitter.headers).get_json()
    assert [e["action"] for e in history["items"]] == ["submitted", "appearance_added"]
    missing = client.post(
        "/api/v1/claims/clm_nope/appearances", json={"quote": "q"}, headers=submitter.headers
    )
    assert missing.status_code == 404


def test_two_concurrent_submissions_of_one_text_make_one_claim(app, submitter) -> None:
    from concurrent.futures import ThreadPoolExecutor

    def post(i: int) -> tuple[int, str]:
        response = app.test_client().post(
            "/api/v1/claims",
            headers=submitter.headers,
            json={
                "text": "Seoul co-sponsored the resolution again.",
                "appearance": {"url": f"https://example.com/{i}"},
            },
        )
        return response.status_code, response.get_json()["id"]

    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(post, range(8)))
    assert sorted(s for s, _ in results) == [200] * 7 + [201]
    assert len({i for _, i in results}) == 1
    claim = app.test_client().get(f"/api/v1/claims/{results[0][1]}", headers=submitter.headers)
    assert len(claim.get_json()["appearances"]) == 8


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), min_size=3, max_size=60))
def test_any_printable_text_is_accepted_or_refused_cleanly(make_app, submitter, text: str) -> None:
    # Forty examples, plus any Hypothesis replays or shrinks, from one user: more than the write
    # limit allows in a minute, which is not what this test is about.
    client = make_app(rate_limit_writes="off").test_client()
    response = client.post("/api/v1/claims", json={"text": text}, headers=submitter.headers)
    assert response.status_code in (200, 201, 422)
    if response.status_code != 422:
        assert response.get_json()["text"] == unicodedata.normalize("NFC", text).strip()


def test_near_duplicates_are_found_among_many_claims_sharing_a_word(submit) -> None:
    # Thirty claims share one telling word with the new one; the near-duplicate shares several.
    for n in range(30):
        submit(f"Pyongyang answered statement number {n} within the hour.")
    near = submit("Pyongyang rejected the resolution as a hostile provocation by Washington.").get_json()
    claim = submit("Pyongyang rejected the resolution, calling it a hostile provocation.").get_json()
    assert claim["possible_duplicates"][0]["id"] == near["id"]
