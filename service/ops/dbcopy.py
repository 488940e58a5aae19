"""`factdesk db copy --to URL`: a desk's every row (and blob) moved into an empty PostgreSQL database.

The tables copied are the models' (`SQLModel.metadata`, every model module loaded by the caller),
checked against the tables the migrations made on both databases: a table a migration adds and
no model names stops the copy instead of being left behind.

All rows go into the target in one transaction, read from one read transaction on the source (a
consistent snapshot, even while the desk serves), and the transaction commits only after the
copy is verified inside it: row counts, every claim's history chain recomputed on the target.
An interrupted copy (killed, a lost connection, a failed check) leaves the target as empty as it
was, so running the command again starts clean; a finished copy is never merged into or
overwritten, because a target with rows is refused. Blobs are content-addressed and copied
before the rows that name them commit, so a copy run twice stores each blob once.
"""

import hashlib
import shutil
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from service.core.database import write_intent
from service.ops.audit import verify_histories
from service.ops.migrate import HAND_MANAGED, alembic_config, upgrade
from sources.blobs import BlobStore

BATCH = 1000  # rows read and written at a time: memory stays flat however large the desk
CHUNK = 1 << 20  # bytes of a blob in memory at a time
ALEMBIC = "alembic_version"
COPY_LOCK = 0x66646B636F7079  # PostgreSQL advisory lock key held while a copy fills the target
# Columns that name a blob by its SHA-256: the blobs a copy must find in the target's store.
BLOB_COLUMNS = (("snapshot", "sha256"), ("snapshot", "text_sha256"), ("source", "upload_sha256"))


class CopyError(Exception):
    """The copy cannot start or did not verify; the message says why and what to do."""


@dataclass
class CopyReport:
    """What was copied and what the checks found; `problems` empty means the copy holds."""

    rows: dict[str, int] = field(default_factory=dict)  # table -> rows copied (and counted on both)
    histories: int = 0
    blobs_copied: int = 0
    blobs_verified: int = 0
    problems: list[str] = field(default_factory=list)
    # Faults the source already had (a broken chain, a missing blob), copied as they were.
    inherited: list[str] = field(default_factory=list)


def copy_desk(
    source: Engine,
    target: Engine,
    metadata: sa.MetaData,
    *,
    source_blobs: BlobStore,
    target_blobs: BlobStore | None,
    batch: int = BATCH,
    on_progress: Callable[[str], object] = lambda _line: None,
) -> CopyReport:
    """Copy every row and blob of `source` into the empty database `target` (migrated here if it
    has no schema yet), verify the copy, and commit it only if it holds. `target_blobs` None:
    the target uses the source's store, whose blobs are only verified. Raises CopyError for a
    target that cannot take the copy, or a copy that does not verify (nothing is committed)."""
    tables = _tables(source, target, metadata)
    report = CopyReport()
    on_progress(f"Copying {len(tables)} tables into {target.url.render_as_string(hide_password=True)}")
    with target.connect() as dst:
        _refuse_rows(dst, tables)  # before any blob is written for it
    hashes = _copy_blobs(source_blobs, target_blobs, report, on_progress)
    with write_intent(False), source.connect() as src, target.connect() as dst:
        src.begin()  # one read transaction: the rows of every table as of one moment
        with dst.begin():
            _one_copy_at_a_time(dst)
            _refuse_rows(dst, tables)  # again: another copy may have filled it meanwhile
            for table in tables:
                report.rows[table.name] = _copy_table(src, dst, table, batch)
                on_progress(f"  {table.name}: {report.rows[table.name]} rows")
            _reset_sequences(dst, tables)
            _check_counts(src, dst, tables, report)
            _check_histories(src, dst, report, on_progress)
            _check_blob_references(dst, target_blobs or source_blobs, hashes, report)
            if report.problems:  # leaving the block rolls the copy back
                raise CopyError(
                    "The copy does not verify, so nothing was committed (the target is empty "
                    "again):\n  " + "\n  ".join(report.problems)
                )
    return report


# -- which tables ------------------------------------------------------------------------------


def _tables(source: Engine, target: Engine, metadata: sa.MetaData) -> list[sa.Table]:
    """The tables to copy, parents before children; the target migrated to the source's revision.

    Refuses a source that is not at this code's newest revision (its columns would not be the
    models'), a target at another revision, and a table either database has that no model names.
    """
    head = ScriptDirectory.from_config(alembic_config(source)).get_current_head()
    at = _revision(source)
    if at != head:
        raise CopyError(
            f"This desk's database is at revision {at or 'none'}, this Factdesk's at {head}: "
            "run `factdesk db upgrade` first, then copy."
        )
    if target.url.render_as_string(hide_password=False) == source.url.render_as_string(hide_password=False):
        raise CopyError("The target is this desk's own database.")
    target_at = _revision(target)
    if target_at is None:
        if _table_names(target):
            raise CopyError(_NOT_EMPTY.format(what="tables but no Factdesk schema"))
        upgrade(target)
    elif target_at != head:
        raise CopyError(
            f"The target database is at revision {target_at}, this desk at {head}: "
            "copy into a new, empty database."
        )
    models = {t.name for t in metadata.sorted_tables}
    for engine, where in ((source, "this desk's database"), (target, "the target database")):
        unknown = _table_names(engine) - models
        if unknown:
            raise CopyError(
                f"{where.capitalize()} has tables no model describes ({', '.join(sorted(unknown))}); "
                "they would not be copied. Load their models before copying."
            )
    made = _table_names(source)
    return [t for t in metadata.sorted_tables if t.name in made]


def _revision(engine: Engine) -> str | None:
    with engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def _table_names(engine: Engine) -> set[str]:
    """The tables the migrations made: without Alembic's own and the hand-made full-text ones."""
    names = set(sa.inspect(engine).get_table_names())
    return {n for n in names if n != ALEMBIC and n not in HAND_MANAGED and not n.startswith("sqlite_")}


_NOT_EMPTY = (
    "The target database is not empty: it has {what}. `factdesk db copy` fills only a new, empty "
    "database (it never merges into or overwrites one): create one and copy into it."
)


def _refuse_rows(dst: Connection, tables: Sequence[sa.Table]) -> None:
    for table in tables:
        if dst.execute(sa.select(sa.literal(1)).select_from(table).limit(1)).first() is not None:
            raise CopyError(_NOT_EMPTY.format(what=f"rows in table {table.name}"))


def _one_copy_at_a_time(dst: Connection) -> None:
    """A second copy into the same PostgreSQL database stops at once instead of waiting on the
    first one's rows and failing on a duplicate key."""
    if dst.dialect.name != "postgresql":
        return
    if not dst.scalar(sa.select(sa.func.pg_try_advisory_xact_lock(COPY_LOCK))):
        raise CopyError("Another `factdesk db copy` is filling the target database right now.")


# -- rows --------------------------------------------------------------------------------------


def _copy_table(src: Connection, dst: Connection, table: sa.Table, batch: int) -> int:
    """Stream `table` from source to target, `batch` rows at a time, as the models' types read and
    write them (UTC timestamps, JSON, booleans, bytes). A column that names a row of its own
    table (a duplicate's original) is filled after all rows are in, so order never matters."""
    own = [c for c in table.columns if any(fk.column.table is table for fk in c.foreign_keys)]
    json_columns = [c for c in table.columns if isinstance(c.type, sa.JSON)]
    # SQL NULL and JSON null both read as None: ask which, and write back the same.
    nulls = [c.is_(None).label(f"_null_{c.name}") for c in json_columns]
    stmt = sa.select(*table.columns, *nulls).order_by(*table.primary_key.columns)
    pk = [c.name for c in table.primary_key.columns]
    later: list[dict[str, Any]] = []
    count = 0
    result = src.execute(stmt.execution_options(yield_per=batch))
    for rows in result.partitions(batch):
        values = []
        for row in rows:
            mapping = dict(row._mapping)
            for column in json_columns:
                if mapping.pop(f"_null_{column.name}"):
                    mapping[column.name] = sa.null()
                elif mapping[column.name] is None:
                    mapping[column.name] = sa.JSON.NULL
            if any(mapping[c.name] is not None for c in own):
                later.append({**{f"_{k}": mapping[k] for k in pk}, **{c.name: mapping[c.name] for c in own}})
                mapping.update({c.name: None for c in own})
            values.append(mapping)
        try:
            dst.execute(table.insert(), values)
        except sa.exc.DBAPIError as exc:
            raise CopyError(
                f"The target refused a row of table {table.name}: {exc.orig}. Nothing was committed."
            ) from exc
        count += len(values)
    if later:
        where = sa.and_(*(table.c[k] == sa.bindparam(f"_{k}") for k in pk))
        dst.execute(table.update().where(where).values({c.name: sa.bindparam(c.name) for c in own}), later)
    return count


def _reset_sequences(dst: Connection, tables: Sequence[sa.Table]) -> None:
    """PostgreSQL's counters behind integer keys start after the copied rows, not at 1."""
    if dst.dialect.name != "postgresql":
        return
    for table in tables:
        column = table.autoincrement_column
        if column is None:
            continue
        quoted = dst.dialect.identifier_preparer.format_table(table)
        sequence = dst.scalar(sa.select(sa.func.pg_get_serial_sequence(quoted, column.name)))
        if sequence is not None:
            after = sa.select(sa.func.coalesce(sa.func.max(column), 0) + 1).scalar_subquery()
            dst.execute(sa.select(sa.func.setval(sequence, after, False)))


# -- checks ------------------------------------------------------------------------------------


def _count(conn: Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def _check_counts(src: Connection, dst: Connection, tables: Sequence[sa.Table], report: CopyReport) -> None:
    for table in tables:
        on_source, on_target = _count(src, table), _count(dst, table)
        if on_source != on_target:
            report.problems.append(f"table {table.name}: {on_source} rows here, {on_target} on the target")


def _check_histories(
    src: Connection, dst: Connection, report: CopyReport, on_progress: Callable[[str], object]
) -> None:
    """Every claim's chain recomputed from the target's rows; a chain already broken here is
    copied as it was (and said), one broken only on the target fails the copy."""
    broken: dict[str, str] = {}

    def note(line: str) -> None:
        broken[line.split(":", 1)[0]] = line

    with Session(bind=dst) as session:
        report.histories, _ = verify_histories(session, on_broken=note)
    for claim_id, line in broken.items():
        with Session(bind=src) as session:
            _, here = verify_histories(session, claim_id, on_broken=lambda _line: None)
        (report.inherited if here else report.problems).append(f"history of {line}")
    on_progress(f"  {report.histories} histories recomputed on the target")


def _check_blob_references(dst: Connection, store: BlobStore, copied: set[str], report: CopyReport) -> None:
    """Every blob a row names is in the target's store (the copied ones were hashed there)."""
    for table_name, column_name in BLOB_COLUMNS:
        table = sa.table(table_name, sa.column(column_name))
        stmt = sa.select(table.c[column_name]).where(table.c[column_name].is_not(None)).distinct()
        for (sha256,) in dst.execute(stmt):
            if sha256 not in copied and not store.exists(sha256):
                report.inherited.append(f"blob {sha256} ({table_name}.{column_name}) is missing here too")


# -- blobs -------------------------------------------------------------------------------------


def _copy_blobs(
    source: BlobStore, target: BlobStore | None, report: CopyReport, on_progress: Callable[[str], object]
) -> set[str]:
    """Copy every blob of `source` missing from `target`, streamed, then hash each in the target's
    store. The hashes of the source's blobs. A blob that does not hash to its name is a problem
    unless it is damaged in the source's store too (copied as it was: the copy cannot mend it)."""
    store = target or source
    hashes: set[str] = set()
    for sha256 in source.hashes():
        hashes.add(sha256)
        if target is not None and not target.exists(sha256):
            _stream(source, target, sha256)
            report.blobs_copied += 1
        if _digest(store, sha256) != sha256:
            here_too = target is None or _digest(source, sha256) != sha256
            if here_too:
                report.inherited.append(f"blob {sha256} does not hash to its name in the target's store")
            else:  # a store keeps the first bytes put under a name: a rerun would not mend it
                report.problems.append(
                    f"blob {sha256} does not hash to its name in the target's store "
                    "(delete it there before copying again)"
                )
        report.blobs_verified += 1
    on_progress(f"  {report.blobs_copied} blobs copied, {report.blobs_verified} hashed in the target's store")
    return hashes


def _stream(source: BlobStore, target: BlobStore, sha256: str) -> None:
    with (
        source.open(sha256) as reader,
        tempfile.NamedTemporaryFile(dir=target.temp_dir(), delete=False) as spool,
    ):
        shutil.copyfileobj(reader, spool, CHUNK)
    target.put_file(Path(spool.name), sha256)


def _digest(store: BlobStore, sha256: str) -> str:
    digest = hashlib.sha256()
    with store.open(sha256) as reader:
        while chunk := reader.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()
