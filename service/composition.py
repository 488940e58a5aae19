"""Wires the domain services together for one unit of work (a request, a job, a CLI command).

`Services(session, settings).claims` etc. is the one place that knows how services are built; they
share the unit of work's session and its `effects` (what to do once it commits).
"""

from collections.abc import Callable
from datetime import datetime
from functools import cached_property

from sqlalchemy.orm import Session

from claims.citations import CitationService
from claims.history import History
from claims.library.services import FactCheckLibrary
from claims.matching.retrieval import word_reranker
from claims.matching.services import Matcher
from claims.reporting.checkworthiness import load_scorer
from claims.reporting.services import ExtractionService
from claims.search import ClaimSearch
from claims.services import ClaimService, DuplicateFinder
from claims.verification import VerificationService
from claims.workflow import RatingScale, active_scale
from service.core.config import Settings
from service.core.database import utcnow
from service.core.effects import Effects
from service.webhooks.sender import WebhookSender
from service.webhooks.services import DeliveryService, Outbox, WebhookService
from sources.blobs import BlobStore, open_store
from sources.fetcher import SafeFetcher
from sources.netpolicy import AddressPolicy
from sources.sandbox import Limits
from sources.services import CaptureService, SourceService


class Services:
    """The domain services of one unit of work, built on first use."""

    def __init__(self, session: Session, settings: Settings, effects: Effects | None = None) -> None:
        self.session = session
        self.settings = settings
        self.effects = effects if effects is not None else Effects()

    @cached_property
    def history(self) -> History:
        return History(self.session)

    @cached_property
    def search(self) -> ClaimSearch:
        return ClaimSearch(self.session)

    @cached_property
    def claims(self) -> ClaimService:
        duplicates = DuplicateFinder(
            Matcher(
                self.session,
                candidates=DuplicateFinder.CANDIDATES,
                budget=DuplicateFinder.BUDGET,
                lexical=True,
            )
        )
        return ClaimService(self.session, self.history, duplicates, self.search, self.effects)

    @cached_property
    def matcher(self) -> Matcher:
        return Matcher(self.session)

    @cached_property
    def library(self) -> FactCheckLibrary:
        return FactCheckLibrary(self.session)

    @cached_property
    def extractions(self) -> ExtractionService:
        return ExtractionService(
            self.session,
            self.sources,
            self.claims,
            load_scorer,
            # Each check-worthy sentence is matched: without sentence vectors, whose encoding
            # (8 ms a sentence) would make a long transcript's reading take many seconds.
            Matcher(self.session, word_reranker),
            self.effects,
        )

    @cached_property
    def blobs(self) -> BlobStore:
        return open_store(self.settings.blob_url, self.settings)

    @cached_property
    def sources(self) -> SourceService:
        return SourceService(self.session, self.blobs, self.effects)

    @cached_property
    def captures(self) -> CaptureService:
        fetcher = SafeFetcher(
            policy=self.policy,
            tmp_dir=self.blobs.temp_dir(),
            max_bytes=self.settings.capture_max_bytes,
        )
        limits = Limits(self.settings.extract_seconds, self.settings.extract_memory_mb * 1_000_000)
        return CaptureService(self.session, fetcher, self.blobs, limits)

    @cached_property
    def verification(self) -> VerificationService:
        return VerificationService(
            self.session,
            self.claims,
            self.history,
            self.scale,
            self.settings.approvals_required,
            notify=self.outbox.emit,
        )

    @property
    def scale(self) -> RatingScale:
        """The rating scale the process was started with (one per process)."""
        return active_scale()

    @cached_property
    def citations(self) -> CitationService:
        return CitationService(self.session, self.claims, self.sources, self.history, notify=self.outbox.emit)

    @cached_property
    def policy(self) -> AddressPolicy:
        """The public-address rule, for captures and webhook targets alike."""
        return AddressPolicy(self.settings.fetch_allowed_networks)

    @cached_property
    def outbox(self) -> Outbox:
        return Outbox(self.session, self.effects)

    @cached_property
    def webhooks(self) -> WebhookService:
        return WebhookService(self.session, self.policy)

    def deliveries(self, now: Callable[[], datetime] = utcnow) -> DeliveryService:
        return DeliveryService(self.session, WebhookSender(self.policy), now=now)
