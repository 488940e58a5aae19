"""What each desk page shows, gathered from the domain services in a fixed number of statements.

`claim_page(services, claim, me)` and `source_page(services, source, me, snapshot_id)` answer template
context; no Flask here, so the pages' content can be tested without HTTP.
"""

import re
from dataclasses import dataclass
from typing import Any

from claims.citations import CITE_ROLE, FROZEN_STATUSES
from claims.models import Citation, Claim, ClaimStatus
from claims.reporting.models import ClaimExtraction
from claims.schemas import RELATIONS
from claims.services import ClaimFilters
from claims.workflow import BY_ACTION, DISMISS_REASONS, allowed_actions
from service.accounts.models import Role, User
from service.composition import Services
from service.core.errors import NotFoundError
from service.reviewer import reads
from sources.models import Snapshot, Source
from sources.services import CAPTURE_ROLE

MATCHES_ON_CLAIM = 5  # "Close to this claim" on a claim page
CONTEXT_CHARS = 280  # text shown either side of a highlighted quote
TEXT_SHOWN = 100_000  # characters of extracted text shown on a source page; the rest is a link away
RECENT_SOURCES = 100  # sources offered in the citation form's list
_WHITESPACE = re.compile(r"\s")

RELATION_LABELS = {
    "same": "Same claim",
    "number_conflict": "Same claim, different number",
    "negation": "Same claim, negated",
    "related": "Related",
}
KIND_LABELS = {
    "number": "numbers",
    "comparison": "comparison",
    "negation": "negation",
    "attribution": "attributed",
    "time": "dates and times",
    "quote": "direct quote",
}

ANCHOR_STATES = {
    "found": "Quote found in the archived text",
    "not_found": "Quote not found in the archived text",
    "pending": "Waiting for the source to be archived",
    "source_changed": "The source changed: the quote is no longer in its latest text",
}
DISMISS_LABELS = {
    "duplicate": "Duplicate of another claim",
    "not_checkable": "Not checkable",
    "opinion": "Opinion, not a factual claim",
    "out_of_scope": "Out of scope",
}


@dataclass
class Excerpt:
    """A quote in its archived text: what comes before, the quote itself, what follows."""

    before: str
    quote: str
    after: str
    snapshot: Snapshot


@dataclass
class CitationView:
    citation: Citation
    excerpt: Excerpt | None
    state: str
    snapshots: list[Snapshot]


def source_name(source: Source) -> str:
    """How a source is named on the desk: its title, else its URL or file name."""
    return source.title or source.url or source.upload_filename or source.id


def can_cite(claim: Claim, me: User) -> bool:
    """Whether the citation form belongs on the claim's page for this user."""
    return claim.status not in FROZEN_STATUSES and me.has_role(CITE_ROLE)


def can_edit(claim: Claim, me: User) -> bool:
    """Whether the edit form belongs on the claim's page (a published claim changes through
    `correct`; editing is a reviewer's, as `PATCH /api/v1/claims/{id}` is)."""
    return claim.status != ClaimStatus.PUBLISHED and me.has_role(Role.REVIEWER)


def may_capture(me: User) -> bool:
    """Whether the re-capture button belongs on a source's page for this user."""
    return me.has_role(CAPTURE_ROLE)


def anchor_state(citation: Citation, snapshots: list[Snapshot]) -> str:
    """Where a citation's quote stands, in words: for one still pending, what is true of its
    source now (a capture queued, failed, blocked, or a document whose text is being read)."""
    if citation.anchor_status != "pending":
        return ANCHOR_STATES.get(citation.anchor_status, citation.anchor_status)
    source, latest = citation.source, snapshots[0] if snapshots else None
    if source.capture_requested_at is not None or latest is None:
        return "Waiting for the source to be archived: a capture is queued"
    if not latest.ok:
        reason = latest.error or "the capture failed"
        return f"The source could not be archived: {reason} Capture it again from its page, or cite another."
    return "Waiting for the archived document's text to be read"


def claim_page(services: Services, claim: Claim, me: User) -> dict[str, Any]:
    """Everything the claim page shows, and the forms the workflow table allows `me` now."""
    events = services.history.events(claim.id)
    source_ids = {c.source_id for c in claim.citations}
    snapshots = reads.snapshots_of(services.session, source_ids)
    by_id = {s.id: s for group in snapshots.values() for s in group}
    citations = [
        CitationView(
            c,
            _excerpt(services, by_id.get(c.anchor_snapshot_id or ""), c),
            anchor_state(c, snapshots.get(c.source_id, [])),
            snapshots.get(c.source_id, []),
        )
        for c in claim.citations
    ]
    proposal = claim.proposal
    people = {claim.assignee_id, claim.submitted_by, *(e.actor for e in events)}
    if proposal is not None:
        people |= {proposal.proposer_id, *(a.approver_id for a in proposal.approvals)}
    for verdict in claim.verdicts:
        people |= {verdict.proposer_id, *verdict.approvers}
    actions = allowed_actions(claim.status, me.role)
    reviewers = reads.reviewers(services.session) if "start_research" in actions else []
    sources = services.sources.page(RECENT_SOURCES)[0] if can_cite(claim, me) else []
    return {
        "claim": claim,
        "events": events,
        "chain": services.history.verify(events, (claim.history_seq, claim.history_head), claim.verdicts),
        "citations": citations,
        "names": reads.names(services.session, people),
        "actions": [BY_ACTION[a] for a in actions],
        "options": {
            "assignee": [(u.id, f"{u.name} ({u.role})") for u in reviewers],
            "rating": [(r.key, r.label) for r in services.scale.ratings],
            "reason": [(r, DISMISS_LABELS.get(r, r)) for r in DISMISS_REASONS],
            "relation": [(r, r.capitalize()) for r in RELATIONS],
            "source_id": [(s.id, source_name(s)) for s in sources],
        },
        "can_cite": can_cite(claim, me),
        "can_edit": can_edit(claim, me),
        "matches": services.matcher.match(claim.text, limit=MATCHES_ON_CLAIM, exclude={claim.id})
        if hasattr(services, "matcher")  # TMP until the matcher lands
        else [],
    }


@dataclass
class SentenceView:
    index: int
    text: str
    score: float
    checkworthy: bool
    kinds: list[str]
    segments: list[tuple[str, bool]]  # the text in pieces, True for a number
    matches: list[dict[str, Any]]


def number_segments(text: str, start: int, numbers: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """`text` (which starts at `start` in its report) cut so that each number is a piece of its own."""
    pieces: list[tuple[str, bool]] = []
    at = 0
    for number in sorted(numbers, key=lambda n: n["start"]):
        begin, end = number["start"] - start, number["end"] - start
        if begin < at or end > len(text):
            continue  # overlapping or out of range: leave it unmarked rather than garble the text
        if begin > at:
            pieces.append((text[at:begin], False))
        pieces.append((text[begin:end], True))
        at = end
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


def extraction_page(extraction: ClaimExtraction, only_checkworthy: bool) -> dict[str, Any]:
    """The sentences of an extraction, as the desk shows them for choosing."""
    text = extraction.text or ""
    sentences = [
        SentenceView(
            index=s["index"],
            text=text[s["start"] : s["end"]],
            score=s["score"],
            checkworthy=s["checkworthy"],
            kinds=s["kinds"],
            segments=number_segments(text[s["start"] : s["end"]], s["start"], s["numbers"]),
            matches=s["matches"],
        )
        for s in extraction.sentences
        if s["checkworthy"] or not only_checkworthy
    ]
    worthy = sum(1 for s in extraction.sentences if s["checkworthy"])
    return {
        "extraction": extraction,
        "sentences": sentences,
        "total": len(extraction.sentences),
        "worthy": worthy,
        "only_checkworthy": only_checkworthy,
    }


def source_page(services: Services, source: Source, me: User, snapshot_id: str | None) -> dict[str, Any]:
    """A source's captures, the extracted text of one of them, and the claims that cite it."""
    snapshots = services.sources.snapshots(source.id)
    wanted = snapshot_id or source.good_snapshot_id or source.latest_snapshot_id
    shown = next((s for s in snapshots if s.id == wanted), None)
    text, text_error = None, None
    if shown is not None:
        try:
            text = services.sources.text(shown)
        except NotFoundError as exc:
            text_error = exc.detail
    claims, _ = services.claims.page(me, ClaimFilters(source=source.id), 50)
    quotes = reads.anchored_quotes(services.session, shown.id) if text is not None and shown else []
    return {
        "source": source,
        "snapshots": snapshots,
        "shown": shown,
        "text": text[:TEXT_SHOWN] if text is not None else None,
        "segments": marked_segments(text[:TEXT_SHOWN], quotes) if text is not None else [],
        "quotes": len(quotes),
        "text_cut": text is not None and len(text) > TEXT_SHOWN,
        "text_error": text_error,
        "citing": claims,
        "may_capture": may_capture(me) and source.canonical_url is not None,
    }


def marked_segments(text: str, spans: list[tuple[int, int]]) -> list[tuple[str, bool]]:
    """`text` cut into pieces, True for those inside a span (overlapping spans are merged, and
    spans past the end of `text` are cut to it)."""
    pieces: list[tuple[str, bool]] = []
    at = 0
    for start, end in sorted(spans):
        start, end = max(start, at), min(end, len(text))
        if start >= end:
            continue
        if start > at:
            pieces.append((text[at:start], False))
        if pieces and pieces[-1][1] and start == at:  # touching the previous mark: one mark
            pieces[-1] = (pieces[-1][0] + text[start:end], True)
        else:
            pieces.append((text[start:end], True))
        at = end
    if at < len(text):
        pieces.append((text[at:], False))
    return pieces


def _excerpt(services: Services, snapshot: Snapshot | None, citation: Citation) -> Excerpt | None:
    if snapshot is None or citation.anchor_start is None or citation.anchor_end is None:
        return None
    try:
        text = services.sources.text(snapshot)
    except NotFoundError:
        return None
    start, end = citation.anchor_start, citation.anchor_end
    lo, hi = max(0, start - CONTEXT_CHARS), min(len(text), end + CONTEXT_CHARS)
    # Cut the context at whole words.
    if lo > 0 and (gap := _WHITESPACE.search(text, lo, start)):
        lo = gap.end()
    if hi < len(text):
        hi = max(end, *(text.rfind(c, end, hi) for c in " \n"))
    return Excerpt(
        ("…" if lo > 0 else "") + text[lo:start],
        text[start:end],
        text[end:hi] + ("…" if hi < len(text) else ""),
        snapshot,
    )
