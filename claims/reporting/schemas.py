"""Request and response shapes of the extractions API (`POST /api/v1/extractions` and after)."""

from typing import Any

from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from claims.matching.schemas import MatchOut
from claims.reporting.services import MAX_TEXT
from claims.schemas import ClaimSubmitOut
from service.core.fields import Text, UTCDateTime, WebURL

KINDS = ["number", "comparison", "negation", "attribution", "time", "quote"]


class ExtractionIn(Schema):
    """One of: the text (with where it was published, if known), a URL to capture, or a source."""

    text = Text(
        max=MAX_TEXT,
        metadata={
            "description": "An article or transcript (a line break always ends a sentence). Stored "
            "NFC-normalised with line breaks as \\n and trimmed: offsets point into that text."
        },
    )
    url = WebURL(metadata={"example": "https://www.upi.com/…"})
    title = Text(max=500, allow_none=True)
    publisher = Text(max=300, allow_none=True)
    published_at = fields.Date(allow_none=True)
    source_id = fields.String(validate=validate.Length(max=40))

    @validates_schema
    def _one_input(self, data: dict[str, Any], **_kwargs: object) -> None:
        given: list[str] = [name for name in ("text", "source_id") if name in data]
        if "url" in data and "text" not in data:
            given.append("url")
        if len(given) != 1:
            raise ValidationError("Send one of: text (with an optional url), url, or source_id.", "text")
        if "text" not in data:
            extra = [name for name in ("title", "publisher", "published_at") if name in data]
            if extra:
                raise ValidationError("Read from the page's own metadata when capturing.", extra[0])
        elif not data["text"]:
            raise ValidationError("The text is empty.", "text")


class NumberOut(Schema):
    text = fields.String()
    value = fields.Raw(metadata={"type": "number"})
    unit = fields.String(allow_none=True)


class SentenceOut(Schema):
    index = fields.Integer()
    start = fields.Integer()
    end = fields.Integer()
    text = fields.String()
    score = fields.Float(metadata={"description": "Check-worthiness from 0 to 1."})
    checkworthy = fields.Boolean()
    kinds = fields.List(fields.String(metadata={"enum": KINDS}))
    numbers = fields.List(fields.Nested(NumberOut))
    matches = fields.List(fields.Nested(MatchOut))


class ArticleOut(Schema):
    url = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    publisher = fields.String(allow_none=True)
    published_at = fields.Date(allow_none=True)
    source_id = fields.String(allow_none=True)
    snapshot_id = fields.String(allow_none=True)


class ExtractionOut(Schema):
    id = fields.String(metadata={"example": "ext_01JD5Q0F6X1N3ZB2W8V4T7K9M0"})
    status = fields.String(metadata={"enum": ["pending", "done", "failed"]})
    error = fields.String(allow_none=True)
    article = fields.Method("_article")
    sentences = fields.Method("_sentences")
    created_at = UTCDateTime()
    created_by = fields.String()

    def _article(self, extraction: Any) -> dict[str, Any]:
        dumped: dict[str, Any] = ArticleOut().dump(extraction)
        return dumped

    def _sentences(self, extraction: Any) -> list[dict[str, Any]]:
        text = extraction.text or ""
        rows = [{**s, "text": text[s["start"] : s["end"]]} for s in extraction.sentences]
        dumped: list[dict[str, Any]] = SentenceOut(many=True).dump(rows)
        return dumped


class ExtractionClaimIn(Schema):
    index = fields.Integer(required=True, validate=validate.Range(min=0))
    text = Text(min=3, max=1000)
    claimant = Text(max=300, allow_none=True)
    tags = fields.List(Text(min=1, max=50), validate=validate.Length(max=20))


class ExtractionClaimsIn(Schema):
    items = fields.List(
        fields.Nested(ExtractionClaimIn), required=True, validate=validate.Length(min=1, max=200)
    )


class ExtractionClaimsOut(Schema):
    claims = fields.List(fields.Nested(ClaimSubmitOut))
