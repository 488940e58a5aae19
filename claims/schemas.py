"""The claims API contract: what clients send and what they get back (marshmallow)."""

import re
from typing import Any, Protocol

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from claims.history import verdict_digest
from claims.matching.schemas import MatchOut
from claims.models import STATUSES, Relation
from claims.workflow import BY_ACTION, DISMISS_REASONS, active_scale
from service.core.fields import Text, UTCDateTime, WebURL
from service.core.urls import absolute

RELATIONS = tuple(Relation)
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")


class AppearanceIn(Schema):
    """Where the claim was made: at least a URL or the quote."""

    url = WebURL(allow_none=True, metadata={"example": "https://example.com/story"})
    title = Text(max=500, allow_none=True)
    publisher = Text(max=300, allow_none=True)
    published_at = fields.Date(allow_none=True, metadata={"example": "2025-11-19"})
    quote = Text(max=5000, allow_none=True, metadata={"description": "The exact sentence."})

    @validates_schema
    def _url_or_quote(self, data: dict[str, Any], **_kwargs: object) -> None:
        if not data.get("url") and not data.get("quote"):
            raise ValidationError("An appearance needs at least a url or a quote.", "url")


class ClaimFieldsIn(Schema):
    claimant = Text(max=300, allow_none=True, metadata={"example": "UPI"})
    language = fields.String(
        allow_none=True,
        validate=validate.Regexp(_LANGUAGE, error="A BCP 47 language tag such as `en` or `ko`."),
        metadata={"example": "en"},
    )
    tags = fields.List(
        Text(min=1, max=50), validate=validate.Length(max=20), metadata={"example": ["un", "dprk"]}
    )


class ClaimIn(ClaimFieldsIn):
    text = Text(
        required=True,
        min=3,
        max=1000,
        metadata={"example": "41 U.N. member states co-sponsored the resolution."},
    )
    appearance = fields.Nested(AppearanceIn, allow_none=True)


class ClaimPatch(ClaimFieldsIn):
    text = Text(min=3, max=1000)

    @validates_schema
    def _not_empty(self, data: dict[str, Any], **_kwargs: object) -> None:
        if not data:
            raise ValidationError("Send at least one of text, claimant, tags, language.")


class ClaimListArgs(Schema):
    status = fields.String(validate=validate.OneOf(STATUSES))
    rating = fields.String(validate=validate.Length(max=40))
    tag = Text(max=50)
    assignee = fields.String(validate=validate.Length(max=40))
    q = Text(max=500, metadata={"description": 'Words and "quoted phrases", all required.'})
    needs_review = fields.Boolean()
    source = fields.String(validate=validate.Length(max=40), metadata={"description": "Claims citing it."})
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    cursor = fields.String(validate=validate.Length(max=200))


class AppearanceOut(Schema):
    id = fields.String()
    url = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    publisher = fields.String(allow_none=True)
    published_at = fields.Date(allow_none=True)
    quote = fields.String(allow_none=True)
    source_id = fields.String(allow_none=True, metadata={"description": "The archived report quoted."})
    snapshot_id = fields.String(allow_none=True)
    anchor = fields.Method("_anchor", metadata={"description": "Where the quote stands in its text."})
    added_by = fields.String()
    created_at = UTCDateTime()

    def _anchor(self, appearance: Any) -> dict[str, int] | None:
        start, end = getattr(appearance, "anchor_start", None), getattr(appearance, "anchor_end", None)
        return {"start": start, "end": end} if start is not None and end is not None else None


class QuoteIn(Schema):
    """A W3C TextQuoteSelector: the exact words, and optionally what comes just before and after."""

    exact = Text(required=True, min=1, max=5000)
    prefix = Text(max=500, allow_none=True)
    suffix = Text(max=500, allow_none=True)


class CitationIn(Schema):
    source_id = fields.String(validate=validate.Length(max=40))
    url = WebURL()
    relation = fields.String(required=True, validate=validate.OneOf(RELATIONS))
    quote = fields.Nested(QuoteIn, required=True)
    locator = Text(max=200, allow_none=True, metadata={"example": "p. 3, para. 2"})
    note = Text(max=2000, allow_none=True)

    @validates_schema
    def _one_source(self, data: dict[str, Any], **_kwargs: object) -> None:
        if bool(data.get("source_id")) == bool(data.get("url")):
            raise ValidationError("Give either source_id or url.", "source_id")


class CitedSourceOut(Schema):
    id = fields.String()
    url = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    publisher = fields.String(allow_none=True)
    kind = fields.String()
    health = fields.String()
    last_checked_at = UTCDateTime(allow_none=True)


class CitationOut(Schema):
    id = fields.String()
    claim_id = fields.String()
    source_id = fields.String()
    source = fields.Nested(CitedSourceOut)
    relation = fields.String(metadata={"enum": list(RELATIONS)})
    quote = fields.Function(lambda c: {"exact": c.exact, "prefix": c.prefix, "suffix": c.suffix})
    locator = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    anchor = fields.Function(
        lambda c: {
            "status": c.anchor_status,
            "snapshot_id": c.anchor_snapshot_id,
            "start": c.anchor_start,
            "end": c.anchor_end,
            "score": c.anchor_score,
            "fuzzy": c.anchor_fuzzy,
        },
        metadata={"description": "pending, found, not_found or source_changed, with offsets in the text."},
    )
    created_by = fields.String()
    created_at = UTCDateTime()
    links = fields.Function(
        lambda c: {
            "snapshot": absolute(f"/api/v1/sources/{c.source_id}/snapshots/{c.anchor_snapshot_id}/content")
            if c.anchor_snapshot_id
            else None,
            "text": absolute(f"/api/v1/sources/{c.source_id}/snapshots/{c.anchor_snapshot_id}/text")
            if c.anchor_snapshot_id
            else None,
        }
    )


def rating_label(key: str) -> str:
    """The label of a rating key on the configured scale (the key itself if it left the scale)."""
    scale = active_scale()
    return scale[key].label if key in scale else key


class _Identified(Protocol):
    """A claim, or an object that stands for one in a dump (a claim with extra fields)."""

    @property
    def id(self) -> str: ...


def claim_links(claim: _Identified) -> dict[str, str]:
    """The claim's API, page and badge URLs."""
    claim_id = claim.id
    return {
        "self": absolute(f"/api/v1/claims/{claim_id}"),
        "page": absolute(f"/c/{claim_id}"),
        "badge": absolute(f"/badges/{claim_id}.svg"),
    }


class ClaimOut(Schema):
    id = fields.String(metadata={"example": "clm_01JD5Q0F6X1N3ZB2W8V4T7K9M0"})
    text = fields.String()
    claimant = fields.String(allow_none=True)
    language = fields.String(allow_none=True)
    tags = fields.List(fields.String(), attribute="tag_names")
    status = fields.String(metadata={"enum": list(STATUSES)})
    assignee = fields.String(attribute="assignee_id", allow_none=True)
    appearances = fields.List(fields.Nested(AppearanceOut))
    citations = fields.List(fields.Nested(lambda: CitationOut()))
    verdict = fields.Nested(
        lambda: VerdictOut(), allow_none=True, metadata={"description": "The current published verdict."}
    )
    verdicts = fields.List(fields.Nested(lambda: VerdictOut()), metadata={"description": "Every version."})
    proposal = fields.Nested(
        lambda: ProposalOut(),
        allow_none=True,
        metadata={"description": "The verdict proposed and awaiting approval."},
    )
    needs_review = fields.Boolean()
    duplicate_of = fields.String(allow_none=True)
    created_at = UTCDateTime()
    updated_at = UTCDateTime()
    submitted_by = fields.String()
    etag = fields.String()
    links = fields.Function(claim_links, metadata={"description": "self, page and badge URLs"})
    history = fields.Function(
        lambda c: {"seq": c.history_seq, "hash": c.history_head},
        metadata={
            "description": "The head of the claim's history (without a token: the approval of the "
            "current verdict); keep it to tell later if the history was cut short."
        },
    )


class VerdictOut(Schema):
    version = fields.Integer()
    rating = fields.String()
    rating_label = fields.Function(lambda v: rating_label(v.rating))
    summary = fields.String()
    proposer = fields.String(attribute="proposer_id")
    approvers = fields.List(fields.String())
    proposed_at = UTCDateTime(precise=True)
    published_at = UTCDateTime(precise=True)
    correction_note = fields.String(allow_none=True)
    digest = fields.Function(
        lambda v: verdict_digest(v),
        metadata={"description": "SHA-256 of the verdict's fields, as its approval's content_hash."},
    )


class ApprovalOut(Schema):
    approver = fields.String(attribute="approver_id")
    at = UTCDateTime()


class ProposalOut(Schema):
    id = fields.String()
    rating = fields.String()
    rating_label = fields.Function(lambda p: rating_label(p.rating))
    summary = fields.String()
    proposer = fields.String(attribute="proposer_id")
    created_at = UTCDateTime()
    approvals = fields.List(fields.Nested(ApprovalOut))


class TransitionIn(Schema):
    """`action` and the fields it takes; see `GET /api/v1/workflow` for which ones."""

    action = fields.String(required=True, validate=validate.OneOf(list(BY_ACTION)))
    assignee = fields.String(validate=validate.Length(max=40))
    rating = fields.String(validate=validate.Length(max=40))
    summary = Text(min=20, max=2000)
    note = Text(max=2000)
    correction_note = Text(min=1, max=2000)
    reason = fields.String(validate=validate.OneOf(DISMISS_REASONS))
    duplicate_of = fields.String(validate=validate.Length(max=40))


class TransitionOut(Schema):
    action = fields.String()
    from_statuses = fields.List(fields.String())
    to_status = fields.String()
    role = fields.String()
    required = fields.List(fields.String())
    optional = fields.List(fields.String())
    guard = fields.String()


class RatingOut(Schema):
    key = fields.String()
    label = fields.String()
    value = fields.Integer(allow_none=True, metadata={"description": "ClaimReview ratingValue, 1 to 5."})
    color = fields.String()


class EmbedOut(Schema):
    html = fields.String(metadata={"description": "An <a> around the badge <img>, for web pages."})
    markdown = fields.String()
    badge_url = fields.String()
    page_url = fields.String()


class PossibleDuplicateOut(MatchOut):
    """A claim on the desk or an imported fact-check that may state the same claim, as
    `POST /api/v1/match` answers it."""


class ClaimSubmitOut(ClaimOut):
    possible_duplicates = fields.List(fields.Nested(PossibleDuplicateOut))


class ClaimPageOut(Schema):
    items = fields.List(fields.Nested(ClaimOut))
    next_cursor = fields.String(allow_none=True)


class EventOut(Schema):
    at = UTCDateTime(precise=True)
    actor = fields.String(allow_none=True)
    action = fields.String()
    from_status = fields.String(allow_none=True)
    to_status = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    verdict_version = fields.Integer(allow_none=True)
    seq = fields.Integer()
    content_hash = fields.String(
        allow_none=True, metadata={"description": "For an approval: the digest of the verdict it published."}
    )
    prev_hash = fields.String()
    hash = fields.String()


class HeadOut(Schema):
    seq = fields.Integer()
    hash = fields.String(allow_none=True)


class HistoryOut(Schema):
    items = fields.List(fields.Nested(EventOut))
    chain_intact = fields.Boolean(
        metadata={
            "description": "Whether every event's hash matches its content and predecessor, the "
            "chain ends at the claim's head, and each approval matches the verdict it published."
        }
    )
    broken_at = fields.Integer(
        allow_none=True, metadata={"description": "The first event that does not hold."}
    )
    problem = fields.String(allow_none=True)
    head = fields.Nested(
        HeadOut, metadata={"description": "The newest event (without a token: the approval)."}
    )
