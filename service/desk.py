"""Wires the domain services together for one unit of work (a request, a job, a CLI command).

`Desk(session, settings).claims` etc. is the one place that knows how services are built.
"""

from functools import cached_property

from sqlalchemy.orm import Session

from claims.citations import CitationService
from claims.search import ClaimSearch
from claims.services import ClaimService, DuplicateFinder, History
from claims.verification import VerificationService
from claims.workflow import RatingScale, load_scale
from service.config import Settings
from service.webhooks import models as _webhook_tables  # noqa: F401 - tables the outbox writes
from sources.blobs import BlobStore
from sources.fetcher import SafeFetcher
from sources.netpolicy import AddressPolicy
from sources.services import CaptureService, SourceService


class Desk:
    def __init__(self, session: Session, settings: Settings) -> None:
        self.session = session
        self.settings = settings

    @cached_property
    def history(self) -> History:
        return History(self.session)

    @cached_property
    def search(self) -> ClaimSearch:
        return ClaimSearch(self.session)

    @cached_property
    def claims(self) -> ClaimService:
        return ClaimService(self.session, self.history, DuplicateFinder(self.search), self.search)

    @cached_property
    def blobs(self) -> BlobStore:
        return BlobStore(self.settings.data_dir / "blobs")

    @cached_property
    def sources(self) -> SourceService:
        return SourceService(self.session, self.blobs)

    @cached_property
    def captures(self) -> CaptureService:
        fetcher = SafeFetcher(
            policy=AddressPolicy(self.settings.fetch_allowed_networks),
            tmp_dir=self.blobs.temp_dir(),
            max_bytes=self.settings.capture_max_bytes,
        )
        return CaptureService(self.session, fetcher, self.blobs)

    @cached_property
    def verification(self) -> VerificationService:
        return VerificationService(
            self.session, self.claims, self.history, self.scale, self.settings.approvals_required
        )

    @cached_property
    def scale(self) -> RatingScale:
        return load_scale(self.settings.rating_scale)

    @cached_property
    def citations(self) -> CitationService:
        return CitationService(self.session, self.claims, self.sources, self.history)
