"""`Idempotency-Key` for POST requests: a retry replays the first response instead of redoing it.

The key is claimed in its own committed transaction before the request runs, so a second
process sees it at once (409 while the first runs); the first response is stored in the
request's own transaction, so it exists exactly when the work it describes does.
"""

import contextlib
import hashlib
import json
import logging
import os
import random
import socket
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Response, g, request
from sqlalchemy import CursorResult, delete, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col

from service.core.database import utcnow, write_intent
from service.web import context
from service.web.auth import current_user
from service.web.models import IdempotencyRecord
from service.web.problems import problem

log = logging.getLogger(__name__)

HEADER = "Idempotency-Key"
KEEP_FOR = timedelta(hours=24)
# A first request that has not finished after this long died (gunicorn kills a worker whose
# request runs past 60 s); a retry is let in. On the same host a dead process is seen at once.
ABANDONED_AFTER = timedelta(seconds=75)
REPLAYED_HEADERS = ("Content-Type", "Location", "ETag")


def _request_hash() -> str:
    body = request.get_data(cache=True)
    with contextlib.suppress(ValueError, RecursionError):  # not JSON, or nested past reading: as sent
        body = json.dumps(json.loads(body), sort_keys=True, separators=(",", ":")).encode()
    return hashlib.sha256(request.method.encode() + b" " + request.path.encode() + b"\n" + body).hexdigest()


def _claim_key(user_id: str, key: str, digest: str) -> IdempotencyRecord | None:
    """Insert the key as in flight; the existing record if someone holds it already."""
    with write_intent(), Session(context.engine(), expire_on_commit=False) as side:
        now = utcnow()
        if random.random() < 0.01:  # noqa: S311 - a sweep 1 time in 100, not a secret
            side.execute(delete(IdempotencyRecord).where(col(IdempotencyRecord.created_at) < now - KEEP_FOR))
        owner = process_owner()
        side.add(
            IdempotencyRecord(user_id=user_id, key=key, request_hash=digest, created_at=now, owner=owner)
        )
        try:
            side.commit()
            return None
        except IntegrityError:
            side.rollback()
        existing = side.get(IdempotencyRecord, (user_id, key))
        if existing is None:  # it was released in between: try once more
            side.add(
                IdempotencyRecord(user_id=user_id, key=key, request_hash=digest, created_at=now, owner=owner)
            )
            side.commit()
            return None
        expired = existing.created_at < now - KEEP_FOR
        abandoned = existing.completed_at is None and (
            existing.created_at < now - ABANDONED_AFTER or owner_gone(existing.owner)
        )
        if expired or abandoned:
            taken: CursorResult[Any] = side.execute(  # type: ignore[assignment]  # an UPDATE's result
                update(IdempotencyRecord)
                .where(
                    col(IdempotencyRecord.user_id) == user_id,
                    col(IdempotencyRecord.key) == key,
                    col(IdempotencyRecord.created_at) == existing.created_at,
                )
                .values(
                    request_hash=digest,
                    created_at=now,
                    owner=owner,
                    completed_at=None,
                    response_status=None,
                    response_headers=None,
                    response_body=None,
                )
            )
            side.commit()
            if taken.rowcount == 1:
                return None
            existing = side.get(IdempotencyRecord, (user_id, key))
        return existing


def process_owner() -> str:
    """This process as `host/pid/start-time`: enough for another process on this host to tell
    whether it is still running (the start time tells a reused pid from the original)."""
    pid = os.getpid()
    return f"{socket.gethostname()}/{pid}/{_start_time(pid)}"


def owner_gone(owner: str | None) -> bool:
    """Whether the process named by `owner` is known to have ended (only on this host, and only
    where /proc tells; elsewhere the key waits for ABANDONED_AFTER)."""
    if not owner or owner.count("/") != 2:
        return False
    host, pid, started = owner.split("/")
    if host != socket.gethostname() or not pid.isdigit() or not started:
        return False
    if not Path("/proc/self/stat").exists():
        return False
    return _start_time(int(pid)) != started


def _start_time(pid: int) -> str:
    """The process's start time in clock ticks since boot, from /proc; "" if it is not running."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return ""
    # The command name (field 2) may hold spaces and parentheses: count from its closing one.
    fields = stat[stat.rindex(")") + 2 :].split()
    return fields[19] if len(fields) > 19 else ""


def _release(user_id: str, key: str) -> None:
    with write_intent(), Session(context.engine()) as side:
        side.execute(
            delete(IdempotencyRecord).where(
                col(IdempotencyRecord.user_id) == user_id, col(IdempotencyRecord.key) == key
            )
        )
        side.commit()


def begin() -> Response | None:
    """Before the view: claim the key, or answer with the replay, a 409 or a 422."""
    key = request.headers.get(HEADER)
    user = current_user()
    if key is None or request.method != "POST" or user is None:
        return None
    if not key.strip() or len(key) > 255 or not key.isprintable():
        return problem(400, f"{HEADER} must be 1 to 255 printable characters.")
    digest = _request_hash()
    existing = _claim_key(user.id, key, digest)
    if existing is None:
        g.idempotency = (user.id, key)
        return None
    if existing.request_hash != digest:
        return problem(
            422,
            f"This {HEADER} was used with a different request; use a new key.",
            title="Idempotency key reused",
            type_="urn:factdesk:problem:idempotency-key-reused",
        )
    if existing.completed_at is None:
        return problem(
            409,
            f"A request with this {HEADER} is still being processed; retry shortly.",
            title="Request in progress",
            headers={"Retry-After": "1"},
        )
    response = Response(existing.response_body, status=existing.response_status)
    for name, value in (existing.response_headers or {}).items():
        response.headers[name] = value
    response.headers["Idempotent-Replayed"] = "true"
    return response


def finish(response: Response) -> None:
    """After the view, before the commit: store a success with the work; release on failure."""
    held = g.pop("idempotency", None)
    if held is None:
        return
    user_id, key = held
    if response.status_code >= 400:
        _release(user_id, key)  # nothing was done: the client may fix the request and retry
        return
    context.session().execute(
        update(IdempotencyRecord)
        .where(col(IdempotencyRecord.user_id) == user_id, col(IdempotencyRecord.key) == key)
        .values(
            completed_at=utcnow(),
            response_status=response.status_code,
            response_headers={h: response.headers[h] for h in REPLAYED_HEADERS if h in response.headers},
            response_body=response.get_data(),
        )
    )


def abandon() -> None:
    """The request failed after its view returned (commit error): let a retry in."""
    held = g.pop("idempotency", None)
    if held is not None:
        try:
            _release(*held)
        except Exception:  # the database may be what failed; the key expires by itself
            log.warning("could not release idempotency key", exc_info=True)


def forget() -> None:
    """Drop the request's hold on its key (teardown: nothing more happens with it)."""
    g.pop("idempotency", None)
