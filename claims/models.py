"""Claim tables: the claim, its tags, where it appeared, and its append-only history."""

from datetime import date, datetime
from enum import StrEnum
from typing import Any, Optional

import sqlalchemy as sa
from sqlmodel import Field, Relationship, SQLModel

from service.core.database import UTCDateTime, utcnow
from service.core.ids import new_id
from sources.models import Source

_VERSION = sa.Column("version", sa.Integer, nullable=False)


class ClaimStatus(StrEnum):
    """Where a claim stands in the workflow (`claims.workflow.TRANSITIONS` moves it)."""

    SUBMITTED = "submitted"
    RESEARCHING = "researching"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"
    DISMISSED = "dismissed"


class Relation(StrEnum):
    """How a cited quote bears on the claim."""

    SUPPORTS = "supports"
    REFUTES = "refutes"
    CONTEXT = "context"


class AnchorStatus(StrEnum):
    """Whether a citation's quote was found in its source's archived text."""

    PENDING = "pending"  # no usable snapshot yet
    FOUND = "found"
    NOT_FOUND = "not_found"
    SOURCE_CHANGED = "source_changed"  # found once, gone from a later capture


class ProposalState(StrEnum):
    """What became of a proposed verdict."""

    PENDING = "pending"
    PUBLISHED = "published"
    CHANGES_REQUESTED = "changes_requested"
    DISMISSED = "dismissed"


# The columns stay plain strings (the schema does not change); members compare equal to them.
STATUSES: tuple[str, ...] = tuple(ClaimStatus)


class Claim(SQLModel, table=True):
    __tablename__ = "claim"

    # An integer key that never changes (SQLite may renumber implicit rowids on VACUUM): the
    # full-text index refers to it. The public key is `id`.
    seq: int | None = Field(default=None, primary_key=True)
    id: str = Field(default_factory=lambda: new_id("clm"), max_length=40, sa_column_kwargs={"unique": True})
    text: str = Field(max_length=1000)
    # Hash of the folded text (see service.core.text.claim_key): one claim per key.
    text_key: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    claimant: str | None = Field(default=None, max_length=300)
    language: str | None = Field(default=None, max_length=35)
    status: str = Field(default=ClaimStatus.SUBMITTED, max_length=20, index=True)
    assignee_id: str | None = Field(default=None, foreign_key="user.id", index=True, max_length=40)
    # The current published rating and verdict version (0: never published), kept here so lists
    # filter on them without a join. A claim is public once verdict_version > 0.
    rating: str | None = Field(default=None, max_length=40, index=True)
    verdict_version: int = Field(default=0, index=True)
    pending_proposal_id: str | None = Field(default=None, max_length=40)
    needs_review: bool = Field(default=False, index=True)
    duplicate_of: str | None = Field(default=None, foreign_key="claim.id", max_length=40)
    submitted_by: str = Field(foreign_key="user.id", max_length=40)
    version: int = Field(default=1, sa_column=_VERSION)
    # The newest event of the claim's history (seq and hash): deleting it from the table is seen,
    # since the chain then ends before the head the claim row names.
    history_seq: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    history_head: str | None = Field(default=None, max_length=64)
    # Text, claimant and appearance quotes, indexed for full-text search (FTS5 / tsvector).
    search_text: str = Field(default="", sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    # Every flush of a changed claim runs UPDATE … WHERE version = <the version read> and bumps
    # it, so two writers acting on the same version cannot both succeed.
    __mapper_args__ = {"version_id_col": _VERSION}

    tags: list["ClaimTag"] = Relationship(
        sa_relationship_kwargs={"order_by": "ClaimTag.position", "cascade": "all, delete-orphan"}
    )
    appearances: list["Appearance"] = Relationship(
        sa_relationship_kwargs={"order_by": "Appearance.id", "cascade": "all, delete-orphan"}
    )
    citations: list["Citation"] = Relationship(
        sa_relationship_kwargs={"order_by": "Citation.id", "cascade": "all, delete-orphan"}
    )
    verdicts: list["Verdict"] = Relationship(sa_relationship_kwargs={"order_by": "Verdict.version"})
    # Optional["…"], not "… | None": SQLModel resolves the quoted class name, not a union in a string.
    proposal: Optional["Proposal"] = Relationship(
        sa_relationship_kwargs={
            "primaryjoin": "foreign(Claim.pending_proposal_id) == Proposal.id",
            "viewonly": True,
        }
    )

    @property
    def verdict(self) -> "Verdict | None":
        """The current published verdict (it stays public while a correction is in progress)."""
        return next((v for v in self.verdicts if v.version == self.verdict_version), None)

    @property
    def tag_names(self) -> list[str]:
        return [t.tag for t in self.tags]

    @property
    def etag(self) -> str:
        """Strong entity tag: changes with every change to the claim."""
        return f'"{self.id}.{self.version}"'


class ClaimTag(SQLModel, table=True):
    __tablename__ = "claim_tag"

    claim_id: str = Field(foreign_key="claim.id", primary_key=True, max_length=40)
    tag: str = Field(primary_key=True, max_length=50, index=True)
    position: int = 0


class Appearance(SQLModel, table=True):
    """Where and how a claim was made: a story, a post, a speech."""

    __tablename__ = "appearance"

    id: str = Field(default_factory=lambda: new_id("apr"), primary_key=True, max_length=40)
    claim_id: str = Field(foreign_key="claim.id", index=True, max_length=40)
    url: str | None = Field(default=None, max_length=2048)
    title: str | None = Field(default=None, max_length=500)
    publisher: str | None = Field(default=None, max_length=300)
    published_at: date | None = None
    quote: str | None = Field(default=None, max_length=5000)
    # When the quote was taken from an archived copy (a claim made from reporting): the source, the
    # snapshot and where in its extracted text the quote stands.
    source_id: str | None = Field(default=None, foreign_key="source.id", max_length=40)
    snapshot_id: str | None = Field(default=None, max_length=40)
    anchor_start: int | None = None
    anchor_end: int | None = None
    added_by: str = Field(foreign_key="user.id", max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class ClaimEvent(SQLModel, table=True):
    """One entry of a claim's history. Rows are only ever inserted; each hashes its predecessor."""

    __tablename__ = "claim_event"
    __table_args__ = (sa.UniqueConstraint("claim_id", "seq"),)

    id: str = Field(default_factory=lambda: new_id("evt"), primary_key=True, max_length=40)
    claim_id: str = Field(foreign_key="claim.id", index=True, max_length=40)
    seq: int
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    actor: str | None = Field(default=None, foreign_key="user.id", max_length=40)
    action: str = Field(max_length=40)
    from_status: str | None = Field(default=None, max_length=20)
    to_status: str | None = Field(default=None, max_length=20)
    note: str | None = Field(default=None, sa_type=sa.Text)
    verdict_version: int | None = None
    # What the event attests besides itself: for an approval, the SHA-256 of the verdict it
    # published (claims.history.verdict_digest), so the chain covers the verdict's content too.
    content_hash: str | None = Field(default=None, max_length=64)
    prev_hash: str = Field(max_length=64)
    hash: str = Field(max_length=64)


class Citation(SQLModel, table=True):
    """A claim's reference to a primary source, with the exact quote that bears on it.

    The quote is a W3C TextQuoteSelector (exact, prefix, suffix), anchored in the text of the
    source's latest successful snapshot.
    """

    __tablename__ = "citation"

    id: str = Field(default_factory=lambda: new_id("cit"), primary_key=True, max_length=40)
    claim_id: str = Field(foreign_key="claim.id", index=True, max_length=40)
    source_id: str = Field(foreign_key="source.id", index=True, max_length=40)
    relation: str = Field(max_length=20)  # a Relation
    exact: str = Field(sa_type=sa.Text)
    prefix: str | None = Field(default=None, sa_type=sa.Text)
    suffix: str | None = Field(default=None, sa_type=sa.Text)
    locator: str | None = Field(default=None, max_length=200)
    note: str | None = Field(default=None, sa_type=sa.Text)
    anchor_status: str = Field(default=AnchorStatus.PENDING, max_length=20)
    anchor_snapshot_id: str | None = Field(default=None, foreign_key="snapshot.id", max_length=40)
    anchor_start: int | None = None
    anchor_end: int | None = None
    anchor_score: float | None = None
    anchor_fuzzy: bool = False
    created_by: str = Field(foreign_key="user.id", max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    source: Source = Relationship()


class Proposal(SQLModel, table=True):
    """A verdict proposed by one reviewer, waiting for the approval of others."""

    __tablename__ = "proposal"

    id: str = Field(default_factory=lambda: new_id("prp"), primary_key=True, max_length=40)
    claim_id: str = Field(foreign_key="claim.id", index=True, max_length=40)
    rating: str = Field(max_length=40)
    summary: str = Field(sa_type=sa.Text)
    proposer_id: str = Field(foreign_key="user.id", max_length=40)
    state: str = Field(default=ProposalState.PENDING, max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)

    approvals: list["Approval"] = Relationship(sa_relationship_kwargs={"order_by": "Approval.at"})


class Approval(SQLModel, table=True):
    __tablename__ = "approval"

    proposal_id: str = Field(foreign_key="proposal.id", primary_key=True, max_length=40)
    approver_id: str = Field(foreign_key="user.id", primary_key=True, max_length=40)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Verdict(SQLModel, table=True):
    """One published version of a claim's verdict. Rows are written once and never changed."""

    __tablename__ = "verdict"
    __table_args__ = (sa.UniqueConstraint("claim_id", "version"),)

    id: str = Field(default_factory=lambda: new_id("vrd"), primary_key=True, max_length=40)
    claim_id: str = Field(foreign_key="claim.id", index=True, max_length=40)
    version: int
    rating: str = Field(max_length=40)
    summary: str = Field(sa_type=sa.Text)
    proposer_id: str = Field(foreign_key="user.id", max_length=40)
    approvers: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    proposed_at: datetime = Field(sa_type=UTCDateTime)
    published_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    correction_note: str | None = Field(default=None, sa_type=sa.Text)
    # The citations as they stood when this version was approved: the public record of what it
    # rests on, unchanged by later research on a correction.
    evidence: list[dict[str, Any]] = Field(default_factory=list, sa_type=sa.JSON)
    # The rest of the public record as this version froze it: the claim's text, claimant,
    # language, tags and appearances, and the sources and archived copies its evidence cites.
    # Readers without a token see exactly this until the next version is approved. (None on
    # versions approved before it was kept: those read the claim as it is.)
    record: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    # The history event that approved this version (its seq and hash): the head of the public
    # history while this version is current. Set in the transaction that writes the row.
    history_seq: int | None = None
    history_hash: str | None = Field(default=None, max_length=64)


class PublicSnapshot(SQLModel, table=True):
    """An archived copy that a claim's current published verdict cites: readers without a token
    may open it. Rewritten for a claim each time a verdict on it is approved."""

    __tablename__ = "public_snapshot"

    snapshot_id: str = Field(foreign_key="snapshot.id", primary_key=True, max_length=40)
    claim_id: str = Field(foreign_key="claim.id", primary_key=True, max_length=40, index=True)
    source_id: str = Field(foreign_key="source.id", max_length=40)
