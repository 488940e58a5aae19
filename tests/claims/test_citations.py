"""Citations: quotes anchored in archived source text, and what happens when the source changes."""

import pytest

from tests.conftest import set_status

DOC = """Press release of the Foreign Ministry.

Our government, recognizing the importance of substantially improving the human rights of
North Korean citizens, has participated as a co-sponsor of this resolution.

The resolution was adopted. The vote is expected in December. The resolution was adopted.
"""


@pytest.fixture
def doc(httpserver):
    httpserver.expect_request("/release").respond_with_data(DOC, content_type="text/plain")
    return httpserver.url_for("/release")


def cite(client, person, claim_id: str, **body):
    body.setdefault("relation", "supports")
    return client.post(f"/api/v1/claims/{claim_id}/citations", json=body, headers=person.headers)


@pytest.fixture
def claim(submit) -> dict:
    return submit("Seoul co-sponsored the resolution on North Korean human rights.").get_json()


def test_citing_a_url_adds_the_source_and_anchors_the_quote(client, reviewer, claim, doc) -> None:
    quote = "has participated as a co-sponsor of this resolution"
    response = cite(client, reviewer, claim["id"], url=doc, quote={"exact": quote}, locator="para. 2")
    assert response.status_code == 201, response.get_json()
    assert "/citations/cit_" in response.headers["Location"]
    # The capture ran after the commit: read the claim again to see the anchor.
    fresh = client.get(f"/api/v1/claims/{claim['id']}", headers=reviewer.headers).get_json()
    citation = fresh["citations"][0]
    assert citation["source"]["url"] == doc
    assert citation["source"]["health"] == "ok"
    anchor = citation["anchor"]
    assert anchor["status"] == "found"
    assert anchor["score"] == 1.0
    assert anchor["fuzzy"] is False
    text = client.get(citation["links"]["text"].split("localhost", 1)[1], headers=reviewer.headers).get_data(
        as_text=True
    )
    assert text[anchor["start"] : anchor["end"]] == quote
    assert fresh["etag"] != claim["etag"]
    history = client.get(f"/api/v1/claims/{claim['id']}/history", headers=reviewer.headers).get_json()
    assert [e["action"] for e in history["items"]][-1] == "citation_added"


def source_id_for(client, person, url: str) -> str:
    return client.post("/api/v1/sources", json={"url": url}, headers=person.headers).get_json()["id"]


def test_quote_with_curly_quotes_and_a_line_break_is_found(client, reviewer, claim, doc) -> None:
    source_id = source_id_for(client, reviewer, doc)
    body = cite(
        client,
        reviewer,
        claim["id"],
        source_id=source_id,
        quote={"exact": "improving the human rights of North Korean citizens"},
    ).get_json()
    assert body["citations"][0]["anchor"]["status"] == "found"


def test_repeated_sentence_is_told_apart_by_the_suffix(client, reviewer, claim, doc) -> None:
    source_id = source_id_for(client, reviewer, doc)
    first = cite(
        client,
        reviewer,
        claim["id"],
        source_id=source_id,
        quote={"exact": "The resolution was adopted.", "suffix": " The vote is expected"},
    ).get_json()
    second = cite(
        client,
        reviewer,
        claim["id"],
        source_id=source_id,
        quote={"exact": "The resolution was adopted.", "prefix": "expected in December. "},
    ).get_json()
    a, b = first["citations"][0]["anchor"], second["citations"][1]["anchor"]
    assert a["status"] == b["status"] == "found"
    assert a["start"] < b["start"]
    assert DOC.index("The resolution was adopted.") == a["start"]


def test_a_quote_that_is_not_there_is_not_found(client, reviewer, claim, doc) -> None:
    source_id = source_id_for(client, reviewer, doc)
    body = cite(
        client,
        reviewer,
        claim["id"],
        source_id=source_id,
        quote={"exact": "The United States co-sponsored the resolution."},
    ).get_json()
    assert body["citations"][0]["anchor"]["status"] == "not_found"


def test_citation_rules(client, reviewer, submitter, claim, doc, engine) -> None:
    source_id = source_id_for(client, reviewer, doc)
    ok = {"source_id": source_id, "quote": {"exact": "co-sponsor"}}
    assert cite(client, submitter, claim["id"], **ok).status_code == 403
    assert cite(client, reviewer, "clm_missing", **ok).status_code == 404
    for bad in (
        {**ok, "relation": "maybe"},
        {"quote": {"exact": "x"}},
        {**ok, "url": doc},
        {"source_id": source_id, "quote": {}},
        {"source_id": "src_nope", "quote": {"exact": "x"}},
    ):
        response = cite(client, reviewer, claim["id"], **bad)
        assert response.status_code == 422, bad
    set_status(engine, claim["id"], "published")
    assert cite(client, reviewer, claim["id"], **ok).status_code == 409


def test_delete_citation_until_published(client, reviewer, claim, doc, engine) -> None:
    source_id = source_id_for(client, reviewer, doc)
    body = cite(client, reviewer, claim["id"], source_id=source_id, quote={"exact": "co-sponsor"}).get_json()
    first = body["citations"][0]["id"]
    cite(client, reviewer, claim["id"], source_id=source_id, quote={"exact": "December"})
    path = f"/api/v1/claims/{claim['id']}/citations"
    deleted = client.delete(f"{path}/{first}", headers=reviewer.headers)
    assert deleted.status_code == 200
    assert len(deleted.get_json()["citations"]) == 1
    assert client.delete(f"{path}/{first}", headers=reviewer.headers).status_code == 404
    set_status(engine, claim["id"], "published")
    second = deleted.get_json()["citations"][0]["id"]
    assert client.delete(f"{path}/{second}", headers=reviewer.headers).status_code == 409


def test_pending_citation_is_anchored_by_the_first_good_capture(client, reviewer, claim, httpserver) -> None:
    httpserver.expect_ordered_request("/late").respond_with_data(
        "down", status=503, content_type="text/plain"
    )
    httpserver.expect_ordered_request("/late").respond_with_data(DOC, content_type="text/plain")
    url = httpserver.url_for("/late")
    cite(client, reviewer, claim["id"], url=url, quote={"exact": "co-sponsor of this resolution"})
    fresh = client.get(f"/api/v1/claims/{claim['id']}", headers=reviewer.headers).get_json()
    assert fresh["citations"][0]["anchor"]["status"] == "pending"
    client.post(f"/api/v1/sources/{fresh['citations'][0]['source_id']}/captures", headers=reviewer.headers)
    fresh = client.get(f"/api/v1/claims/{claim['id']}", headers=reviewer.headers).get_json()
    assert fresh["citations"][0]["anchor"]["status"] == "found"


def test_changed_source_keeps_a_quote_still_there_and_flags_one_that_is_gone(
    client,
    reviewer,
    submit,
    httpserver,
    engine,
) -> None:
    edited = DOC.replace("The vote is expected in December.", "The vote was postponed.")
    edited = "A new first line shifts every offset.\n" + edited
    httpserver.expect_ordered_request("/doc").respond_with_data(DOC, content_type="text/plain")
    httpserver.expect_ordered_request("/doc").respond_with_data(edited, content_type="text/plain")
    url = httpserver.url_for("/doc")
    kept = submit("Seoul co-sponsored the resolution.").get_json()
    lost = submit("The U.N. vote is expected in December.").get_json()
    cite(client, reviewer, kept["id"], url=url, quote={"exact": "participated as a co-sponsor"})
    source_id = client.get(f"/api/v1/claims/{kept['id']}", headers=reviewer.headers).get_json()["citations"][
        0
    ]["source_id"]
    cite(
        client,
        reviewer,
        lost["id"],
        source_id=source_id,
        quote={"exact": "The vote is expected in December."},
    )
    set_status(engine, lost["id"], "published")
    before = client.get(f"/api/v1/claims/{lost['id']}", headers=reviewer.headers).get_json()

    client.post(f"/api/v1/sources/{source_id}/captures", headers=reviewer.headers)

    kept_now = client.get(f"/api/v1/claims/{kept['id']}", headers=reviewer.headers).get_json()
    anchor = kept_now["citations"][0]["anchor"]
    assert anchor["status"] == "found"
    assert edited[anchor["start"] : anchor["end"]] == "participated as a co-sponsor"
    assert kept_now["needs_review"] is False
    lost_now = client.get(f"/api/v1/claims/{lost['id']}", headers=reviewer.headers).get_json()
    assert lost_now["citations"][0]["anchor"]["status"] == "source_changed"
    # Still pointing at the snapshot where the quote was.
    assert (
        lost_now["citations"][0]["anchor"]["snapshot_id"] == before["citations"][0]["anchor"]["snapshot_id"]
    )
    assert lost_now["needs_review"] is True
    assert lost_now["etag"] != before["etag"]
    events = client.get(f"/api/v1/claims/{lost['id']}/history", headers=reviewer.headers).get_json()
    assert events["items"][-1]["action"] == "source_changed"
    assert events["chain_intact"]
    flagged = client.get("/api/v1/claims?needs_review=true", headers=reviewer.headers).get_json()["items"]
    assert [c["id"] for c in flagged] == [lost["id"]]
    citing = client.get(f"/api/v1/claims?source={source_id}", headers=reviewer.headers).get_json()["items"]
    assert {c["id"] for c in citing} == {kept["id"], lost["id"]}
