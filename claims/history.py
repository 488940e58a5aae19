"""A claim's history: append-only events, each hashed with its predecessor's hash, so that any
change to a past event, any event taken out and any deleted tail is seen.

The recipe, for anyone checking the chain from the API's answer alone (the README shows it in
code): an event's `hash` is the SHA-256 (hex) of the UTF-8 JSON of its fields `claim_id`, `seq`,
`at`, `actor`, `action`, `from_status`, `to_status`, `note`, `verdict_version`, `prev_hash`, and
`content_hash` when it has one; keys sorted, no spaces (separators `,` and `:`), non-ASCII as is;
`at` written as the API shows it with `Z` replaced by `+00:00`. The first event's `prev_hash` is
64 zeros. An approval's `content_hash` is `verdict_digest` of the verdict it published, made
the same way from the verdict's fields the API shows.
"""

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypedDict, Unpack

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import col, select

from claims.models import Claim, ClaimEvent, Verdict
from service.core.database import utcnow

GENESIS_HASH = "0" * 64
APPROVED = "approve"


def canonical_hash(fields: dict[str, Any]) -> str:
    """SHA-256 (hex) of `fields` as canonical JSON: keys sorted, no spaces, UTF-8."""
    raw = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(raw.encode()).hexdigest()


def timestamp(value: datetime) -> str:
    """A time as hashed: ISO 8601 to the microsecond, with its UTC offset (`+00:00`)."""
    return value.isoformat(timespec="microseconds")


def event_digest(event: ClaimEvent) -> str:
    """SHA-256 of an event's content chained to its predecessor's hash."""
    fields: dict[str, Any] = {
        "claim_id": event.claim_id,
        "seq": event.seq,
        "at": timestamp(event.at),
        "actor": event.actor,
        "action": event.action,
        "from_status": event.from_status,
        "to_status": event.to_status,
        "note": event.note,
        "verdict_version": event.verdict_version,
        "prev_hash": event.prev_hash,
    }
    if event.content_hash is not None:  # events written before verdicts were covered have none
        fields["content_hash"] = event.content_hash
    return canonical_hash(fields)


def verdict_digest(verdict: Verdict) -> str:
    """SHA-256 of what a verdict says and who stands behind it, as the API shows it."""
    return canonical_hash(
        {
            "claim_id": verdict.claim_id,
            "version": verdict.version,
            "rating": verdict.rating,
            "summary": verdict.summary,
            "proposer": verdict.proposer_id,
            "approvers": list(verdict.approvers),
            "proposed_at": timestamp(verdict.proposed_at),
            "published_at": timestamp(verdict.published_at),
            "correction_note": verdict.correction_note,
        }
    )


@dataclass(frozen=True)
class ChainCheck:
    """Whether a claim's history holds; `broken_at` and `problem` say where and why when not."""

    intact: bool
    broken_at: int | None = None
    problem: str | None = None


class EventDetails(TypedDict, total=False):
    """What an event may say besides who did what."""

    from_status: str | None
    to_status: str | None
    note: str | None
    verdict_version: int | None
    content_hash: str | None


class History:
    """The append-only, hash-chained record of everything that happens to a claim."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def record(
        self, claim: Claim, actor: str | None, action: str, **details: Unpack[EventDetails]
    ) -> ClaimEvent:
        """Append one event for `claim`, and make it the claim's head; it commits (or not) with
        the change it describes."""
        last = self.session.execute(
            sa.select(col(ClaimEvent.seq), col(ClaimEvent.hash))
            .where(col(ClaimEvent.claim_id) == claim.id)
            .order_by(col(ClaimEvent.seq).desc())
            .limit(1)
        ).first()
        event = self._event(claim, last if last else (0, GENESIS_HASH), actor, action, details)
        self.session.add(event)
        # The head moves without changing the claim's version: an ETag a client read before this
        # event (a 201's) must still match, and the claim's own changes bump it already.
        self.session.execute(
            sa.update(Claim)
            .where(col(Claim.id) == claim.id)
            .values(history_seq=event.seq, history_head=event.hash)
        )
        set_committed_value(claim, "history_seq", event.seq)
        set_committed_value(claim, "history_head", event.hash)
        return event

    def start(
        self, claim: Claim, actor: str | None, action: str, **details: Unpack[EventDetails]
    ) -> ClaimEvent:
        """The first event of a claim not stored yet: the claim's own INSERT carries its head, so
        nothing is read or updated (intake's path, two statements fewer than `record`)."""
        event = self._event(claim, (0, GENESIS_HASH), actor, action, details)
        claim.history_seq, claim.history_head = event.seq, event.hash
        self.session.add(event)
        return event

    def _event(
        self, claim: Claim, last: tuple[int, str], actor: str | None, action: str, details: EventDetails
    ) -> ClaimEvent:
        """The event following `last` (its seq and hash), hashed."""
        last_seq, last_hash = last
        event = ClaimEvent(
            claim_id=claim.id,
            seq=last_seq + 1,
            at=utcnow(),
            actor=actor,
            action=action,
            from_status=details.get("from_status"),
            to_status=details.get("to_status"),
            note=details.get("note"),
            verdict_version=details.get("verdict_version"),
            content_hash=details.get("content_hash"),
            prev_hash=last_hash,
            hash="",
        )
        event.hash = event_digest(event)
        return event

    def events(self, claim_id: str, through: int | None = None) -> list[ClaimEvent]:
        """The claim's events, oldest first (through seq `through`, if given)."""
        stmt = select(ClaimEvent).where(col(ClaimEvent.claim_id) == claim_id)
        if through is not None:
            stmt = stmt.where(col(ClaimEvent.seq) <= through)
        return list(self.session.scalars(stmt.order_by(col(ClaimEvent.seq))))

    def publication(self, claim: Claim) -> ClaimEvent | None:
        """The event that approved the claim's current verdict: the end of its public history."""
        if claim.verdict_version == 0:
            return None
        stmt = (
            select(ClaimEvent)
            .where(
                col(ClaimEvent.claim_id) == claim.id,
                col(ClaimEvent.action) == APPROVED,
                col(ClaimEvent.verdict_version) == claim.verdict_version,
            )
            .order_by(col(ClaimEvent.seq).desc())
            .limit(1)
        )
        return self.session.scalars(stmt).first()

    @staticmethod
    def verify(
        events: list[ClaimEvent],
        head: tuple[int, str | None] | None = None,
        verdicts: Sequence[Verdict] = (),
    ) -> ChainCheck:
        """Check a chain: every link and hash, the end against the `head` the claim names (a
        deleted tail), and each approval against the verdict it published (an edited verdict)."""
        by_version = {v.version: v for v in verdicts}
        prev = GENESIS_HASH
        for expected_seq, event in enumerate(events, start=1):
            if event.seq != expected_seq:
                return ChainCheck(False, expected_seq, f"event {expected_seq} is missing")
            if event.prev_hash != prev:
                return ChainCheck(False, event.seq, "it does not follow the event before it")
            if event_digest(event) != event.hash:
                return ChainCheck(False, event.seq, "its content does not match its hash")
            verdict = by_version.get(event.verdict_version or 0) if event.action == APPROVED else None
            changed = verdict is not None and event.content_hash not in (None, verdict_digest(verdict))
            if changed and verdict is not None:
                return ChainCheck(False, event.seq, f"verdict version {verdict.version} was changed")
            prev = event.hash
        if head is not None and head[1] is not None:
            seq, head_hash = head
            last = events[-1] if events else None
            if last is None or (last.seq, last.hash) != (seq, head_hash):
                shown = last.seq if last else 0
                return ChainCheck(False, shown + 1, f"the history ends at {shown}, its head is event {seq}")
        return ChainCheck(True)

    def check(self, claim: Claim) -> ChainCheck:
        """The claim's whole chain, against its head and its verdicts."""
        verdicts = list(self.session.scalars(select(Verdict).where(col(Verdict.claim_id) == claim.id)))
        return self.verify(self.events(claim.id), (claim.history_seq, claim.history_head), verdicts)
