"""Liveness and readiness probes for load balancers and the Docker HEALTHCHECK."""

import logging

from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.ops import jobs
from service.web import context
from service.web.problems import problem

log = logging.getLogger(__name__)

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """The database answers too, and queued jobs have a worker to run them."""
    try:
        with context.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return problem(503, "The database is not reachable.", headers={"Retry-After": "5"})
    stalled = _stalled_jobs()
    if stalled is not None:
        return problem(503, stalled, headers={"Retry-After": "30"})
    return jsonify(status="ready")


def _stalled_jobs() -> str | None:
    """Why queued jobs are not being run, or None: they are, or none wait, or the queue's store
    cannot say (rate limits and badges keep working without it; its own errors are logged)."""
    try:
        waiting = jobs.queue_depth()
        if waiting == 0:
            return None
        since = jobs.seconds_since_beat()
    except Exception:
        log.warning("job queue unreadable for /readyz", exc_info=True)
        return None
    if since is not None and since < jobs.WORKER_GONE_AFTER_SECONDS:
        return None
    seen = "no worker has ever been seen" if since is None else f"no worker has been seen for {since:.0f} s"
    return (
        f"{waiting} background job{'s wait' if waiting != 1 else ' waits'} and {seen}: start one with "
        "`factdesk worker` (`factdesk serve` runs one and restarts it when it dies)."
    )
