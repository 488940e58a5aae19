"""Intake and search benchmark: Factdesk against a bare Flask + SQLModel insert, under wrk.

    python -m tests.bench.intake            # from the repository root; about 2 minutes

Runs, in one go, each server on a free loopback port with 2 gunicorn sync workers:

1. bare      `POST /bare` of tests/bench/bare_app.py (one SQLModel row into SQLite).
2. intake@1k   Factdesk `POST /api/v1/claims` on a fresh data dir holding 1,000 claims
               (stored through ClaimService, as the API would).
3. intake@100k the same with 100,000 claims (stored with bulk SQL: see `preload_sql`).
4. search      `GET /api/v1/claims?q=` over the 100,000 claims, ~50 queries of different
               frequencies, at low concurrency so the latency is the service time.

Writes use `wrk -t2 -c64 -d10s --latency --timeout=20s -s post.lua`; every request sends a
different claim.
Prints a table (req/s, p50, p99, errors = non-2xx + socket errors, server CPU per request),
diagnostics (where the intake time goes, the slowest searches), and PASS/FAIL per goal. The
exit code is 0 either way: this is a report.
"""

import argparse
import cProfile
import json
import math
import os
import pstats
import random
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa
from sqlmodel import Session

from claims.history import GENESIS_HASH, History, event_digest
from claims.matching.retrieval import IndexSearch
from claims.matching.services import Matcher
from claims.models import Appearance, Claim, ClaimEvent, ClaimTag
from claims.search import ClaimSearch
from claims.services import ClaimService, DuplicateFinder
from service.accounts.services import UserService
from service.core.config import Settings
from service.core.database import make_engine, utcnow
from service.core.effects import Effects
from service.core.ids import new_id
from service.core.text import claim_key

BENCH_DIR = Path(__file__).resolve().parent
REPO = BENCH_DIR.parents[1]
POST_LUA = BENCH_DIR / "post.lua"
SEARCH_LUA = BENCH_DIR / "search.lua"
BIN = Path(sys.executable).parent

HOST = "127.0.0.1"
WORKERS = 2
THREADS = 2
CONNECTIONS = 64
SEARCH_CONNECTIONS = 2  # one per worker: latency is service time, not time in gunicorn's queue
# wrk's default 2 s timeout leaves slower responses out of the latency histogram (it counts them
# as socket "timeout" errors instead), which hides exactly the slow runs; the same for every run.
WRK_TIMEOUT = "20s"
SMALL = 1_000
LARGE = 100_000
USER = "bench-submitter"
STORED_VERSION = 1  # a submitted claim is written once: the version ClaimService.submit leaves

GOAL_SMALL_VS_BARE = 0.50
GOAL_LARGE_VS_SMALL = 0.70
GOAL_SEARCH_P50_MS = 30.0

VOCABULARY_SIZE = 3_000
ZIPF_SHIFT, ZIPF_EXPONENT = 2.7, 1.0  # weight of the word of rank r: 1 / (r + shift) ** exponent
GLUE = ("the", "of", "in", "and", "for", "to", "by", "than", "since", "over", "a", "on")
TAGS = (
    "economy", "health", "crime", "climate", "education", "elections", "immigration", "energy",
    "housing", "jobs", "taxes", "budget", "trade", "security", "transport", "water", "science",
    "vaccines", "media", "agriculture", "defence", "justice", "pensions", "tourism",
)  # fmt: skip
TITLES = ("Senator", "Mayor", "Minister", "Governor", "Representative", "Councillor", "Professor")
TOKEN_LINE = re.compile(r"Token \(shown once, keep it secret\): (fdk_\S+)")


class BenchError(RuntimeError):
    """A step of the benchmark could not run; the message says what and shows the evidence."""


# -- the claims: a fixed vocabulary, Zipf-distributed -------------------------------------------


@dataclass(frozen=True)
class Vocabulary:
    words: list[str]  # content words, most frequent first
    cum_weights: list[float]
    claimants: list[str]
    tags: list[str]

    @classmethod
    def build(cls, seed: int = 20251127) -> "Vocabulary":
        """Pronounceable made-up words (the same every run) with Zipf-Mandelbrot weights."""
        rng = random.Random(seed)
        onsets = [*list("bcdfghklmnprstvz"), "br", "ch", "cr", "dr", "fl", "gr", "pl", "pr", "sh", "st", "tr"]
        vowels = ["a", "e", "i", "o", "u", "ai", "ea", "io", "ou"]
        codas = ["", "", "", "n", "r", "s", "t", "l", "m"]
        taken = set(GLUE)
        made: list[str] = []
        while len(made) < VOCABULARY_SIZE + 300:
            syllables = rng.choice((2, 2, 3, 3, 4))
            word = "".join(rng.choice(onsets) + rng.choice(vowels) for _ in range(syllables))
            word += rng.choice(codas)
            if word not in taken:
                taken.add(word)
                made.append(word)
        words, surnames = made[:VOCABULARY_SIZE], made[VOCABULARY_SIZE:]
        cum, total = [], 0.0
        for rank in range(1, len(words) + 1):
            total += 1 / (rank + ZIPF_SHIFT) ** ZIPF_EXPONENT
            cum.append(total)
        claimants = [f"{rng.choice(TITLES)} {name.capitalize()}" for name in surnames]
        return cls(words, cum, claimants, list(TAGS))

    def write(self, path: Path) -> None:
        """The file post.lua reads: the same words, weights, claimants and tags."""
        lines = [f"w\t{w}\t{c:.9g}" for w, c in zip(self.words, self.cum_weights, strict=True)]
        lines += [f"c\t{c}" for c in self.claimants] + [f"t\t{t}" for t in self.tags]
        path.write_text("\n".join(lines) + "\n")

    def queries(self) -> list[str]:
        """~45 single words from the most to the least frequent, plus 5 two-word queries."""
        ranks: list[int] = []
        for i in range(60):
            rank = round(math.exp(i * math.log(len(self.words)) / 59))
            if rank not in ranks:
                ranks.append(rank)
        singles = [self.words[r - 1] for r in ranks]
        pairs = [(1, 2), (1, 50), (3, 400), (20, 120), (150, 900)]
        return singles + [f"{self.words[a - 1]} {self.words[b - 1]}" for a, b in pairs]


def make_claim(vocab: Vocabulary, rng: random.Random, serial: int) -> dict:
    """A claim as ClaimIn loads it; the same shape as post.lua's bodies (see there)."""
    n = rng.randint(8, 14)
    picked = rng.choices(vocab.words, cum_weights=vocab.cum_weights, k=n + 3)
    number_at = rng.randint(2, n)
    parts: list[str] = []
    for i, word in enumerate(picked[:n], start=1):
        if i > 1 and rng.random() < 0.3:
            parts.append(rng.choice(GLUE))
        parts.append(word)
        if i == number_at:
            parts.append(str(serial))
    sentence = " ".join(parts)
    first = rng.randrange(len(vocab.tags))
    tags = [vocab.tags[first]]
    if rng.random() < 0.5:
        tags.append(vocab.tags[(first + 1) % len(vocab.tags)])
    return {
        "text": sentence.capitalize(),
        "claimant": rng.choice(vocab.claimants),
        "tags": tags,
        "appearance": {
            "url": f"https://example.com/a/{serial}",
            "quote": f"{picked[n].capitalize()} {picked[n + 1]} {picked[n + 2]}, {sentence}",
        },
    }


# -- storing claims before the load -------------------------------------------------------------


def claim_service(session: Session) -> ClaimService:
    """ClaimService wired as claims.views and claims.demo wire it."""
    matcher = Matcher(
        session, candidates=DuplicateFinder.CANDIDATES, budget=DuplicateFinder.BUDGET, lexical=True
    )
    duplicates = DuplicateFinder(matcher)
    return ClaimService(session, History(session), duplicates, ClaimSearch(session), Effects())


def preload_service(url: str, count: int, vocab: Vocabulary, seed: int) -> float:
    """Submit `count` claims through ClaimService.submit, committing every 1,000; seconds taken."""
    rng = random.Random(seed)
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        with Session(engine, expire_on_commit=False) as session:
            user = UserService(session).find(USER)
            service = claim_service(session)
            for i in range(count):
                service.submit(user, make_claim(vocab, rng, i))
                if (i + 1) % 1_000 == 0:
                    session.commit()
                    session.expunge_all()
            session.commit()
    finally:
        engine.dispose()
    return time.perf_counter() - started


def preload_sql(url: str, count: int, vocab: Vocabulary, seed: int, batch: int = 10_000) -> float:
    """Insert `count` claims with bulk SQL, as ClaimService.submit would store them; seconds taken.

    Per claim: the `claim` row (version 1: submit writes it once), its tags, one appearance, and
    the `submitted` event hashed with the service's `event_digest`.
    The FTS5 triggers index `search_text` (text, claimant and quote, as `_search_text` joins them).
    """
    rng = random.Random(seed)
    engine = make_engine(url)
    started = time.perf_counter()
    try:
        with Session(engine) as session:
            user_id = UserService(session).find(USER).id
        for first in range(0, count, batch):
            claims, tags, appearances, events = [], [], [], []
            for serial in range(first, min(count, first + batch)):
                data = make_claim(vocab, rng, serial)
                now = utcnow()
                claim_id = new_id("clm")
                quote = data["appearance"]["quote"]
                claims.append(
                    {
                        "id": claim_id,
                        "text": data["text"],
                        "text_key": claim_key(data["text"]),
                        "claimant": data["claimant"],
                        "language": None,
                        "status": "submitted",
                        "assignee_id": None,
                        "rating": None,
                        "needs_review": False,
                        "duplicate_of": None,
                        "submitted_by": user_id,
                        "version": STORED_VERSION,
                        "search_text": "\n".join([data["text"], data["claimant"], quote]),
                        "created_at": now,
                        "updated_at": now,
                    }
                )
                tags += [{"claim_id": claim_id, "tag": t, "position": i} for i, t in enumerate(data["tags"])]
                appearances.append(
                    {
                        "id": new_id("apr"),
                        "claim_id": claim_id,
                        "url": data["appearance"]["url"],
                        "title": None,
                        "publisher": None,
                        "published_at": None,
                        "quote": quote,
                        "added_by": user_id,
                        "created_at": now,
                    }
                )
                event = ClaimEvent(
                    claim_id=claim_id,
                    seq=1,
                    at=now,
                    actor=user_id,
                    action="submitted",
                    to_status="submitted",
                    prev_hash=GENESIS_HASH,
                    hash="",
                )
                events.append(
                    {
                        "id": new_id("evt"),
                        "claim_id": claim_id,
                        "seq": 1,
                        "at": now,
                        "actor": user_id,
                        "action": "submitted",
                        "from_status": None,
                        "to_status": "submitted",
                        "note": None,
                        "verdict_version": None,
                        "prev_hash": GENESIS_HASH,
                        "hash": event_digest(event),
                    }
                )
            with engine.begin() as conn:
                for model, rows in ((Claim, claims), (ClaimTag, tags), (Appearance, appearances)):
                    conn.execute(model.__table__.insert(), rows)  # type: ignore[attr-defined]
                conn.execute(ClaimEvent.__table__.insert(), events)  # type: ignore[attr-defined]
        raw = engine.raw_connection()  # outside any transaction, which a checkpoint needs
        try:
            if engine.dialect.name == "sqlite":
                raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
            else:  # PostgreSQL: fresh statistics, so the planner uses the full-text index
                raw.cursor().execute("ANALYZE")
                raw.commit()
        finally:
            raw.close()
    finally:
        engine.dispose()
    return time.perf_counter() - started


def check_stored(url: str) -> str:
    """Read the newest stored claim back through the service: a check that the rows are whole."""
    engine = make_engine(url)
    try:
        with Session(engine) as session:
            service = claim_service(session)
            newest = session.scalars(sa.select(Claim.id).order_by(Claim.seq.desc()).limit(1)).one()
            user = UserService(session).find(USER)
            claim = service.get(newest, user)
            _events, check, _head = service.events(newest, user)
            intact = check.intact
            version = claim.version
            whole = bool(claim.appearances and claim.tags) and version == STORED_VERSION
            session.rollback()
    finally:
        engine.dispose()
    return f"read back {newest}: version {version}, history intact: {intact}" + (
        "" if intact and whole else "  << NOT AS THE SERVICE STORES IT"
    )


@dataclass
class SubmitProbe:
    claims: int
    total_ms: float
    near_ms: float
    candidates_ms: float

    def describe(self) -> str:
        per = self.claims or 1
        return (
            f"ClaimService.submit {self.total_ms / per:6.2f} ms/claim in-process, of which "
            f"DuplicateFinder.near {self.near_ms / per:6.2f} ms "
            f"(its full-text look-up, IndexSearch.candidates, {self.candidates_ms / per:6.2f} ms)"
        )


def probe_submit(url: str, vocab: Vocabulary, count: int = 100, profile: bool = False) -> SubmitProbe:
    """Time `count` in-process submits (rolled back: the database is left as it was)."""
    rng = random.Random(4242)
    bodies = [make_claim(vocab, rng, 80_000_000 + i) for i in range(count)]
    engine = make_engine(url)
    spent = {"near": 0.0, "candidates": 0.0}

    def timed(name: str, fn: Callable) -> Callable:
        def wrapper(*args: object, **kwargs: object) -> object:
            started = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                spent[name] += time.perf_counter() - started

        return wrapper

    profiler = cProfile.Profile() if profile else None
    look_up = IndexSearch.candidates
    IndexSearch.candidates = timed("candidates", look_up)  # type: ignore[method-assign]
    try:
        with Session(engine, expire_on_commit=False) as session:
            user = UserService(session).find(USER)
            service = claim_service(session)
            service.duplicates.near = timed("near", service.duplicates.near)  # type: ignore[method-assign]
            started = time.perf_counter()
            if profiler:
                profiler.enable()
            for body in bodies:
                service.submit(user, body)
            if profiler:
                profiler.disable()
            total = time.perf_counter() - started
            session.rollback()
    finally:
        IndexSearch.candidates = look_up  # type: ignore[method-assign]
        engine.dispose()
    if profiler:
        stats = pstats.Stats(profiler)
        stats.sort_stats("cumulative").print_stats(25)
    return SubmitProbe(count, total * 1000, spent["near"] * 1000, spent["candidates"] * 1000)


def count_rows(url: str, table: str) -> int:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return conn.execute(sa.text(f'SELECT count(*) FROM "{table}"')).scalar_one()
    finally:
        engine.dispose()


def match_counts(url: str, queries: list[str]) -> dict[str, int]:
    """How many stored claims each query matches (the same FTS5 query ClaimSearch builds)."""
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return {
                q: conn.execute(
                    sa.text("SELECT count(*) FROM claim_fts WHERE claim_fts MATCH :q"),
                    {"q": " ".join(f'"{w}"' for w in q.split())},
                ).scalar_one()
                for q in queries
            }
    finally:
        engine.dispose()


# -- servers ------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return sock.getsockname()[1]


def executable(name: str) -> str:
    path = BIN / name
    found = str(path) if path.exists() else shutil.which(name)
    if not found:
        raise BenchError(f"`{name}` is not installed (looked in {BIN} and on PATH).")
    return found


@dataclass
class Server:
    name: str
    process: subprocess.Popen
    port: int
    log: Path

    def url(self, path: str) -> str:
        return f"http://{HOST}:{self.port}{path}"

    def cpu_seconds(self) -> float:
        """User + system CPU of the master and its workers (the process group we started)."""
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields_ = stat.read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            if int(fields_[2]) == self.process.pid:  # pgrp: start_new_session made pid == pgid
                ticks += int(fields_[11]) + int(fields_[12])
        return ticks / os.sysconf("SC_CLK_TCK")

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"


@contextmanager
def serving(name: str, command: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[Server]:
    """Start a server in its own process group, wait for /healthz, and always stop it."""
    with log.open("wb") as out:
        process = subprocess.Popen(
            command, cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
    server = Server(name, process, port, log)
    try:
        wait_healthy(server)
        yield server
    finally:
        stop(process)


def wait_healthy(server: Server, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.process.poll() is not None:
            raise BenchError(f"{server.name} exited with {server.process.returncode}:\n{server.log_tail()}")
        try:
            with urllib.request.urlopen(server.url("/healthz"), timeout=2) as response:
                if response.status == 200:
                    return
        except (OSError, urllib.error.URLError):
            pass
        time.sleep(0.2)
    raise BenchError(f"{server.name} did not answer /healthz within {timeout:.0f} s:\n{server.log_tail()}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the group we started (gunicorn master and workers), SIGKILL if it lingers."""
    if process.poll() is not None:
        return
    for sig, grace in ((signal.SIGTERM, 15), (signal.SIGKILL, 5)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=grace)
            return
        except subprocess.TimeoutExpired:
            continue


def warm_up(server: Server, path: str, bodies: list[dict | None], token: str | None) -> None:
    """A few requests before measuring (each on a new connection, so both workers get some)."""
    for body in bodies:
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request(server.url(path), data=data, method="POST" if body else "GET")
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                response.read()
        except urllib.error.HTTPError as exc:
            detail = exc.read()[:500].decode(errors="replace")
            raise BenchError(f"warm-up {req.method} {path} answered {exc.code}: {detail}") from exc


# -- wrk ----------------------------------------------------------------------------------------


@dataclass
class Result:
    name: str
    requests: int = 0
    seconds: float = 0.0
    responses: int = 0
    ok2xx: int = 0
    created: int = 0
    socket_errors: dict[str, int] = field(default_factory=dict)
    p50_ms: float = math.nan
    p99_ms: float = math.nan
    server_cpu_s: float = math.nan
    wrk_cpu_s: float = math.nan
    notes: list[str] = field(default_factory=list)
    error: str | None = None

    @property
    def rps(self) -> float:
        return self.responses / self.seconds if self.seconds else math.nan

    @property
    def non2xx(self) -> int:
        return self.responses - self.ok2xx

    @property
    def errors(self) -> int:
        return self.non2xx + sum(self.socket_errors.values())

    @property
    def cpu_ms_per_request(self) -> float:
        return self.server_cpu_s * 1000 / self.responses if self.responses else math.nan


def run_wrk(
    name: str, server: Server, path: str, script: Path, args: list[str], connections: int, duration: int
) -> Result:
    """One wrk run against `server`; its numbers come from the script's done() JSON line."""
    command = [
        executable("wrk"),
        f"-t{THREADS}",
        f"-c{connections}",
        f"-d{duration}s",
        "--latency",
        f"--timeout={WRK_TIMEOUT}",
        "-s",
        str(script),
        server.url(path),
        "--",
        *args,
    ]
    cpu_before = server.cpu_seconds()
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 120, check=False)
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu_after = server.cpu_seconds()
    summary = None
    for line in done.stdout.splitlines():
        if line.startswith("WRK_JSON "):
            summary = json.loads(line.removeprefix("WRK_JSON "))
    if done.returncode != 0 or summary is None:
        raise BenchError(f"wrk failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return Result(
        name=name,
        requests=summary["requests"],
        seconds=summary["duration_us"] / 1e6,
        responses=summary["responses"],
        ok2xx=summary["ok2xx"],
        created=summary["created"],
        socket_errors={k: summary[k] for k in ("connect", "read", "write", "timeout")},
        p50_ms=summary["p50_us"] / 1000,
        p99_ms=summary["p99_us"] / 1000,
        server_cpu_s=cpu_after - cpu_before,
        wrk_cpu_s=(children_after.ru_utime + children_after.ru_stime)
        - (children_before.ru_utime + children_before.ru_stime),
    )


# -- the scenarios ------------------------------------------------------------------------------


@dataclass
class Context:
    work: Path
    vocab: Vocabulary
    vocab_file: Path
    duration: int
    large: int
    profile: bool
    diagnostics: list[str] = field(default_factory=list)


def run_bare(ctx: Context) -> Result:
    from tests.bench import bare_app

    db = ctx.work / "bare" / "bare.db"
    db.parent.mkdir()
    bare_app.create_db(str(db))
    port = free_port()
    env = {**os.environ, "BENCH_BARE_DB": str(db)}
    command = [executable("gunicorn"), "-w", str(WORKERS), "-b", f"{HOST}:{port}", "tests.bench.bare_app:app"]
    rng = random.Random(7)
    with serving("bare app", command, env, port, ctx.work / "bare.log") as server:
        warm_up(server, "/bare", [make_claim(ctx.vocab, rng, 90_000_000 + i) for i in range(20)], None)
        result = run_wrk(
            "bare POST /bare", server, "/bare", POST_LUA, [str(ctx.vocab_file)], CONNECTIONS, ctx.duration
        )
    rows = count_rows(f"sqlite:///{db}", "bare_claim") - 20
    result.notes.append(
        f"rows inserted during the run: {rows} (201s: {result.created}; the rest were in flight)"
    )
    return result


def factdesk_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FACTDESK_")}
    # One loopback client stands for many readers and writers: rate limits would only measure themselves.
    return {
        **env,
        "FACTDESK_DATA_DIR": str(data_dir),
        "FACTDESK_RATE_LIMIT_WRITES": "off",
        "FACTDESK_RATE_LIMIT_PUBLIC": "off",
    }


def add_user(data_dir: Path) -> str:
    """`factdesk users add` (it migrates the fresh database too); the token it prints."""
    done = subprocess.run(
        [executable("factdesk"), "users", "add", USER, "--role", "submitter"],
        cwd=REPO,
        env=factdesk_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    match = TOKEN_LINE.search(done.stdout)
    if done.returncode != 0 or match is None:
        raise BenchError(f"factdesk users add failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")
    return match.group(1)


@contextmanager
def factdesk(ctx: Context, label: str, data_dir: Path) -> Iterator[Server]:
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
    with serving(
        f"factdesk ({label})", command, factdesk_env(data_dir), port, ctx.work / f"{label}.log"
    ) as srv:
        yield srv


def run_intake(ctx: Context, label: str, stored: int, search: bool) -> list[Result]:
    """Factdesk with `stored` claims: the intake run (and, if `search`, the search run first)."""
    data_dir = ctx.work / label
    data_dir.mkdir()
    token = add_user(data_dir)
    url = Settings.from_env({}, data_dir=str(data_dir)).sqlalchemy_url
    if stored <= SMALL:
        seconds = preload_service(url, stored, ctx.vocab, seed=stored)
        ctx.diagnostics.append(
            f"[{label}] stored {stored:,} claims through ClaimService.submit in {seconds:.1f} s "
            f"({stored / seconds:.0f}/s; at that rate {LARGE:,} would take "
            f"{LARGE * seconds / stored / 60:.0f} min or more, so the large set is stored with bulk SQL)"
        )
    else:
        seconds = preload_sql(url, stored, ctx.vocab, seed=stored)
        ctx.diagnostics.append(f"[{label}] stored {stored:,} claims with bulk SQL in {seconds:.1f} s")
    ctx.diagnostics.append(f"[{label}] {check_stored(url)}")
    probe = probe_submit(url, ctx.vocab, profile=ctx.profile)
    ctx.diagnostics.append(f"[{label}] {probe.describe()}")

    results = []
    rng = random.Random(stored)
    with factdesk(ctx, label, data_dir) as server:
        if search:
            results.append(run_search(ctx, server, url, token, label))
        warm_up(
            server, "/api/v1/claims", [make_claim(ctx.vocab, rng, 90_000_000 + i) for i in range(20)], token
        )
        before = count_rows(url, "claim")
        result = run_wrk(
            f"factdesk POST /api/v1/claims @{label}",
            server,
            "/api/v1/claims",
            POST_LUA,
            [str(ctx.vocab_file), token],
            CONNECTIONS,
            ctx.duration,
        )
        rows = count_rows(url, "claim") - before
        result.notes.append(
            f"claims stored during the run: {rows} (201s: {result.created}; the rest were in flight)"
        )
        results.append(result)
    return results


def run_search(ctx: Context, server: Server, url: str, token: str, label: str) -> Result:
    queries = ctx.vocab.queries()
    counts = match_counts(url, queries)
    query_file = ctx.work / "queries.txt"
    query_file.write_text("\n".join(urllib.parse.quote(q) for q in queries) + "\n")
    warm_up(server, "/api/v1/claims?q=" + urllib.parse.quote(queries[0]), [None] * 10, token)
    result = run_wrk(
        f"factdesk GET /api/v1/claims?q= @{label} (c={SEARCH_CONNECTIONS})",
        server,
        "/api/v1/claims",
        SEARCH_LUA,
        [str(query_file), token],
        SEARCH_CONNECTIONS,
        ctx.duration,
    )
    frequencies = sorted(counts.values())
    result.notes.append(
        f"{len(queries)} queries matching {frequencies[0]:,} to {frequencies[-1]:,} claims "
        f"(median {statistics.median(frequencies):,.0f})"
    )
    # One request at a time per query, to see which queries cost what.
    timings = []
    for q in queries:
        samples = []
        for _ in range(3):
            req = urllib.request.Request(server.url("/api/v1/claims?q=" + urllib.parse.quote(q)))
            req.add_header("Authorization", f"Bearer {token}")
            started = time.perf_counter()
            with urllib.request.urlopen(req, timeout=30) as response:
                response.read()
            samples.append((time.perf_counter() - started) * 1000)
        timings.append((statistics.median(samples), q, counts[q]))
    timings.sort(reverse=True)
    ctx.diagnostics.append(
        f"[{label}] search, one request at a time (median of 3 each): median query "
        f"{statistics.median(t[0] for t in timings):.1f} ms; the slowest and the fastest:"
    )
    for ms, q, n in timings[:6] + timings[-3:]:
        ctx.diagnostics.append(f"      {ms:7.1f} ms  q={q!r:<28} matches {n:>6,}")
    return result


# -- report -------------------------------------------------------------------------------------


def print_table(results: list[Result]) -> None:
    header = f"{'name':<52} {'req/s':>8} {'p50':>9} {'p99':>9} {'errors':>7} {'srv CPU ms/req':>15}"
    print(header)
    print("-" * len(header))
    for r in results:
        if r.error:
            print(f"{r.name:<52} {'ERROR':>8}  {r.error.splitlines()[0][:60]}")
            continue
        print(
            f"{r.name:<52} {r.rps:>8.1f} {r.p50_ms:>7.1f}ms {r.p99_ms:>7.1f}ms {r.errors:>7} "
            f"{r.cpu_ms_per_request:>15.1f}"
        )
    print()
    print_details(results)


def print_details(results: list[Result], unexpected: str = "non-2xx") -> None:
    """A line per run under the table: counts, socket errors, CPU, and the run's notes."""
    for r in results:
        if r.error:
            print(f"* {r.name}: FAILED TO RUN\n{r.error}")
            continue
        socket = ", ".join(f"{k} {v}" for k, v in r.socket_errors.items())
        print(
            f"* {r.name}: {r.responses} responses in {r.seconds:.1f} s, {unexpected} {r.non2xx}, "
            f"socket errors ({socket}); server CPU {r.server_cpu_s / r.seconds * 100:.0f}% of one core, "
            f"wrk {r.wrk_cpu_s / r.seconds * 100:.0f}%"
        )
        for note in r.notes:
            print(f"    {note}")


def goal(ok: bool | None, text: str) -> str:
    mark = "PASS" if ok else "FAIL"
    return f"{mark}  {text}" if ok is not None else f"FAIL  {text}: not measured"


def print_goals(by_name: dict[str, Result], large: int) -> int:
    bare = by_name.get("bare")
    small = by_name.get("small")
    big = by_name.get("large")
    search = by_name.get("search")

    def usable(*results: Result | None) -> bool:
        return all(r is not None and r.error is None and r.responses > 0 for r in results)

    lines = []
    if usable(bare, small):
        ratio = small.rps / bare.rps  # type: ignore[union-attr]
        lines.append(
            goal(
                ratio >= GOAL_SMALL_VS_BARE,
                f"intake @{SMALL:,} >= {GOAL_SMALL_VS_BARE:.0%} of bare: {small.rps:.1f} req/s is "  # type: ignore[union-attr]
                f"{ratio:.0%} of {bare.rps:.1f}",  # type: ignore[union-attr]
            )
        )
    else:
        lines.append(goal(None, f"intake @{SMALL:,} >= {GOAL_SMALL_VS_BARE:.0%} of bare"))
    if usable(small, big):
        ratio = big.rps / small.rps  # type: ignore[union-attr]
        lines.append(
            goal(
                ratio >= GOAL_LARGE_VS_SMALL,
                f"intake @{large:,} >= {GOAL_LARGE_VS_SMALL:.0%} of @{SMALL:,}: {big.rps:.1f} req/s is "  # type: ignore[union-attr]
                f"{ratio:.0%} of {small.rps:.1f}",  # type: ignore[union-attr]
            )
        )
    else:
        lines.append(goal(None, f"intake @{large:,} >= {GOAL_LARGE_VS_SMALL:.0%} of @{SMALL:,}"))
    if usable(search):
        lines.append(
            goal(
                search.p50_ms < GOAL_SEARCH_P50_MS,  # type: ignore[union-attr]
                f"search @{large:,} p50 < {GOAL_SEARCH_P50_MS:.0f} ms: {search.p50_ms:.1f} ms "  # type: ignore[union-attr]
                f"(p99 {search.p99_ms:.1f} ms)",  # type: ignore[union-attr]
            )
        )
    else:
        lines.append(goal(None, f"search p50 < {GOAL_SEARCH_P50_MS:.0f} ms"))
    for result in by_name.values():
        if result.error is None and result.errors:
            lines.append(f"WARN  {result.name}: {result.errors} errors (non-2xx + socket)")
    print("\n".join(lines))
    return sum(line.startswith("FAIL") for line in lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run [10]")
    parser.add_argument("--large", type=int, default=LARGE, help=f"claims in the large set [{LARGE}]")
    parser.add_argument("--keep", action="store_true", help="keep the data directories and logs")
    parser.add_argument("--profile", action="store_true", help="cProfile the in-process submit probes")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the servers are stopped too

    work = Path(tempfile.mkdtemp(prefix="factdesk-bench-"))
    vocab = Vocabulary.build()
    ctx = Context(work, vocab, work / "vocab.tsv", args.duration, args.large, args.profile)
    vocab.write(ctx.vocab_file)
    started = time.monotonic()
    by_name: dict[str, Result] = {}
    print(
        f"Factdesk intake benchmark: {WORKERS} gunicorn sync workers, wrk -t{THREADS} -c{CONNECTIONS} ",
        end="",
    )
    print(
        f"-d{args.duration}s --timeout={WRK_TIMEOUT} (search -c{SEARCH_CONNECTIONS}); "
        f"{os.cpu_count()} CPUs; work dir {work}"
    )
    try:
        scenarios: list[tuple[list[str], str, Callable[[], list[Result]]]] = [
            (["bare"], "bare POST /bare", lambda: [run_bare(ctx)]),
            (
                ["small"],
                f"factdesk POST @{SMALL:,}",
                lambda: run_intake(ctx, f"{SMALL // 1000}k", SMALL, False),
            ),
            (
                ["search", "large"],
                f"factdesk @{args.large:,}",
                lambda: run_intake(ctx, f"{args.large // 1000}k", args.large, True),
            ),
        ]
        for keys, title, run in scenarios:
            print(f"... {title}", flush=True)
            try:
                for key, result in zip(keys, run(), strict=True):
                    by_name[key] = result
            except Exception as exc:  # report it and go on with the next scenario
                for key in keys:
                    by_name[key] = Result(f"{title} [{key}]", error=f"{type(exc).__name__}: {exc}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\nResults ({time.monotonic() - started:.0f} s in all)\n")
    print_table(list(by_name.values()))
    print("\nDiagnostics")
    for line in ctx.diagnostics:
        print(f"  {line}")
    print("\nGoals")
    failed = print_goals(by_name, args.large)
    print(f"\n{3 - min(failed, 3)} of 3 goals met." if failed else "\nAll goals met.")
    if args.keep:
        print(f"Data and server logs kept in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
