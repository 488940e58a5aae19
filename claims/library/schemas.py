"""The fact-check library's HTTP contract (marshmallow): list arguments, fact-checks, import reports.

The import body itself is ClaimReview as publishers write it, read by `claims.library.claimreview`
rather than by a schema: its shapes are too many and too loose for one.
"""

from typing import Any

from marshmallow import Schema, fields, validate

from claims.library.models import FactCheck, FactCheckVerdict
from service.core.fields import Text, UTCDateTime
from service.core.urls import absolute

VERDICTS = tuple(FactCheckVerdict)


class FactCheckListArgs(Schema):
    q = Text(
        max=500,
        metadata={
            "description": 'Words and "quoted phrases", all required, in the claim, headline or claimant.'
        },
    )
    publisher = Text(
        max=300, metadata={"description": "The publisher's name, exactly but for case and spacing."}
    )
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    cursor = fields.String(validate=validate.Length(max=200))


def factcheck_links(factcheck: FactCheck) -> dict[str, str]:
    return {"self": absolute(f"/api/v1/factchecks/{factcheck.id}")}


class FactCheckOut(Schema):
    """A fact-check published elsewhere, as its ClaimReview said: the publisher's rating, not ours."""

    id = fields.String(metadata={"example": "fck_01JD5Q0F6X1N3ZB2W8V4T7K9M0"})
    url = fields.String(metadata={"description": "The published review: its identity."})
    claim_reviewed = fields.String()
    claimant = fields.String(allow_none=True)
    claim_date = fields.Date(allow_none=True)
    appearance_url = fields.String(allow_none=True, metadata={"description": "Where the claim was made."})
    rating = fields.String(
        allow_none=True, metadata={"description": "The publisher's words (alternateName)."}
    )
    rating_value = fields.Float(allow_none=True)
    best_rating = fields.Float(allow_none=True)
    worst_rating = fields.Float(allow_none=True)
    verdict = fields.String(
        metadata={
            "enum": list(VERDICTS),
            "description": "The rating read onto one scale: from its words when they name a verdict, "
            "else from its value between worst_rating and best_rating.",
        }
    )
    publisher = fields.String(allow_none=True)
    publisher_url = fields.String(allow_none=True)
    review_date = fields.Date(allow_none=True)
    language = fields.String(allow_none=True)
    headline = fields.String(allow_none=True)
    imported_at = UTCDateTime()
    updated_at = UTCDateTime()
    imported_by = fields.String()
    links = fields.Function(factcheck_links, metadata={"description": "self"})


class FactCheckDetailOut(FactCheckOut):
    raw = fields.Dict(metadata={"description": "The ClaimReview as it was imported."})


class FactCheckPageOut(Schema):
    items = fields.List(fields.Nested(FactCheckOut))
    next_cursor = fields.String(allow_none=True)


class ImportErrorOut(Schema):
    index = fields.Integer(metadata={"description": "The item's place among the body's items, from 0."})
    path = fields.String(metadata={"description": "JSON Pointer to the item in the body.", "example": "/3"})
    detail = fields.String()


class ImportReportOut(Schema):
    imported = fields.Integer(metadata={"description": "New fact-checks."})
    updated = fields.Integer(metadata={"description": "Fact-checks already imported (same url), changed."})
    skipped = fields.Integer(metadata={"description": "Fact-checks already imported, unchanged."})
    errors = fields.List(fields.Nested(ImportErrorOut), metadata={"description": "Items not imported."})


IMPORT_BODY: dict[str, Any] = {
    "required": True,
    "description": "A ClaimReview (JSON-LD), a list of them, a schema.org DataFeed of them, a page's "
    "`@graph`, or the Google Fact Check Tools API's `claims`.",
    "content": {
        media: {
            "schema": {"oneOf": [{"type": "object"}, {"type": "array", "items": {"type": "object"}}]},
            "example": {
                "@context": "https://schema.org",
                "@type": "ClaimReview",
                "url": "https://factcheck.example.org/2025/un-resolution-co-sponsors",
                "claimReviewed": "41 U.N. member states co-sponsored the resolution.",
                "author": {"@type": "Organization", "name": "Example Fact Check"},
                "datePublished": "2025-11-20",
                "reviewRating": {
                    "@type": "Rating",
                    "ratingValue": "5",
                    "bestRating": "5",
                    "worstRating": "1",
                    "alternateName": "True",
                },
            },
        }
        for media in ("application/json", "application/ld+json")
    },
}
