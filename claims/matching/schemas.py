"""The matching API contract (marshmallow): what `POST /api/v1/match` takes and answers.

`MatchOut` is also the shape of intake's `possible_duplicates` (claims.schemas) and of the matches
an extraction shows under each check-worthy sentence.
"""

from marshmallow import Schema, fields, validate

from claims.library.models import FactCheckVerdict
from claims.matching.relations import Relation
from claims.matching.services import MAX_TEXT
from service.core.fields import Text

RELATIONS = tuple(Relation)
MATCHES_MAX = 50


class MatchIn(Schema):
    text = Text(
        required=True,
        min=1,
        max=MAX_TEXT,
        metadata={
            "example": "Forty-one countries co-sponsored the UN resolution on North Korea's human rights."
        },
    )
    limit = fields.Integer(load_default=10, validate=validate.Range(1, MATCHES_MAX))


class MatchOut(Schema):
    """A claim on the desk or an imported fact-check, as it bears on the text matched."""

    kind = fields.String(metadata={"enum": ["claim", "factcheck"]})
    id = fields.String(metadata={"example": "fck_01JD5Q0F6X1N3ZB2W8V4T7K9M0"})
    text = fields.String(metadata={"description": "The claim's text, or the claim the fact-check reviewed."})
    score = fields.Float(metadata={"description": "How likely this is the claim the text states, 0 to 1."})
    relation = fields.String(
        metadata={
            "enum": list(RELATIONS),
            "description": "`same`: the same claim, maybe worded otherwise; `number_conflict`: the same "
            "with another number; `negation`: the same, negated; `related`: about the same things.",
        }
    )
    status = fields.String(allow_none=True, metadata={"description": "A claim's workflow status."})
    rating = fields.String(
        allow_none=True,
        metadata={
            "description": "A claim's published rating (the desk's verdict), or a fact-check's as its "
            "publisher wrote it (not the desk's)."
        },
    )
    verdict = fields.String(
        allow_none=True,
        metadata={
            "enum": list(FactCheckVerdict),
            "description": "A fact-check's rating on one common scale.",
        },
    )
    verdict_implies = fields.String(
        allow_none=True,
        metadata={
            "enum": ["same", "opposite"],
            "description": "What the published rating says of the text's claim: the same (a `same` "
            "match) or the opposite (a `negation` match).",
        },
    )
    url = fields.String(allow_none=True, metadata={"description": "A fact-check's published review."})
    publisher = fields.String(allow_none=True)


class MatchesOut(Schema):
    matches = fields.List(fields.Nested(MatchOut), metadata={"description": "Best first."})
