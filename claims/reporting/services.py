"""Extractions: a piece of reporting read into sentences, scored, matched, and made into claims.

The reading itself (`read_report`: sentences, numbers, kinds, check-worthiness) is pure work on
plain text and never runs inside a write transaction: a request does it before it writes, a job
between its read and its write (`service.core.database.read_work_write`). Text pasted is read at
once; a URL is captured first by the safe fetcher (a `news` source), then read from its archived
copy, so every sentence's offsets point into the archive and its quote anchors there.
"""

from collections.abc import Callable, Collection, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Protocol, TypedDict

from sqlalchemy.orm import Session
from sqlmodel import col, select

from claims import language
from claims.reporting.errors import ExtractionNotFound, NothingToRead, UnusableSentence
from claims.reporting.models import ClaimExtraction, ExtractionStatus
from claims.services import ClaimService, NewClaim, PossibleDuplicate, Submission
from service.accounts.models import User
from service.core.database import utcnow
from service.core.effects import Effect, Effects
from sources.models import Snapshot, Source, SourceKind
from sources.services import SourceService

MAX_TEXT = 200_000  # characters of pasted text
MATCHES_SHOWN = 3  # per check-worthy sentence
MATCH_MIN_SCORE = 0.2  # below it a match is noise, not a lead (as intake's possible duplicates)
QUOTE_MAX = 5000  # an appearance's quote, as the claims API takes it
CLAIM_TEXT = (3, 1000)  # a claim's text length, as the claims API takes it


class Scorer(Protocol):
    """The check-worthiness model (`claims.reporting.checkworthiness`)."""

    threshold: float

    def score(self, sentences: Sequence[str]) -> list[float]: ...


class Matcher(Protocol):
    """Ranks the desk's claims and imported fact-checks against a text (`claims.matching`)."""

    def match(
        self, text: str, limit: int = 10, exclude: Collection[str] = (), min_score: float = 0.0
    ) -> Sequence[Any]: ...


class ExtractionInput(TypedDict, total=False):
    """What an extraction is asked for (`ExtractionIn`): text, a url, or a source."""

    text: str
    url: str
    title: str | None
    publisher: str | None
    published_at: date | None
    source_id: str


class ClaimChoice(TypedDict, total=False):
    """One sentence to make a claim of (`ExtractionClaimIn`)."""

    index: int
    text: str
    claimant: str | None
    tags: list[str]


@dataclass
class Article:
    """Where the text came from, as the extraction answers it."""

    url: str | None = None
    title: str | None = None
    publisher: str | None = None
    published_at: date | None = None
    source_id: str | None = None
    snapshot_id: str | None = None


@dataclass
class Plan:
    """What a request found before writing: the text read (when it could be) and its article."""

    article: Article
    text: str | None = None
    sentences: list[dict[str, Any]] | None = None
    error: str | None = None  # the source can never be read
    source: Source | None = None


@dataclass
class Reading:
    """A queued reading: the archived text to read, or why there is none."""

    extraction_id: str
    article: Article
    text: str | None
    error: str | None = None


def read_report(text: str, scorer: Scorer) -> list[dict[str, Any]]:
    """Every sentence of `text` with its offsets, numbers, kinds and check-worthiness."""
    sentences = language.analyse(text)
    scores = scorer.score([s.text for s in sentences]) if sentences else []
    return [
        {
            "index": i,
            "start": s.start,
            "end": s.end,
            "score": round(float(score), 4),
            "checkworthy": bool(score >= scorer.threshold),
            "kinds": list(s.kinds),
            "numbers": [
                {"text": n.text, "value": n.value, "unit": n.unit, "start": n.start, "end": n.end}
                for n in s.numbers
            ],
            "matches": [],
        }
        for i, (s, score) in enumerate(zip(sentences, scores, strict=True))
    ]


def read_archived(reading: Reading, scorer: Scorer) -> list[dict[str, Any]] | None:
    """The slow part of a queued reading, done with no transaction open: its sentences and
    scores, or None when there is no text to read."""
    if reading.text is None or not reading.text.strip():
        return None
    return read_report(reading.text, scorer)


def add_matches(text: str, sentences: list[dict[str, Any]], matcher: Matcher) -> None:
    """The best matches of each check-worthy sentence, as `POST /api/v1/match` ranks them."""
    for sentence in sentences:
        if sentence["checkworthy"]:
            found = matcher.match(
                text[sentence["start"] : sentence["end"]], limit=MATCHES_SHOWN, min_score=MATCH_MIN_SCORE
            )
            sentence["matches"] = [_match_dict(m) for m in found]


def _match_dict(match: Any) -> dict[str, Any]:
    """A match (`claims.matching.services.Match`) as stored with its sentence: plain JSON."""
    found: dict[str, Any] = asdict(match)
    found["relation"] = str(found["relation"])
    return found


class ExtractionService:
    """Extractions: started, read (at once or by a job), and turned into claims."""

    def __init__(
        self,
        session: Session,
        sources: SourceService,
        claims: ClaimService,
        scorer: Callable[[], Scorer],
        matcher: Matcher,
        effects: Effects,
    ) -> None:
        self.session = session
        self.sources = sources
        self.claims = claims
        self.scorer = scorer  # loaded on first use: a job that only queues readings never needs it
        self.matcher = matcher
        self.effects = effects  # a reading is queued once the transaction has committed

    # -- starting ------------------------------------------------------------------------------

    def plan(self, data: ExtractionInput) -> Plan:
        """Read what can be read before writing (no write lock held): pasted text, or the archived
        text of a source already captured."""
        if "text" in data:
            article = Article(
                url=data.get("url"),
                title=data.get("title"),
                publisher=data.get("publisher"),
                published_at=data.get("published_at"),
            )
            return self._read_now(article, data["text"])
        if "source_id" in data:
            source = self.sources.get(data["source_id"])
        else:
            found = self.sources.by_url(data["url"])
            if found is None:
                return Plan(Article(url=data["url"]))
            source = found
        article, text, error = self._archived(source)
        if error is not None:
            return Plan(article, error=error, source=source)
        if text is None:
            return Plan(article, source=source)
        return self._read_now(article, text, source)

    def _read_now(self, article: Article, text: str, source: Source | None = None) -> Plan:
        if not text.strip():
            raise NothingToRead("There is no text to read.", errors={"text": ["The text is empty."]})
        sentences = read_report(text, self.scorer())
        add_matches(text, sentences, self.matcher)
        return Plan(article, text, sentences, source=source)

    def start(self, user: User, data: ExtractionInput, plan: Plan) -> ClaimExtraction:
        """Store the extraction: done when its text was read, else pending on a capture."""
        if plan.error is not None:
            raise NothingToRead(plan.error, errors={"source_id": [plan.error]})
        article = plan.article
        extraction = ClaimExtraction(created_by=user.id, **_article_columns(article))
        if plan.sentences is not None:
            extraction.text, extraction.sentences = plan.text, plan.sentences
            extraction.status = ExtractionStatus.DONE
        else:
            source = plan.source
            if source is None:  # a URL not seen before: captured as a news source
                source, _created = self.sources.add_url(
                    user.id, {"url": data["url"], "kind": SourceKind.NEWS}
                )
            extraction.source_id, extraction.url = source.id, source.url
            extraction.read_requested_at = utcnow()
        self.session.add(extraction)
        self.session.flush()
        return extraction

    # -- reading, for a job --------------------------------------------------------------------

    def source_ready(self, source_id: str) -> list[str]:
        """After a capture of `source_id`: queue the readings waiting for it; their ids."""
        waiting = self.session.scalars(
            select(ClaimExtraction).where(
                col(ClaimExtraction.source_id) == source_id,
                col(ClaimExtraction.status) == ExtractionStatus.PENDING,
            )
        ).all()
        for extraction in waiting:
            self.effects.add(Effect.READ, extraction.id)
        return [e.id for e in waiting]

    def plan_reading(self, extraction_id: str) -> Reading | None:
        """What a queued reading must read; None when it has nothing (left) to do."""
        extraction = self.session.get(ClaimExtraction, extraction_id)
        if (
            extraction is None
            or extraction.status != ExtractionStatus.PENDING
            or extraction.source_id is None
        ):
            return None
        source = self.sources.get(extraction.source_id)
        article, text, error = self._archived(source)
        if text is None and error is None:
            return None  # not captured yet: the capture queues the reading again
        return Reading(extraction.id, article, text, error)

    def match(self, text: str, sentences: list[dict[str, Any]]) -> None:
        """Add the matches of the check-worthy sentences (reads only: before the write)."""
        add_matches(text, sentences, self.matcher)

    def record_reading(
        self, reading: Reading, sentences: list[dict[str, Any]] | None
    ) -> ClaimExtraction | None:
        """Store a reading's outcome: its sentences, or why it failed."""
        extraction = self.session.get(ClaimExtraction, reading.extraction_id)
        if extraction is None or extraction.status != ExtractionStatus.PENDING:
            return None
        for name, value in _article_columns(reading.article).items():
            if getattr(extraction, name) is None:
                setattr(extraction, name, value)
        if sentences is None or reading.text is None:
            extraction.status = ExtractionStatus.FAILED
            extraction.error = reading.error or "The archived copy has no text to read."
        else:
            extraction.text, extraction.sentences = reading.text, sentences
            extraction.status = ExtractionStatus.DONE
            extraction.snapshot_id = reading.article.snapshot_id
        extraction.read_requested_at = None
        extraction.updated_at = utcnow()
        self.session.add(extraction)
        self.session.flush()
        return extraction

    def lost_readings(self, before: datetime, limit: int = 1000) -> list[str]:
        """Pending readings asked for before `before` whose source is captured: lost with a worker."""
        rows = self.session.scalars(
            select(col(ClaimExtraction.id))
            .join(Source, col(Source.id) == col(ClaimExtraction.source_id))
            .where(
                col(ClaimExtraction.status) == ExtractionStatus.PENDING,
                col(ClaimExtraction.read_requested_at) < before,
                col(Source.capture_requested_at).is_(None),
            )
            .limit(limit)
        ).all()
        return list(rows)

    def _archived(self, source: Source) -> tuple[Article, str | None, str | None]:
        """The article a source describes, its archived text (None while not captured yet), and
        why it can never be read, if so."""
        snapshot = self.sources.good_snapshot(source)
        meta = (snapshot.meta if snapshot is not None else None) or {}
        article = Article(
            url=source.url,
            title=source.title or meta.get("title"),
            publisher=source.publisher or meta.get("publisher"),
            published_at=_date(meta.get("published_at")),
            source_id=source.id,
            snapshot_id=snapshot.id if snapshot is not None else None,
        )
        if snapshot is None:
            latest: Snapshot | None = source.latest_snapshot
            if source.capture_requested_at is None and latest is not None and not latest.ok:
                why = latest.error or latest.outcome
                return article, None, f"The page could not be captured: {why}"
            if source.url is None:
                return article, None, "This source has no archived copy to read."
            return article, None, None
        if snapshot.text_sha256 is None:
            if snapshot.text_error is not None:
                return article, None, f"The archived copy has no text to read: {snapshot.text_error}"
            return article, None, None  # its text is being read
        text = self.sources.text(snapshot)
        if not text.strip():
            return article, None, "The archived copy has no text to read."
        return article, text, None

    # -- reading and making claims -------------------------------------------------------------

    def get(self, extraction_id: str) -> ClaimExtraction:
        extraction = self.session.get(ClaimExtraction, extraction_id)
        if extraction is None:
            raise ExtractionNotFound(f"No extraction {extraction_id}.")
        return extraction

    def claim_requests(self, extraction: ClaimExtraction, choices: Sequence[ClaimChoice]) -> list[NewClaim]:
        """The claims `choices` ask for, each with its appearance quoting the report."""
        if extraction.status != ExtractionStatus.DONE or extraction.text is None:
            raise UnusableSentence(
                "The extraction is not done: there are no sentences to choose yet.",
                errors={"items": ["Wait until the extraction is done."]},
            )
        sentences = extraction.sentences
        problems: dict[str, list[str]] = {}
        wanted: list[NewClaim] = []
        for position, choice in enumerate(choices):
            index = choice["index"]
            if not 0 <= index < len(sentences):
                problems[f"items.{position}.index"] = [f"There is no sentence {index}."]
                continue
            sentence = sentences[index]
            quote = extraction.text[sentence["start"] : sentence["end"]]
            text = choice.get("text") or quote
            if not CLAIM_TEXT[0] <= len(text) <= CLAIM_TEXT[1]:
                problems[f"items.{position}.text"] = [
                    f"A claim's text is {CLAIM_TEXT[0]} to {CLAIM_TEXT[1]} characters: edit this sentence's."
                ]
                continue
            claim: NewClaim = {
                "text": text,
                "appearance": {
                    "url": extraction.url,
                    "title": extraction.title,
                    "publisher": extraction.publisher,
                    "published_at": extraction.published_at,
                    "quote": quote[:QUOTE_MAX],
                    "source_id": extraction.source_id,
                    "snapshot_id": extraction.snapshot_id,
                    "anchor_start": sentence["start"],
                    "anchor_end": sentence["start"] + min(len(quote), QUOTE_MAX),
                },
            }
            if "claimant" in choice:
                claim["claimant"] = choice["claimant"]
            if "tags" in choice:
                claim["tags"] = choice["tags"]
            wanted.append(claim)
        if problems:
            raise UnusableSentence("Some chosen sentences cannot become claims.", errors=problems)
        return wanted

    def make_claims(
        self,
        user: User,
        wanted: Sequence[NewClaim],
        duplicates: Sequence[list[PossibleDuplicate]],
    ) -> list[Submission]:
        """Submit each claim as `POST /api/v1/claims` does (the same de-duplication)."""
        return [
            self.claims.submit(user, claim, list(found))
            for claim, found in zip(wanted, duplicates, strict=True)
        ]


def _article_columns(article: Article) -> dict[str, Any]:
    return {
        "url": article.url,
        "title": article.title,
        "publisher": article.publisher,
        "published_at": article.published_at,
        "source_id": article.source_id,
        "snapshot_id": article.snapshot_id,
    }


def _date(value: object) -> date | None:
    if not isinstance(value, str):
        return None
    try:
        return date.fromisoformat(value[:10])
    except ValueError:
        return None
