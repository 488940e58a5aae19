"""What publishers and readers see without a token: badges, claim pages, oEmbed, the feed.

Badges are the hottest path: one indexed row, a rendered SVG cached in memory, a strong ETag.
"""

import hashlib
import re
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from functools import lru_cache
from html import escape
from urllib.parse import urlencode, urlsplit

from flask import Flask, Response, current_app, json, render_template, request
from flask_smorest import Blueprint

from claims.claimreview import claim_review, data_feed
from claims.errors import ClaimNotFound
from claims.models import Claim
from claims.schemas import rating_label
from claims.services import BadgeStateReader
from claims.workflow import active_scale
from service.app import desk, settings
from service.badges import DEFAULT_LABEL, STYLES, Badge, clean_label, render_svg
from service.errors import problem
from service.exceptions import InvalidInputError
from service.urls import absolute, base_url

bp = Blueprint(
    "public",
    __name__,
    static_folder="static",
    static_url_path="/static",
    description="Public output for readers and publishers: no token needed.",
)
SVG_TYPE = "image/svg+xml; charset=utf-8"
SVG = {"image/svg+xml": {"schema": {"type": "string"}}}
HTML = {"text/html": {"schema": {"type": "string"}}}
JSON_LD = {"application/ld+json": {"schema": {"type": "object"}}}

GREY = "#9f9f9f"
UNDER_REVIEW = "#007ec6"
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
}


def badge_for(state: tuple[str, str | None, int] | None, label: str) -> Badge:
    """What a claim's badge says: its published rating, or where it stands."""
    if state is None:
        return Badge(label, "not found", GREY)
    status, rating, verdict_version = state
    if verdict_version > 0 and rating is not None:
        scale = active_scale()
        if rating in scale:
            return Badge(label, scale[rating].label, scale[rating].color)
        return Badge(label, rating, GREY)
    if status == "dismissed":
        return Badge(label, "not rated", GREY)
    return Badge(label, "under review", UNDER_REVIEW)


class BadgeStates:
    """Badge states by claim id for a few seconds, per process: popular badges skip the database.

    Downstream caches may keep a badge for FACTDESK_BADGE_MAX_AGE anyway; this adds at most
    `ttl` seconds in other processes, and nothing in the one that made the change (it forgets
    the claims it touched as soon as they are committed).
    """

    def __init__(self, ttl: float = 5.0, size: int = 50_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: OrderedDict[str, tuple[float, tuple | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, claim_id: str, load: Callable[[], tuple | None], ttl: float) -> tuple | None:
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(claim_id)
            if hit is not None and hit[0] > now:
                return hit[1]
        state = load()
        if ttl > 0:
            with self._lock:
                self._entries[claim_id] = (now + ttl, state)
                self._entries.move_to_end(claim_id)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return state

    def forget(self, claim_ids: Iterable[str]) -> None:
        with self._lock:
            for claim_id in claim_ids:
                self._entries.pop(claim_id, None)


badge_states = BadgeStates()


def badge_state(claim_id: str) -> tuple[str, str | None, int] | None:
    """A claim's badge state, for the running app."""
    return cached_badge_state(badge_reader(current_app), claim_id, settings().badge_max_age)


def badge_reader(app: Flask) -> BadgeStateReader:
    """The app's badge state reader, shared by the view and the fast path."""
    reader = app.extensions.get("factdesk.badge_reader")
    if reader is None:
        reader = app.extensions["factdesk.badge_reader"] = BadgeStateReader(
            app.extensions["factdesk.settings"].sqlalchemy_url
        )
    return reader


def cached_badge_state(
    reader: BadgeStateReader, claim_id: str, max_age: int
) -> tuple[str, str | None, int] | None:
    """A claim's badge state: from the short cache, else one indexed row."""
    return badge_states.get(claim_id, lambda: reader.read(claim_id), min(badge_states.ttl, max_age))


@lru_cache(maxsize=4096)
def _rendered(badge: Badge, style: str) -> tuple[bytes, str]:
    svg = render_svg(badge, style).encode()
    return svg, '"' + hashlib.sha256(svg).hexdigest()[:32] + '"'


def badge_answer(
    state: tuple[str, str | None, int] | None, style: str, label: str, if_none_match: str, max_age: int
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of a badge: what the view and the fast path (fastpath.py) both send."""
    svg, etag = _rendered(badge_for(state, label), style)
    headers = [
        ("ETag", etag),
        ("Cache-Control", f"public, max-age={max_age}"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if state is not None and etag in _tags(if_none_match):
        return 304, headers, b""
    headers += [("Content-Type", SVG_TYPE), ("Content-Length", str(len(svg)))]
    return (200 if state is not None else 404), headers, svg


def _tags(if_none_match: str) -> set[str]:
    return {part.strip() for part in if_none_match.split(",") if part.strip()} if if_none_match else set()


def badge_params(style: str, label: str | None) -> tuple[str, str]:
    """The style and label a badge is drawn with (the view and the fast path both ask this);
    InvalidInputError naming the field that is refused."""
    if style not in STYLES:
        raise InvalidInputError(f"style is one of {', '.join(STYLES)}.", {"style": ["Unknown style."]})
    try:
        return style, clean_label(label)
    except ValueError as exc:
        raise InvalidInputError(str(exc), {"label": [str(exc)]}) from exc


def _badge_args() -> tuple[str, str] | Response:
    try:
        return badge_params(request.args.get("style", "flat"), request.args.get("label"))
    except InvalidInputError as exc:
        return problem(422, exc.detail, errors=exc.errors)


@bp.route("/badges/<claim_id>.svg")
@bp.doc(
    parameters=[
        {
            "in": "query",
            "name": "style",
            "schema": {"type": "string", "enum": ["flat", "flat-square", "for-the-badge"]},
        },
        {"in": "query", "name": "label", "schema": {"type": "string", "maxLength": 40}},
    ],
    responses={
        "200": {"description": "The badge, with a strong ETag.", "content": SVG},
        "304": {"description": "Not modified (If-None-Match)."},
        "404": {"description": "A grey `not found` badge.", "content": SVG},
        "422": {"description": "Unknown style, or a label that is too long or has control characters."},
    },
)
def badge_svg(claim_id: str) -> Response:
    """The verdict badge: rating when published, `under review`, `not rated`, or `not found`."""
    args = _badge_args()
    if isinstance(args, Response):
        return args
    style, label = args
    if_none_match = request.headers.get("If-None-Match", "")
    status, headers, body = badge_answer(
        badge_state(claim_id), style, label, if_none_match, settings().badge_max_age
    )
    return Response(body, status=status, headers=headers)


@bp.route("/badges/<claim_id>.json")
@bp.doc(
    responses={
        "200": {"description": "shields.io endpoint schema."},
        "404": {"description": "Unknown claim (a `not found` badge)."},
    }
)
def badge_json(claim_id: str) -> Response:
    """The badge in the shields.io endpoint schema, for shields.io's own renderer."""
    args = _badge_args()
    if isinstance(args, Response):
        return args
    _, label = args
    state = badge_state(claim_id)
    badge = badge_for(state, label)
    body = {
        "schemaVersion": 1,
        "label": badge.label,
        "message": badge.message,
        "color": badge.color.lstrip("#"),
        "cacheSeconds": settings().badge_max_age,
    }
    response = Response(json.dumps(body), status=404 if state is None else 200, mimetype="application/json")
    response.headers["Cache-Control"] = f"public, max-age={settings().badge_max_age}"
    return response


def embed_snippets(claim: Claim) -> dict:
    """HTML and Markdown that show the claim's badge linked to its page."""
    page_url, badge_url = absolute(f"/c/{claim.id}"), absolute(f"/badges/{claim.id}.svg")
    badge = badge_for((claim.status, claim.rating, claim.verdict_version), DEFAULT_LABEL)
    svg, _ = _rendered(badge, "flat")
    width = int(float(re.search(rb'width="([\d.]+)"', svg).group(1)))
    alt = f"{badge.label}: {badge.message}"
    html = (
        f'<a href="{escape(page_url)}"><img src="{escape(badge_url)}" alt="{escape(alt)}" '
        f'width="{width}" height="20"></a>'
    )
    markdown = f"[![{alt}]({badge_url})]({page_url})"
    return {
        "html": html,
        "markdown": markdown,
        "badge_url": badge_url,
        "page_url": page_url,
        "width": width,
        "height": 20,
    }


def _public_claim(claim_id: str) -> Claim | None:
    try:
        return desk().claims.get(claim_id, None)  # None: as an anonymous reader sees it
    except ClaimNotFound:
        return None


def _not_found_page() -> Response:
    html = render_template("not_found.html", base_url=base_url())
    return Response(html, status=404, mimetype="text/html", headers=PAGE_HEADERS)


@bp.route("/c/<claim_id>")
@bp.doc(
    responses={
        "200": {"description": "The claim's page, with ClaimReview JSON-LD.", "content": HTML},
        "404": {"description": "Not published (an HTML page).", "content": HTML},
    }
)
def claim_page(claim_id: str) -> Response:
    """The public page of a published claim, with its ClaimReview."""
    claim = _public_claim(claim_id)
    if claim is None:
        return _not_found_page()
    verdict = claim.verdict
    source_ids = {e["source_id"] for v in claim.verdicts for e in v.evidence}
    sources = {s.id: s for s in desk().sources.by_ids(source_ids)}
    page_url = absolute(f"/c/{claim.id}")
    review = claim_review(
        claim, page_url, settings().publisher_name, settings().publisher_url or None, active_scale()
    )
    checks = [s.last_checked_at for s in sources.values() if s.last_checked_at]
    html = render_template(
        "claim.html",
        claim=claim,
        verdict=verdict,
        label_of=rating_label,
        embed_html=embed_snippets(claim)["html"],
        sources=sources,
        last_checked=max(checks) if checks else None,
        page_url=page_url,
        badge_url=absolute(f"/badges/{claim.id}.svg"),
        oembed_url=absolute("/oembed") + "?" + urlencode({"url": page_url, "format": "json"}),
        claimreview_json=_script_safe_json(review),
        publisher_name=settings().publisher_name,
        snapshot_url=lambda e: absolute(
            f"/api/v1/sources/{e['source_id']}/snapshots/{e['snapshot_id']}/content"
        ),
    )
    return Response(html, mimetype="text/html", headers=PAGE_HEADERS)


def _script_safe_json(value: object) -> str:
    # Inside <script type="application/ld+json">: `</script>` in a claim must not end the block.
    return json.dumps(value, ensure_ascii=False, indent=2).replace("<", "\\u003c").replace(">", "\\u003e")


@bp.route("/oembed")
@bp.doc(
    parameters=[
        {"in": "query", "name": "url", "required": True, "schema": {"type": "string"}},
        {"in": "query", "name": "format", "schema": {"type": "string", "enum": ["json"]}},
    ],
    responses={
        "200": {"description": "oEmbed 1.0 `rich`."},
        "400": {"description": "No url."},
        "404": {"description": "Not a published claim page here."},
        "501": {"description": "format=xml."},
    },
)
def oembed() -> Response:
    """oEmbed 1.0 for claim pages: a `rich` response with the badge linked to the page."""
    url, fmt = request.args.get("url", ""), request.args.get("format", "json")
    if fmt != "json":
        return problem(501, "Only format=json is offered.")
    if not url:
        return problem(400, "Give the page URL in `url`.")
    try:
        ours, theirs = urlsplit(base_url()), urlsplit(url)
    except ValueError:  # not a URL at all ("http://[x")
        return problem(404, "That is not the URL of a claim page here.")
    parts = theirs.path.strip("/").split("/")
    if (theirs.scheme, theirs.netloc) != (ours.scheme, ours.netloc) or len(parts) != 2 or parts[0] != "c":
        return problem(404, "That is not the URL of a claim page here.")
    claim = _public_claim(parts[1])
    if claim is None:
        return problem(404, "No published claim at that URL.")
    snippets = embed_snippets(claim)
    body = {
        "version": "1.0",
        "type": "rich",
        "title": claim.text,
        "provider_name": settings().publisher_name,
        "provider_url": settings().publisher_url or absolute("/"),
        "html": snippets["html"],
        "width": snippets["width"],
        "height": snippets["height"],
        "cache_age": settings().badge_max_age,
    }
    return Response(json.dumps(body), mimetype="application/json")


@bp.route("/claimreview.json")
@bp.doc(responses={"200": {"description": "schema.org DataFeed of ClaimReview.", "content": JSON_LD}})
def claimreview_feed() -> Response:
    """Every published ClaimReview, as a schema.org DataFeed."""
    scale, name, url = active_scale(), settings().publisher_name, settings().publisher_url or None
    claims = desk().claims.published()
    reviews = [claim_review(c, absolute(f"/c/{c.id}"), name, url, scale) for c in claims]
    modified = max((c.verdict.published_at for c in claims), default=None)
    response = Response(json.dumps(data_feed(reviews, modified)), mimetype="application/ld+json")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response
