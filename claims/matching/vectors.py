"""Sentence vectors of the desk's claims and the imported fact-checks: written by a job, searched
in each web process's memory.

`pending` and `record` are the two short transactions of the embedding job (the encoding runs
between them, with none open); `VectorSearch.of(session)` holds every stored vector of one
database in memory and finds the nearest to a text's, so matching finds a claim worded with none
of the text's words ("narcotics made to look like candy" → "heroin disguised as SweeTarts").
"""

import logging
import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.orm import Session

from claims.matching.encoder import DIMENSIONS, Vectors, encoder, give_back_freed_memory, to_bytes
from claims.matching.models import Embedding
from service.core.database import read_work_write

log = logging.getLogger(__name__)

# Each kind's table and the columns encoded: a fact-check's claim reviewed and its headline.
TABLES = {"claim": ("claim", "text", None), "factcheck": ("factcheck", "claim_reviewed", "headline")}
KIND_CODES = {"claim": 0, "factcheck": 1}
BATCH = 256  # rows encoded between two transactions (about 2 s of work)
REFRESH_SECONDS = 2.0  # how often a web process reads the vectors written since it last looked
RELOAD_SECONDS = 600.0  # and reads them all again (a row committed late, a row deleted)


@dataclass(frozen=True)
class Pending:
    """A claim or fact-check without a vector of its current text."""

    kind: str
    seq: int
    updated_at: datetime
    text: str
    title: str | None


def pending(session: Session, limit: int) -> list[Pending]:
    """Up to `limit` rows whose vector is missing or older than the row, claims first."""
    found: list[Pending] = []
    updated = Embedding.__table__.c.read_at.type  # type: ignore[attr-defined]  # SQLModel's table
    for kind, (table, text, title) in TABLES.items():
        if len(found) >= limit:
            break
        statement = sa.text(
            f"SELECT t.seq, t.updated_at, t.{text}, {f't.{title}' if title else 'NULL'} FROM {table} AS t "  # noqa: S608  # our names
            "LEFT JOIN embedding AS e ON e.kind = :kind AND e.seq = t.seq "
            "WHERE e.id IS NULL OR e.read_at <> t.updated_at ORDER BY t.seq LIMIT :limit"
        ).columns(sa.column("seq", sa.Integer), sa.column("updated_at", updated))
        for seq, updated_at, body, heading in session.execute(
            statement, {"kind": kind, "limit": limit - len(found)}
        ):
            found.append(Pending(kind, seq, updated_at, body, heading))
    return found


def encode_documents(documents: Sequence[tuple[str, str | None]]) -> Vectors:
    """A document's vector: its text's, or with a title the mean of both (unit length)."""
    model = encoder()
    titled = [i for i, (_, title) in enumerate(documents) if title]
    vectors = model.encode([text for text, _ in documents])
    if titled:
        vectors[titled] += model.encode([documents[i][1] or "" for i in titled])
        norms = np.linalg.norm(vectors[titled], axis=1, keepdims=True)
        vectors[titled] /= np.where(norms == 0, 1.0, norms)
    return vectors


def encode_pending(rows: Sequence[Pending]) -> Vectors:
    return encode_documents([(row.text, row.title) for row in rows])


def record(session: Session, rows: Sequence[Pending], vectors: Vectors) -> list[tuple[str, int]]:
    """Store the vectors of `rows` in place of any older ones; the (kind, seq) written."""
    table = Embedding.__table__  # type: ignore[attr-defined]
    for kind in TABLES:
        seqs = [row.seq for row in rows if row.kind == kind]
        if seqs:
            session.execute(sa.delete(table).where(table.c.kind == kind, table.c.seq.in_(seqs)))
    if rows:
        session.execute(
            sa.insert(table),
            [
                {"kind": row.kind, "seq": row.seq, "read_at": row.updated_at, "vector": to_bytes(vector)}
                for row, vector in zip(rows, vectors, strict=True)
            ],
        )
    return [(row.kind, row.seq) for row in rows]


def embed_pending(open_session: Callable[[], Session], batch: int = BATCH) -> int:
    """Encode every claim and fact-check whose vector is missing or stale, `batch` at a time, each
    read and written in its own short transaction with none open while encoding; how many.

    A row found stale again right after its vector was written (changed meanwhile, or a time
    its table stores in another form than ours) ends the run: the next run takes it up, so it
    never keeps one in a loop."""
    total = 0
    written: set[tuple[str, int]] = set()

    def read(session: Session) -> list[Pending] | None:
        rows = pending(session, batch)
        if any((row.kind, row.seq) in written for row in rows):
            log.warning("sentence vectors: rows still stale after writing them, left for the next run")
            return None
        return rows or None

    while True:
        done = read_work_write(open_session, read, encode_pending, record)
        if done is None:
            return total
        total += len(done)
        written.update(done)


@dataclass(frozen=True)
class _Held:
    """The vectors held at one moment, replaced whole so a reader never sees half of a change."""

    size: int  # rows held; the arrays have room for more, so new rows rarely copy them
    keys: npt.NDArray[np.int64]  # the key (`_key`) of each row
    rows: dict[int, int]  # and the row of each key
    projection: Vectors | None  # DIMENSIONS x PROJECTED; None below PROJECT_FROM rows
    projected: Vectors  # each row projected (float32, 384 bytes), or whole below PROJECT_FROM
    full: npt.NDArray[np.int8]  # each row whole, in int8 (384 bytes)
    scales: Vectors  # and what its int8 values are multiplied by (`_quantized`)

    def vectors(self, rows: npt.NDArray[np.intp]) -> Vectors:
        """The whole vectors of these rows, in float32."""
        found: Vectors = self.full[rows].astype(np.float32) * self.scales[rows, None]
        return found


def _key(kind: str, seq: int) -> int:
    return KIND_CODES[kind] << 40 | seq


def _unkey(key: int) -> tuple[str, int]:
    return KINDS[key >> 40], key & ((1 << 40) - 1)


_EMPTY = _Held(
    0,
    np.zeros(0, np.int64),
    {},
    None,
    np.zeros((0, DIMENSIONS), np.float32),
    np.zeros((0, DIMENSIONS), np.int8),
    np.zeros(0, np.float32),
)


def _quantized(vectors: Vectors) -> tuple[npt.NDArray[np.int8], Vectors]:
    """Unit rows in int8, each with its scale (its largest value / 127): a cosine read from them
    is within about 0.002 of the float16 one stored."""
    scales = np.maximum(np.abs(vectors).max(axis=1), 1e-12) / 127
    return np.rint(vectors / scales[:, None]).astype(np.int8), scales.astype(np.float32)


class VectorSearch:
    """The stored vectors of one database held in memory (about 650 bytes a row), brought up to
    date with the rows written since at most every REFRESH_SECONDS, and read in full again every
    RELOAD_SECONDS: each whole in int8, and projected onto their PROJECTED main directions (an SVD
    of a sample, taken at each full reading) in float32.

    `nearest` scans the projections for a SHORTLIST, then ranks it by the whole vectors. A scan of
    every whole vector in float32 would cost 17 ms and 177 MB at 115,000 rows; this, about 3 ms
    and 85 MB.
    """

    def __init__(self) -> None:
        self.held = _EMPTY
        self.last_id = 0
        self.refreshed = self.reloaded = float("-inf")
        self.lock = threading.Lock()

    @classmethod
    def of(cls, session: Session) -> "VectorSearch":
        """The search of the session's database (one per engine and process), brought up to date."""
        bind = session.get_bind()
        with _SEARCHES_LOCK:
            search = _SEARCHES.get(bind)
            if search is None:
                search = _SEARCHES[bind] = cls()
        search.refresh(session)
        return search

    def refresh(self, session: Session) -> None:
        now = time.monotonic()
        if now - self.refreshed < REFRESH_SECONDS:
            return
        if not self.lock.acquire(blocking=self.refreshed == float("-inf")):
            return  # another thread is reading them: what it finds serves the next look-up
        try:
            if now - self.refreshed < REFRESH_SECONDS:
                return  # the thread this one waited for has just read them
            if now - self.reloaded >= RELOAD_SECONDS:
                self.held, self.last_id = _read_all(session)
                self.reloaded = now
            else:
                table = Embedding.__table__  # type: ignore[attr-defined]
                found = session.execute(
                    sa.select(table.c.id, table.c.kind, table.c.seq, table.c.vector)
                    .where(table.c.id > self.last_id)
                    .order_by(table.c.id)
                ).all()
                if self.held.projection is None and self.held.size + len(found) >= PROJECT_FROM:
                    self.held, self.last_id = _read_all(session)  # enough rows now to project
                    self.reloaded = now
                elif found:
                    self.held = _added(self.held, [(_key(kind, seq), data) for _, kind, seq, data in found])
                    self.last_id = max(self.last_id, found[-1][0])
            self.refreshed = now
        finally:
            self.lock.release()

    def __len__(self) -> int:
        return self.held.size

    def nearest(
        self, query: Vectors, limit: int, also: Sequence[tuple[str, int]] = ()
    ) -> tuple[list[tuple[str, int]], dict[tuple[str, int], Vectors]]:
        """The (kind, seq) of the `limit` stored vectors nearest to `query`, nearest first; and
        their vectors, with those of `also` (the ones held)."""
        held = self.held
        found: dict[tuple[str, int], Vectors] = {}
        if limit >= 1 and held.size:
            rough = held.projected[: held.size] @ (
                query @ held.projection if held.projection is not None else query
            )
            wanted = min(held.size, max(SHORTLIST, limit))
            shortlist = np.argpartition(-rough, wanted - 1)[:wanted]
            exact = held.vectors(shortlist) @ query
            # Nearest first; ties by key, so the answer does not depend on the order rows came in.
            chosen = shortlist[np.lexsort((held.keys[shortlist], -exact))[:limit]]
            found = dict(zip(map(_unkey, held.keys[chosen].tolist()), held.vectors(chosen), strict=True))
        nearest = list(found)
        rows = [held.rows[_key(*key)] for key in also if key not in found and _key(*key) in held.rows]
        found.update(
            zip(map(_unkey, held.keys[rows].tolist()), held.vectors(np.array(rows, int)), strict=True)
        )
        return nearest, found


KINDS = {code: kind for kind, code in KIND_CODES.items()}
PROJECTED = 64  # the main directions a shortlist is found along
PROJECT_FROM = 2_000  # rows; fewer are held whole, which costs less than projecting
SHORTLIST = 200
CHUNK = 2_000  # rows fetched at a time in a full reading: little memory held besides the arrays


def _read_all(session: Session) -> tuple[_Held, int]:
    """Every stored vector, read CHUNK rows at a time, projected a chunk at a time; and the
    highest id read."""
    table = Embedding.__table__  # type: ignore[attr-defined]
    count, last_id = session.execute(sa.select(sa.func.count(), sa.func.max(table.c.id))).one()
    if not count:
        return _EMPTY, 0
    statement = sa.select(table.c.kind, table.c.seq, table.c.vector).where(table.c.id <= last_id)
    projection = None
    if count >= PROJECT_FROM:  # the main directions of a sample of rows
        sample = session.execute(statement.order_by(sa.func.random()).limit(20_000)).all()
        vectors = np.vstack([np.frombuffer(data, "<f2") for *_, data in sample]).astype(np.float32)
        projection = np.ascontiguousarray(np.linalg.svd(vectors, full_matrices=False)[2][:PROJECTED].T)
        del sample, vectors
    room = _room(count)
    keys = np.zeros(room, np.int64)
    projected = np.zeros((room, PROJECTED if projection is not None else DIMENSIONS), np.float32)
    full, scales = np.zeros((room, DIMENSIONS), np.int8), np.zeros(room, np.float32)
    rows: dict[int, int] = {}
    # Streamed (PostgreSQL: a server-side cursor), never the whole result in the client at once.
    streamed = session.execute(statement.order_by(table.c.id).execution_options(yield_per=CHUNK))
    try:
        for chunk in streamed.partitions(CHUNK):
            at: list[int] = []
            for kind, seq, _ in chunk:
                key = _key(kind, seq)
                if key not in rows and len(rows) == room:
                    break  # committed since the count (PostgreSQL): read with the next full reading
                at.append(rows.setdefault(key, len(rows)))
                keys[at[-1]] = key
            if at:
                block = np.vstack([np.frombuffer(data, "<f2") for *_, data in chunk[: len(at)]]).astype(
                    np.float32
                )
                projected[at] = block @ projection if projection is not None else block
                full[at], scales[at] = _quantized(block)
            if len(at) < len(chunk):
                break
    finally:
        streamed.close()  # left early, a server-side cursor would stay open
        give_back_freed_memory()  # the rows read, a chunk at a time
    return _Held(len(rows), keys, rows, projection, projected, full, scales), int(last_id)


def _room(size: int) -> int:
    """Rows to make room for when `size` are held: an eighth more, so new ones rarely copy."""
    return size + max(1_024, size // 8)


def _added(held: _Held, found: Sequence[tuple[int, bytes]]) -> _Held:
    """`held` with the rows `found` added, or put in place of the same claim's older vector.

    New rows are written past `held.size`, where no reader of `held` looks, and become visible
    with the `_Held` returned; the arrays are copied only when they have no room left."""
    rows = dict(held.rows)
    keys, projected, full, scales = held.keys, held.projected, held.full, held.scales
    new = sum(1 for key in {key for key, _ in found} if key not in rows)
    size = held.size + new
    if size > len(keys):
        room = _room(size)
        keys = np.concatenate([keys[: held.size], np.zeros(room - held.size, np.int64)])
        projected = np.concatenate(
            [projected[: held.size], np.zeros((room - held.size, projected.shape[1]), np.float32)]
        )
        full = np.concatenate([full[: held.size], np.zeros((room - held.size, DIMENSIONS), np.int8)])
        scales = np.concatenate([scales[: held.size], np.zeros(room - held.size, np.float32)])
    for key, data in found:
        at = rows.setdefault(key, len(rows))
        keys[at] = key
        vector = np.frombuffer(data, "<f2").astype(np.float32)
        # A changed text's row is written in place: a reader of `held` sees the old or the new (a
        # row's whole vector and scale, written one after the other, may be read half-changed for
        # an instant: a cosine off for one look-up, of a text that has just changed).
        projected[at] = vector @ held.projection if held.projection is not None else vector
        (full[at],), (scales[at],) = _quantized(vector[None, :])
    return _Held(size, keys, rows, held.projection, projected, full, scales)


_SEARCHES: "weakref.WeakKeyDictionary[sa.Engine | sa.Connection, VectorSearch]" = weakref.WeakKeyDictionary()
_SEARCHES_LOCK = threading.Lock()


def forget_vectors() -> None:
    """Forget every process's copy of the vectors (tests)."""
    with _SEARCHES_LOCK:
        _SEARCHES.clear()
