"""Source operations: adding URL and uploaded sources, capturing snapshots, reading them back.

`SourceService` keeps the catalogue; `CaptureService` fetches a source, archives the bytes and
the extracted text, and decides the source's health. Services flush; the caller commits.
"""

import hashlib
import os
import tempfile
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Required, TypedDict

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session
from sqlmodel import col, select

from service.accounts.models import Role, User, ensure_role
from service.core.database import utcnow, write_intent
from service.core.effects import Effect, Effects
from service.core.errors import ConflictError
from sources.blobs import BlobStore
from sources.errors import SnapshotNotFound, SourceNotFound, UploadRefused, UploadTooLarge
from sources.extract import SNIFF_BYTES, extract_text, sniff_type
from sources.fetcher import FetchResult, SafeFetcher
from sources.models import Snapshot, SnapshotOutcome, Source, SourceHealth, SourceKind
from sources.urls import canonical_url

CHUNK = 64 * 1024

CAPTURE_ROLE = Role.REVIEWER  # who may ask for a source to be captured again
FIRST_CAPTURE_GRACE = timedelta(minutes=15)  # a source never checked after this lost its first capture


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
        """A source for an uploaded document, archived at once; its type is decided by its bytes."""
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
            self.session.add(source)
            self.session.flush()
            blob = self.blobs.put_file(path, sha256)
            snapshot = Snapshot(
                source_id=source.id,
                ok=True,
                outcome=SnapshotOutcome.OK,
                content_type=content_type,
                size=size,
                sha256=sha256,
            )
            _attach_text(snapshot, blob, self.blobs)
            self.session.add(snapshot)
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
        self.effects.add(Effect.CAPTURE, source.id)
        return source

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

    def content_path(self, snapshot: Snapshot) -> Path:
        """The archived bytes of a successful snapshot."""
        if not snapshot.ok or snapshot.sha256 is None or not self.blobs.exists(snapshot.sha256):
            raise SnapshotNotFound("This snapshot has no archived content.")
        return self.blobs.path(snapshot.sha256)

    def text(self, snapshot: Snapshot) -> str:
        """The text extracted from a snapshot."""
        if snapshot.text_sha256 is None:
            raise SnapshotNotFound(snapshot.text_error or "This snapshot has no extracted text.")
        return self.blobs.read_text(snapshot.text_sha256)

    def good_snapshot(self, source: Source) -> Snapshot | None:
        return self.session.get(Snapshot, source.good_snapshot_id) if source.good_snapshot_id else None

    def due_for_recheck(self, before: datetime, limit: int = 1000) -> list[str]:
        """Ids of URL sources last checked before `before`, oldest first, and of those never
        checked though added over FIRST_CAPTURE_GRACE ago (a new source's first capture is queued
        when it is added: queueing it again would capture it twice)."""
        checked_at = col(Source.last_checked_at)
        lost = sa.and_(checked_at.is_(None), col(Source.created_at) < utcnow() - FIRST_CAPTURE_GRACE)
        stmt = (
            select(Source.id)
            .where(col(Source.canonical_url).is_not(None))
            .where(sa.or_(lost, checked_at < before))
            .order_by(checked_at.asc().nulls_first())
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

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


class CaptureService:
    """Fetches a source safely, archives what came back, and updates the source's health."""

    def __init__(self, session: Session, fetcher: SafeFetcher, blobs: BlobStore) -> None:
        self.session = session
        self.fetcher = fetcher
        self.blobs = blobs

    def capture(self, source_id: str) -> CaptureReport:
        """Capture the source now. Never raises for what the network does: that is the snapshot.

        The fetch and the text extraction run outside any transaction (the read before them is
        committed first): on SQLite a capture must not hold the write lock for the seconds a slow
        site or a large PDF takes, or every write on the desk would wait on it.
        """
        with write_intent(False):
            _, url = self._capturable(source_id)
            self.session.commit()
        result = self.fetcher.fetch(url)
        snapshot = self._snapshot(source_id, result)  # archived bytes and text: files, no database
        source, _ = self._capturable(source_id)  # the writing transaction begins here
        previous_good = (
            self.session.get(Snapshot, source.good_snapshot_id) if source.good_snapshot_id else None
        )
        self.session.add(snapshot)
        report = CaptureReport(snapshot, previous_good)
        source.latest_snapshot_id = snapshot.id
        if snapshot.ok:
            source.good_snapshot_id = snapshot.id
        source.health = _health(result, report)
        source.last_checked_at = snapshot.fetched_at
        source.updated_at = utcnow()
        self.session.add(source)
        self.session.flush()
        return report

    def _capturable(self, source_id: str) -> tuple[Source, str]:
        """The source, read afresh, and the URL to fetch for it."""
        source = self.session.get(Source, source_id, populate_existing=True)
        if source is None:
            raise SourceNotFound(f"No source {source_id!r}.")
        return source, _capture_url(source)

    def _snapshot(self, source_id: str, result: FetchResult) -> Snapshot:
        snapshot = Snapshot(
            source_id=source_id,
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
        if result.ok and result.body_path is not None and result.sha256:
            blob = self.blobs.put_file(result.body_path, result.sha256)
            _attach_text(snapshot, blob, self.blobs)
        elif result.body_path is not None:
            result.body_path.unlink(missing_ok=True)
        return snapshot


def _capture_url(source: Source) -> str:
    """The URL to capture the source from; an uploaded document has none (409)."""
    if source.canonical_url is None:
        raise ConflictError("An uploaded document has no URL to capture again.")
    return source.url or source.canonical_url


def _attach_text(snapshot: Snapshot, blob: Path, blobs: BlobStore) -> None:
    extraction = extract_text(blob, snapshot.content_type or "", snapshot.charset)
    if extraction.text is not None:
        snapshot.text_sha256 = blobs.put_bytes(extraction.text.encode("utf-8"))
    snapshot.text_error = extraction.error


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
