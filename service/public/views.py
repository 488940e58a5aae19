"""What publishers and readers see without a token: badges, claim pages, oEmbed, the feed.

Badges are the hottest path: one indexed row, a rendered SVG cached in memory, a strong ETag.
"""

import re
from html import escape
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

from flask import Response, current_app, json, render_template, request
from flask_smorest import Blueprint
from werkzeug.exceptions import HTTPException

from claims.claimreview import claim_review, data_feed
from claims.errors import ClaimNotFound
from claims.models import Claim
from claims.public import PublicClaim
from claims.schemas import EmbedOut, rating_label
from claims.workflow import active_scale
from service.core.errors import InvalidInputError
from service.core.urls import absolute, base_url
from service.public.badges import DEFAULT_LABEL, badge_answer, badge_for, badge_params, rendered
from service.public.states import BadgeState, badge_reader, cached_badge_state
from service.web.auth import current_user
from service.web.context import services, settings
from service.web.problems import http_exception_problem, problem
from service.web.responses import BEARER, PAGE_HEADERS

bp = Blueprint(
    "public",
    __name__,
    static_folder="static",
    static_url_path="/static",
    template_folder="templates",
    description="Public output for readers and publishers: no token needed.",
)
SVG = {"image/svg+xml": {"schema": {"type": "string"}}}
HTML = {"text/html": {"schema": {"type": "string"}}}
JSON_LD = {"application/ld+json": {"schema": {"type": "object"}}}
# How each kind of evidence is introduced to readers.
RELATION_WORDS = {"supports": "Supports the claim", "refutes": "Contradicts the claim", "context": "Context"}


def badge_state(claim_id: str) -> BadgeState | None:
    """A claim's badge state, for the running app."""
    return cached_badge_state(badge_reader(current_app), claim_id, settings().badge_max_age)


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


def embed_snippets(claim: Claim | PublicClaim) -> dict[str, Any]:
    """HTML and Markdown that show the claim's badge linked to its page."""
    page_url, badge_url = absolute(f"/c/{claim.id}"), absolute(f"/badges/{claim.id}.svg")
    badge = badge_for((claim.status, claim.rating, claim.verdict_version), DEFAULT_LABEL)
    svg, _ = rendered(badge, "flat")
    found = re.search(rb'width="([\d.]+)"', svg)
    width = int(float(found.group(1))) if found else 0
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


def _public_claim(claim_id: str) -> PublicClaim | None:
    """The claim as its current verdict froze it (what every reader sees), or None."""
    try:
        return services().claims.public(claim_id)
    except ClaimNotFound:
        return None


def _not_found_page(**words: str) -> Response:
    html = render_template("public/not_found.html", publisher_name=settings().publisher_name, **words)
    return Response(html, status=404, mimetype="text/html", headers=PAGE_HEADERS)


HOME_SHOWS = 20  # the latest published fact-checks on the front page


@bp.route("/")
@bp.doc(responses={"200": {"description": "The front page: the latest fact-checks.", "content": HTML}})
def home() -> Response:
    """The front page: what this is, the latest published fact-checks, and where to go next."""
    html = render_template(
        "public/home.html",
        claims=services().claims.published(limit=HOME_SHOWS),
        label_of=rating_label,
        publisher_name=settings().publisher_name,
    )
    response = Response(html, mimetype="text/html", headers=PAGE_HEADERS)
    response.headers["Cache-Control"] = f"public, max-age={PAGE_MAX_AGE}"
    return response


@bp.route("/favicon.ico")
@bp.doc(exclude=True)
def favicon() -> Response:
    """The icon browsers ask for on their own (pages also link the SVG one)."""
    response = Response(FAVICON, mimetype="image/x-icon")
    response.headers["Cache-Control"] = f"public, max-age={FAVICON_MAX_AGE}"
    return response


FAVICON = (Path(__file__).parent / "static" / "favicon.ico").read_bytes()  # 4 KB, read once
FAVICON_MAX_AGE = 7 * 86_400


@bp.app_errorhandler(404)
def not_found(error: HTTPException) -> Response:
    """A page that says where the reader is for a browser outside the API; problem+json else."""
    wants_html = request.accept_mimetypes.best_match(["application/json", "text/html"]) == "text/html"
    if request.path.startswith("/api/") or not wants_html:
        return http_exception_problem(error)
    return _not_found_page(heading="Nothing here", message="There is no page at this address.")


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
    page_url = absolute(f"/c/{claim.id}")
    review = claim_review(
        claim, page_url, settings().publisher_name, settings().publisher_url or None, active_scale()
    )
    checks = [c.source.last_checked_at for c in claim.citations if c.source.last_checked_at]
    html = render_template(
        "public/claim.html",
        claim=claim,
        verdict=claim.verdict,
        label_of=rating_label,
        relation_words=RELATION_WORDS,
        embed_html=embed_snippets(claim)["html"],
        last_checked=max(checks) if checks else None,
        page_url=page_url,
        badge_url=absolute(f"/badges/{claim.id}.svg"),
        oembed_url=absolute("/oembed") + "?" + urlencode({"url": page_url, "format": "json"}),
        claimreview_json=_script_safe_json(review),
        publisher_name=settings().publisher_name,
        snapshot_url=lambda c: absolute(
            f"/api/v1/sources/{c.source_id}/snapshots/{c.anchor_snapshot_id}/content"
        ),
    )
    response = Response(html, mimetype="text/html", headers=PAGE_HEADERS)
    response.headers["Cache-Control"] = f"public, max-age={PAGE_MAX_AGE}"
    return response


PAGE_MAX_AGE = 60  # a published page, a correction included, reaches cached readers within a minute


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
    response = Response(json.dumps(body), mimetype="application/json")
    response.headers["Cache-Control"] = f"public, max-age={PAGE_MAX_AGE}"
    return response


@bp.route("/claimreview.json")
@bp.doc(responses={"200": {"description": "schema.org DataFeed of ClaimReview.", "content": JSON_LD}})
def claimreview_feed() -> Response:
    """Every published ClaimReview, as a schema.org DataFeed."""
    scale, name, url = active_scale(), settings().publisher_name, settings().publisher_url or None
    claims = services().claims.published()
    reviews = [claim_review(c, absolute(f"/c/{c.id}"), name, url, scale) for c in claims]
    modified = max((c.verdict.published_at for c in claims), default=None)
    response = Response(json.dumps(data_feed(reviews, modified)), mimetype="application/ld+json")
    response.headers["Cache-Control"] = "public, max-age=300"
    return response


@bp.route("/api/v1/claims/<claim_id>/embed")
@bp.response(200, EmbedOut)
@bp.doc(security=[{}, *BEARER], tags=["claims"])
def embed(claim_id: str) -> dict[str, Any]:
    """HTML and Markdown snippets that show the claim's badge linked to its page."""
    return embed_snippets(services().claims.read(claim_id, current_user()))
