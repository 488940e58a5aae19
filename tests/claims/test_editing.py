"""Editing claims with If-Match, and the hash-chained, append-only history every change writes."""

from concurrent.futures import ThreadPoolExecutor

import sqlalchemy as sa

from tests.conftest import set_status


def patch(client, person, claim: dict, changes: dict, etag: str | None = "same"):
    headers = dict(person.headers)
    if etag is not None:
        headers["If-Match"] = claim["etag"] if etag == "same" else etag
    return client.patch(f"/api/v1/claims/{claim['id']}", json=changes, headers=headers)


def test_patch_needs_if_match(client, submit, reviewer) -> None:
    claim = submit("Seoul backed the resolution").get_json()
    response = patch(client, reviewer, claim, {"claimant": "UPI"}, etag=None)
    assert response.status_code == 428
    assert response.mimetype == "application/problem+json"


def test_patch_with_current_etag_changes_and_bumps_etag(client, submit, reviewer) -> None:
    claim = submit("Seoul backed the resolution").get_json()
    response = patch(
        client,
        reviewer,
        claim,
        {"claimant": "UPI", "tags": ["un"], "language": "en", "text": "Seoul co-sponsored the resolution"},
    )
    assert response.status_code == 200
    body = response.get_json()
    assert body["claimant"] == "UPI"
    assert body["tags"] == ["un"]
    assert body["language"] == "en"
    assert body["text"] == "Seoul co-sponsored the resolution"
    assert response.headers["ETag"] == body["etag"] != claim["etag"]
    # The old text no longer names this claim; the new one does.
    assert (
        client.get("/api/v1/claims", query_string={"q": "backed"}, headers=reviewer.headers).get_json()[
            "items"
        ]
        == []
    )
    assert submit("Seoul co-sponsored the resolution.").status_code == 200


def test_stale_if_match_is_412_and_changes_nothing(client, submit, reviewer) -> None:
    claim = submit("Seoul backed the resolution").get_json()
    assert patch(client, reviewer, claim, {"claimant": "First"}).status_code == 200
    stale = patch(client, reviewer, claim, {"claimant": "Second"})
    assert stale.status_code == 412
    current = client.get(f"/api/v1/claims/{claim['id']}", headers=reviewer.headers).get_json()
    assert current["claimant"] == "First"


def test_two_editors_on_one_version_exactly_one_wins(app, submit, make_user) -> None:
    claim = submit("Seoul backed the resolution").get_json()
    editors = [make_user("reviewer") for _ in range(6)]

    def edit(i: int) -> int:
        return patch(app.test_client(), editors[i], claim, {"claimant": f"Editor {i}"}).status_code

    with ThreadPoolExecutor(6) as pool:
        statuses = sorted(pool.map(edit, range(6)))
    assert statuses == [200] + [412] * 5


def test_published_claims_refuse_patch(client, submit, reviewer, engine) -> None:
    claim = submit("A claim that is already published").get_json()
    set_status(engine, claim["id"], "published")
    response = patch(client, reviewer, claim, {"claimant": "UPI"})
    assert response.status_code == 409
    assert "correct" in response.get_json()["detail"]


def test_patch_to_the_text_of_another_claim_is_409(client, submit, reviewer) -> None:
    other = submit("The vote is in December").get_json()
    claim = submit("The vote is in January").get_json()
    response = patch(client, reviewer, claim, {"text": "The vote is in December."})
    assert response.status_code == 409
    assert response.get_json()["duplicate_of"] == other["id"]


def test_empty_patch_is_422(client, submit, reviewer) -> None:
    claim = submit("Seoul backed the resolution").get_json()
    assert patch(client, reviewer, claim, {}).status_code == 422
    assert patch(client, reviewer, claim, {"status": "published"}).status_code == 422


def test_history_records_every_change_in_a_verifiable_chain(client, submit, reviewer) -> None:
    claim = submit("Seoul backed the resolution", appearance={"quote": "Seoul backed it."}).get_json()
    patch(client, reviewer, claim, {"claimant": "UPI"})
    submit("Seoul backed the resolution", appearance={"quote": "Seoul backed it again."})
    history = client.get(f"/api/v1/claims/{claim['id']}/history", headers=reviewer.headers).get_json()
    events = history["items"]
    assert [e["action"] for e in events] == ["submitted", "edited", "appearance_added"]
    assert events[0]["to_status"] == "submitted"
    assert events[0]["from_status"] is None
    assert events[1]["actor"] == reviewer.id
    assert "claimant" in events[1]["note"]
    assert all(e["at"].endswith("Z") for e in events)
    assert history["chain_intact"] is True
    assert events[0]["prev_hash"] == "0" * 64
    assert [e["prev_hash"] for e in events[1:]] == [e["hash"] for e in events[:-1]]


def test_a_tampered_event_breaks_the_chain(client, submit, reviewer, engine) -> None:
    claim = submit("Seoul backed the resolution").get_json()
    patch(client, reviewer, claim, {"claimant": "UPI"})
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE claim_event SET note = 'nothing happened' WHERE action = 'edited'"))
    history = client.get(f"/api/v1/claims/{claim['id']}/history", headers=reviewer.headers).get_json()
    assert history["chain_intact"] is False
