"""`factdesk history verify`: every claim's hash chain checked, in batches of claims."""

from collections.abc import Callable, Iterator

from sqlalchemy.orm import Session
from sqlmodel import col, select

from claims.history import History
from claims.models import Claim, ClaimEvent, Verdict

BATCH = 500


def verify_histories(
    session: Session, claim_id: str | None = None, on_broken: Callable[[str], object] = print
) -> tuple[int, int]:
    """Check the chains of every claim (or one); (how many checked, how many broken). Each
    broken one is reported through `on_broken` with where and why."""
    checked = broken = 0
    for claims in _batches(session, claim_id):
        ids = [c.id for c in claims]
        events: dict[str, list[ClaimEvent]] = {i: [] for i in ids}
        stmt = select(ClaimEvent).where(col(ClaimEvent.claim_id).in_(ids))
        for event in session.scalars(stmt.order_by(col(ClaimEvent.claim_id), col(ClaimEvent.seq))):
            events[event.claim_id].append(event)
        verdicts: dict[str, list[Verdict]] = {i: [] for i in ids}
        for verdict in session.scalars(select(Verdict).where(col(Verdict.claim_id).in_(ids))):
            verdicts[verdict.claim_id].append(verdict)
        for claim in claims:
            check = History.verify(
                events[claim.id], (claim.history_seq, claim.history_head), verdicts[claim.id]
            )
            checked += 1
            if not check.intact:
                broken += 1
                on_broken(f"{claim.id}: broken at event {check.broken_at}: {check.problem}")
        session.expunge_all()  # a batch at a time in memory, however many claims
    return checked, broken


def _batches(session: Session, claim_id: str | None) -> Iterator[list[Claim]]:
    if claim_id is not None:
        yield list(session.scalars(select(Claim).where(Claim.id == claim_id)))
        return
    after = 0
    while True:
        stmt = select(Claim).where(col(Claim.seq) > after).order_by(col(Claim.seq)).limit(BATCH)
        claims = list(session.scalars(stmt))
        if not claims:
            return
        yield claims
        after = claims[-1].seq or after
