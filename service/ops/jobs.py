"""Background jobs on Huey: source captures, webhook deliveries and the periodic sweeps.

The queue lives in SQLite under the data dir, or in Redis when `FACTDESK_REDIS_URL` is set;
`configure()` picks it (tests run tasks immediately). `factdesk worker` consumes it. A job's own
unit of work dispatches its side effects (a capture's webhook deliveries) once it commits.
"""

import logging
import os
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import redis
from huey import Huey, crontab
from huey.exceptions import TaskLockedException
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy.engine import Engine
from sqlmodel import Session

from claims.matching.vectors import embed_pending
from claims.reporting.checkworthiness import load_scorer
from claims.reporting.services import Reading, read_archived
from service.composition import Services
from service.core import urls
from service.core.config import Settings
from service.core.database import make_engine, read_work_write, utcnow, write_intent
from service.core.effects import Effect, Handlers, dispatch
from service.ops import metrics
from service.webhooks.models import DeliveryState
from service.webhooks.services import AttemptOutcome, DeliveryService
from sources.services import LOST_AFTER, CapturePlan, CaptureReport, Fetched, StoredText, TextPlan

log = logging.getLogger(__name__)

HEARTBEAT_KEY = "factdesk:worker-heartbeat"
HEARTBEAT_SECONDS = 10.0
WORKER_GONE_AFTER_SECONDS = 60.0  # no beat for this long while jobs wait: no worker is running them
EMBED_LOCK_SECONDS = 1800  # longer than any run of the embedding job (15,000 fact-checks: 2 minutes)

# Until configure() runs nothing is queued anywhere: importing this module touches no files.
huey = Huey("factdesk", immediate=True, storage_class=MemoryStorage)
_runtime: dict[str, Any] = {}


def configure(settings: Settings, *, immediate: bool = False) -> None:
    """Point the queue at Redis or the SQLite file, or run tasks inline (`immediate`, for tests)."""
    if settings.redis_url:
        # Timeouts, so a Redis that stops answering cannot hang a request that queues a job.
        huey.storage_class = RedisStorage
        pool = redis.ConnectionPool.from_url(settings.redis_url, socket_connect_timeout=2, socket_timeout=5)
        huey.storage_kwargs = {"connection_pool": pool}
    else:
        huey.storage_class = SqliteStorage
        huey.storage_kwargs = {"filename": str(settings.data_dir / "jobs.db")}
    huey._immediate = immediate  # Huey swaps storage through this flag
    huey.storage = huey.create_storage()
    dispose()
    _runtime["settings"] = settings
    urls.configure(settings.public_base)  # webhook payloads link where the web processes do


def dispose() -> None:
    """Close the jobs' database connections (at exit, or before configuring anew)."""
    engine = _runtime.pop("engine", None)
    _runtime.pop("pid", None)
    if engine is not None:
        engine.dispose()


def queue_depth() -> int:
    """Jobs waiting in the queue."""
    count: int = huey.pending_count()
    return count


def beat() -> None:
    """Say that a worker is alive now (every worker does, every HEARTBEAT_SECONDS)."""
    huey.put(HEARTBEAT_KEY, time.time())


def seconds_since_beat() -> float | None:
    """How long ago a worker last said it was alive; None if none ever did."""
    last = huey.get(HEARTBEAT_KEY, peek=True)
    return time.time() - float(last) if last is not None else None


def keep_beating(stop: threading.Event) -> threading.Thread:
    """A daemon thread that beats until `stop` is set (a worker process runs one)."""

    def run() -> None:
        while not stop.is_set():
            try:
                beat()
            except Exception:  # the queue's store is away: the next beat tries again
                log.warning("worker heartbeat not stored", exc_info=True)
            stop.wait(HEARTBEAT_SECONDS)

    thread = threading.Thread(target=run, name="factdesk-heartbeat", daemon=True)
    thread.start()
    return thread


def _engine() -> Engine:
    # One engine per process, made after gunicorn/huey fork.
    if _runtime.get("pid") != os.getpid():
        _runtime["engine"] = make_engine(_runtime["settings"].sqlalchemy_url)
        _runtime["pid"] = os.getpid()
    engine: Engine = _runtime["engine"]
    return engine


def _open_session() -> Session:
    return Session(_engine(), expire_on_commit=False)


def _no_session() -> Session:
    """A session bound to nothing: for the step of a job that must not touch the database."""
    return Session(bind=None)


def run_capture(source_id: str) -> None:
    """Capture a source, then re-anchor the citations that rest on it (see read_work_write)."""
    settings: Settings = _runtime["settings"]

    def record(
        session: Session, plan: CapturePlan, fetched: Fetched
    ) -> tuple[Services, CaptureReport, list[str]]:
        services = Services(session, settings)
        report = services.captures.record(plan, fetched)
        services.extractions.source_ready(plan.source_id)
        return services, report, services.citations.reanchor_source(plan.source_id, report)

    done = read_work_write(
        _open_session,
        lambda session: Services(session, settings).captures.plan(source_id),
        lambda plan: Services(_no_session(), settings).captures.fetch(plan),
        record,
    )
    if done is None:
        log.info("capture of %s: nothing to do (no such source, or an upload)", source_id)
        return
    services, report, changed = done
    metrics.count_capture(report.snapshot.outcome)
    dispatch(services.effects, AFTER_COMMIT)
    log.info("captured %s: %s (%d claims updated)", source_id, report.snapshot.outcome, len(changed))


@huey.task(retries=2, retry_delay=60)
def capture_source(source_id: str) -> None:
    """Queue a capture of one source."""
    run_capture(source_id)


def run_text(snapshot_id: str) -> None:
    """Read an archived document's text (an upload's), then anchor the quotes waiting for it."""
    settings: Settings = _runtime["settings"]

    def record(session: Session, plan: TextPlan, text: StoredText) -> tuple[Services, list[str]]:
        services = Services(session, settings)
        report = services.captures.record_text(plan, text)
        services.extractions.source_ready(report.snapshot.source_id)
        return services, services.citations.reanchor_source(report.snapshot.source_id, report)

    done = read_work_write(
        _open_session,
        lambda session: Services(session, settings).captures.plan_text(snapshot_id),
        lambda plan: Services(_no_session(), settings).captures.read_text(plan),
        record,
    )
    if done is not None:
        services, changed = done
        dispatch(services.effects, AFTER_COMMIT)
        log.info("read the text of %s (%d claims updated)", snapshot_id, len(changed))


@huey.task(retries=2, retry_delay=60)
def extract_snapshot(snapshot_id: str) -> None:
    """Queue the reading of one archived document's text."""
    run_text(snapshot_id)


def run_reading(extraction_id: str) -> None:
    """Read a captured report into sentences (see read_work_write): the archived text is read and
    scored with no transaction open, then stored with its matches."""
    settings: Settings = _runtime["settings"]

    def work(reading: Reading) -> list[dict[str, Any]] | None:
        sentences = read_archived(reading, load_scorer())
        if sentences is not None and reading.text is not None:
            with write_intent(False), _open_session() as session:  # reads only: no write lock
                Services(session, settings).extractions.match(reading.text, sentences)
                session.commit()
        return sentences

    done = read_work_write(
        _open_session,
        lambda session: Services(session, settings).extractions.plan_reading(extraction_id),
        work,
        lambda session, reading, sentences: Services(session, settings).extractions.record_reading(
            reading, sentences
        ),
    )
    if done is not None:
        log.info("read %s: %s", extraction_id, done.status)


@huey.task(retries=2, retry_delay=30)
def read_extraction(extraction_id: str) -> None:
    """Queue the reading of one captured report."""
    run_reading(extraction_id)


def recheck_sources(older_than: timedelta | None = None) -> int:
    """Queue a capture of every URL source not checked within `older_than`; how many."""
    settings: Settings = _runtime["settings"]
    cutoff = utcnow() - (older_than if older_than is not None else timedelta(hours=settings.recheck_hours))
    with _open_session() as session:
        due = Services(session, settings).sources.due_for_recheck(cutoff, limit=100_000)
        session.commit()
    for source_id in due:
        capture_source(source_id)
    return len(due)


@huey.periodic_task(crontab(minute="*"))
def requeue_lost_work() -> None:
    """Every minute, queue again the captures and text readings that were lost (their worker died
    mid-job, or the queue lost them): retried within minutes, not at the next re-check."""
    settings: Settings = _runtime["settings"]
    with _open_session() as session:
        sources = Services(session, settings).sources
        captures, texts = sources.lost_captures(), sources.lost_texts()
        readings = Services(session, settings).extractions.lost_readings(utcnow() - LOST_AFTER)
        session.commit()
    for source_id in captures:
        capture_source(source_id)
    for snapshot_id in texts:
        extract_snapshot(snapshot_id)
    for extraction_id in readings:
        read_extraction(extraction_id)
    if captures or texts:
        log.warning("queued again %d lost captures and %d lost text readings", len(captures), len(texts))


@huey.periodic_task(crontab(minute="*"))
def embed_new_texts() -> None:
    """Every minute, the sentence vectors of the claims and fact-checks written or changed since.

    One job at a time (an import of thousands takes minutes), across every worker sharing the
    queue: a lock in Redis expires after EMBED_LOCK_SECONDS, so a worker that dies holding it
    blocks no one for long; the queue's SQLite file keeps no expiry, and `factdesk worker` (the
    only one reading that file) clears its locks when it starts."""
    ttl = EMBED_LOCK_SECONDS if _runtime["settings"].redis_url else None
    try:
        with huey.lock_task("factdesk-embed", ttl=ttl):
            count = embed_pending(_open_session)
    except TaskLockedException:
        log.info("sentence vectors: the last run is still writing them")
        return
    if count:
        log.info("encoded the sentence vectors of %d claims and fact-checks", count)


@huey.periodic_task(crontab(minute="*/15"))
def recheck_due_sources() -> None:
    """Every 15 minutes, queue the sources whose last check is older than FACTDESK_RECHECK_HOURS."""
    recheck_sources()


def run_delivery(
    delivery_id: str, now: Callable[[], datetime] = utcnow, jitter: Callable[[], float] | None = None
) -> AttemptOutcome | None:
    """Attempt one delivery (lease, send, record: see read_work_write) and, if it failed,
    schedule the retry; None when it was not due, or another worker holds it."""
    settings: Settings = _runtime["settings"]

    def deliveries(session: Session) -> DeliveryService:
        service = Services(session, settings).deliveries(now=now)
        if jitter is not None:
            service.jitter = jitter
        return service

    outcome = read_work_write(
        _open_session,
        lambda session: deliveries(session).lease(delivery_id),
        lambda leased: deliveries(_no_session()).send(leased),
        lambda session, leased, result: deliveries(session).record(leased, result),
    )
    if outcome is None:
        return None
    state = outcome.delivery.state
    metrics.count_delivery("retrying" if state == DeliveryState.PENDING else state)
    if state == DeliveryState.PENDING and outcome.delivery.next_attempt_at:
        deliver_webhook.schedule((delivery_id,), eta=outcome.delivery.next_attempt_at)
    return outcome


@huey.task()
def deliver_webhook(delivery_id: str) -> None:
    """Queue one webhook delivery."""
    run_delivery(delivery_id)


@huey.periodic_task(crontab(minute="*"))
def deliver_due_webhooks() -> None:
    """Every minute, queue what is due: retries, and deliveries a crashed worker left behind.

    Each is its own job, so one slow receiver holds one worker thread for one deadline, not the
    sweep; a delivery queued twice is sent once (the second finds it leased)."""
    with Session(_engine()) as session:
        due = Services(session, _runtime["settings"]).deliveries().due(limit=500)
    for delivery_id in due:
        deliver_webhook(delivery_id)


# What a committed unit of work's effects become in the queue (web processes add their own).
AFTER_COMMIT: Handlers = {
    Effect.CAPTURE: capture_source,
    Effect.DELIVER: deliver_webhook,
    Effect.EXTRACT: extract_snapshot,
    Effect.READ: read_extraction,
}
