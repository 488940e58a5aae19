"""The extraction table: one piece of reporting read into sentences worth checking."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.core.database import UTCDateTime, utcnow
from service.core.ids import new_id


class ExtractionStatus(StrEnum):
    """`pending` while the article is captured or read; then `done`, or `failed` with an error."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class ClaimExtraction(SQLModel, table=True):
    """A report (pasted, captured from its URL, or an existing source) and its analysed sentences.

    `text` is exactly what the offsets of `sentences` point into: the pasted text, or the archived
    copy's extracted text (`snapshot_id`), so a sentence quoted from it anchors in the archive.
    """

    __tablename__ = "extraction"

    id: str = Field(default_factory=lambda: new_id("ext"), primary_key=True, max_length=40)
    status: str = Field(default=ExtractionStatus.PENDING, max_length=20, index=True)
    error: str | None = Field(default=None, sa_type=sa.Text)
    url: str | None = Field(default=None, max_length=2048)
    title: str | None = Field(default=None, max_length=500)
    publisher: str | None = Field(default=None, max_length=300)
    published_at: date | None = None
    source_id: str | None = Field(default=None, foreign_key="source.id", index=True, max_length=40)
    snapshot_id: str | None = Field(default=None, max_length=40)
    text: str | None = Field(default=None, sa_type=sa.Text)
    # One entry per sentence: index, start, end, score, checkworthy, kinds, numbers, matches.
    sentences: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    created_by: str = Field(foreign_key="user.id", max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    # Set when the reading is queued and cleared when it is stored: one owed for long was lost.
    read_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
