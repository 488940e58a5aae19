"""What a reader meets first: the front page, the favicon, not-found pages that say where they
are, and badges whose states are told apart and legible (WCAG AA contrast, read off the SVG)."""

import itertools
import xml.etree.ElementTree as ET

import pytest

from claims.workflow import DEFAULT_SCALE
from tests.conftest import Act, cite_statement, publish

SVG = "{http://www.w3.org/2000/svg}"
BROWSER = {"Accept": "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"}


def test_the_front_page_lists_only_published_fact_checks(client, act, desk, submit) -> None:
    unpublished = submit("A claim still being checked, which readers must not see.").get_json()
    empty = client.get("/")
    assert empty.status_code == 200
    assert empty.mimetype == "text/html"
    assert "Nothing is published yet." in empty.get_data(as_text=True)
    publish(act, desk, "mostly_false")
    page = client.get("/").get_data(as_text=True)
    assert f'href="/c/{desk["claim_id"]}"' in page
    assert "Mostly false" in page
    assert unpublished["id"] not in page
    assert "still being checked" not in page
    for link in ('href="/claimreview.json"', 'href="/desk"', 'href="/api/docs"', "favicon.svg"):
        assert link in page


def test_the_front_page_is_cacheable_and_locked_down(client) -> None:
    response = client.get("/")
    assert response.headers["Cache-Control"] == "public, max-age=60"
    assert "default-src 'none'" in response.headers["Content-Security-Policy"]
    assert "<script" not in response.get_data(as_text=True)
    assert client.get("/api/docs").status_code == 200  # the page's link goes somewhere


def test_the_favicon(client) -> None:
    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file
    assert "max-age=604800" in icon.headers["Cache-Control"]
    with client.get("/static/favicon.svg") as svg:  # a static file: its handle closes with the response
        assert svg.status_code == 200
        assert ET.fromstring(svg.data).tag == f"{SVG}svg"


@pytest.mark.parametrize("path", ["/nope", "/c/clm_missing", "/desk/nowhere/at/all", "/badges"])
def test_a_browser_gets_a_not_found_page_that_says_factdesk(client, path) -> None:
    response = client.get(path, headers=BROWSER)
    assert response.status_code == 404
    assert response.mimetype == "text/html"
    page = response.get_data(as_text=True)
    assert "<title>Not found · Factdesk</title>" in page
    assert 'href="/"' in page


@pytest.mark.parametrize("headers", [{}, {"Accept": "application/json"}, BROWSER])
def test_api_and_programs_get_problem_json_for_not_found(client, headers) -> None:
    api = client.get("/api/v1/nothing-here", headers=headers)
    assert api.status_code == 404
    assert api.mimetype == "application/problem+json"
    if "text/html" not in headers.get("Accept", ""):
        other = client.get("/nope", headers=headers)
        assert other.mimetype == "application/problem+json"


# -- badge colours ------------------------------------------------------------------------------


def luminance(colour: str) -> float:
    """WCAG 2 relative luminance, written out here apart from the service's own."""
    colour = colour.lstrip("#")
    if len(colour) == 3:
        colour = "".join(c * 2 for c in colour)
    values = []
    for i in (0, 2, 4):
        c = int(colour[i : i + 2], 16) / 255
        values.append(c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4)
    return 0.2126 * values[0] + 0.7152 * values[1] + 0.0722 * values[2]


def contrast(a: str, b: str) -> float:
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)


def message_colours(svg: bytes) -> tuple[str, str]:
    """(background, text colour) of the badge's message half, as drawn."""
    root = ET.fromstring(svg)
    backgrounds = [r.get("fill") for r in root.iter(f"{SVG}rect") if (r.get("fill") or "").startswith("#")]
    visible = [t for t in root.iter(f"{SVG}text") if t.get("aria-hidden") != "true"]
    return backgrounds[-1], visible[-1].get("fill")


def badge_colours(client, claim_id: str, style: str) -> tuple[str, str, str]:
    response = client.get(f"/badges/{claim_id}.svg", query_string={"style": style})
    root = ET.fromstring(response.data)
    return (root.get("aria-label").split(": ", 1)[1], *message_colours(response.data))


@pytest.mark.parametrize("style", ["flat", "flat-square", "for-the-badge"])
def test_badge_states_differ_in_colour_and_words_and_are_legible(client, desk, submit, style) -> None:
    dismissed = submit("An opinion the desk will not rate.").get_json()
    Act(client, dismissed["id"])(desk["editor"], "dismiss", reason="opinion")
    unverifiable = submit("A claim nobody can settle.").get_json()
    seen = {
        "under review": badge_colours(client, desk["claim_id"], style),
        "not rated": badge_colours(client, dismissed["id"], style),
        "not found": badge_colours(client, "clm_nothing", style),
    }
    cite_statement(client, unverifiable["id"], desk["alice"].headers, "has participated as a co-sponsor")
    people = {**desk, "claim_id": unverifiable["id"]}
    publish(Act(client, unverifiable["id"]), people, "unverifiable")
    seen["unverifiable"] = badge_colours(client, unverifiable["id"], style)

    assert {words.lower() for words, _, _ in seen.values()} == set(seen)
    backgrounds = [background for _, background, _ in seen.values()]
    assert len(set(backgrounds)) == len(backgrounds), seen
    for first, second in itertools.combinations(backgrounds, 2):  # not just a shade apart
        assert _distance(first, second) >= 60, (first, second)
    for words, background, text in seen.values():
        assert contrast(background, text) >= 4.5, (words, background, text)


def _distance(a: str, b: str) -> int:
    """How far apart two colours are: the sum of their RGB channels' differences (0 to 765)."""
    return sum(abs(int(a[i : i + 2], 16) - int(b[i : i + 2], 16)) for i in (1, 3, 5))


def test_every_default_rating_badge_is_legible() -> None:
    from service.public.badges import Badge, render_svg

    for rating in DEFAULT_SCALE:
        svg = render_svg(Badge("fact-check", rating.label, rating.color)).encode()
        background, text = message_colours(svg)
        assert background == rating.color
        assert contrast(background, text) >= 4.5, (rating.key, background, text)
        root = ET.fromstring(svg)
        label_text = next(t for t in root.iter(f"{SVG}text") if t.get("aria-hidden") != "true")
        assert contrast("#555555", label_text.get("fill")) >= 4.5


def test_published_pages_and_oembed_are_cacheable_by_readers_only(client, act, desk) -> None:
    publish(act, desk)
    page_url = f"/c/{desk['claim_id']}"
    for path in (page_url, "/oembed?url=http://localhost" + page_url):
        anonymous = client.get(path)
        assert anonymous.status_code == 200, path
        assert anonymous.headers["Cache-Control"] == "public, max-age=60", path
        assert client.get(path, headers=desk["alice"].headers).headers["Cache-Control"] == "private, no-store"
    assert "Cache-Control" not in client.get("/c/clm_unpublished").headers  # it may be published soon
