"""Citations: a claim's quotes from primary sources, anchored in archived snapshot text.

`CitationService.add` cites a source (new or known); `reanchor_source` runs after every
capture, so a quote that disappears from its source is flagged rather than silently moved.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Required, TypedDict

from sqlalchemy.orm import Session
from sqlmodel import col, select

from claims.errors import CitationNotFound, ClaimLocked
from claims.history import History
from claims.models import AnchorStatus, Citation, Claim, ClaimStatus
from claims.services import ClaimService
from service.accounts.models import Role, User, ensure_role
from service.core.errors import InvalidInputError
from sources.anchoring import anchor_quote, normalise
from sources.models import Snapshot, Source
from sources.services import CaptureReport, SourceService

FROZEN_STATUSES = (ClaimStatus.PUBLISHED, ClaimStatus.DISMISSED)

CITE_ROLE = Role.REVIEWER  # who may add and remove citations


class QuoteData(TypedDict, total=False):
    """A W3C TextQuoteSelector (`QuoteIn`)."""

    exact: Required[str]
    prefix: str | None
    suffix: str | None


class NewCitation(TypedDict, total=False):
    """A citation (`CitationIn`): a known `source_id` or a `url`, never both."""

    source_id: str
    url: str
    relation: Required[str]  # a Relation
    quote: Required[QuoteData]
    locator: str | None
    note: str | None


@dataclass
class Cited:
    claim: Claim
    citation: Citation
    source: Source
    source_created: bool


class CitationService:
    """Adds, removes and re-anchors citations, writing each change to the claim's history."""

    def __init__(
        self,
        session: Session,
        claims: ClaimService,
        sources: SourceService,
        history: History,
        notify: Callable[[str, Claim], None] = lambda event, claim: None,
    ) -> None:
        self.session = session
        self.claims = claims
        self.sources = sources
        self.history = history
        self.notify = notify  # e.g. the webhook outbox: called in the same transaction
        self._texts: dict[str, str] = {}  # snapshot id -> extracted text, read once per unit of work

    def add(self, claim_id: str, user: User, data: NewCitation) -> Cited:
        """Cite `data["source_id"]` or `data["url"]` (added as a source if new) with a quote."""
        ensure_role(user, CITE_ROLE)
        claim = self.claims.get(claim_id, user, lock=True)
        if claim.status in FROZEN_STATUSES:
            raise ClaimLocked(f"A {claim.status} claim's citations cannot change.")
        created = False
        if data.get("source_id"):
            source = self.session.get(Source, data["source_id"])
            if source is None:
                raise InvalidInputError("No such source.", {"source_id": ["Unknown source."]})
        else:
            source, created = self.sources.add_url(user.id, {"url": data["url"]})
        quote = data["quote"]
        citation = Citation(
            claim_id=claim.id,
            source_id=source.id,
            relation=data["relation"],
            exact=quote["exact"],
            prefix=quote.get("prefix"),
            suffix=quote.get("suffix"),
            locator=data.get("locator"),
            note=data.get("note"),
            created_by=user.id,
        )
        citation.source = source
        self._anchor(citation, self.sources.good_snapshot(source))
        claim.citations.append(citation)
        self.history.record(
            claim,
            user.id,
            "citation_added",
            note=f"{citation.relation}: {source.url or source.upload_filename or source.id}",
        )
        self.claims.touch(claim)
        return Cited(claim, citation, source, created)

    def delete(self, claim_id: str, citation_id: str, user: User) -> Claim:
        """Remove a citation from a claim that is not yet published."""
        ensure_role(user, CITE_ROLE)
        claim = self.claims.get(claim_id, user, lock=True)
        citation = next((c for c in claim.citations if c.id == citation_id), None)
        if citation is None:
            raise CitationNotFound(f"No citation {citation_id!r} on this claim.")
        if claim.status in FROZEN_STATUSES:
            raise ClaimLocked(f"A {claim.status} claim's citations cannot change.")
        claim.citations.remove(citation)
        self.history.record(claim, user.id, "citation_removed", note=citation.exact[:200])
        self.claims.touch(claim)
        return claim

    def reanchor_source(self, source_id: str, report: CaptureReport) -> list[str]:
        """After a capture: anchor pending quotes, re-check found ones if the content changed.

        A found quote that is no longer in the new text is marked `source_changed`; its claim,
        if published, is flagged `needs_review` with a history event. Returns the claim ids
        whose citations changed.
        """
        if not report.snapshot.ok:
            return []
        citations = list(self.session.scalars(select(Citation).where(Citation.source_id == source_id)))
        # The claims they belong to, in one statement rather than one per citation.
        claims = {
            c.id: c
            for c in self.session.scalars(
                select(Claim).where(col(Claim.id).in_({c.claim_id for c in citations}))
            )
        }
        touched: dict[str, Claim] = {}
        flagged: set[str] = set()
        for citation in citations:
            before = (citation.anchor_status, citation.anchor_snapshot_id, citation.anchor_start)
            if citation.anchor_status in (AnchorStatus.PENDING, AnchorStatus.NOT_FOUND):
                self._anchor(citation, report.snapshot)
            elif report.content_changed and citation.anchor_status in (
                AnchorStatus.FOUND,
                AnchorStatus.SOURCE_CHANGED,
            ):
                self._reanchor(citation, report)
            if (citation.anchor_status, citation.anchor_snapshot_id, citation.anchor_start) != before:
                claim = claims[citation.claim_id]
                touched[claim.id] = claim
                if citation.anchor_status == AnchorStatus.SOURCE_CHANGED and before[0] == AnchorStatus.FOUND:
                    if claim.verdict_version > 0:
                        claim.needs_review = True
                        flagged.add(claim.id)
                    self.history.record(
                        claim,
                        None,
                        "source_changed",
                        note=f"The quote is no longer in the source {source_id}: “{citation.exact[:200]}”",
                    )
        for claim in touched.values():
            self.claims.touch(claim)
            if claim.id in flagged:
                self.notify("claim.source_changed", claim)
        return list(touched)

    def _text(self, snapshot: Snapshot) -> str:
        # Every citation of a source anchors in the same snapshot: read its text once.
        if snapshot.id not in self._texts:
            self._texts[snapshot.id] = self.sources.text(snapshot)
        return self._texts[snapshot.id]

    def _anchor(self, citation: Citation, snapshot: Snapshot | None) -> None:
        if snapshot is None or snapshot.text_sha256 is None:
            citation.anchor_status = AnchorStatus.PENDING
            return
        anchor = anchor_quote(self._text(snapshot), citation.exact, citation.prefix, citation.suffix)
        citation.anchor_status = anchor.status
        citation.anchor_snapshot_id = snapshot.id
        citation.anchor_start, citation.anchor_end = anchor.start, anchor.end
        citation.anchor_score, citation.anchor_fuzzy = anchor.score, anchor.fuzzy

    def _reanchor(self, citation: Citation, report: CaptureReport) -> None:
        """Follow the quote into the new text, but only to the same words it anchored before."""
        old_passage = self._passage(citation)
        new_text = self._text(report.snapshot) if report.snapshot.text_sha256 else None
        anchor = (
            anchor_quote(new_text, citation.exact, citation.prefix, citation.suffix)
            if new_text is not None
            else None
        )
        if (
            anchor is not None
            and new_text is not None
            and anchor.status == AnchorStatus.FOUND
            and (not anchor.fuzzy or normalise(new_text[anchor.start : anchor.end]) == old_passage)
        ):  # the same words
            citation.anchor_status = AnchorStatus.FOUND
            citation.anchor_snapshot_id = report.snapshot.id
            citation.anchor_start, citation.anchor_end = anchor.start, anchor.end
            citation.anchor_score, citation.anchor_fuzzy = anchor.score, anchor.fuzzy
        else:
            citation.anchor_status = AnchorStatus.SOURCE_CHANGED  # still points at the old snapshot

    def _passage(self, citation: Citation) -> str | None:
        if citation.anchor_snapshot_id is None or citation.anchor_start is None:
            return None
        snapshot = self.session.get(Snapshot, citation.anchor_snapshot_id)
        if snapshot is None or snapshot.text_sha256 is None:
            return None
        return normalise(self._text(snapshot)[citation.anchor_start : citation.anchor_end])
