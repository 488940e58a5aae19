"""Claim operations: intake with de-duplication, reading, listing, editing and the history.

Services `add` and `flush`; the caller (one HTTP request, one CLI command) commits once.
"""

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Required, TypedDict

import sqlalchemy as sa
from rapidfuzz import fuzz
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, Session, selectinload
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from claims.errors import ClaimLocked, ClaimNotFound, StaleClaim
from claims.models import Appearance, Citation, Claim, ClaimEvent, ClaimStatus, ClaimTag, Proposal
from claims.search import ClaimSearch
from service.accounts.models import User
from service.core.database import utcnow
from service.core.effects import Effect, Effects
from service.core.etags import etag_matches
from service.core.text import claim_key, fold

GENESIS_HASH = "0" * 64
# Readers without a token see a claim once a verdict on it has been published (and still
# while a correction of it is under way).
PUBLIC = col(Claim.verdict_version) > 0


# What the API's schemas (`claims.schemas`) load, as the services take it. A key is absent when
# the client left the field out, which is not the same as sending null (PATCH keeps the value).
class AppearanceData(TypedDict, total=False):
    """An appearance (`AppearanceIn`): at least a url or a quote."""

    url: str | None
    title: str | None
    publisher: str | None
    published_at: date | None
    quote: str | None


class ClaimFields(TypedDict, total=False):
    """The fields a claim is submitted with and edited through (`ClaimFieldsIn`)."""

    claimant: str | None
    language: str | None
    tags: list[str]


class NewClaim(ClaimFields, total=False):
    """A claim as submitted (`ClaimIn`)."""

    text: Required[str]
    appearance: AppearanceData | None


class ClaimChanges(ClaimFields, total=False):
    """An edit (`ClaimPatch`): only the keys present change."""

    text: str


def event_digest(event: ClaimEvent) -> str:
    """SHA-256 of an event's content chained to its predecessor's hash."""
    payload = {
        "claim_id": event.claim_id,
        "seq": event.seq,
        "at": event.at.isoformat(timespec="microseconds"),
        "actor": event.actor,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": event.note,
        "verdict_version": event.verdict_version,
        "prev_hash": event.prev_hash,
    }
    raw = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


class History:
    """The append-only, hash-chained record of everything that happens to a claim."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self,
        claim: Claim,
        actor: str | None,
        action: str,
        *,
        from_status: str | None = None,
        to_status: str | None = None,
        note: str | None = None,
        verdict_version: int | None = None,
    ) -> ClaimEvent:
        """Append one event for `claim`; it commits (or not) with the change it describes."""
        last = self.session.execute(
            sa.select(col(ClaimEvent.seq), col(ClaimEvent.hash))
            .where(col(ClaimEvent.claim_id) == claim.id)
            .order_by(col(ClaimEvent.seq).desc())
            .limit(1)
        ).first()
        last_seq, last_hash = last if last else (0, GENESIS_HASH)
        event = ClaimEvent(
            claim_id=claim.id,
            seq=last_seq + 1,
            at=utcnow(),
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to_status,
            note=note,
            verdict_version=verdict_version,
            prev_hash=last_hash,
            hash="",
        )
        event.hash = event_digest(event)
        self.session.add(event)
        return event

    def events(self, claim_id: str) -> list[ClaimEvent]:
        """Every event of a claim, oldest first."""
        return list(
            self.session.scalars(
                select(ClaimEvent).where(ClaimEvent.claim_id == claim_id).order_by(col(ClaimEvent.seq))
            )
        )

    @staticmethod
    def verify(events: list[ClaimEvent]) -> int | None:
        """The seq of the first event whose hash does not hold, or None when the chain is whole."""
        prev = GENESIS_HASH
        for event in events:
            if event.prev_hash != prev or event_digest(event) != event.hash:
                return event.seq
            prev = event.hash
        return None


@dataclass
class PossibleDuplicate:
    id: str
    text: str
    score: float


class DuplicateFinder:
    """Near-duplicates of a claim text: full-text candidates re-ranked by fuzzy similarity."""

    THRESHOLD = 0.6
    LIMIT = 5

    def __init__(self, search: ClaimSearch, limit: int = LIMIT) -> None:
        self.search = search
        self.limit = limit

    def near(self, text: str) -> list[PossibleDuplicate]:
        """Up to `limit` similar claims, best first, each with a score in [0, 1]."""
        wanted = fold(text)
        found = []
        for claim_id, other in self.search.candidates(text):
            score = fuzz.token_sort_ratio(wanted, fold(other)) / 100
            if score >= self.THRESHOLD:
                found.append(PossibleDuplicate(claim_id, other, round(score, 3)))
        found.sort(key=lambda d: (-d.score, d.id))
        return found[: self.limit + 1]  # one spare: the caller drops the claim itself


@dataclass
class Submission:
    claim: Claim
    created: bool
    possible_duplicates: list[PossibleDuplicate] = field(default_factory=list)


@dataclass
class ClaimFilters:
    status: str | None = None
    rating: str | None = None
    tag: str | None = None
    assignee: str | None = None
    q: str | None = None
    needs_review: bool | None = None
    source: str | None = None


class ClaimService:
    """Intake, reading and editing of claims, each change written to the claim's history."""

    def __init__(
        self,
        session: Session,
        history: History,
        duplicates: DuplicateFinder,
        search: ClaimSearch,
        effects: Effects,
    ) -> None:
        self.session = session
        self.history = history
        self.duplicates = duplicates
        self.search = search
        self.effects = effects  # every changed claim is announced once committed (caches forget it)

    # -- reading -----------------------------------------------------------------------------

    def get(self, claim_id: str, viewer: User | None, *, lock: bool = False) -> Claim:
        """The claim, if it exists and `viewer` may see it (anonymous readers: published only).

        `lock` holds the row until the transaction ends, for changes that must not race.
        """
        claim = self.session.scalars(_with_children(select(Claim).where(Claim.id == claim_id), lock)).first()
        if claim is None or (viewer is None and claim.verdict_version == 0):
            raise ClaimNotFound(f"No claim {claim_id!r}.")
        return claim

    def page(
        self, viewer: User | None, filters: ClaimFilters, limit: int, after: int | None = None
    ) -> tuple[list[Claim], bool]:
        """Claims newest first, after the cursor (a `seq`); the page and whether more follow.

        Newest first is insertion order (`seq`), which the full-text index walks without sorting.
        """
        stmt = select(Claim)
        if viewer is None:
            stmt = stmt.where(PUBLIC)
        if filters.status:
            stmt = stmt.where(Claim.status == filters.status)
        if filters.rating:
            stmt = stmt.where(Claim.rating == filters.rating)
        if filters.assignee:
            stmt = stmt.where(Claim.assignee_id == filters.assignee)
        if filters.needs_review is not None:
            stmt = stmt.where(Claim.needs_review == filters.needs_review)
        if filters.tag:
            stmt = stmt.where(
                col(Claim.id).in_(select(ClaimTag.claim_id).where(ClaimTag.tag == filters.tag.casefold()))
            )
        if filters.q:
            stmt = stmt.where(self.search.matching(filters.q))
        if filters.source:
            stmt = stmt.where(
                col(Claim.id).in_(select(Citation.claim_id).where(Citation.source_id == filters.source))
            )
        if after is not None:
            stmt = stmt.where(col(Claim.seq) < after)
        stmt = stmt.order_by(col(Claim.seq).desc()).limit(limit + 1)
        claims = list(self.session.scalars(_with_children(stmt)))
        return claims[:limit], len(claims) > limit

    def published(self, limit: int = 10_000) -> list[Claim]:
        """Claims with a published verdict, newest first, with what their public pages show."""
        stmt = select(Claim).where(PUBLIC).order_by(col(Claim.seq).desc()).limit(limit)
        return list(self.session.scalars(_with_children(stmt)))

    def cites_publicly(self, source_id: str) -> bool:
        """Whether a published claim cites this source (its archive is then public too)."""
        stmt = (
            select(Citation.id)
            .join(Claim, col(Claim.id) == col(Citation.claim_id))
            .where(Citation.source_id == source_id, PUBLIC)
            .limit(1)
        )
        return self.session.scalars(stmt).first() is not None

    def events(self, claim_id: str, viewer: User | None) -> list[ClaimEvent]:
        """The claim's history, oldest first."""
        claim = self.get(claim_id, viewer)
        return self.history.events(claim.id)

    # -- intake ------------------------------------------------------------------------------

    def possible_duplicates(self, text: str) -> list[PossibleDuplicate]:
        """Claims on the desk that read almost like `text`, best first (reads only).

        Run it before `submit` and pass the result in, so on SQLite the look-up happens outside
        the write lock that `submit` takes.
        """
        return self.duplicates.near(text)

    def submit(
        self, submitter: User, data: NewClaim, possible_duplicates: list[PossibleDuplicate] | None = None
    ) -> Submission:
        """Add a claim, or the appearance to the existing claim with the same normalised text."""
        if possible_duplicates is None:
            possible_duplicates = self.possible_duplicates(data["text"])
        key = claim_key(data["text"])
        existing = self._by_key(key, lock=True)
        if existing is None:
            claim = self._new_claim(submitter, key, data)
            try:
                with self.session.begin_nested():
                    self.session.add(claim)
                    self.session.flush()
            except IntegrityError:
                # Another request stored the same text between our look-up and our insert.
                existing = self._by_key(key, lock=True)
                if existing is None:
                    raise
            else:
                self.effects.add(Effect.CLAIM_CHANGED, claim.id)
                self.history.record(claim, submitter.id, "submitted", to_status=claim.status)
                return Submission(claim, True, _without(possible_duplicates, claim.id))
        appearance = data.get("appearance")
        if appearance and self._add_appearance(existing, submitter, appearance):
            self.history.record(
                existing,
                submitter.id,
                "appearance_added",
                note="The same claim was submitted again with this appearance.",
            )
            self.touch(existing)
        return Submission(existing, False, _without(possible_duplicates, existing.id))

    def add_appearance(self, claim_id: str, user: User, data: AppearanceData) -> Claim:
        """Record one more place where the claim was made (an identical one is not repeated)."""
        claim = self.get(claim_id, user, lock=True)
        if self._add_appearance(claim, user, data):
            self.history.record(claim, user.id, "appearance_added", note=data.get("url"))
            self.touch(claim)
        return claim

    # -- editing -----------------------------------------------------------------------------

    def update(self, claim_id: str, user: User, expected: list[str], changes: ClaimChanges) -> Claim:
        """Edit text, claimant, tags or language of an unpublished claim at the expected ETag."""
        claim = self.get(claim_id, user)
        if not etag_matches(claim.etag, expected):
            raise StaleClaim("The claim has changed since you read it; fetch it and try again.")
        if claim.status == ClaimStatus.PUBLISHED:
            raise ClaimLocked("A published claim is changed through the `correct` transition.")
        changed = []
        if "text" in changes and changes["text"] != claim.text:
            key = claim_key(changes["text"])
            other = self._by_key(key)
            if other is not None and other.id != claim.id:
                raise ClaimLocked(f"Another claim already has this text: {other.id}.", duplicate_of=other.id)
            claim.text, claim.text_key = changes["text"], key
            changed.append("text")
        if "claimant" in changes and changes["claimant"] != claim.claimant:
            claim.claimant = changes["claimant"]
            changed.append("claimant")
        if "language" in changes and changes["language"] != claim.language:
            claim.language = changes["language"]
            changed.append("language")
        if "tags" in changes and _tags(changes["tags"]) != claim.tag_names:
            claim.tags = [
                ClaimTag(claim_id=claim.id, tag=t, position=i) for i, t in enumerate(_tags(changes["tags"]))
            ]
            changed.append("tags")
        if changed:
            self.history.record(claim, user.id, "edited", note="Changed " + ", ".join(changed) + ".")
            self.touch(claim)
        return claim

    def move_appearances(self, duplicate: Claim, kept: Claim) -> int:
        """Move the duplicate's appearances to the kept claim (identical ones stay); how many."""
        known = {(a.url, a.quote) for a in kept.appearances}
        moving = [a for a in duplicate.appearances if (a.url, a.quote) not in known]
        for appearance in moving:
            duplicate.appearances.remove(appearance)
            appearance.claim_id = kept.id
            kept.appearances.append(appearance)
        return len(moving)

    # -- helpers -----------------------------------------------------------------------------

    def _by_key(self, key: str, lock: bool = False) -> Claim | None:
        return self.session.scalars(_with_children(select(Claim).where(Claim.text_key == key), lock)).first()

    def _new_claim(self, submitter: User, key: str, data: NewClaim) -> Claim:
        claim = Claim(
            text=data["text"],
            text_key=key,
            claimant=data.get("claimant"),
            language=data.get("language"),
            submitted_by=submitter.id,
        )
        claim.tags = [
            ClaimTag(claim_id=claim.id, tag=t, position=i) for i, t in enumerate(_tags(data.get("tags")))
        ]
        claim.appearances = []
        claim.citations, claim.verdicts = [], []  # known empty: the answer needs no query for them
        appearance = data.get("appearance")
        if appearance:
            self._add_appearance(claim, submitter, appearance)
        claim.search_text = _search_text(claim)
        return claim

    def _add_appearance(self, claim: Claim, user: User, data: AppearanceData) -> bool:
        url, quote = data.get("url"), data.get("quote")
        for known in claim.appearances:
            if (known.url, known.quote) == (url, quote):
                return False
        appearance = Appearance(
            claim_id=claim.id,
            added_by=user.id,
            url=url,
            title=data.get("title"),
            publisher=data.get("publisher"),
            published_at=data.get("published_at"),
            quote=quote,
        )
        claim.appearances.append(appearance)
        return True

    def touch(self, claim: Claim) -> None:
        """Mark a change: new search text, `updated_at`, and (through the flush) a new version."""
        self.effects.add(Effect.CLAIM_CHANGED, claim.id)
        claim.search_text = _search_text(claim)
        claim.updated_at = _later(utcnow(), claim.updated_at)
        self.session.add(claim)
        self.session.flush()


def _with_children(stmt: SelectOfScalar[Claim], lock: bool = False) -> SelectOfScalar[Claim]:
    # Two extra statements per page, whatever its size: no query per row.
    stmt = stmt.options(
        selectinload(_related(Claim.tags)),
        selectinload(_related(Claim.appearances)),
        selectinload(_related(Claim.citations)).selectinload(_related(Citation.source)),
        selectinload(_related(Claim.verdicts)),
        selectinload(_related(Claim.proposal)).selectinload(_related(Proposal.approvals)),
    )
    if lock:  # PostgreSQL row lock; SQLite writers are serialised by BEGIN IMMEDIATE already
        stmt = stmt.with_for_update(of=Claim).execution_options(populate_existing=True)
    return stmt


def _related(attribute: object) -> QueryableAttribute[Any]:
    """A relationship as SQLAlchemy sees it on the class (SQLModel types it as the related value)."""
    if not isinstance(attribute, QueryableAttribute):
        raise TypeError(f"Not a mapped relationship: {attribute!r}")
    return attribute


def _without(duplicates: list[PossibleDuplicate], claim_id: str) -> list[PossibleDuplicate]:
    return [d for d in duplicates if d.id != claim_id]


def _tags(tags: list[str] | None) -> list[str]:
    seen: dict[str, None] = {}
    for tag in tags or []:
        seen.setdefault(tag.casefold())
    return list(seen)


def _search_text(claim: Claim) -> str:
    parts = [claim.text, claim.claimant or ""]
    parts += [a.quote or "" for a in claim.appearances]
    parts += [a.title or "" for a in claim.appearances]
    return "\n".join(p for p in parts if p)


def _later(now: datetime, before: datetime | None) -> datetime:
    return now if before is None or now > before else before
