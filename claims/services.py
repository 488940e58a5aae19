"""Claim operations: intake with de-duplication, reading, listing, editing and the history.

Services `add` and `flush`; the caller (one HTTP request, one CLI command) commits once.
"""

from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Protocol, Required, TypedDict

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import QueryableAttribute, Session, selectinload
from sqlmodel import col, select
from sqlmodel.sql.expression import SelectOfScalar

from claims.errors import ClaimLocked, ClaimNotFound, StaleClaim
from claims.history import ChainCheck, History
from claims.models import (
    Appearance,
    Citation,
    Claim,
    ClaimEvent,
    ClaimStatus,
    ClaimTag,
    Proposal,
    PublicSnapshot,
)
from claims.public import PublicClaim
from claims.search import ClaimSearch, parse_query
from service.accounts.models import User
from service.core.database import utcnow
from service.core.effects import Effect, Effects
from service.core.etags import etag_matches
from service.core.text import claim_key, fold

# The desk's queue orders; each ends with `seq` so that pages never overlap.
CLAIM_ORDERS = {
    "newest": (col(Claim.seq).desc(),),
    "oldest": (col(Claim.seq).asc(),),
    "changed": (col(Claim.updated_at).desc(), col(Claim.seq).desc()),
    "review": (col(Claim.needs_review).desc(), col(Claim.seq).desc()),
}

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
    # Set by extractions: the archived copy the quote was taken from, and where in its text.
    source_id: str | None
    snapshot_id: str | None
    anchor_start: int | None
    anchor_end: int | None


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


class PossibleDuplicate(Protocol):
    """A claim on the desk or an imported fact-check that may state the same claim
    (`claims.matching.services.Match`: kind, id, text, score, relation, rating, …)."""

    @property
    def id(self) -> str: ...

    @property
    def score(self) -> float: ...


class Matcher(Protocol):
    """Ranks the desk's claims and the imported fact-checks against a text
    (`claims.matching.services.Matcher`)."""

    def match(
        self, text: str, limit: int = ..., exclude: Collection[str] = ..., min_score: float = ...
    ) -> Sequence[PossibleDuplicate]: ...


class DuplicateFinder:
    """Possible duplicates of a claim text: its best matches among the desk's claims and the
    imported fact-checks, each with its relation (the same claim, another number, a negation)."""

    # The matcher's lexical score: the share of content words (a claim that is not the same
    # one, `related`, counts 0.8 of its share). Below it, a claim only shares a word or two.
    THRESHOLD = 0.3
    LIMIT = 5
    # Intake looks for near-duplicates, which share the most words and the rarest: they are the
    # index's first few, found through the postings of the rarest words, and scored by what they
    # share (`Matcher(lexical=True)`), not by the re-ranker POST /api/v1/match uses. Fewer
    # candidates and postings than /match's (48 and retrieval.POSTINGS_BUDGET) keep intake as
    # quick as it was before matching (tests/bench/intake.py).
    CANDIDATES = LIMIT + 1
    BUDGET = 500

    def __init__(self, matcher: Matcher, limit: int = LIMIT) -> None:
        self.matcher = matcher
        self.limit = limit

    def near(self, text: str) -> list[PossibleDuplicate]:
        """Up to `limit` matches, best first, each with a score in [0, 1], and one spare: the
        caller drops the claim itself."""
        return list(self.matcher.match(text, limit=self.limit + 1, min_score=self.THRESHOLD))


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

    def get(self, claim_id: str, viewer: User, *, lock: bool = False) -> Claim:
        """The claim as the desk sees it (anyone with a token). Readers without one get `public`.

        `lock` holds the row until the transaction ends, for changes that must not race.
        """
        claim = self.session.scalars(_with_children(select(Claim).where(Claim.id == claim_id), lock)).first()
        if claim is None:
            raise ClaimNotFound(f"No claim {claim_id!r}.")
        return claim

    def public(self, claim_id: str) -> PublicClaim:
        """The claim as its current verdict froze it; 404 for a claim never published."""
        claim = self.session.scalars(
            _with_children(select(Claim).where(Claim.id == claim_id, PUBLIC))
        ).first()
        if claim is None:
            raise ClaimNotFound(f"No claim {claim_id!r}.")
        return PublicClaim.of(claim)

    def read(self, claim_id: str, viewer: User | None) -> Claim | PublicClaim:
        """The claim as `viewer` sees it: the desk's view with a token, the public record without."""
        return self.get(claim_id, viewer) if viewer is not None else self.public(claim_id)

    def page(
        self, viewer: User, filters: ClaimFilters, limit: int, after: int | None = None
    ) -> tuple[list[Claim], bool]:
        """Claims newest first, after the cursor (a `seq`); the page and whether more follow.

        Newest first is insertion order (`seq`), which the full-text index walks without sorting.
        """
        return self._page(self._filtered(filters), filters, limit, after)

    def sorted_page(
        self, viewer: User, filters: ClaimFilters, order: str, limit: int, offset: int = 0
    ) -> tuple[list[Claim], int]:
        """One numbered page of claims in `order` (a key of CLAIM_ORDERS), and how many match in
        all: the desk's queue, which sorts and counts where the API's cursor pages do not."""
        stmt = self._filtered(filters)
        if filters.rating:
            stmt = stmt.where(Claim.rating == filters.rating)
        total = self.session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
        stmt = stmt.order_by(*CLAIM_ORDERS[order]).offset(offset).limit(limit)
        return list(self.session.scalars(_with_children(stmt))), total

    def _filtered(self, filters: ClaimFilters) -> SelectOfScalar[Claim]:
        """The claims that match every filter but the rating (which `_page` applies)."""
        stmt = select(Claim)
        if filters.status:
            stmt = stmt.where(Claim.status == filters.status)
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
        return stmt

    def public_page(
        self, filters: ClaimFilters, limit: int, after: int | None = None
    ) -> tuple[list[PublicClaim], bool]:
        """Published claims as their verdicts froze them, newest first. Filters that the public
        record cannot answer (an assignee, `needs_review`, a status other than published) match
        nothing; tags and words match the frozen record, never unpublished edits."""
        if filters.assignee or filters.needs_review or filters.status not in (None, ClaimStatus.PUBLISHED):
            return [], False
        stmt = select(Claim).where(PUBLIC)
        if filters.q:  # a first cut through the index; the frozen record decides below
            stmt = stmt.where(self.search.matching(filters.q))
        if filters.source:
            stmt = stmt.where(
                col(Claim.id).in_(
                    select(PublicSnapshot.claim_id).where(PublicSnapshot.source_id == filters.source)
                )
            )
        found: list[PublicClaim] = []
        more = True
        while more and len(found) < limit:
            claims, more = self._page(stmt, filters, limit, after)
            if not claims:
                break
            after = claims[-1].seq
            found += [p for p in map(PublicClaim.of, claims) if _matches_publicly(p, filters)]
        return found[:limit], more or len(found) > limit

    def published(self, limit: int = 10_000) -> list[PublicClaim]:
        """Published claims as their verdicts froze them, newest first (the feed)."""
        stmt = select(Claim).where(PUBLIC).order_by(col(Claim.seq).desc()).limit(limit)
        return [PublicClaim.of(c) for c in self.session.scalars(_with_children(stmt))]

    def archive_is_public(self, source_id: str, snapshot_id: str) -> bool:
        """Whether a current published record cites this archived copy (readers may open it)."""
        stmt = select(PublicSnapshot.claim_id).where(
            PublicSnapshot.snapshot_id == snapshot_id, PublicSnapshot.source_id == source_id
        )
        return self.session.scalars(stmt.limit(1)).first() is not None

    def events(
        self, claim_id: str, viewer: User | None
    ) -> tuple[list[ClaimEvent], ChainCheck, tuple[int, str | None]]:
        """The claim's history as `viewer` may see it, oldest first, whether it holds, and its head
        (seq, hash). Without a token: the events up to the approval of the current verdict, the
        head being that approval."""
        claim = self.get(claim_id, viewer) if viewer is not None else self._public_claim(claim_id)
        if viewer is not None:
            return (
                self.history.events(claim.id),
                self.history.check(claim),
                (claim.history_seq, claim.history_head),
            )
        published = self.history.publication(claim)
        through = published.seq if published is not None else 0
        events = self.history.events(claim.id, through=through)
        check = self.history.verify(events, None, claim.verdicts)
        return events, check, (through, published.hash if published is not None else None)

    def _public_claim(self, claim_id: str) -> Claim:
        claim = self.session.scalars(select(Claim).where(Claim.id == claim_id, PUBLIC)).first()
        if claim is None:
            raise ClaimNotFound(f"No claim {claim_id!r}.")
        return claim

    def _page(
        self, stmt: SelectOfScalar[Claim], filters: ClaimFilters, limit: int, after: int | None
    ) -> tuple[list[Claim], bool]:
        if filters.rating:
            stmt = stmt.where(Claim.rating == filters.rating)
        if after is not None:
            stmt = stmt.where(col(Claim.seq) < after)
        stmt = stmt.order_by(col(Claim.seq).desc()).limit(limit + 1)
        claims = list(self.session.scalars(_with_children(stmt)))
        return claims[:limit], len(claims) > limit

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
                    self.history.start(claim, submitter.id, "submitted", to_status=claim.status)
                    self.session.flush()
            except IntegrityError:
                # Another request stored the same text between our look-up and our insert.
                existing = self._by_key(key, lock=True)
                if existing is None:
                    raise
            else:
                self.effects.add(Effect.CLAIM_CHANGED, claim.id)
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
            source_id=data.get("source_id"),
            snapshot_id=data.get("snapshot_id"),
            anchor_start=data.get("anchor_start"),
            anchor_end=data.get("anchor_end"),
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


def _matches_publicly(claim: PublicClaim, filters: ClaimFilters) -> bool:
    """Whether the frozen record matches a reader's tag and words (the index saw the desk's text)."""
    if filters.tag and filters.tag.casefold() not in claim.tag_names:
        return False
    if filters.q:
        words, phrases = parse_query(filters.q)
        haystack = fold(claim.search_text)
        wanted = [fold(w) for w in words] + [fold(" ".join(p)) for p in phrases]
        return all(w in haystack for w in wanted)
    return True


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
