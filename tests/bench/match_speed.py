"""Speed and memory of POST /api/v1/match with 100,000 claims and 15,000 imported fact-checks.

    python -m tests.bench.match_speed                    # SQLite, then PostgreSQL; about 6 minutes
    python -m tests.bench.match_speed --skip-postgres    # SQLite only
    python -m tests.bench.match_speed --claims 20000 --factchecks 3000 --requests 100   # quicker

Each engine gets a fresh database (SQLite in a temporary directory; PostgreSQL as the database
`factdesk_bench_match` on 127.0.0.1:5432, user postgres, dropped at the end), migrated by
`factdesk users add`, and filled with bulk SQL: the claims as the intake benchmark stores them
(`tests.bench.intake.preload_sql`), the fact-checks as the library's import writes its rows
(`claims.library.services.search_text`), both from the intake benchmark's made-up vocabulary;
then settled as autovacuum would leave it (PostgreSQL: VACUUM ANALYZE; SQLite: a checkpoint).
Their sentence vectors are written as the embedding job stores them, but made (`bag_vectors`)
from a fixed random vector per word rather than by the encoder, which would take 10 minutes for
115,000 made-up texts: a search costs the same whatever the vectors hold, and a reworded claim's
vector is still near its original's.
Then `factdesk serve --workers 2` answers, one request at a time (so latency is service time):

* baseline   GET /api/v1/claims?q=<two words of a stored claim> (the full-text list, same server)
* match      POST /api/v1/match {"text"}: half the texts are stored claims reworded (a word dropped,
             two swapped), half new made-up claims; how often the reworded one's original came first

and reads the web workers' resident memory (VmRSS) before the first match and after the last:
the growth is what loading the re-ranker, its word vectors, the sentence encoder and the stored
sentence vectors costs a process. Goals: match
median < 30 ms and p99 < 100 ms; growth <= 300 MB per worker. Exit code 0: it is a report.
"""

import argparse
import hashlib
import json
import os
import random
import statistics
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from claims.library.models import FactCheck
from claims.library.services import search_text
from claims.matching.encoder import DIMENSIONS, to_bytes
from claims.matching.models import Embedding
from service.accounts.services import UserService
from service.core.database import make_engine, utcnow
from service.core.ids import new_id
from tests.bench.intake import (
    HOST,
    REPO,
    TOKEN_LINE,
    USER,
    WORKERS,
    BenchError,
    Vocabulary,
    executable,
    free_port,
    make_claim,
    preload_sql,
    serving,
)

PG_ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
PG_DATABASE = "factdesk_bench_match"
VERDICTS = (("False", "false"), ("Mostly false", "mostly-false"), ("Mixture", "mixed"), ("True", "true"))
GOAL_MEDIAN_MS, GOAL_P99_MS, GOAL_RSS_MB = 30.0, 100.0, 300.0


def changed(text: str, rng: random.Random) -> str:
    """`text` with one word dropped and two neighbours swapped: the same claim, reworded."""
    words = text.rstrip(".").split()
    del words[rng.randrange(len(words))]
    i = rng.randrange(len(words) - 1)
    words[i], words[i + 1] = words[i + 1], words[i]
    return " ".join(words) + "."


def environment(data_dir: Path, url: str | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTDESK_")}
    env.update(
        FACTDESK_DATA_DIR=str(data_dir), FACTDESK_RATE_LIMIT_WRITES="off", FACTDESK_RATE_LIMIT_PUBLIC="off"
    )
    if url:
        env["FACTDESK_DATABASE_URL"] = url
    return env


def add_user(env: dict[str, str]) -> str:
    done = subprocess.run(
        [executable("factdesk"), "users", "add", USER, "--role", "submitter"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    found = TOKEN_LINE.search(done.stdout)
    if done.returncode != 0 or found is None:
        raise BenchError(f"factdesk users add failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return found.group(1)


def preload_factchecks(url: str, count: int, vocab: Vocabulary, seed: int, batch: int = 5_000) -> float:
    """Insert `count` fact-checks with bulk SQL, rows as the library's import writes them."""
    rng = random.Random(seed)
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        with Session(engine) as session:
            user_id = UserService(session).find(USER).id
        table = FactCheck.__table__  # type: ignore[attr-defined]
        for first in range(0, count, batch):
            rows = []
            for serial in range(first, min(count, first + batch)):
                claim = make_claim(vocab, rng, 50_000_000 + serial)
                headline = f"Did {claim['claimant']} say {claim['text'][:60]}?"
                rating, verdict = rng.choice(VERDICTS)
                now = utcnow()
                rows.append(
                    {
                        "id": new_id("fck"),
                        "url": f"https://checks.example.org/{serial}",
                        "claim_reviewed": claim["text"],
                        "claimant": claim["claimant"],
                        "rating": rating,
                        "verdict": verdict,
                        "publisher": "Example Checks",
                        "publisher_key": "example checks",
                        "headline": headline,
                        "raw": {},
                        "search_text": search_text(claim["text"], headline, claim["claimant"]),
                        "content_hash": hashlib.sha256(f"{serial}".encode()).hexdigest(),
                        "imported_at": now,
                        "updated_at": now,
                        "imported_by": user_id,
                    }
                )
            with engine.begin() as conn:
                conn.execute(table.insert(), rows)
        settle(engine)
    finally:
        engine.dispose()
    return time.perf_counter() - started


def bag_vectors(texts: list[str], seed: int = 5) -> "np.ndarray":
    """Unit vectors, each the sum of a fixed random vector per word of the text."""
    rng = np.random.default_rng(seed)
    table: dict[str, np.ndarray] = {}
    found = np.zeros((len(texts), DIMENSIONS), np.float32)
    for i, text in enumerate(texts):
        for word in text.lower().split():
            if word not in table:
                table[word] = rng.standard_normal(DIMENSIONS).astype(np.float32)
            found[i] += table[word]
    return found / np.maximum(np.linalg.norm(found, axis=1, keepdims=True), 1e-9)


def preload_vectors(url: str, batch: int = 5_000) -> float:
    """Store a vector for every claim and fact-check, current (read_at = the row's updated_at)."""
    engine = make_engine(url)
    started = time.perf_counter()
    table = Embedding.__table__  # type: ignore[attr-defined]
    typed = (sa.column("seq", sa.Integer), sa.column("updated_at", table.c.read_at.type))
    try:
        with engine.connect() as conn:
            rows = [
                (kind, seq, at, text)
                for kind, columns in (("claim", "text"), ("factcheck", "claim_reviewed || ' ' || headline"))
                for seq, at, text in conn.execute(
                    sa.text(f"SELECT seq, updated_at, {columns} FROM {kind}").columns(*typed)  # our names
                )
            ]
        made = bag_vectors([text for *_, text in rows])
        for first in range(0, len(rows), batch):
            chunk = zip(rows[first : first + batch], made[first : first + batch], strict=True)
            with engine.begin() as conn:
                conn.execute(
                    table.insert(),
                    [
                        {"kind": kind, "seq": seq, "read_at": at, "vector": to_bytes(vector)}
                        for (kind, seq, at, _), vector in chunk
                    ],
                )
    finally:
        engine.dispose()
    return time.perf_counter() - started


def settle(engine: sa.Engine) -> None:
    """The state autovacuum soon reaches after a bulk load, before measuring: on PostgreSQL the GIN
    indexes' pending lists merged (a scan reads a long one whole: 15 ms a look-up at 15,000 rows)
    and fresh statistics; on SQLite the WAL checkpointed."""
    if engine.dialect.name == "sqlite":
        raw = engine.raw_connection()  # outside any transaction, which a checkpoint needs
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        return
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("VACUUM ANALYZE claim")
        conn.exec_driver_sql("VACUUM ANALYZE factcheck")
        conn.exec_driver_sql("VACUUM ANALYZE embedding")


def group_rss_mb(leader: int) -> dict[int, float]:
    """Resident memory of every process in the group we started (gunicorn master and workers)."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[2]) != leader:
                continue
            status = (stat.parent / "status").read_text()
        except (OSError, IndexError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                found[int(stat.parent.name)] = int(line.split()[1]) / 1024
    return found


def timed(call: Callable[[], bytes], count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        call()
        times.append((time.perf_counter() - started) * 1000)
    return times


def request(url: str, token: str, body: dict | None = None) -> bytes:
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method="POST" if body is not None else "GET")
    req.add_header("Authorization", f"Bearer {token}")
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req, timeout=60) as response:
        return response.read()


def summary(times: list[float]) -> str:
    ordered = sorted(times)
    p99 = ordered[max(0, round(len(ordered) * 0.99) - 1)]
    return f"{statistics.median(times):7.1f} {p99:7.1f} {max(times):7.1f}"


def measure(engine_name: str, url: str | None, work: Path, args: argparse.Namespace) -> list[str]:
    data_dir = work / engine_name
    data_dir.mkdir()
    env = environment(data_dir, url)
    token = add_user(env)  # migrates the fresh database too
    database = url or f"sqlite:///{data_dir / 'factdesk.db'}"
    vocab = Vocabulary.build()
    loaded = preload_sql(database, args.claims, vocab, seed=20251201)
    loaded += preload_factchecks(database, args.factchecks, vocab, seed=20251202)
    loaded += preload_vectors(database)
    engine = make_engine(database)
    settle(engine)
    rng = random.Random(11)
    with engine.connect() as conn:
        stored = conn.execute(sa.text("SELECT id, text FROM claim ORDER BY seq")).all()
    engine.dispose()
    originals = rng.sample(stored, args.requests // 2)
    near = [(claim_id, changed(text, rng)) for claim_id, text in originals]
    fresh = [make_claim(vocab, rng, 70_000_000 + i)["text"] for i in range(args.requests - len(near))]
    texts = [t for _, t in near] + fresh
    rng.shuffle(texts)
    queries = [" ".join(text.split()[:2]) for _, text in originals]

    port = free_port()
    command = [
        executable("factdesk"),
        "serve",
        "--host",
        HOST,
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
    ]
    lines = []
    with serving(f"factdesk ({engine_name})", command, env, port, work / f"{engine_name}.log") as server:
        base = f"http://{HOST}:{port}"

        def search(q: str) -> bytes:
            return request(f"{base}/api/v1/claims?{urllib.parse.urlencode({'q': q, 'limit': 10})}", token)

        for q in queries[:10]:  # both workers up, before any match
            search(q)
        before = group_rss_mb(server.process.pid)
        it = iter(queries * 2)
        baseline = timed(lambda: search(next(it)), len(queries))
        for text in fresh[:10]:  # each worker loads the model on its first match
            request(f"{base}/api/v1/match", token, {"text": text})
        answers: dict[str, list[str]] = {}
        each = iter(texts)

        def match() -> bytes:
            text = next(each)
            body = request(f"{base}/api/v1/match", token, {"text": text})
            answers[text] = [m["id"] for m in json.loads(body)["matches"]]
            return body

        times = timed(match, len(texts))
        after = group_rss_mb(server.process.pid)

    growth = {pid: after[pid] - before[pid] for pid in after if pid in before}
    first = sum(1 for claim_id, text in near if answers[text][:1] == [claim_id])
    lines.append(
        f"| {engine_name:10s} | GET /api/v1/claims?q= (baseline) | {len(baseline):4d} | {summary(baseline)} |"
    )
    lines.append(
        f"| {engine_name:10s} | POST /api/v1/match               | {len(times):4d} | {summary(times)} |"
    )
    worst = max(growth.values()) if growth else float("nan")
    lines.append(
        f"  {engine_name}: {args.claims:,} claims + {args.factchecks:,} fact-checks loaded in {loaded:.0f} s; "
        f"reworded claims matched first: {first}/{len(near)}; RSS per process before -> after the "
        f"matches (MB): "
        + ", ".join(f"{before[p]:.0f} -> {after[p]:.0f}" for p in sorted(growth))
        + f"; largest growth {worst:.0f} MB"
    )
    median = statistics.median(times)
    p99 = sorted(times)[max(0, round(len(times) * 0.99) - 1)]
    for ok, goal in (
        (median < GOAL_MEDIAN_MS, f"match median {median:.1f} ms < {GOAL_MEDIAN_MS:.0f} ms"),
        (p99 < GOAL_P99_MS, f"match p99 {p99:.1f} ms < {GOAL_P99_MS:.0f} ms"),
        (worst <= GOAL_RSS_MB, f"memory growth {worst:.0f} MB <= {GOAL_RSS_MB:.0f} MB"),
    ):
        lines.append(f"  {'PASS' if ok else 'FAIL'} {engine_name}: {goal}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--claims", type=int, default=100_000)
    parser.add_argument("--factchecks", type=int, default=15_000)
    parser.add_argument("--requests", type=int, default=300, help="match requests per engine")
    parser.add_argument("--skip-postgres", action="store_true")
    args = parser.parse_args()

    lines = []
    with tempfile.TemporaryDirectory(prefix="factdesk-match-") as work:
        lines += measure("sqlite", None, Path(work), args)
        if not args.skip_postgres:
            admin = sa.create_engine(
                PG_ADMIN.replace("postgresql://", "postgresql+psycopg://"), isolation_level="AUTOCOMMIT"
            )
            with admin.connect() as conn:
                conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {PG_DATABASE}")
                conn.exec_driver_sql(f"CREATE DATABASE {PG_DATABASE}")
            try:
                lines += measure(
                    "postgresql", PG_ADMIN.rsplit("/", 1)[0] + "/" + PG_DATABASE, Path(work), args
                )
            finally:
                with admin.connect() as conn:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {PG_DATABASE} WITH (FORCE)")
                admin.dispose()
    print("| engine     | request (one at a time)          |    n | median     p99     max ms |")
    print("|------------|----------------------------------|------|---------------------------|")
    for line in lines:
        if line.startswith("|"):
            print(line)
    for line in lines:
        if not line.startswith("|"):
            print(line)


if __name__ == "__main__":
    main()
