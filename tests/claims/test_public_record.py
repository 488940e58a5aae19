"""The public record: without a token, a published claim reads exactly as its current verdict froze
it, through every door; its history can be checked from the API's answer alone."""

import hashlib
import io
import json
from datetime import datetime

import sqlalchemy as sa
from click.testing import CliRunner

from service.cli import main
from tests.conftest import SUMMARY, publish

SECOND = b"The Foreign Ministry published the full list of co-sponsors on its website.\n"


def snapshot_of(client, person, source_id: str) -> dict:
    return client.get(f"/api/v1/sources/{source_id}/snapshots", headers=person.headers).get_json()["items"][0]


def content(client, source_id: str, snapshot_id: str, headers: dict | None = None) -> int:
    with client.get(
        f"/api/v1/sources/{source_id}/snapshots/{snapshot_id}/content", headers=headers or {}
    ) as r:
        return r.status_code


def test_correction_work_reaches_no_reader_through_any_door(client, act, desk) -> None:
    claim_id, alice, bob, editor = desk["claim_id"], desk["alice"], desk["bob"], desk["editor"]
    publish(act, desk, "true")
    published = client.get(f"/api/v1/claims/{claim_id}").get_json()
    first_snapshot = published["citations"][0]["anchor"]["snapshot_id"]

    # The correction's research: an edit, a new appearance, a new document cited with a note,
    # and a proposal with its draft summary.
    assert act(editor, "correct", note="An internal note: the count may be off.").status_code == 200
    etag = act.etag(alice)
    edited = client.patch(
        f"/api/v1/claims/{claim_id}",
        json={"text": "Seoul co-sponsored the resolution again.", "claimant": "A new claimant"},
        headers={**alice.headers, "If-Match": etag},
    )
    assert edited.status_code == 200
    appearance = client.post(
        f"/api/v1/claims/{claim_id}/appearances",
        json={"url": "https://unapproved.example/story", "title": "An unapproved story"},
        headers=desk["submitter"].headers,
    )
    assert appearance.status_code == 201
    upload = client.post(
        "/api/v1/sources",
        data={"file": (io.BytesIO(SECOND), "list.txt"), "title": "A new, unpublished source"},
        headers=alice.headers,
        content_type="multipart/form-data",
    ).get_json()
    cited = client.post(
        f"/api/v1/claims/{claim_id}/citations",
        json={
            "source_id": upload["id"],
            "relation": "supports",
            "quote": {"exact": "full list of co-sponsors"},
            "note": "A reviewer's unpublished note.",
        },
        headers=alice.headers,
    )
    assert cited.status_code == 201
    draft = "A draft summary that is not approved yet, misleading."
    assert act(alice, "propose", rating="misleading", summary=draft).status_code == 200
    new_snapshot = snapshot_of(client, alice, upload["id"])["id"]
    unpublished = [
        "again",
        "A new claimant",
        "unapproved.example",
        "An unapproved story",
        "A new, unpublished source",
        "unpublished note",
        "full list of co-sponsors",
        draft,
        "Misleading",
        "misleading",
        "internal note",
    ]

    def hidden(text: str, door: str) -> None:
        for words in unpublished:
            assert words not in text, f"{words!r} shows through {door}"

    # The API, without a token: the record as approved.
    reader = client.get(f"/api/v1/claims/{claim_id}").get_json()
    hidden(json.dumps(reader), "GET /api/v1/claims/{id}")
    assert reader["text"] == "Seoul co-sponsored the resolution."
    assert reader["status"] == "published"
    assert reader["proposal"] is None
    assert len(reader["citations"]) == 1
    assert reader["verdict"]["rating"] == "true"
    hidden(json.dumps(client.get("/api/v1/claims").get_json()), "GET /api/v1/claims")
    history = client.get(f"/api/v1/claims/{claim_id}/history").get_json()
    hidden(json.dumps(history), "the history")
    assert history["items"][-1]["action"] == "approve"
    assert history["head"] == published["history"]
    # Pages, badges, feed, oEmbed, embed, ClaimReview.
    hidden(client.get(f"/c/{claim_id}").get_data(as_text=True), "the claim page")
    assert "True" in client.get(f"/badges/{claim_id}.svg").get_data(as_text=True)
    hidden(client.get("/claimreview.json").get_data(as_text=True), "the feed")
    hidden(client.get(f"/api/v1/claims/{claim_id}/claimreview").get_data(as_text=True), "the ClaimReview")
    page_url = reader["links"]["page"]
    hidden(json.dumps(client.get("/oembed", query_string={"url": page_url}).get_json()), "oEmbed")
    hidden(json.dumps(client.get(f"/api/v1/claims/{claim_id}/embed").get_json()), "the embed")
    # Archived bytes: the approved evidence's copy is public, the new document's is not.
    assert content(client, desk["source_id"], first_snapshot) == 200
    assert content(client, upload["id"], new_snapshot) == 404
    assert content(client, upload["id"], new_snapshot, alice.headers) == 200

    # The desk, with a token, sees the work in progress.
    internal = client.get(f"/api/v1/claims/{claim_id}", headers=alice.headers).get_json()
    assert internal["text"] == "Seoul co-sponsored the resolution again."
    assert internal["proposal"]["summary"] == draft

    # Approved: all of it is the public record now.
    assert act(bob, "approve", correction_note="The list of sponsors was published.").status_code == 200
    reader = client.get(f"/api/v1/claims/{claim_id}").get_json()
    assert reader["text"] == "Seoul co-sponsored the resolution again."
    assert reader["claimant"] == "A new claimant"
    assert reader["verdict"]["rating"] == "misleading"
    assert any(a["url"] == "https://unapproved.example/story" for a in reader["appearances"])
    assert content(client, upload["id"], new_snapshot) == 200
    assert "Misleading" in client.get(f"/badges/{claim_id}.svg").get_data(as_text=True)


def test_propose_and_approve_name_every_quote_not_found(client, act, desk, engine) -> None:
    claim_id, alice, bob = desk["claim_id"], desk["alice"], desk["bob"]
    missing = client.post(
        f"/api/v1/claims/{claim_id}/citations",
        json={"source_id": desk["source_id"], "relation": "refutes", "quote": {"exact": "words never said"}},
        headers=alice.headers,
    ).get_json()["citations"][-1]
    assert missing["anchor"]["status"] == "not_found"
    act(alice, "start_research")
    refused = act(alice, "propose", rating="true", summary=SUMMARY)
    assert refused.status_code == 409
    assert [c["id"] for c in refused.get_json()["citations"]] == [missing["id"]]
    assert missing["id"] in refused.get_json()["detail"]
    client.delete(f"/api/v1/claims/{claim_id}/citations/{missing['id']}", headers=alice.headers)
    assert act(alice, "propose", rating="true", summary=SUMMARY).status_code == 200
    # While it waited for approval, a re-capture lost the quote: approval names it.
    with engine.begin() as conn:
        conn.execute(
            sa.text("UPDATE citation SET anchor_status = 'source_changed' WHERE claim_id = :c"),
            {"c": claim_id},
        )
    refused = act(bob, "approve")
    assert refused.status_code == 409
    assert refused.get_json()["citations"][0]["anchor_status"] == "source_changed"
    assert client.get(f"/api/v1/claims/{claim_id}").status_code == 404  # nothing was published


def _recipe_hash(fields: dict) -> str:
    """The README's recipe, written out again here: canonical JSON of the hashed fields."""
    raw = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def _as_hashed(at: str) -> str:
    return at.replace("Z", "+00:00")


def test_anyone_can_recompute_the_history_from_the_api_alone(client, act, desk) -> None:
    publish(act, desk, "true")
    claim_id = desk["claim_id"]
    reader = client.get(f"/api/v1/claims/{claim_id}").get_json()
    for headers in ({}, desk["alice"].headers):
        history = client.get(f"/api/v1/claims/{claim_id}/history", headers=headers).get_json()
        previous = "0" * 64
        for event in history["items"]:
            fields = {
                k: event[k]
                for k in ("seq", "actor", "action", "from_status", "to_status", "note", "verdict_version")
            }
            fields |= {"claim_id": claim_id, "at": _as_hashed(event["at"]), "prev_hash": previous}
            if event["content_hash"] is not None:
                fields["content_hash"] = event["content_hash"]
            assert event["prev_hash"] == previous
            assert _recipe_hash(fields) == event["hash"], event
            previous = event["hash"]
        assert history["head"]["hash"] == previous
        assert history["chain_intact"] is True
        assert datetime.fromisoformat(_as_hashed(history["items"][0]["at"])).microsecond >= 0
    # The approval covers the verdict's content: recompute its digest from the verdict as shown.
    verdict = reader["verdict"]
    digest = _recipe_hash(
        {
            "claim_id": claim_id,
            "version": verdict["version"],
            "rating": verdict["rating"],
            "summary": verdict["summary"],
            "proposer": verdict["proposer"],
            "approvers": verdict["approvers"],
            "proposed_at": _as_hashed(verdict["proposed_at"]),
            "published_at": _as_hashed(verdict["published_at"]),
            "correction_note": verdict["correction_note"],
        }
    )
    approval = [
        e
        for e in client.get(f"/api/v1/claims/{claim_id}/history").get_json()["items"]
        if e["action"] == "approve"
    ]
    assert approval[-1]["content_hash"] == digest == verdict["digest"]
    assert reader["history"] == {"seq": approval[-1]["seq"], "hash": approval[-1]["hash"]}


def test_a_deleted_tail_and_an_edited_verdict_are_seen(
    client, act, desk, engine, database_url, tmp_path, monkeypatch
) -> None:
    publish(act, desk, "true")
    claim_id, alice = desk["claim_id"], desk["alice"]
    act(desk["editor"], "correct", note="Looking again.")

    def history(headers: dict) -> dict:
        return client.get(f"/api/v1/claims/{claim_id}/history", headers=headers).get_json()

    def verify() -> tuple[int, str]:
        monkeypatch.setenv("FACTDESK_DATABASE_URL", database_url)
        monkeypatch.setenv("FACTDESK_DATA_DIR", str(tmp_path / "cli"))
        result = CliRunner().invoke(main, ["history", "verify"])
        return result.exit_code, result.output

    assert history(alice.headers)["chain_intact"] is True
    assert verify()[0] == 0
    # The newest event is deleted: the chain now ends before the head the claim names.
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                "DELETE FROM claim_event WHERE claim_id = :c AND seq = (SELECT max(seq) FROM claim_event WHERE claim_id = :c)"
            ),
            {"c": claim_id},
        )
    broken = history(alice.headers)
    assert broken["chain_intact"] is False
    assert "head" in broken["problem"]
    code, output = verify()
    assert code != 0
    assert claim_id in output
    # Put back as it was (a fresh claim's chain), then change a published verdict's rating.
    with engine.begin() as conn:
        last = conn.execute(
            sa.text("SELECT seq, hash FROM claim_event WHERE claim_id = :c ORDER BY seq DESC LIMIT 1"),
            {"c": claim_id},
        ).one()
        conn.execute(
            sa.text("UPDATE claim SET history_seq = :s, history_head = :h WHERE id = :c"),
            {"s": last.seq, "h": last.hash, "c": claim_id},
        )
    assert history(alice.headers)["chain_intact"] is True
    with engine.begin() as conn:
        conn.execute(sa.text("UPDATE verdict SET rating = 'false' WHERE claim_id = :c"), {"c": claim_id})
    for headers in ({}, alice.headers):
        edited = history(headers)
        assert edited["chain_intact"] is False
        assert "verdict version 1 was changed" in edited["problem"]
    assert verify()[0] != 0
