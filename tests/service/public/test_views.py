"""Public output: badges, claim pages with ClaimReview, embeds, oEmbed and the feed — and that
nothing unpublished leaks through any of them."""

import json
import xml.etree.ElementTree as ET

import extruct
import pytest

from tests.conftest import SUMMARY, Act, cite_statement, publish, set_status

SVG = "{http://www.w3.org/2000/svg}"


def badge(client, claim_id: str, **params):
    return client.get(f"/badges/{claim_id}.svg", query_string=params)


def svg_text(response) -> str:
    root = ET.fromstring(response.data)
    return root.attrib["aria-label"]


def test_badge_states(client, act, desk, submit, make_user) -> None:
    assert svg_text(badge(client, desk["claim_id"])) == "fact-check: under review"
    other = submit("A claim that will be dismissed.").get_json()
    Act(client, other["id"])(desk["editor"], "dismiss", reason="opinion")
    assert svg_text(badge(client, other["id"])) == "fact-check: not rated"
    publish(act, desk, "mostly_false")
    published = badge(client, desk["claim_id"])
    assert svg_text(published) == "fact-check: Mostly false"
    assert "#ef6c00" in published.get_data(as_text=True)
    missing = badge(client, "clm_does_not_exist")
    assert missing.status_code == 404
    assert missing.mimetype == "image/svg+xml"
    assert svg_text(missing) == "fact-check: not found"


def test_badge_headers_etag_and_304(client, act, desk) -> None:
    first = badge(client, desk["claim_id"])
    assert first.mimetype == "image/svg+xml"
    assert first.headers["Cache-Control"] == "public, max-age=300"
    assert "Vary" not in first.headers
    etag = first.headers["ETag"]
    assert etag.startswith('"')
    assert not etag.startswith("W/")
    again = client.get(f"/badges/{desk['claim_id']}.svg", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.data == b""
    assert again.headers["ETag"] == etag
    # Another style is another rendering: another ETag.
    assert badge(client, desk["claim_id"], style="for-the-badge").headers["ETag"] != etag
    # A step that does not change the badge keeps its ETag; a published verdict changes it.
    act(desk["alice"], "start_research")
    assert badge(client, desk["claim_id"]).headers["ETag"] == etag
    act(desk["alice"], "propose", rating="true", summary=SUMMARY)
    act(desk["bob"], "approve")
    published = badge(client, desk["claim_id"])
    assert published.headers["ETag"] != etag
    stale = client.get(f"/badges/{desk['claim_id']}.svg", headers={"If-None-Match": etag})
    assert stale.status_code == 200


def test_badge_max_age_setting(make_app, submit) -> None:
    app = make_app(badge_max_age=60)
    claim = submit("Any claim at all.").get_json()
    assert badge(app.test_client(), claim["id"]).headers["Cache-Control"] == "public, max-age=60"


@pytest.mark.parametrize(
    "label",
    [
        '<script>alert("x")</script>',
        "\"quoted\" & 'single'",
        "نتيجة التحقق",
        "팩트체크",
        "事实核查",
        "✅ checked 🇺🇳",
    ],
)
def test_hostile_and_unicode_labels_are_escaped(client, submit, label: str) -> None:
    claim = submit("Any claim at all.").get_json()
    response = badge(client, claim["id"], label=label)
    assert response.status_code == 200
    root = ET.fromstring(response.data)  # well-formed XML
    assert root.attrib["aria-label"] == f"{label}: under review"
    assert not any(el.tag.endswith("script") for el in root.iter())
    assert "<script" not in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "params", [{"label": "x" * 41}, {"label": "x" * 1000}, {"style": "plastic"}, {"label": "bell\x07"}]
)
def test_bad_badge_parameters_are_422(client, submit, params: dict) -> None:
    claim = submit("Any claim at all.").get_json()
    response = badge(client, claim["id"], **params)
    assert response.status_code == 422
    assert response.mimetype == "application/problem+json"


def test_badge_json_is_the_shields_endpoint_schema(client, act, desk) -> None:
    publish(act, desk, "false")
    body = client.get(f"/badges/{desk['claim_id']}.json").get_json()
    assert body == {
        "schemaVersion": 1,
        "label": "fact-check",
        "message": "False",
        "color": "c62828",
        "cacheSeconds": 300,
    }
    missing = client.get("/badges/clm_nope.json")
    assert missing.status_code == 404
    assert missing.get_json()["message"] == "not found"


def test_claim_page_shows_the_verdict_and_its_evidence(client, act, desk) -> None:
    client.post(
        f"/api/v1/claims/{desk['claim_id']}/appearances",
        headers=desk["submitter"].headers,
        json={
            "url": "https://example.com/story",
            "title": "Seoul backs resolution",
            "publisher": "UPI",
            "published_at": "2025-11-19",
            "quote": "South Korea will again co-sponsor",
        },
    )
    publish(act, desk, "true")
    page = client.get(f"/c/{desk['claim_id']}")
    assert page.status_code == 200
    assert page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    for text in (
        "Seoul co-sponsored the resolution.",
        SUMMARY,
        "has participated as a co-sponsor of this resolution",
        "our archived copy",
        "Seoul backs resolution",
        "True",
    ):
        assert text in html, text
    assert "<script>" not in html
    assert "<script src" not in html
    assert 'type="application/json+oembed"' in html
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert page.headers["Referrer-Policy"]
    assert page.headers["X-Content-Type-Options"] == "nosniff"
    css = client.get("/static/factdesk.css")
    assert css.status_code == 200
    assert css.mimetype == "text/css"
    css.close()


def test_claim_page_json_ld_is_a_complete_claimreview(client, act, desk) -> None:
    client.post(
        f"/api/v1/claims/{desk['claim_id']}/appearances",
        headers=desk["submitter"].headers,
        json={
            "url": "https://example.com/story",
            "title": "Seoul backs resolution",
            "publisher": "UPI",
            "published_at": "2025-11-19",
        },
    )
    publish(act, desk, "mostly_true")
    page = client.get(f"/c/{desk['claim_id']}")
    data = extruct.extract(
        page.get_data(as_text=True), base_url=f"http://localhost/c/{desk['claim_id']}", syntaxes=["json-ld"]
    )["json-ld"]
    assert len(data) == 1
    review = data[0]
    assert review["@type"] == "ClaimReview"
    assert review["url"].endswith(f"/c/{desk['claim_id']}")
    assert review["claimReviewed"] == "Seoul co-sponsored the resolution."
    assert len(review["claimReviewed"]) < 75
    assert review["datePublished"]
    assert review["author"]["name"] == "Factdesk"
    item = review["itemReviewed"]
    assert item["@type"] == "Claim"
    assert item["datePublished"] == "2025-11-19"
    assert item["appearance"][0]["url"] == "https://example.com/story"
    assert item["firstAppearance"]["url"] == "https://example.com/story"
    assert review["reviewRating"] == {
        "@type": "Rating",
        "ratingValue": 4,
        "bestRating": 5,
        "worstRating": 1,
        "alternateName": "Mostly true",
    }
    api = client.get(f"/api/v1/claims/{desk['claim_id']}/claimreview").get_json(force=True)
    assert api == review


def test_the_page_shows_a_correction_and_hides_the_pending_one(client, act, desk) -> None:
    publish(act, desk, "true")
    act(desk["editor"], "correct", note="Checking again.")
    act(desk["alice"], "propose", rating="misleading", summary="A secret draft summary nobody may see yet.")
    html = client.get(f"/c/{desk['claim_id']}").get_data(as_text=True)
    assert "secret draft" not in html
    assert "Misleading" not in html
    assert "Checking again" not in html  # nor the editor's note: nothing since the approval shows
    act(desk["bob"], "approve", correction_note="The sponsor count was revised.")
    html = client.get(f"/c/{desk['claim_id']}").get_data(as_text=True)
    assert "Correction:" in html
    assert "The sponsor count was revised." in html
    assert "Version 2" in html
    assert "Version 1" in html


def test_nothing_unpublished_leaks(client, desk, act, submit) -> None:
    draft = desk["claim_id"]
    act(desk["alice"], "start_research")
    act(desk["alice"], "propose", rating="false", summary="A draft rating the public must not see.")
    page = client.get(f"/c/{draft}")
    assert page.status_code == 404
    assert page.mimetype == "text/html"
    assert "draft" not in page.get_data(as_text=True)
    assert svg_text(badge(client, draft)) == "fact-check: under review"
    feed = client.get("/claimreview.json").get_json(force=True)
    assert feed["@type"] == "DataFeed"
    assert feed["dataFeedElement"] == []
    assert client.get("/oembed", query_string={"url": f"http://localhost/c/{draft}"}).status_code == 404
    assert client.get(f"/api/v1/claims/{draft}/embed").status_code == 404
    assert client.get(f"/api/v1/claims/{draft}/claimreview").status_code == 404


def test_feed_lists_every_published_claimreview(client, act, desk) -> None:
    publish(act, desk, "false")
    feed = client.get("/claimreview.json")
    assert feed.mimetype == "application/ld+json"
    body = feed.get_json(force=True)
    assert [r["url"].rsplit("/", 1)[1] for r in body["dataFeedElement"]] == [desk["claim_id"]]
    assert body["dataFeedElement"][0]["reviewRating"]["alternateName"] == "False"


def test_embed_and_oembed(client, act, desk) -> None:
    publish(act, desk, "true")
    embed = client.get(f"/api/v1/claims/{desk['claim_id']}/embed").get_json()
    assert embed["page_url"].endswith(f"/c/{desk['claim_id']}")
    assert embed["badge_url"].endswith(f"/badges/{desk['claim_id']}.svg")
    assert f'href="{embed["page_url"]}"' in embed["html"]
    assert f'src="{embed["badge_url"]}"' in embed["html"]
    assert embed["markdown"] == f"[![fact-check: True]({embed['badge_url']})]({embed['page_url']})"
    oembed = client.get("/oembed", query_string={"url": embed["page_url"], "format": "json"}).get_json()
    assert oembed["version"] == "1.0"
    assert oembed["type"] == "rich"
    assert oembed["html"] == embed["html"]
    assert oembed["width"] > 50
    assert oembed["height"] == 20
    assert client.get("/oembed", query_string={"url": embed["page_url"], "format": "xml"}).status_code == 501
    foreign = embed["page_url"].replace("localhost", "evil.example")
    assert client.get("/oembed", query_string={"url": foreign}).status_code == 404
    assert client.get("/oembed").status_code == 400


def test_badge_states_are_cached_briefly_and_forgotten_on_change(client, submit, engine, monkeypatch) -> None:
    from service.public.states import badge_states

    claim = submit("A claim whose badge is popular.").get_json()
    assert svg_text(badge(client, claim["id"])) == "fact-check: under review"
    # Another process publishes it (straight in the database): this one may serve the cached state …
    set_status(engine, claim["id"], "published")
    assert svg_text(badge(client, claim["id"])) == "fact-check: under review"
    # … for a few seconds at most.
    import service.public.states

    later = service.public.states.time.monotonic() + badge_states.ttl + 0.1
    monkeypatch.setattr(service.public.states.time, "monotonic", lambda: later)
    assert svg_text(badge(client, claim["id"])) == "fact-check: False"
    badge_states.forget([claim["id"]])


def test_links_never_follow_the_host_header(make_app, make_user) -> None:
    # FACTDESK_BASE_URL unset, as on a fresh install: links point where `serve` listens by default.
    client = make_app(base_url="").test_client()
    people = {
        name: make_user(role)
        for name, role in [("ann", "submitter"), ("alice", "reviewer"), ("bob", "reviewer")]
    }
    hostile = {"Host": "evil.example"}
    claim = client.post(
        "/api/v1/claims",
        json={"text": "Seoul co-sponsored it."},
        headers={**people["ann"].headers, **hostile},
    )
    body = claim.get_json()
    assert claim.headers["Location"] == f"http://127.0.0.1:8000/api/v1/claims/{body['id']}"
    for link in body["links"].values():
        assert link.startswith("http://127.0.0.1:8000/"), link
    cite_statement(client, body["id"], people["alice"].headers)
    publish(Act(client, body["id"]), people, "true")
    embed = client.get(f"/api/v1/claims/{body['id']}/embed", headers=hostile).get_json()
    assert "evil.example" not in json.dumps(embed)
    assert embed["page_url"] == f"http://127.0.0.1:8000/c/{body['id']}"
    page = client.get(f"/c/{body['id']}", headers=hostile).get_data(as_text=True)
    assert "evil.example" not in page
    assert f'href="http://127.0.0.1:8000/c/{body["id"]}"' in page
    oembed = client.get("/oembed", query_string={"url": embed["page_url"]}, headers=hostile).get_json()
    assert "evil.example" not in json.dumps(oembed)
    feed = client.get("/claimreview.json", headers=hostile).get_data(as_text=True)
    assert "evil.example" not in feed
    listed = client.get("/api/v1/claims?limit=1", headers={**people["ann"].headers, **hostile})
    assert "evil.example" not in listed.headers.get("Link", "")


def test_answers_to_a_token_are_never_stored_by_shared_caches(client, act, desk) -> None:
    publish(act, desk, "true")
    path = f"/api/v1/claims/{desk['claim_id']}"
    private = client.get(path, headers=desk["alice"].headers)
    assert private.headers["Cache-Control"] == "private, no-store"
    public = client.get(path)
    assert "private" not in public.headers.get("Cache-Control", "")
    assert "Authorization" in public.headers.get("Vary", "")  # a cache keys the two apart
    snapshot = client.get(
        f"/api/v1/sources/{desk['source_id']}/snapshots", headers=desk["alice"].headers
    ).get_json()["items"][0]
    content = f"/api/v1/sources/{desk['source_id']}/snapshots/{snapshot['id']}/content"
    with client.get(content, headers=desk["alice"].headers) as answer:
        assert answer.headers["Cache-Control"] == "private, no-store"
    with client.get(content) as answer:
        assert answer.headers["Cache-Control"] == "public, max-age=86400"
    badge = client.get(f"/badges/{desk['claim_id']}.svg")
    assert badge.headers["Cache-Control"] == "public, max-age=300"
    assert "Vary" not in badge.headers
