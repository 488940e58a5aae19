"""Source operations: adding URL and uploaded sources, capturing snapshots, reading them back.

`SourceService` keeps the catalogue; `CaptureService` fetches a source, archives the bytes and
the extracted text, and decides the source's health. Services flush; the caller commits.
"""

import hashlib
import os
import tempfile
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, BinaryIO, Required, TypedDict

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col, select

from service.accounts.models import Role, User, ensure_role
from service.core.database import utcnow
from service.core.effects import Effect, Effects
from service.core.errors import ConflictError
from sources.blobs import BlobMissing, BlobStore
from sources.errors import SnapshotNotFound, SourceNotFound, UploadRefused, UploadTooLarge
from sources.extract import SNIFF_BYTES, Extraction, sniff_type
from sources.fetcher import FetchResult, SafeFetcher
from sources.models import Snapshot, SnapshotOutcome, Source, SourceHealth, SourceKind
from sources.sandbox import Limits, extract_contained
from sources.urls import canonical_url

CHUNK = 64 * 1024

CAPTURE_ROLE = Role.REVIEWER  # who may ask for a source to be captured again
LOST_AFTER = timedelta(minutes=5)  # a capture or text owed this long was lost with its worker


class SourceFields(TypedDict, total=False):
    """What a reviewer may say about a source when adding it (`SourceFieldsIn`)."""

    title: str | None
    publisher: str | None
    kind: str | None  # a SourceKind; None or missing is "other"


class NewSource(SourceFields, total=False):
    """A source added by its URL (`SourceIn`)."""

    url: Required[str]


class NewUpload(SourceFields, total=False):
    """The fields beside an uploaded document (`SourceUploadIn`): where it lives, if anywhere."""

    url: str | None


@dataclass(frozen=True)
class Archived:
    """A snapshot's archived bytes, found in the store: `open()` streams them."""

    sha256: str
    size: int
    content_type: str
    store: BlobStore

    def open(self) -> AbstractContextManager[BinaryIO]:
        return self.store.open(self.sha256)


@dataclass
class CaptureReport:
    snapshot: Snapshot
    previous_good: Snapshot | None

    @property
    def content_changed(self) -> bool:
        """A successful capture whose bytes differ from the last successful one."""
        return (
            self.snapshot.ok
            and self.previous_good is not None
            and self.previous_good.sha256 != self.snapshot.sha256
        )


class SourceService:
    """The desk's catalogue of primary sources."""

    def __init__(self, session: Session, blobs: BlobStore, effects: Effects) -> None:
        self.session = session
        self.blobs = blobs
        self.effects = effects  # a new URL source is captured once the transaction has committed

    def add_url(self, user_id: str, data: NewSource) -> tuple[Source, bool]:
        """The source for `data["url"]`, created (True) or the existing one for its canonical URL."""
        canonical = canonical_url(data["url"])
        existing = self._by_canonical(canonical)
        if existing is not None:
            return existing, False
        source = Source(
            url=data["url"],
            canonical_url=canonical,
            title=data.get("title"),
            publisher=data.get("publisher"),
            kind=data.get("kind") or SourceKind.OTHER,
            created_by=user_id,
            capture_requested_at=utcnow(),
        )
        try:
            with self.session.begin_nested():
                self.session.add(source)
                self.session.flush()
        except IntegrityError:  # the same URL was added at the same moment
            existing = self._by_canonical(canonical)
            if existing is None:
                raise
            return existing, False
        self.effects.add(Effect.CAPTURE, source.id)
        return source, True

    def add_upload(
        self, user_id: str, data: NewUpload, stream: IO[bytes], filename: str | None, max_bytes: int
    ) -> tuple[Source, bool]:
        """A source for an uploaded document, archived at once; its type is decided by its bytes.

        Its text is read once the transaction has committed, in a contained process (a hostile
        document cannot hold up the request, nor anyone's writes): until then the snapshot's text
        is pending, and quotes cited meanwhile are anchored when it is read."""
        path, sha256, size = self._spool(stream, max_bytes)
        try:
            with open(path, "rb") as head:
                content_type = sniff_type(head.read(SNIFF_BYTES), _declared_type(filename))
            if content_type is None:
                raise UploadRefused(
                    "This file is not a document Factdesk archives (HTML, XHTML, plain text, PDF, "
                    "JSON, CSV or XML), whatever its name says.",
                    errors={"file": ["Unsupported document type."]},
                )
            # Stored before the first statement of the request's transaction: the store may be
            # across the network, and nothing waits on a database lock meanwhile. Content-addressed,
            # so a document already on the desk is stored no second time.
            self.blobs.put_file(path, sha256)
            url = data.get("url")
            canonical = canonical_url(url) if url else None
            existing = self._by_canonical(canonical) if canonical else self._by_upload(sha256)
            if existing is not None:
                return existing, False
            source = Source(
                url=url,
                canonical_url=canonical,
                upload_sha256=None if canonical else sha256,
                upload_filename=filename,
                title=data.get("title"),
                publisher=data.get("publisher"),
                kind=data.get("kind") or SourceKind.OTHER,
                created_by=user_id,
            )
            try:
                with self.session.begin_nested():
                    self.session.add(source)
                    self.session.flush()
            except IntegrityError:  # the same document (or URL) was uploaded at the same moment
                existing = self._by_canonical(canonical) if canonical else self._by_upload(sha256)
                if existing is None:
                    raise
                return existing, False
            snapshot = Snapshot(
                source_id=source.id,
                ok=True,
                outcome=SnapshotOutcome.OK,
                content_type=content_type,
                size=size,
                sha256=sha256,
            )
            self.session.add(snapshot)
            self.effects.add(Effect.EXTRACT, snapshot.id)
            source.latest_snapshot_id = source.good_snapshot_id = snapshot.id
            source.health, source.last_checked_at = SourceHealth.OK, snapshot.fetched_at
            self.session.flush()
            return source, True
        finally:
            path.unlink(missing_ok=True)

    def get(self, source_id: str) -> Source:
        source = self.session.get(Source, source_id)
        if source is None:
            raise SourceNotFound(f"No source {source_id!r}.")
        return source

    def page(
        self, limit: int, after: str | None = None, health: str | None = None
    ) -> tuple[list[Source], bool]:
        """Sources newest first, after the cursor id; the page and whether more follow."""
        stmt = select(Source)
        if health:
            stmt = stmt.where(Source.health == health)
        if after:
            stmt = stmt.where(Source.id < after)
        rows = list(self.session.scalars(stmt.order_by(col(Source.id).desc()).limit(limit + 1)))
        return rows[:limit], len(rows) > limit

    def request_capture(self, source_id: str, user: User) -> Source:
        """Capture the source again once committed, if `user` may ask and it can be (an upload has
        no URL to fetch)."""
        ensure_role(user, CAPTURE_ROLE)
        source = self.get(source_id)
        _capture_url(source)  # refuses an uploaded document before anything is queued
        source.capture_requested_at = utcnow()
        self.session.flush()
        self.effects.add(Effect.CAPTURE, source.id)
        return source

    def by_url(self, url: str) -> Source | None:
        """The source for `url` (by its canonical form), if there is one."""
        return self._by_canonical(canonical_url(url))

    def by_ids(self, ids: set[str]) -> list[Source]:
        """Sources by id, in one statement."""
        if not ids:
            return []
        return list(self.session.scalars(select(Source).where(col(Source.id).in_(ids))))

    def snapshots(self, source_id: str) -> list[Snapshot]:
        """Every capture of a source, newest first."""
        self.get(source_id)
        return list(
            self.session.scalars(
                select(Snapshot).where(Snapshot.source_id == source_id).order_by(col(Snapshot.id).desc())
            )
        )

    def snapshot(self, source_id: str, snapshot_id: str) -> Snapshot:
        snapshot = self.session.get(Snapshot, snapshot_id)
        if snapshot is None or snapshot.source_id != source_id:
            raise SnapshotNotFound(f"No snapshot {snapshot_id!r} of source {source_id!r}.")
        return snapshot

    def content(self, snapshot: Snapshot) -> Archived:
        """The archived bytes of a successful snapshot, to stream (StoreUnavailable when the store
        does not answer)."""
        if not snapshot.ok or snapshot.sha256 is None:
            raise SnapshotNotFound("This snapshot has no archived content.")
        try:
            size = self.blobs.size(snapshot.sha256)
        except BlobMissing as exc:
            raise SnapshotNotFound("This snapshot has no archived content.") from exc
        return Archived(
            snapshot.sha256, size, snapshot.content_type or "application/octet-stream", self.blobs
        )

    def text(self, snapshot: Snapshot) -> str:
        """The text extracted from a snapshot."""
        if snapshot.text_sha256 is None:
            raise SnapshotNotFound(snapshot.text_error or "This snapshot has no extracted text.")
        try:
            return self.blobs.read_text(snapshot.text_sha256)
        except BlobMissing as exc:
            raise SnapshotNotFound("This snapshot's text is missing from the archive.") from exc

    def good_snapshot(self, source: Source) -> Snapshot | None:
        return self.session.get(Snapshot, source.good_snapshot_id) if source.good_snapshot_id else None

    def due_for_recheck(self, before: datetime, limit: int = 1000) -> list[str]:
        """Ids of URL sources last checked before `before` whose capture is not already owed,
        oldest first; each is marked owed (`capture_requested_at`) as it is returned."""
        stmt = (
            select(Source.id)
            .where(
                col(Source.canonical_url).is_not(None),
                col(Source.capture_requested_at).is_(None),
                col(Source.last_checked_at) < before,
            )
            .order_by(col(Source.last_checked_at).asc())
            .limit(limit)
        )
        return self._owed(list(self.session.scalars(stmt)))

    def lost_captures(self, limit: int = 1000) -> list[str]:
        """Captures owed for over LOST_AFTER (the worker running them died, or the queue lost
        them): marked owed afresh, to queue again."""
        stmt = (
            select(Source.id)
            .where(col(Source.capture_requested_at) < utcnow() - LOST_AFTER)
            .order_by(col(Source.capture_requested_at))
            .limit(limit)
        )
        return self._owed(list(self.session.scalars(stmt)))

    def lost_texts(self, limit: int = 1000) -> list[str]:
        """Snapshots archived over LOST_AFTER ago whose text was never read: to queue again."""
        stmt = (
            select(Snapshot.id)
            .where(
                col(Snapshot.ok).is_(True),
                col(Snapshot.sha256).is_not(None),
                col(Snapshot.text_sha256).is_(None),
                col(Snapshot.text_error).is_(None),
                col(Snapshot.fetched_at) < utcnow() - LOST_AFTER,
            )
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def _owed(self, ids: list[str]) -> list[str]:
        if ids:
            self.session.execute(
                sa.update(Source).where(col(Source.id).in_(ids)).values(capture_requested_at=utcnow())
            )
            self.session.flush()
        return ids

    def _by_canonical(self, canonical: str) -> Source | None:
        return self.session.scalars(select(Source).where(Source.canonical_url == canonical)).first()

    def _by_upload(self, sha256: str) -> Source | None:
        return self.session.scalars(select(Source).where(Source.upload_sha256 == sha256)).first()

    def _spool(self, stream: IO[bytes], max_bytes: int) -> tuple[Path, str, int]:
        digest, size = hashlib.sha256(), 0
        fd, name = tempfile.mkstemp(dir=self.blobs.temp_dir())
        path = Path(name)
        try:
            with os.fdopen(fd, "wb") as out:
                while chunk := stream.read(CHUNK):
                    size += len(chunk)
                    if size > max_bytes:
                        raise UploadTooLarge(f"The file is larger than {max_bytes} bytes.")
                    digest.update(chunk)
                    out.write(chunk)
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        if size == 0:
            path.unlink(missing_ok=True)
            raise UploadRefused("The file is empty.", errors={"file": ["Empty file."]})
        return path, digest.hexdigest(), size


@dataclass(frozen=True)
class CapturePlan:
    """What one capture will fetch, read in a short transaction."""

    source_id: str
    url: str
    requested_at: datetime | None  # the request this capture answers (a newer one stays owed)


@dataclass(frozen=True)
class StoredText:
    """A document's reading, its text already in the blob store (`text_sha256`, None without text)."""

    extraction: Extraction
    text_sha256: str | None


@dataclass(frozen=True)
class TextPlan:
    """An archived document whose text is still to be read."""

    snapshot_id: str
    sha256: str
    content_type: str
    charset: str | None


@dataclass
class Fetched:
    """What a capture brought back: the fetch, and its snapshot built (not yet stored)."""

    result: FetchResult
    snapshot: Snapshot


class CaptureService:
    """Fetches sources safely, archives what came back, reads its text, and keeps each source's
    health. Each job comes in three steps (see service.core.database.read_work_write): a short
    read, the slow part with no database (`fetch`, `read_text`), a short write."""

    def __init__(
        self, session: Session, fetcher: SafeFetcher, blobs: BlobStore, limits: Limits | None = None
    ) -> None:
        self.session = session
        self.fetcher = fetcher
        self.blobs = blobs
        self.limits = limits or Limits()

    def plan(self, source_id: str) -> CapturePlan | None:
        """The capture to run; None when the source is gone or has no URL (an upload)."""
        source = self.session.get(Source, source_id, populate_existing=True)
        if source is None or source.canonical_url is None:
            return None
        return CapturePlan(source.id, _capture_url(source), source.capture_requested_at)

    def fetch(self, plan: CapturePlan) -> Fetched:
        """Fetch and archive the document, and read its text in a contained process. Never raises
        for what the network or the document does: that is the snapshot. No database here."""
        result = self.fetcher.fetch(plan.url)
        snapshot = Snapshot(
            source_id=plan.source_id,
            ok=result.ok,
            outcome=result.outcome,
            status_code=result.status_code,
            final_url=result.final_url,
            redirects=[
                {"url": h.url, "status_code": h.status_code, "location": h.location} for h in result.redirects
            ],
            address=result.address,
            content_type=result.content_type,
            charset=result.charset,
            size=result.size,
            sha256=result.sha256,
            etag=result.etag,
            last_modified=result.last_modified,
            error=result.error,
        )
        try:
            if result.ok and result.body_path is not None and result.sha256:
                # Read from the spooled file (a bucket would mean fetching it back), then store both:
                # both are in the store before the snapshot that names them is recorded.
                extraction = extract_contained(
                    result.body_path, snapshot.content_type or "", snapshot.charset, self.limits
                )
                self.blobs.put_file(result.body_path, result.sha256)
                _attach(snapshot, _store_text(extraction, self.blobs))
        finally:  # stored, or not to be kept: a store that failed leaves nothing behind either
            if result.body_path is not None:
                result.body_path.unlink(missing_ok=True)
        return Fetched(result, snapshot)

    def record(self, plan: CapturePlan, fetched: Fetched) -> CaptureReport:
        """Store the snapshot and the source's new health; the capture is no longer owed unless
        another was asked for while it ran."""
        source = self.session.get(Source, plan.source_id, populate_existing=True)
        if source is None:
            raise SourceNotFound(f"No source {plan.source_id!r}.")
        previous_good = (
            self.session.get(Snapshot, source.good_snapshot_id) if source.good_snapshot_id else None
        )
        snapshot = fetched.snapshot
        self.session.add(snapshot)
        report = CaptureReport(snapshot, previous_good)
        source.latest_snapshot_id = snapshot.id
        if snapshot.ok:
            source.good_snapshot_id = snapshot.id
        stopped = fetched.result.ok and not snapshot.ok  # fetched, but too costly to read
        source.health = SourceHealth.ERROR if stopped else _health(fetched.result, report)
        source.last_checked_at = snapshot.fetched_at
        source.updated_at = utcnow()
        if snapshot.ok and snapshot.meta:  # what the page says of itself, unless a person said it
            source.title = source.title or snapshot.meta.get("title")
            source.publisher = source.publisher or snapshot.meta.get("publisher")
        if source.capture_requested_at is None or (
            plan.requested_at is not None and source.capture_requested_at <= plan.requested_at
        ):
            source.capture_requested_at = None
        self.session.add(source)
        self.session.flush()
        return report

    def plan_text(self, snapshot_id: str) -> TextPlan | None:
        """The archived document whose text is still to be read; None when there is none."""
        snapshot = self.session.get(Snapshot, snapshot_id, populate_existing=True)
        if snapshot is None or not snapshot.ok or snapshot.sha256 is None or _text_known(snapshot):
            return None
        return TextPlan(snapshot.id, snapshot.sha256, snapshot.content_type or "", snapshot.charset)

    def read_text(self, plan: TextPlan) -> StoredText:
        """Read the document's text in a contained process and store it (no database)."""
        with self.blobs.local_path(plan.sha256) as path:
            extraction = extract_contained(path, plan.content_type, plan.charset, self.limits)
        return _store_text(extraction, self.blobs)

    def record_text(self, plan: TextPlan, text: StoredText) -> CaptureReport:
        """Record the stored text (or why there is none); a report for re-anchoring the source's quotes."""
        snapshot = self.session.get(Snapshot, plan.snapshot_id, populate_existing=True)
        if snapshot is None:
            raise SnapshotNotFound(f"No snapshot {plan.snapshot_id!r}.")
        _attach(snapshot, text)
        self.session.add(snapshot)
        if not snapshot.ok:  # stopped: the source keeps no usable archive from it
            source = self.session.get(Source, snapshot.source_id)
            if source is not None and source.good_snapshot_id == snapshot.id:
                source.good_snapshot_id, source.health = None, SourceHealth.ERROR
        self.session.flush()
        return CaptureReport(snapshot, None)


def _capture_url(source: Source) -> str:
    """The URL to capture the source from; an uploaded document has none (409)."""
    if source.canonical_url is None:
        raise ConflictError("An uploaded document has no URL to capture again.")
    return source.url or source.canonical_url


def _store_text(extraction: Extraction, blobs: BlobStore) -> StoredText:
    """Put the text in the store: outside any transaction, since the store may be across the network."""
    text = extraction.text
    return StoredText(extraction, blobs.put_bytes(text.encode("utf-8")) if text is not None else None)


def _attach(snapshot: Snapshot, stored: StoredText) -> None:
    extraction = stored.extraction
    if stored.text_sha256 is not None:
        snapshot.text_sha256 = stored.text_sha256
    snapshot.text_error = extraction.error
    snapshot.meta = extraction.meta
    if extraction.stopped:  # a document too costly to read is no archive to cite from
        snapshot.ok, snapshot.outcome, snapshot.error = False, SnapshotOutcome.ERROR, extraction.error


def _text_known(snapshot: Snapshot) -> bool:
    """Whether the snapshot's text was read (or found unreadable): not still to come."""
    return snapshot.text_sha256 is not None or snapshot.text_error is not None


def _health(result: FetchResult, report: CaptureReport) -> SourceHealth:
    if result.outcome == SnapshotOutcome.BLOCKED:
        return SourceHealth.BLOCKED
    if result.outcome == SnapshotOutcome.GONE:
        return SourceHealth.GONE
    if not result.ok:
        return SourceHealth.ERROR
    if result.permanent_redirect:
        return SourceHealth.MOVED
    return SourceHealth.CHANGED if report.content_changed else SourceHealth.OK


def _declared_type(filename: str | None) -> str | None:
    # Only a hint, for text formats the bytes cannot tell apart (CSV from plain text).
    if not filename or "." not in filename:
        return None
    return {"csv": "text/csv", "txt": "text/plain"}.get(filename.rsplit(".", 1)[1].lower())
