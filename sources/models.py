"""Source tables: a primary source (a URL or an uploaded document) and its archived snapshots."""

from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from service.core.database import UTCDateTime, utcnow
from service.core.ids import new_id


class SourceKind(StrEnum):
    """What a source is, as the reviewer who added it says."""

    OFFICIAL_DOCUMENT = "official_document"
    STATEMENT = "statement"
    DATASET = "dataset"
    REPORT = "report"
    LAW = "law"
    PRESS_RELEASE = "press_release"
    NEWS = "news"
    OTHER = "other"


class SourceHealth(StrEnum):
    """What the latest capture found at a source's URL."""

    UNCHECKED = "unchecked"  # not captured yet
    OK = "ok"
    CHANGED = "changed"  # captured, and the bytes differ from the previous good capture
    MOVED = "moved"  # a permanent redirect
    GONE = "gone"  # 404 or 410
    BLOCKED = "blocked"  # refused by the address rule
    ERROR = "error"


class SnapshotOutcome(StrEnum):
    """How one capture ended: archived (ok), refused (blocked), 404/410 (gone) or failed (error)."""

    OK = "ok"
    BLOCKED = "blocked"
    GONE = "gone"
    ERROR = "error"


class Source(SQLModel, table=True):
    __tablename__ = "source"

    id: str = Field(default_factory=lambda: new_id("src"), primary_key=True, max_length=40)
    url: str | None = Field(default=None, max_length=2048)
    # Lower-case scheme and host, no default port, fragment or utm_* parameters: one source per URL.
    canonical_url: str | None = Field(default=None, max_length=2048, sa_column_kwargs={"unique": True})
    # For uploaded documents without a URL: one source per content.
    upload_sha256: str | None = Field(default=None, max_length=64, sa_column_kwargs={"unique": True})
    upload_filename: str | None = Field(default=None, max_length=255)
    title: str | None = Field(default=None, max_length=500)
    publisher: str | None = Field(default=None, max_length=300)
    kind: str = Field(default=SourceKind.OTHER, max_length=30)
    health: str = Field(default=SourceHealth.UNCHECKED, max_length=20, index=True)
    latest_snapshot_id: str | None = Field(default=None, max_length=40)
    # The newest snapshot that captured the document (citations anchor in its text).
    good_snapshot_id: str | None = Field(default=None, max_length=40)
    last_checked_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    # Set when a capture is asked for (a new source, a re-capture, a due re-check) and cleared when
    # one is stored: a capture owed for long was lost with its worker, and is queued again.
    capture_requested_at: datetime | None = Field(default=None, sa_type=UTCDateTime, index=True)
    created_by: str = Field(foreign_key="user.id", max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    # Loaded with the source (one extra statement per list, not per row).
    latest_snapshot: "Snapshot" = Relationship(
        sa_relationship_kwargs={
            "primaryjoin": "foreign(Source.latest_snapshot_id) == Snapshot.id",
            "lazy": "selectin",
            "viewonly": True,
        }
    )


class Snapshot(SQLModel, table=True):
    """One capture of a source: what was fetched (or why not), and where the bytes are kept."""

    __tablename__ = "snapshot"

    id: str = Field(default_factory=lambda: new_id("snp"), primary_key=True, max_length=40)
    source_id: str = Field(foreign_key="source.id", index=True, max_length=40)
    fetched_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    ok: bool = False
    outcome: str = Field(max_length=20)  # a SnapshotOutcome
    status_code: int | None = None
    final_url: str | None = Field(default=None, max_length=2048)
    redirects: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    address: str | None = Field(default=None, max_length=64)
    content_type: str | None = Field(default=None, max_length=100)
    charset: str | None = Field(default=None, max_length=40)
    size: int = 0
    sha256: str | None = Field(default=None, max_length=64)
    etag: str | None = Field(default=None, max_length=300)
    last_modified: str | None = Field(default=None, max_length=100)
    error: str | None = Field(default=None, sa_type=sa.Text)
    text_sha256: str | None = Field(default=None, max_length=64)
    text_error: str | None = Field(default=None, sa_type=sa.Text)
    # What the document says of itself (HTML metadata): title, publisher, published_at (ISO date).
    meta: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
