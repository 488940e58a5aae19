"""schema.org ClaimReview for published verdicts, as search engines and other fact-checkers read it.

`claim_review(claim, …)` builds one; `data_feed(reviews)` wraps many in a DataFeed.
"""

from datetime import datetime
from typing import Any

from claims.public import PublicAppearance, PublicClaim
from claims.workflow import RatingScale

CLAIM_REVIEWED_MAX = 75


def short_claim(text: str, limit: int = CLAIM_REVIEWED_MAX) -> str:
    """The claim in under `limit` characters where it allows: cut at a word, marked with …"""
    text = " ".join(text.split())
    if len(text) < limit:
        return text
    cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(" ,;:.")
    return (cut or text[: limit - 1]) + "…"


def _date(value: datetime | None) -> str | None:
    return value.date().isoformat() if value else None


def _appearance(appearance: PublicAppearance) -> dict[str, Any]:
    work: dict[str, Any] = {"@type": "CreativeWork"}
    if appearance.url:
        work["url"] = appearance.url
    if appearance.title:
        work["headline"] = appearance.title
    if appearance.publisher:
        work["publisher"] = {"@type": "Organization", "name": appearance.publisher}
    if appearance.published_at:
        work["datePublished"] = appearance.published_at.isoformat()
    return work


def claim_review(
    claim: PublicClaim, page_url: str, publisher_name: str, publisher_url: str | None, scale: RatingScale
) -> dict[str, Any]:
    """The ClaimReview of the claim's current verdict, from its public record."""
    verdict = claim.verdict
    first = claim.verdicts[0]
    appearances = sorted(claim.appearances, key=lambda a: (a.published_at is None, a.published_at, a.id))
    item: dict[str, Any] = {"@type": "Claim"}
    if claim.claimant:
        item["author"] = {"@type": "Organization", "name": claim.claimant}
    if appearances:
        item["appearance"] = [_appearance(a) for a in appearances]
        item["firstAppearance"] = _appearance(appearances[0])
        if appearances[0].published_at:
            item["datePublished"] = appearances[0].published_at.isoformat()
    rating = scale.get(verdict.rating)
    review_rating: dict[str, Any] = {
        "@type": "Rating",
        "alternateName": rating.label if rating else verdict.rating,
    }
    if rating is not None and rating.value is not None:
        review_rating |= {"ratingValue": rating.value, "bestRating": 5, "worstRating": 1}
    author: dict[str, Any] = {"@type": "Organization", "name": publisher_name}
    if publisher_url:
        author["url"] = publisher_url
    return {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": page_url,
        "claimReviewed": short_claim(claim.text),
        "datePublished": _date(first.published_at),
        "dateModified": _date(verdict.published_at),
        "author": author,
        "itemReviewed": item,
        "reviewRating": review_rating,
        "reviewBody": verdict.summary,
    }


def data_feed(reviews: list[dict[str, Any]], modified: datetime | None) -> dict[str, Any]:
    """A schema.org DataFeed of ClaimReviews (each keeps its own @context)."""
    return {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "dateModified": modified.strftime("%Y-%m-%dT%H:%M:%SZ") if modified else None,
        "dataFeedElement": reviews,
    }
