"""Background jobs on Huey: source captures, webhook deliveries and the periodic sweeps.

The queue lives in SQLite under the data dir, or in Redis when `FACTDESK_REDIS_URL` is set;
`configure()` picks it (tests run tasks immediately). `factdesk worker` consumes it. A job's own
unit of work dispatches its side effects (a capture's webhook deliveries) once it commits.
"""

import logging
import os
from datetime import timedelta
from typing import Any

import redis
from huey import Huey, crontab
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage
from sqlalchemy.engine import Engine
from sqlmodel import Session

from service.composition import Services
from service.core.config import Settings
from service.core.database import make_engine, utcnow
from service.core.effects import Effect, Handlers, dispatch
from service.ops import metrics

log = logging.getLogger(__name__)

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


def _engine() -> Engine:
    # One engine per process, made after gunicorn/huey fork.
    if _runtime.get("pid") != os.getpid():
        _runtime["engine"] = make_engine(_runtime["settings"].sqlalchemy_url)
        _runtime["pid"] = os.getpid()
    engine: Engine = _runtime["engine"]
    return engine


def run_capture(source_id: str) -> None:
    """Capture a source and re-anchor the citations that rest on it, in one transaction."""
    with Session(_engine(), expire_on_commit=False) as session:
        services = Services(session, _runtime["settings"])
        report = services.captures.capture(source_id)
        changed = services.citations.reanchor_source(source_id, report)
        session.commit()
    metrics.count_capture(report.snapshot.outcome)
    dispatch(services.effects, AFTER_COMMIT)
    log.info("captured %s: %s (%d claims updated)", source_id, report.snapshot.outcome, len(changed))


@huey.task(retries=2, retry_delay=60)
def capture_source(source_id: str) -> None:
    """Queue a capture of one source."""
    run_capture(source_id)


def recheck_sources(older_than: timedelta | None = None) -> int:
    """Queue a capture of every URL source not checked within `older_than`; how many."""
    settings: Settings = _runtime["settings"]
    cutoff = utcnow() - (older_than if older_than is not None else timedelta(hours=settings.recheck_hours))
    with Session(_engine()) as session:
        due = Services(session, settings).sources.due_for_recheck(cutoff, limit=100_000)
    for source_id in due:
        capture_source(source_id)
    return len(due)


@huey.periodic_task(crontab(minute="*/15"))
def recheck_due_sources() -> None:
    """Every 15 minutes, queue the sources whose last check is older than FACTDESK_RECHECK_HOURS."""
    recheck_sources()


def run_delivery(delivery_id: str) -> None:
    """Attempt one delivery and, if it failed, schedule the retry."""
    with Session(_engine(), expire_on_commit=False) as session:
        outcome = Services(session, _runtime["settings"]).deliveries().attempt(delivery_id)
        session.commit()
    if outcome and outcome.sent:
        state = outcome.delivery.state
        metrics.count_delivery("retrying" if state == "pending" else state)
    if outcome and outcome.sent and outcome.delivery.state == "pending" and outcome.delivery.next_attempt_at:
        deliver_webhook.schedule((delivery_id,), eta=outcome.delivery.next_attempt_at)


@huey.task()
def deliver_webhook(delivery_id: str) -> None:
    """Queue one webhook delivery."""
    run_delivery(delivery_id)


@huey.periodic_task(crontab(minute="*"))
def deliver_due_webhooks() -> None:
    """Every minute, send what is due: retries, and deliveries a crashed worker left behind."""
    with Session(_engine()) as session:
        due = Services(session, _runtime["settings"]).deliveries().due(limit=500)
    for delivery_id in due:
        run_delivery(delivery_id)


# What a committed unit of work's effects become in the queue (web processes add their own).
AFTER_COMMIT: Handlers = {Effect.CAPTURE: capture_source, Effect.DELIVER: deliver_webhook}
