"""The fact-check library's table: one row per ClaimReview imported from elsewhere, keyed by its url.

Rows are written in bulk by `claims.library.services.FactCheckLibrary`; matching reads
`id, claim_reviewed, rating, verdict, url, publisher` and searches `search_text` through the
hand-made full-text index (`factcheck_fts` on SQLite, `search_vector` on PostgreSQL).
"""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.core.database import UTCDateTime, utcnow
from service.core.ids import new_id

URL_MAX = 2048  # bytes of UTF-8: a PostgreSQL b-tree entry (the unique index) holds up to ~2,700
CLAIM_REVIEWED_MAX = 5000
CLAIMANT_MAX = 300
RATING_MAX = 500
PUBLISHER_MAX = 300
HEADLINE_MAX = 1000
LANGUAGE_MAX = 35


class FactCheckVerdict(StrEnum):
    """A publisher's rating read onto one common scale (their own words stay in `rating`)."""

    FALSE = "false"
    MOSTLY_FALSE = "mostly-false"
    MIXED = "mixed"
    MOSTLY_TRUE = "mostly-true"
    TRUE = "true"
    UNRATED = "unrated"  # no value on a known scale, and words that name no verdict


class FactCheck(SQLModel, table=True):
    """A fact-check published elsewhere, as its ClaimReview said. Never one of the desk's verdicts."""

    __tablename__ = "factcheck"

    # An integer key that never changes: the full-text index refers to it (as claim.seq).
    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(default_factory=lambda: new_id("fck"), max_length=40, sa_column_kwargs={"unique": True})
    url: str = Field(max_length=URL_MAX, sa_column_kwargs={"unique": True})  # the review's identity
    claim_reviewed: str = Field(sa_type=sa.Text)
    claimant: str | None = Field(default=None, max_length=CLAIMANT_MAX)
    claim_date: date | None = None
    appearance_url: str | None = Field(default=None, max_length=URL_MAX)
    rating: str | None = Field(default=None, max_length=RATING_MAX)  # alternateName, as written
    rating_value: float | None = None
    best_rating: float | None = None
    worst_rating: float | None = None
    verdict: str = Field(default=FactCheckVerdict.UNRATED, max_length=20, index=True)
    publisher: str | None = Field(default=None, max_length=PUBLISHER_MAX)
    # The publisher's name folded (service.core.text.fold): `?publisher=` matches it exactly.
    publisher_key: str | None = Field(default=None, max_length=PUBLISHER_MAX, index=True)
    publisher_url: str | None = Field(default=None, max_length=URL_MAX)
    review_date: date | None = None
    language: str | None = Field(default=None, max_length=LANGUAGE_MAX)
    headline: str | None = Field(default=None, max_length=HEADLINE_MAX)
    raw: dict[str, Any] = Field(default_factory=dict, sa_type=sa.JSON)  # the item as received
    # Claim reviewed, headline and claimant, folded, indexed for full-text search (FTS5 / tsvector).
    search_text: str = Field(default="", sa_type=sa.Text)
    # SHA-256 of everything read from the item: a re-import that changes nothing is skipped.
    content_hash: str = Field(max_length=64)
    imported_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    imported_by: str = Field(foreign_key="user.id", max_length=40)
