"""Reads the desk's pages need that the domain services do not offer yet, one statement each.

Status counts, user names, the snapshots of several sources at once, the sources list's search and
the quotes anchored in a capture. No Flask here; candidates
to move into `ClaimService`, `UserService` and `SourceService` when another caller needs them.
"""

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col, select

from claims.models import STATUSES, Citation, Claim
from claims.reporting.models import ClaimExtraction
from service.accounts.models import Role, User
from sources.models import Snapshot, Source


def status_counts(session: Session) -> dict[str, int]:
    """How many claims are in each status (every status present, zero if none)."""
    rows = session.execute(sa.select(col(Claim.status), sa.func.count()).group_by(col(Claim.status))).all()
    counts = dict.fromkeys(STATUSES, 0)
    counts.update(dict(rows))
    return counts


def assigned_count(session: Session, user_id: str) -> int:
    """How many claims are assigned to the user."""
    found = session.scalar(sa.select(sa.func.count()).where(col(Claim.assignee_id) == user_id))
    return found or 0


def names(session: Session, user_ids: set[str | None]) -> dict[str, str]:
    """User names by id, for the ids given."""
    wanted = {i for i in user_ids if i}
    if not wanted:
        return {}
    rows = session.execute(sa.select(col(User.id), col(User.name)).where(col(User.id).in_(wanted))).all()
    return dict(rows)


def reviewers(session: Session) -> list[User]:
    """Active users who may be assigned research (reviewers and above), by name."""
    roles = [r for r in Role if r.includes(Role.REVIEWER)]
    stmt = (
        select(User)
        .where(col(User.role).in_(roles), col(User.disabled_at).is_(None))
        .order_by(col(User.name))
    )
    return list(session.scalars(stmt))


def snapshots_of(session: Session, source_ids: set[str]) -> dict[str, list[Snapshot]]:
    """Every snapshot of each source, newest first."""
    found: dict[str, list[Snapshot]] = {i: [] for i in source_ids}
    if not source_ids:
        return found
    stmt = select(Snapshot).where(col(Snapshot.source_id).in_(source_ids)).order_by(col(Snapshot.id).desc())
    for snapshot in session.scalars(stmt):
        found[snapshot.source_id].append(snapshot)
    return found


def claims_by_ids(session: Session, ids: list[str]) -> list[Claim]:
    """Claims by id, in the order asked (ids that name no claim are left out)."""
    if not ids:
        return []
    found = {c.id: c for c in session.scalars(select(Claim).where(col(Claim.id).in_(ids)))}
    return [found[i] for i in ids if i in found]


def recent_extractions(session: Session, limit: int = 20) -> list[ClaimExtraction]:
    """The desk's newest extractions."""
    rows = session.scalars(select(ClaimExtraction).order_by(col(ClaimExtraction.id).desc()).limit(limit))
    return list(rows)


def _like(words: str) -> str:
    """A LIKE pattern for `words` anywhere, their own % and _ taken literally."""
    escaped = words.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def sources_page(
    session: Session, q: str | None, health: str | None, limit: int, offset: int
) -> tuple[list[Source], int]:
    """Sources newest first whose title, URL, publisher or file name contains `q` (case aside),
    in `health` when given: one page, and how many match in all."""
    stmt = select(Source)
    if q:
        pattern = _like(q)
        stmt = stmt.where(
            sa.or_(
                *(
                    col(column).ilike(pattern, escape="\\")
                    for column in (Source.title, Source.url, Source.publisher, Source.upload_filename)
                )
            )
        )
    if health:
        stmt = stmt.where(col(Source.health) == health)
    total = session.scalar(sa.select(sa.func.count()).select_from(stmt.subquery())) or 0
    rows = session.scalars(stmt.order_by(col(Source.id).desc()).offset(offset).limit(limit))
    return list(rows), total


def anchored_quotes(session: Session, snapshot_id: str) -> list[tuple[int, int]]:
    """Where the quotes cited from a capture sit in its text (start, end), in text order."""
    stmt = (
        sa.select(col(Citation.anchor_start), col(Citation.anchor_end))
        .where(
            col(Citation.anchor_snapshot_id) == snapshot_id,
            col(Citation.anchor_start).is_not(None),
            col(Citation.anchor_end).is_not(None),
        )
        .order_by(col(Citation.anchor_start))
    )
    return [
        (start, end) for start, end in session.execute(stmt).all() if start is not None and end is not None
    ]
