"""The verification workflow over HTTP: every transition, every refusal, corrections, races."""

import io
from concurrent.futures import ThreadPoolExecutor

import pytest

from claims.workflow import TRANSITIONS
from tests.conftest import STATEMENT, SUMMARY, Act, publish


def test_the_happy_path_publishes_a_verdict_approved_by_someone_else(act, desk, client) -> None:
    started = act(desk["alice"], "start_research")
    assert started.status_code == 200
    body = started.get_json()
    assert body["status"] == "researching"
    assert body["assignee"] == desk["alice"].id
    assert started.headers["ETag"] == body["etag"]
    proposed = act(desk["alice"], "propose", rating="true", summary=SUMMARY).get_json()
    assert proposed["status"] == "in_review"
    assert proposed["proposal"]["rating"] == "true"
    assert proposed["proposal"]["proposer"] == desk["alice"].id
    assert proposed["verdict"] is None
    published = act(desk["bob"], "approve").get_json()
    assert published["status"] == "published"
    assert published["proposal"] is None
    verdict = published["verdict"]
    assert verdict["version"] == 1
    assert verdict["rating"] == "true"
    assert verdict["rating_label"] == "True"
    assert verdict["proposer"] == desk["alice"].id
    assert verdict["approvers"] == [desk["bob"].id]
    assert published["verdicts"] == [verdict]
    # Now public: readers without a token see it, and its archived source.
    public = client.get(f"/api/v1/claims/{desk['claim_id']}")
    assert public.status_code == 200
    assert public.get_json()["verdict"]["rating"] == "true"
    history = client.get(f"/api/v1/claims/{desk['claim_id']}/history").get_json()
    moves = [(e["action"], e["from_status"], e["to_status"]) for e in history["items"] if e["from_status"]]
    assert moves == [
        ("start_research", "submitted", "researching"),
        ("propose", "researching", "in_review"),
        ("approve", "in_review", "published"),
    ]
    assert history["items"][-1]["verdict_version"] == 1
    assert history["chain_intact"]


def test_the_proposer_cannot_approve(act, desk) -> None:
    act(desk["alice"], "start_research")
    act(desk["alice"], "propose", rating="true", summary=SUMMARY)
    response = act(desk["alice"], "approve")
    assert response.status_code == 403
    assert "another reviewer" in response.get_json()["detail"]


@pytest.mark.parametrize(
    "status_actions",
    [
        ("submitted", ["propose", "approve", "request_changes", "correct", "reopen"]),
    ],
)
def test_actions_from_the_wrong_status_are_409_with_allowed_actions(act, desk, status_actions) -> None:
    _, refused = status_actions
    for action in refused:
        response = act(desk["editor"], action, note="x", rating="true", summary=SUMMARY)
        assert response.status_code == 409, action
        assert response.get_json()["allowed_actions"] == ["start_research", "dismiss"]


def test_every_refused_origin_status_is_409(act, desk) -> None:
    """Walk the claim through every status; at each, every action the table refuses is a 409."""

    def refused_from(status: str) -> list[str]:
        return [t.action for t in TRANSITIONS if status not in t.from_statuses]

    def check(status: str) -> None:
        for action in refused_from(status):
            assert act(desk["editor"], action).status_code == 409, (status, action)

    check("submitted")
    act(desk["alice"], "start_research")
    check("researching")
    act(desk["alice"], "propose", rating="true", summary=SUMMARY)
    check("in_review")
    act(desk["bob"], "approve")
    check("published")


def test_roles_are_enforced_per_action(act, desk) -> None:
    assert act(desk["submitter"], "start_research").status_code == 403
    assert act(desk["alice"], "dismiss", reason="opinion").status_code == 403
    act(desk["alice"], "start_research")
    act(desk["alice"], "propose", rating="true", summary=SUMMARY)
    act(desk["bob"], "approve")
    assert act(desk["alice"], "correct", note="A new figure was published.").status_code == 403
    assert act(desk["editor"], "correct", note="A new figure was published.").status_code == 200


def test_missing_and_foreign_fields_are_422(act, desk) -> None:
    act(desk["alice"], "start_research")
    missing = act(desk["alice"], "propose", rating="true")
    assert missing.status_code == 422
    assert "summary" in missing.get_json()["errors"]
    short = act(desk["alice"], "propose", rating="true", summary="Too short.")
    assert short.status_code == 422
    assert "summary" in short.get_json()["errors"]
    unknown_rating = act(desk["alice"], "propose", rating="pants_on_fire", summary=SUMMARY)
    assert unknown_rating.status_code == 422
    assert "rating" in unknown_rating.get_json()["errors"]
    foreign = act(desk["alice"], "propose", rating="true", summary=SUMMARY, reason="opinion")
    assert foreign.status_code == 422
    assert "reason" in foreign.get_json()["errors"]
    act(desk["alice"], "propose", rating="true", summary=SUMMARY)
    no_note = act(desk["bob"], "request_changes")
    assert no_note.status_code == 422
    assert "note" in no_note.get_json()["errors"]
    assert act(desk["bob"], "bogus_action").status_code == 422


def test_if_match_is_required_and_must_be_current(act, desk) -> None:
    client = act.client
    no_header = client.post(
        f"/api/v1/claims/{desk['claim_id']}/transitions",
        headers=desk["alice"].headers,
        json={"action": "start_research"},
    )
    assert no_header.status_code == 428
    stale = act.etag(desk["alice"])
    act(desk["alice"], "start_research")
    assert act(desk["editor"], "dismiss", etag=stale, reason="opinion").status_code == 412


def test_propose_needs_an_archived_citation(client, make_user, submit) -> None:
    alice = make_user("reviewer")
    claim = submit("A claim with no sources at all.").get_json()
    act = Act(client, claim["id"])
    act(alice, "start_research")
    response = act(alice, "propose", rating="false", summary=SUMMARY)
    assert response.status_code == 409
    assert "successful snapshot" in response.get_json()["detail"]
    # A citation whose quote was not found is not enough for a true/false rating …
    source = client.post(
        "/api/v1/sources",
        headers=alice.headers,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(STATEMENT), "s.txt")},
    ).get_json()
    client.post(
        f"/api/v1/claims/{claim['id']}/citations",
        headers=alice.headers,
        json={
            "source_id": source["id"],
            "relation": "refutes",
            "quote": {"exact": "words that are not there"},
        },
    )
    response = act(alice, "propose", rating="false", summary=SUMMARY)
    assert response.status_code == 409
    assert "found" in response.get_json()["detail"]
    # … nor for `unverifiable`: readers are only ever shown quotes that were found.
    refused = act(alice, "propose", rating="unverifiable", summary=SUMMARY)
    assert refused.status_code == 409
    [unfound] = refused.get_json()["citations"]
    assert unfound["anchor_status"] == "not_found"
    assert unfound["id"] in refused.get_json()["detail"]
    # Without it, and with a context quote that was found, `unverifiable` goes through.
    client.delete(f"/api/v1/claims/{claim['id']}/citations/{unfound['id']}", headers=alice.headers)
    client.post(
        f"/api/v1/claims/{claim['id']}/citations",
        headers=alice.headers,
        json={"source_id": source["id"], "relation": "context", "quote": {"exact": "co-sponsor"}},
    )
    assert act(alice, "propose", rating="unverifiable", summary=SUMMARY).status_code == 200


def test_request_changes_sends_it_back_with_a_note(act, desk) -> None:
    act(desk["alice"], "start_research")
    act(desk["alice"], "propose", rating="true", summary=SUMMARY)
    response = act(desk["bob"], "request_changes", note="Cite the U.N. document too.")
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] == "researching"
    assert body["proposal"] is None
    again = act(desk["alice"], "propose", rating="mostly_true", summary=SUMMARY).get_json()
    assert again["proposal"]["rating"] == "mostly_true"
    assert again["proposal"]["approvals"] == []


def test_correction_keeps_the_old_verdict_public_until_the_new_one_is_approved(act, desk, client) -> None:
    publish(act, desk, "true")
    corrected = act(desk["editor"], "correct", note="The sponsor list changed.").get_json()
    assert corrected["status"] == "researching"
    public = client.get(f"/api/v1/claims/{desk['claim_id']}").get_json()
    assert public["verdict"]["rating"] == "true"
    assert public["verdict"]["version"] == 1
    act(desk["alice"], "propose", rating="mostly_true", summary=SUMMARY)
    public = client.get(f"/api/v1/claims/{desk['claim_id']}").get_json()
    assert public["verdict"]["rating"] == "true"  # the proposal is not public yet
    missing_note = act(desk["bob"], "approve")
    assert missing_note.status_code == 422
    assert "correction_note" in missing_note.get_json()["errors"]
    done = act(desk["bob"], "approve", correction_note="Seoul joined late; the rating is now mostly true.")
    body = done.get_json()
    assert body["verdict"]["version"] == 2
    assert body["verdict"]["rating"] == "mostly_true"
    assert body["verdict"]["correction_note"].startswith("Seoul joined late")
    assert [v["version"] for v in body["verdicts"]] == [1, 2]
    assert body["verdicts"][0]["correction_note"] is None
    listed = client.get("/api/v1/claims?rating=mostly_true").get_json()["items"]
    assert [c["id"] for c in listed] == [desk["claim_id"]]


def test_two_approvals_when_required(make_app, make_user, submit) -> None:
    app = make_app(approvals_required=2)
    client = app.test_client()
    alice, bob, carol = make_user("reviewer"), make_user("reviewer"), make_user("reviewer")
    claim = client.post(
        "/api/v1/claims", json={"text": "Seoul co-sponsored it."}, headers=alice.headers
    ).get_json()
    source = client.post(
        "/api/v1/sources",
        headers=alice.headers,
        content_type="multipart/form-data",
        data={"file": (io.BytesIO(STATEMENT), "s.txt")},
    ).get_json()
    client.post(
        f"/api/v1/claims/{claim['id']}/citations",
        headers=alice.headers,
        json={"source_id": source["id"], "relation": "supports", "quote": {"exact": "co-sponsor"}},
    )
    act = Act(client, claim["id"])
    act(alice, "start_research")
    act(alice, "propose", rating="true", summary=SUMMARY)
    first = act(bob, "approve").get_json()
    assert first["status"] == "in_review"
    assert len(first["proposal"]["approvals"]) == 1
    assert act(bob, "approve").status_code == 409  # not twice by one person
    second = act(carol, "approve").get_json()
    assert second["status"] == "published"
    assert second["verdict"]["approvers"] == [bob.id, carol.id]


def test_dismiss_as_duplicate_moves_appearances_and_both_histories_say_so(act, desk, client, submit) -> None:
    kept = submit(
        "Seoul co-sponsored the U.N. resolution on North Korea.",
        appearance={"url": "https://example.com/kept"},
    ).get_json()
    client.post(
        f"/api/v1/claims/{desk['claim_id']}/appearances",
        headers=desk["submitter"].headers,
        json={"url": "https://example.com/dup", "quote": "Seoul co-sponsored"},
    )
    no_target = act(desk["editor"], "dismiss", reason="duplicate")
    assert no_target.status_code == 422
    assert "duplicate_of" in no_target.get_json()["errors"]
    itself = act(desk["editor"], "dismiss", reason="duplicate", duplicate_of=desk["claim_id"])
    assert itself.status_code == 422
    response = act(desk["editor"], "dismiss", reason="duplicate", duplicate_of=kept["id"])
    body = response.get_json()
    assert response.status_code == 200
    assert body["status"] == "dismissed"
    assert body["duplicate_of"] == kept["id"]
    assert body["appearances"] == []
    kept_now = client.get(f"/api/v1/claims/{kept['id']}", headers=desk["editor"].headers).get_json()
    assert {a["url"] for a in kept_now["appearances"]} == {
        "https://example.com/kept",
        "https://example.com/dup",
    }
    ours = client.get(f"/api/v1/claims/{desk['claim_id']}/history", headers=desk["editor"].headers).get_json()
    theirs = client.get(f"/api/v1/claims/{kept['id']}/history", headers=desk["editor"].headers).get_json()
    assert kept["id"] in ours["items"][-1]["note"]
    assert desk["claim_id"] in theirs["items"][-1]["note"]
    assert theirs["items"][-1]["action"] == "duplicate_merged"
    reopened = act(desk["editor"], "reopen", note="Not the same claim after all.").get_json()
    assert reopened["status"] == "submitted"
    assert reopened["duplicate_of"] is None


def test_a_published_claim_cannot_be_dismissed(act, desk) -> None:
    publish(act, desk)
    act(desk["editor"], "correct", note="Checking again.")
    response = act(desk["editor"], "dismiss", reason="opinion")
    assert response.status_code == 409
    assert "correct it" in response.get_json()["detail"]


def test_workflow_and_ratings_are_published(client) -> None:
    table = client.get("/api/v1/workflow").get_json()
    assert [t["action"] for t in table] == [t.action for t in TRANSITIONS]
    approve = next(t for t in table if t["action"] == "approve")
    assert approve == {
        "action": "approve",
        "from_statuses": ["in_review"],
        "to_status": "published",
        "role": "reviewer",
        "required": [],
        "optional": ["correction_note", "note"],
        "guard": approve["guard"],
    }
    ratings = client.get("/api/v1/ratings").get_json()
    assert [r["key"] for r in ratings] == [
        "true",
        "mostly_true",
        "mixed",
        "mostly_false",
        "false",
        "misleading",
        "unverifiable",
    ]
    assert ratings[-1]["value"] is None
    assert ratings[0]["value"] == 5


def test_two_approvers_racing_on_one_version_exactly_one_wins(app, desk) -> None:
    act = Act(app.test_client(), desk["claim_id"])
    act(desk["alice"], "start_research")
    act(desk["alice"], "propose", rating="true", summary=SUMMARY)
    etag = act.etag(desk["alice"])

    def approve(person) -> int:
        return Act(app.test_client(), desk["claim_id"])(person, "approve", etag=etag).status_code

    with ThreadPoolExecutor(2) as pool:
        statuses = sorted(pool.map(approve, [desk["bob"], desk["carol"]]))
    assert statuses == [200, 412]
    claim = (
        app.test_client().get(f"/api/v1/claims/{desk['claim_id']}", headers=desk["bob"].headers).get_json()
    )
    assert len(claim["verdicts"]) == 1
    assert len(claim["verdict"]["approvers"]) == 1
