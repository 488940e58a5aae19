"""The public record: what anyone without a token sees of a published claim.

A published claim reads, without a token, exactly as its current verdict froze it: text,
claimant, appearances, the evidence and the sources it cites, as they stood at approval.
`freeze(claim, …)` writes that record when a verdict is approved; `PublicClaim.of(claim)` reads
it back, with the attributes the claim's schema dumps, so every door (API, pages, feed, oEmbed)
shows the same thing. Research on a correction, edits, new appearances and new citations stay
behind the token until the next verdict is approved.
"""

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from claims.models import AnchorStatus, Citation, Claim, ClaimStatus, Verdict
from sources.models import Snapshot, Source


@dataclass(frozen=True)
class PublicSource:
    id: str
    url: str | None
    title: str | None
    publisher: str | None
    kind: str
    health: str
    last_checked_at: datetime | None


@dataclass(frozen=True)
class PublicAppearance:
    id: str
    url: str | None
    title: str | None
    publisher: str | None
    published_at: date | None
    quote: str | None
    created_at: datetime | None
    added_by: None = None  # who on the desk added it is not part of the public record


@dataclass(frozen=True)
class PublicCitation:
    """A piece of evidence: a quote found in an archived copy of a source."""

    id: str
    claim_id: str
    source_id: str
    source: PublicSource
    relation: str
    exact: str
    prefix: str | None
    suffix: str | None
    locator: str | None
    note: str | None
    anchor_snapshot_id: str | None
    anchor_start: int | None
    anchor_end: int | None
    archived_at: datetime | None  # when the copy the quote was found in was made
    anchor_status: str = AnchorStatus.FOUND
    anchor_score: float | None = None
    anchor_fuzzy: bool = False
    created_by: None = None
    created_at: None = None


@dataclass(frozen=True)
class PublicClaim:
    """A published claim as its current verdict froze it (dumped by the same schema as a Claim)."""

    id: str
    seq: int  # the list cursor's key
    text: str
    claimant: str | None
    language: str | None
    tag_names: list[str]
    appearances: list[PublicAppearance]
    citations: list[PublicCitation]
    verdict: Verdict
    verdicts: list[Verdict]
    rating: str | None
    verdict_version: int
    created_at: datetime
    status: str = ClaimStatus.PUBLISHED
    assignee_id: None = None
    proposal: None = None
    needs_review: bool = False
    duplicate_of: None = None
    submitted_by: None = None

    @property
    def updated_at(self) -> datetime:
        """When the public record last changed: the current verdict's approval."""
        return self.verdict.published_at

    @property
    def history_seq(self) -> int | None:
        """The public history ends at the event that approved the current verdict."""
        return self.verdict.history_seq

    @property
    def history_head(self) -> str | None:
        """That event's hash: compare it with any earlier copy to see a history cut short."""
        return self.verdict.history_hash

    @property
    def etag(self) -> str:
        """Changes exactly when the public record does (with each verdict version)."""
        return f'"{self.id}.v{self.verdict_version}"'

    @property
    def search_text(self) -> str:
        """What `?q=` matches for readers: the frozen text, claimant, quotes and titles."""
        parts = [self.text, self.claimant or ""]
        parts += [a.quote or "" for a in self.appearances] + [a.title or "" for a in self.appearances]
        return "\n".join(p for p in parts if p)

    @classmethod
    def of(cls, claim: Claim) -> "PublicClaim":
        """The claim as its current verdict froze it; the claim must have one (published)."""
        verdict = claim.verdict
        if verdict is None:
            raise ValueError(f"{claim.id} has no published verdict")
        record = verdict.record or _claim_record(claim)
        sources = {key: _source(value) for key, value in record.get("sources", {}).items()}
        citations = [
            _citation(claim.id, entry, sources)
            for entry in verdict.evidence
            if entry.get("anchor_status") == AnchorStatus.FOUND and entry.get("source_id") in sources
        ]
        return cls(
            id=claim.id,
            seq=claim.seq or 0,
            text=record["text"],
            claimant=record.get("claimant"),
            language=record.get("language"),
            tag_names=list(record.get("tags", [])),
            appearances=[_appearance(a) for a in record.get("appearances", [])],
            citations=citations,
            verdict=verdict,
            verdicts=[v for v in claim.verdicts if v.version <= claim.verdict_version],
            rating=verdict.rating,
            verdict_version=verdict.version,
            created_at=claim.created_at,
        )


def freeze(claim: Claim, snapshots: dict[str, Snapshot]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The evidence and the record a verdict approved now keeps: the claim's citations (every one
    found, or approval is refused), and its text, claimant, language, tags and appearances, with
    the sources and archived copies the evidence cites. `snapshots` by id, those the quotes
    were found in."""
    evidence = [_evidence(c, snapshots.get(c.anchor_snapshot_id or "")) for c in claim.citations]
    return evidence, _claim_record(claim)


def _evidence(citation: Citation, snapshot: Snapshot | None) -> dict[str, Any]:
    return {
        "citation_id": citation.id,
        "source_id": citation.source_id,
        "relation": citation.relation,
        "exact": citation.exact,
        "prefix": citation.prefix,
        "suffix": citation.suffix,
        "locator": citation.locator,
        "note": citation.note,
        "anchor_status": citation.anchor_status,
        "snapshot_id": citation.anchor_snapshot_id,
        "start": citation.anchor_start,
        "end": citation.anchor_end,
        "archived_at": _iso(snapshot.fetched_at) if snapshot is not None else None,
    }


def _frozen_source(source: Source) -> dict[str, Any]:
    return {
        "id": source.id,
        "url": source.url,
        "title": source.title,
        "publisher": source.publisher,
        "kind": source.kind,
        "health": source.health,
        "last_checked_at": _iso(source.last_checked_at),
    }


def _claim_record(claim: Claim) -> dict[str, Any]:
    """What a reader sees of the claim itself, with the sources its evidence cites. Also the
    record of versions approved before records were kept: the claim as it is now."""
    return {
        "text": claim.text,
        "claimant": claim.claimant,
        "language": claim.language,
        "tags": claim.tag_names,
        "appearances": [
            {
                "id": a.id,
                "url": a.url,
                "title": a.title,
                "publisher": a.publisher,
                "published_at": a.published_at.isoformat() if a.published_at else None,
                "quote": a.quote,
                "created_at": _iso(a.created_at),
            }
            for a in claim.appearances
        ],
        "sources": {c.source.id: _frozen_source(c.source) for c in claim.citations},
    }


def _source(data: dict[str, Any]) -> PublicSource:
    return PublicSource(
        id=data["id"],
        url=data.get("url"),
        title=data.get("title"),
        publisher=data.get("publisher"),
        kind=data.get("kind", "other"),
        health=data.get("health", "ok"),
        last_checked_at=_parse(data.get("last_checked_at")),
    )


def _appearance(data: dict[str, Any]) -> PublicAppearance:
    published = data.get("published_at")
    return PublicAppearance(
        id=data["id"],
        url=data.get("url"),
        title=data.get("title"),
        publisher=data.get("publisher"),
        published_at=date.fromisoformat(published) if published else None,
        quote=data.get("quote"),
        created_at=_parse(data.get("created_at")),
    )


def _citation(claim_id: str, entry: dict[str, Any], sources: dict[str, PublicSource]) -> PublicCitation:
    return PublicCitation(
        id=entry["citation_id"],
        claim_id=claim_id,
        source_id=entry["source_id"],
        source=sources[entry["source_id"]],
        relation=entry["relation"],
        exact=entry["exact"],
        prefix=entry.get("prefix"),
        suffix=entry.get("suffix"),
        locator=entry.get("locator"),
        note=entry.get("note"),
        anchor_snapshot_id=entry.get("snapshot_id"),
        anchor_start=entry.get("start"),
        anchor_end=entry.get("end"),
        archived_at=_parse(entry.get("archived_at")),
    )


def _iso(value: datetime | None) -> str | None:
    return value.isoformat(timespec="microseconds") if value is not None else None


def _parse(value: str | None) -> datetime | None:
    return datetime.fromisoformat(value) if value else None
