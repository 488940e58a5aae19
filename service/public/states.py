"""Badge states: (status, rating, verdict_version) of a claim, its badge's only database read.

`BadgeStateReader` reads one indexed row through the driver; `BadgeStates` keeps each state a few
seconds per process, so popular badges skip the database. The view and the fast path share both.
"""

import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable

import sqlalchemy as sa
from flask import Flask
from sqlmodel import col

from claims.models import Claim
from service.core.database import make_engine

BadgeState = tuple[str, str | None, int]  # status, rating, verdict_version

# The badge's only read: a prepared statement on the unique index of claim.id.
BADGE_STATE = sa.select(col(Claim.status), col(Claim.rating), col(Claim.verdict_version)).where(
    col(Claim.id) == sa.bindparam("claim_id")
)
READER = "factdesk.badge_reader"


class BadgeStateReader:
    """Reads (status, rating, verdict_version) of claims for their badges, the hottest read.

    On an autocommit engine of its own, through the driver: a pool checkout, the one statement and
    a check-in, with no BEGIN, ROLLBACK or result processing (on SQLite about 13 µs a read, against
    74 µs through the app's session engine). Every read sees the latest commit. A read that fails on
    a connection the pool kept (the database restarted, say) is tried once more on a new one.
    """

    def __init__(self, url: str) -> None:
        self.engine = make_engine(url, pool_size=2, autocommit=True)
        compiled = BADGE_STATE.compile(dialect=self.engine.dialect)
        self.sql, self.positional = str(compiled), compiled.positional
        self._pid = os.getpid()

    def read(self, claim_id: str) -> BadgeState | None:
        """The claim's badge state, or None when there is no such claim."""
        if self._pid != os.getpid():  # a forked child: never a connection its parent opened
            self.engine.dispose(close=False)
            self._pid = os.getpid()
        params: tuple[str] | dict[str, str] = (claim_id,) if self.positional else {"claim_id": claim_id}
        try:
            return self._read(params)
        except sa.exc.DBAPIError as exc:
            if not exc.connection_invalidated:
                raise
        return self._read(params)  # once more, on a new connection

    def close(self) -> None:
        """Close the pooled connections (when the app goes away: tests, a shutdown)."""
        self.engine.dispose()

    def _read(self, params: tuple[str] | dict[str, str]) -> BadgeState | None:
        connection = self.engine.raw_connection()  # SQLAlchemy's error if none can be opened
        dbapi_error = self.engine.dialect.loaded_dbapi.Error
        try:
            cursor = connection.cursor()
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
            cursor.close()
        except dbapi_error as exc:
            connection.invalidate()  # closed, never back in the pool
            raise sa.exc.DBAPIError.instance(
                self.sql, params, exc, dbapi_error, connection_invalidated=True, dialect=self.engine.dialect
            ) from exc
        finally:
            connection.close()
        return (row[0], row[1], row[2]) if row else None


class BadgeStates:
    """Badge states by claim id for a few seconds, per process: popular badges skip the database.

    Downstream caches may keep a badge for FACTDESK_BADGE_MAX_AGE anyway; this adds at most
    `ttl` seconds in other processes, and nothing in the one that made the change (it forgets
    the claims it touched as soon as they are committed).
    """

    def __init__(self, ttl: float = 5.0, size: int = 50_000) -> None:
        self.ttl, self.size = ttl, size
        self._entries: OrderedDict[str, tuple[float, BadgeState | None]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, claim_id: str, load: Callable[[], BadgeState | None], ttl: float) -> BadgeState | None:
        """The remembered state, or `load()`'s, remembered for `ttl` seconds."""
        now = time.monotonic()
        with self._lock:
            hit = self._entries.get(claim_id)
            if hit is not None and hit[0] > now:
                return hit[1]
        state = load()
        if ttl > 0:
            with self._lock:
                self._entries[claim_id] = (now + ttl, state)
                self._entries.move_to_end(claim_id)
                while len(self._entries) > self.size:
                    self._entries.popitem(last=False)
        return state

    def forget(self, claim_ids: Iterable[str]) -> None:
        """Drop the states of claims that changed."""
        with self._lock:
            for claim_id in claim_ids:
                self._entries.pop(claim_id, None)

    def forget_one(self, claim_id: str) -> None:
        """Drop one claim's state (the after-commit handler of a changed claim)."""
        self.forget((claim_id,))


badge_states = BadgeStates()


def badge_reader(app: Flask) -> BadgeStateReader:
    """The app's badge state reader, shared by the view and the fast path."""
    reader: BadgeStateReader | None = app.extensions.get(READER)
    if reader is None:
        reader = app.extensions[READER] = BadgeStateReader(app.extensions["factdesk.settings"].sqlalchemy_url)
    return reader


def cached_badge_state(reader: BadgeStateReader, claim_id: str, max_age: int) -> BadgeState | None:
    """A claim's badge state: from the short cache, else one indexed row."""
    return badge_states.get(claim_id, lambda: reader.read(claim_id), min(badge_states.ttl, max_age))
