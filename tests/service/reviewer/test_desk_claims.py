"""Submitting and editing claims on the desk through Flask's test client: the API's duplicate
answer, its If-Match rule for edits, appearances, and removing citations while the workflow allows."""

import html
import re

import sqlalchemy as sa

from tests.conftest import set_status
from tests.service.reviewer.conftest import text_of

TEXT = "South Korea co-sponsored the 2025 U.N. resolution on North Korean human rights."


def claim_id_of(response) -> str:
    return re.search(r"/desk/claims/(clm_[A-Za-z0-9]+)$", response.headers["Location"]).group(1)


def test_a_claim_is_submitted_with_its_appearance(client, reviewer, signed_in) -> None:
    desk = signed_in(reviewer)
    assert desk.get("/desk/claims/new").status_code == 200
    made = desk.post(
        "/desk/claims",
        text=TEXT,
        claimant="Yonhap",
        tags="un, south-korea",
        appearance_url="https://news.example/korea-un",
        appearance_publisher="Example News",
        appearance_published_at="2025-11-19",
        appearance_quote="Seoul joined as a co-sponsor.",
    )
    assert made.status_code == 303
    claim = client.get(f"/api/v1/claims/{claim_id_of(made)}", headers=reviewer.headers).get_json()
    assert (claim["text"], claim["claimant"], claim["tags"]) == (TEXT, "Yonhap", ["un", "south-korea"])
    [appearance] = claim["appearances"]
    assert appearance["publisher"] == "Example News"
    assert appearance["published_at"] == "2025-11-19"
    assert "Claim submitted." in text_of(desk.get(made.headers["Location"]))


def test_possible_duplicates_are_shown_before_creating(client, reviewer, signed_in, submit) -> None:
    first = submit(TEXT).get_json()
    desk = signed_in(reviewer)
    close = "South Korea co-sponsored the 2025 U.N. resolution on human rights in North Korea."
    shown = desk.post("/desk/claims", text=close, claimant="Yonhap")
    assert shown.status_code == 200
    page = shown.get_data(as_text=True)
    assert f'href="/desk/claims/{first["id"]}"' in page
    assert 'name="confirm" value="1"' in page
    assert "Create anyway" in text_of(shown)
    assert client.get("/api/v1/claims", headers=reviewer.headers).get_json()["items"].__len__() == 1
    made = desk.post("/desk/claims", text=close, claimant="Yonhap", confirm="1")
    assert made.status_code == 303
    assert claim_id_of(made) != first["id"]
    # The same text again (as the API compares it): the appearance goes to the claim on the desk.
    again = desk.post("/desk/claims", text=TEXT.upper(), appearance_url="https://other.example/", confirm="1")
    assert claim_id_of(again) == first["id"]
    assert "on the desk already" in text_of(desk.get(again.headers["Location"]))


def test_bad_claims_come_back_with_their_messages(reviewer, signed_in) -> None:
    desk = signed_in(reviewer)
    for fields, message in (
        ({"text": "no"}, "Length must be between 3 and 1000."),
        ({"text": TEXT, "appearance_published_at": "19/11/2025"}, "Not a valid date."),
        ({"text": TEXT, "appearance_url": "javascript:alert(1)"}, "URL"),
        ({"text": TEXT, "appearance_publisher": "Example"}, "An appearance needs at least a url or a quote."),
        ({"text": TEXT, "tags": ", ".join(f"t{i}" for i in range(21))}, "Longer than maximum length 20."),
        ({"text": "x" * 5000}, "Length must be between 3 and 1000."),
    ):
        refused = desk.post("/desk/claims", **fields)
        assert refused.status_code == 422, fields
        assert message in text_of(refused), (fields, text_of(refused))
        assert "Check the fields marked below." in text_of(refused)
    kept = desk.post("/desk/claims", text="no", claimant="Ünïcödé ✓")
    assert 'value="Ünïcödé ✓"' in kept.get_data(as_text=True)


def test_edits_follow_if_match_and_a_stale_edit_is_shown_back(client, reviewer, signed_in, submit) -> None:
    claim = submit(TEXT, claimant="Yonhap", tags=["un"]).get_json()
    desk = signed_in(reviewer)
    seen = desk.etag(claim["id"])
    # Someone else edits it through the API first.
    headers = {**reviewer.headers, "If-Match": claim["etag"]}
    assert (
        client.patch(f"/api/v1/claims/{claim['id']}", json={"claimant": "KBS"}, headers=headers).status_code
        == 200
    )
    mine = "South Korea was among the co-sponsors of the 2025 U.N. resolution."
    stale = desk.post(
        f"/desk/claims/{claim['id']}/edit", etag=seen, text=mine, claimant="Yonhap", tags="un, seoul"
    )
    assert stale.status_code == 412
    assert "Someone else changed this claim" in text_of(stale)
    assert mine in stale.get_data(as_text=True)  # the edit is shown back, not lost
    now = client.get(f"/api/v1/claims/{claim['id']}", headers=reviewer.headers).get_json()
    assert (now["text"], now["claimant"]) == (TEXT, "KBS")
    fresh = desk.etag(claim["id"])
    saved = desk.post(
        f"/desk/claims/{claim['id']}/edit", etag=fresh, text=mine, claimant="", tags="un, seoul"
    )
    assert saved.status_code == 303
    now = client.get(f"/api/v1/claims/{claim['id']}", headers=reviewer.headers).get_json()
    assert (now["text"], now["claimant"], now["tags"]) == (mine, None, ["un", "seoul"])
    # No version, bad input, a published claim: each a page with its message.
    assert desk.post(f"/desk/claims/{claim['id']}/edit", text=mine).status_code == 422
    short = desk.post(f"/desk/claims/{claim['id']}/edit", etag=desk.etag(claim["id"]), text="x")
    assert short.status_code == 422
    assert "Length must be between 3 and 1000." in text_of(short)
    set_status(client.application.extensions["factdesk.engine"], claim["id"], "published")
    etag = client.get(f"/api/v1/claims/{claim['id']}", headers=reviewer.headers).get_json()["etag"]
    assert 'id="edit"' not in desk.get(f"/desk/claims/{claim['id']}").get_data(as_text=True)
    locked = desk.post(f"/desk/claims/{claim['id']}/edit", etag=etag, text=TEXT)
    assert locked.status_code == 409
    assert "A published claim is changed through the `correct` transition." in text_of(locked)


def test_submitters_cannot_edit(submitter, signed_in, submit) -> None:
    claim = submit(TEXT).get_json()
    desk = signed_in(submitter)
    page = desk.get(f"/desk/claims/{claim['id']}").get_data(as_text=True)
    assert 'id="edit"' not in page
    refused = desk.post(
        f"/desk/claims/{claim['id']}/edit", etag=claim["etag"], text="Something else entirely."
    )
    assert refused.status_code == 403
    assert "This needs the reviewer role" in text_of(refused)


def test_appearances_are_added(client, submitter, signed_in, submit) -> None:
    claim = submit(TEXT).get_json()
    desk = signed_in(submitter)
    path = f"/desk/claims/{claim['id']}/appearances"
    assert (
        desk.post(
            path, appearance_url="https://tv.example/clip", appearance_quote="Seoul co-sponsored."
        ).status_code
        == 303
    )
    bad = desk.post(path, appearance_title="Only a title")
    assert bad.status_code == 422
    assert "An appearance needs at least a url or a quote." in text_of(bad)
    now = client.get(f"/api/v1/claims/{claim['id']}", headers=submitter.headers).get_json()
    assert [a["url"] for a in now["appearances"]] == ["https://tv.example/clip"]


def test_a_citation_is_removed_while_the_workflow_allows(client, desk, signed_in, engine) -> None:
    alice = signed_in(desk["alice"])
    claim_id = desk["claim_id"]
    citation = client.get(f"/api/v1/claims/{claim_id}", headers=desk["alice"].headers).get_json()[
        "citations"
    ][0]
    page = alice.get(f"/desk/claims/{claim_id}").get_data(as_text=True)
    assert f"/citations/{citation['id']}/remove" in page
    set_status(engine, claim_id, "dismissed")
    refused = alice.post(f"/desk/claims/{claim_id}/citations/{citation['id']}/remove")
    assert refused.status_code == 409
    assert "A dismissed claim's citations cannot change." in text_of(refused)
    set_status(engine, claim_id, "researching")
    assert alice.post(f"/desk/claims/{claim_id}/citations/{citation['id']}/remove").status_code == 303
    assert (
        client.get(f"/api/v1/claims/{claim_id}", headers=desk["alice"].headers).get_json()["citations"] == []
    )
    assert alice.post(f"/desk/claims/{claim_id}/citations/{citation['id']}/remove").status_code == 404


def test_the_queue_sorts_shortens_and_counts_its_pages(client, engine, reviewer, signed_in, submit) -> None:
    long_text = (
        "The resolution, adopted without a vote, " + "names every co-sponsor in turn, " * 15 + "and ends."
    )
    texts = [
        "South Korea co-sponsored the resolution.",
        "41 U.N. member states co-sponsored the resolution.",
        long_text,
        "The United States was not among the sponsoring countries.",
    ]
    ids = [submit(text).get_json()["id"] for text in texts]
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE claim SET needs_review = :f WHERE id = :id"), {"f": True, "id": ids[1]})
    etag = client.get(f"/api/v1/claims/{ids[0]}", headers=reviewer.headers).get_json()["etag"]
    headers = {**reviewer.headers, "If-Match": etag}
    assert (
        client.patch(f"/api/v1/claims/{ids[0]}", json={"claimant": "UPI"}, headers=headers).status_code == 200
    )
    desk = signed_in(reviewer)

    def listed(query: str) -> list[str]:
        page = desk.get("/desk" + query)
        assert page.status_code == 200, query
        return re.findall(r'href="/desk/claims/(clm_\w+)"', page.get_data(as_text=True))

    assert listed("") == ids[::-1]
    assert listed("?sort=newest") == ids[::-1]
    assert listed("?sort=oldest") == ids
    assert listed("?sort=changed") == [ids[0], ids[3], ids[2], ids[1]]
    assert listed("?sort=review") == [ids[1], ids[3], ids[2], ids[0]]
    assert listed("?sort=oldest&needs_review=false") == [ids[0], ids[2], ids[3]]

    # Pages are numbered and counted, and keep the order and filters.
    first = desk.get("/desk?sort=oldest&limit=3")
    assert "1–3 of 4 claims · page 1 of 2" in text_of(first)
    following = re.search(r'href="([^"]+)" rel="next"', first.get_data(as_text=True)).group(1)
    second = desk.get(html.unescape(following))
    assert "4–4 of 4 claims · page 2 of 2" in text_of(second)
    assert re.findall(r'href="/desk/claims/(clm_\w+)"', second.get_data(as_text=True)) == [ids[3]]
    assert 'rel="prev"' in second.get_data(as_text=True)
    beyond = desk.get("/desk?limit=3&page=9")
    assert "There is no page 9: 4 claims make 2." in text_of(beyond)
    for bad in ("?page=0", "?sort=sideways", "?page=x", "?limit=100000"):
        refused = desk.get("/desk" + bad)
        assert refused.status_code == 400, bad

    # A long text is cut at a word in the list, and whole on its page.
    queue = desk.get("/desk").get_data(as_text=True)
    shown = html.unescape(re.search(rf'href="/desk/claims/{ids[2]}">([^<]+)</a>', queue).group(1))
    assert shown.endswith("…")
    assert len(shown) <= 200
    assert long_text.startswith(shown.removesuffix("…"))
    assert long_text[len(shown) - 1] == " "  # cut between words
    assert long_text in text_of(desk.get(f"/desk/claims/{ids[2]}"))
