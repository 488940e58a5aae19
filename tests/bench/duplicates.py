"""Duplicate look-up benchmark: `ClaimSearch.candidates` at 100,000 claims, on SQLite and PostgreSQL,
side by side with the look-up it replaced, in the same run.

    python -m tests.bench.duplicates                   # about 2 minutes; SQLite, then PostgreSQL
    python -m tests.bench.duplicates --skip-postgres   # SQLite only
    python -m tests.bench.duplicates --claims 20000    # a quicker, smaller run

Each engine gets a fresh database (SQLite in a temporary directory; PostgreSQL as the database
`factdesk_bench_dups` on 127.0.0.1:5432, user postgres, dropped at the end), migrated by
`factdesk db upgrade` and loaded with the intake benchmark's `preload_sql`.

Probes: 100 stored claims, each changed a little (one word dropped, two swapped), so every probe
has a known near-duplicate; and 100 new made-up claims, as most submissions are. Per probe, in
process, one session per engine:

* current       `ClaimSearch.candidates`: claims sharing two of the four rarest words, else one;
                word counts remembered (timed once with nothing remembered, once remembered).
* baseline      what it replaced: on SQLite the four rarest words ORed (counts read from the FTS5
                vocabulary every time), on PostgreSQL every significant word ORed; both ranked.

Prints the time per look-up (median, mean, p95, max) and how often each found the changed claim's
original among its candidates. The exit code is 0 whatever the numbers: it is a report.
"""

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from claims import search as search_module
from claims.search import RARE_TERMS, ClaimSearch, _fts5_quote, _without_diacritics, significant_words
from service.core.database import make_engine
from tests.bench.intake import USER, Vocabulary, executable, make_claim, preload_sql

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_DATABASE = "factdesk_bench_dups"
PROBES = 100


def baseline(session: Session, text: str, limit: int = 20) -> list[tuple[str, str]]:
    """The look-up before this benchmark's change, kept here to compare with."""
    words = significant_words(text)
    if not words:
        return []
    if session.get_bind().dialect.name == "postgresql":
        query = None
        for w in words:
            tsq = sa.func.plainto_tsquery("simple", w)
            query = tsq if query is None else query.op("||")(tsq)
        vector = sa.column("search_vector")
        stmt = (
            sa.select(sa.column("id"), sa.column("text"))
            .select_from(sa.table("claim"))
            .where(vector.op("@@")(query))
            .order_by(sa.func.ts_rank(vector, query).desc())
            .limit(limit)
        )
        return [tuple(row) for row in session.execute(stmt)]
    words = [_without_diacritics(w) for w in words]
    params = {f"w{i}": w for i, w in enumerate(words)}
    counts = dict(
        session.execute(
            sa.text(
                f"SELECT term, doc FROM claim_fts_vocab WHERE term IN ({', '.join(':' + k for k in params)})"
            ),
            params,
        ).all()
    )
    rare = sorted((w for w in words if counts.get(w)), key=lambda w: counts[w])[:RARE_TERMS]
    if not rare:
        return []
    rows = session.execute(
        sa.text(
            "SELECT c.id, c.text FROM claim_fts JOIN claim c ON c.seq = claim_fts.rowid "
            "WHERE claim_fts MATCH :q ORDER BY claim_fts.rank LIMIT :limit"
        ),
        {"q": " OR ".join(_fts5_quote(w) for w in rare), "limit": limit},
    )
    return [tuple(row) for row in rows]


def changed(text: str, rng: random.Random) -> str:
    """`text` with one word dropped and two neighbours swapped: a near-duplicate of it."""
    words = text.rstrip(".").split()
    del words[rng.randrange(len(words))]
    i = rng.randrange(len(words) - 1)
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words) + "."


def prepare(url: str, data_dir: Path, claims: int) -> float:
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTDESK_")}
    env.update(FACTDESK_DATA_DIR=str(data_dir), FACTDESK_DATABASE_URL=url)
    for args in (["db", "upgrade"], ["users", "add", USER, "--role", "submitter"]):
        subprocess.run([executable("factdesk"), *args], env=env, check=True, capture_output=True, timeout=300)
    return preload_sql(url, claims, Vocabulary.build(), seed=20251127)


def stats(times: list[float]) -> str:
    ordered = sorted(times)
    p95 = ordered[int(len(ordered) * 0.95) - 1]
    return (
        f"median {statistics.median(times):7.2f}  mean {statistics.mean(times):7.2f}  "
        f"p95 {p95:7.2f}  max {max(times):7.2f} ms"
    )


def measure(url: str) -> list[str]:
    engine = make_engine(url)
    rng = random.Random(7)
    lines = []
    try:
        with Session(engine) as session:
            stored = session.execute(sa.text("SELECT id, text FROM claim ORDER BY seq")).all()
            originals = rng.sample(stored, PROBES)
            near = [(claim_id, changed(text, rng)) for claim_id, text in originals]
            vocab, fresh_rng = Vocabulary.build(), random.Random(99)
            new = [make_claim(vocab, fresh_rng, 90_000_000 + i)["text"] for i in range(PROBES)]
            search = ClaimSearch(session)

            def run(name: str, look_up: Callable[[str], list[tuple[str, str]]], forget: bool = False) -> None:
                if forget:
                    search_module._TERM_COUNTS.clear()
                times, found = [], 0
                for original_id, text in near:
                    started = time.perf_counter()
                    ids = {row[0] for row in look_up(text)}
                    times.append((time.perf_counter() - started) * 1000)
                    found += original_id in ids
                for text in new:
                    started = time.perf_counter()
                    look_up(text)
                    times.append((time.perf_counter() - started) * 1000)
                lines.append(f"  {name:<34} {stats(times)}; original found for {found} of {PROBES}")

            for text in new[:10]:  # warm the engine's caches for both
                baseline(session, text)
            run("baseline (the replaced look-up)", lambda text: baseline(session, text))
            run("current, nothing remembered", search.candidates, forget=True)
            run("current, counts remembered", search.candidates)
            session.rollback()
    finally:
        engine.dispose()
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--claims", type=int, default=100_000, help="claims stored [100000]")
    parser.add_argument("--skip-postgres", action="store_true", help="SQLite only")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="factdesk-bench-dups-"))
    print(f"Duplicate look-up benchmark: {args.claims:,} claims, {2 * PROBES} probes per look-up")
    try:
        engines = [("SQLite", f"sqlite:///{work / 'sqlite' / 'factdesk.db'}")]
        if not args.skip_postgres:
            engines.append(("PostgreSQL", PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DATABASE))
        for name, url in engines:
            if name == "PostgreSQL":
                admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
                with admin.connect() as conn:
                    conn.execute(sa.text(f"DROP DATABASE IF EXISTS {PG_DATABASE}"))
                    conn.execute(sa.text(f"CREATE DATABASE {PG_DATABASE}"))
                admin.dispose()
            print(f"... {name}: storing the claims", flush=True)
            seconds = prepare(url, work / name.lower(), args.claims)
            print(f"{name} ({args.claims:,} claims stored in {seconds:.0f} s)")
            print("\n".join(measure(url)), flush=True)
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if not args.skip_postgres:
            admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
            with admin.connect() as conn:
                conn.execute(sa.text(f"DROP DATABASE IF EXISTS {PG_DATABASE}"))
            admin.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
