"""Mixed load benchmark (issue #6): 60 s of reads and writes against Factdesk on PostgreSQL and Redis.

    python -m tests.bench.load              # from the repository root; about 1.5 minutes

Sets up a fresh PostgreSQL database (`factdesk_load_<pid>`, dropped at the end) and Redis
database 7 (emptied first and last), the demo desk (`factdesk demo`: 12 claims, 2 published),
500 more published claims with their verdicts (bulk SQL), a submitter and two reviewers, then
runs `factdesk serve --workers 2` (gunicorn and its job worker) on a free loopback port with both
rate limits off, and one `wrk -t2 -c64 -d60s --latency --timeout=20s -s load_mix.lua` whose
requests are drawn per request: 80% badges and claim pages, 15% claim reads and searches, 5%
submissions and `start_research` transitions (see load_mix.lua). Two hostile peers join in (issue
#12): a webhook receiver subscribed to every event that answers one byte every 3 s (the job worker
is given deliveries for it before the run, and a publication during it), and a PDF whose text
would take minutes to read, uploaded 10 s into the run.

Prints a table per endpoint class (requests, share, req/s, p50 and p99 as the client saw them and
as the server logged them, answers by status), then checks: no 5xx, and no lost write (every 201
read back over HTTP and found in the database, every transition that answered 200 stored, the
claim count as expected). Then a short check that rate limits, switched back on, trip through
Redis across both workers. Exit code 0 either way: this is a report.
"""

import argparse
import contextlib
import json
import math
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter, defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import redis
import sqlalchemy as sa

from claims.models import Appearance, Claim, ClaimTag, Verdict
from service.core.database import make_engine, utcnow
from service.core.ids import new_id
from service.core.text import claim_key
from tests.bench.badges import RATINGS, fetch, machine_busy_seconds, snapshot_env
from tests.bench.intake import (
    CONNECTIONS,
    HOST,
    REPO,
    THREADS,
    TOKEN_LINE,
    WORKERS,
    WRK_TIMEOUT,
    BenchError,
    Result,
    Server,
    Vocabulary,
    executable,
    factdesk_env,
    free_port,
    make_claim,
    run_wrk,
    serving,
    warm_up,
)
from tests.sources.documents import bomb_pdf

BENCH_DIR = Path(__file__).resolve().parent
MIX_LUA = BENCH_DIR / "load_mix.lua"

PG_ADMIN_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"  # where the database is created
PG_URL = "postgresql://postgres@127.0.0.1:5432/{name}"
REDIS_DB = 7
REDIS_URL = f"redis://127.0.0.1:6379/{REDIS_DB}"

DURATION = 60
PUBLISHED = 500
BODIES = 12_000  # claims to submit, more than a run can send (about 2% of the requests)
BODY_SERIALS = 70_000_000  # make_claim's unique number: far from the pre-loaded claims' 0..PUBLISHED
WARM_WRITES = 6  # submissions (and their transitions) before the run, spread over both workers
SUBMITTER, REVIEWERS = "load-submitter", ("load-reviewer-1", "load-reviewer-2")
ADMIN = "load-admin"
TRICKLE_DELIVERIES = 10  # queued for the trickling receiver before the run
TRICKLE_WAIT_SECONDS = 120  # after the run, for their attempts (2 worker threads, 15 s deadline each)
ADDED_LINE = re.compile(r"Added (\S+) \((usr_\w+)\) as (\w+)\.")
RATE_PUBLIC, RATE_WRITES = 30, 5  # per minute, for the rate limit check
GUNICORN_INFO = re.compile(r"^\[[^]]+\] \[\d+\] \[INFO\] ")  # start-up and shut-down lines
OUR_BANNER = ("Factdesk listening", "API docs:")  # what `factdesk serve` prints itself

# Endpoint classes as load_mix.lua names them: the table's label and the answers it expects.
CLASSES: dict[str, tuple[str, tuple[int, ...]]] = {
    "badge": ("GET /badges/{id}.svg", (200,)),
    "badge_304": ("GET /badges/{id}.svg If-None-Match", (304,)),
    "page": ("GET /c/{id}", (200,)),
    "claim": ("GET /api/v1/claims/{id}", (200,)),
    "claim_new": ("GET /api/v1/claims/{id} (created in run)", (200,)),
    "search": ("GET /api/v1/claims?q=", (200,)),
    "submit": ("POST /api/v1/claims", (201, 200)),
    "transition": ("POST …/transitions start_research", (200, 409, 412)),
    "transition_race": ("  the same, 2 reviewers at once", (200, 409, 412)),
}
GROUPS = (
    ("badge and page reads", ("badge", "badge_304", "page"), 0.80),
    ("claim reads and searches", ("claim", "claim_new", "search"), 0.15),
    ("submissions and transitions", ("submit", "transition", "transition_race"), 0.05),
)


@dataclass
class Desk:
    """What the run needs to know about the prepared database."""

    db_name: str
    url: str
    data_dir: Path
    tokens: dict[str, str] = field(default_factory=dict)  # user name: token
    user_ids: dict[str, str] = field(default_factory=dict)  # user name: id
    published: list[tuple[str, str]] = field(default_factory=list)  # (claim id, rating)


@dataclass
class Mix:
    """load_mix.lua's per-thread lines, added up."""

    counts: Counter = field(default_factory=Counter)  # (class, status): answers
    latency_us: dict[str, list[int]] = field(default_factory=lambda: defaultdict(list))
    created: list[str] = field(default_factory=list)
    moved: list[tuple[str, int]] = field(default_factory=list)  # (claim id, reviewer 1 or 2)
    bad: list[str] = field(default_factory=list)  # "request-id status"
    unmatched: int = 0

    @classmethod
    def read(cls, path: Path) -> "Mix":
        mix = cls()
        for line in path.read_text().splitlines():
            data = json.loads(line)
            for key, n in data["counts"].items():
                name, status = key.rsplit(" ", 1)
                mix.counts[(name, int(status))] += n
            for name, values in data["latency_us"].items():
                mix.latency_us[name] += values
            mix.created += data["created"]
            mix.moved += [(m.split()[0], int(m.split()[1])) for m in data["moved"]]
            mix.bad += data["bad"]
            mix.unmatched += data["unmatched"]
        return mix

    def answers(self, name: str) -> int:
        return sum(n for (c, _), n in self.counts.items() if c == name)

    def statuses(self, name: str) -> dict[int, int]:
        return {s: n for (c, s), n in sorted(self.counts.items()) if c == name}

    def server_errors(self) -> int:
        return sum(n for (_, s), n in self.counts.items() if s >= 500)


@dataclass
class ServerLog:
    """The server's access lines of the run's requests (by their X-Request-Id), and its trouble."""

    duration_ms: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    statuses: Counter = field(default_factory=Counter)  # (class, status)
    by_request: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    trouble: list[str] = field(default_factory=list)  # warnings, errors, tracebacks
    boots: int = 0  # gunicorn "Booting worker" lines: WORKERS, unless a worker died and was replaced

    @classmethod
    def read(cls, path: Path) -> "ServerLog":
        log = cls()
        for raw in path.read_text(errors="replace").splitlines():
            try:
                line = json.loads(raw)
                if not isinstance(line, dict):
                    raise ValueError("not a log record")
            except ValueError:
                if "Booting worker" in raw:
                    log.boots += 1
                elif raw.strip() and not GUNICORN_INFO.match(raw) and not raw.startswith(OUR_BANNER):
                    log.trouble.append(raw)  # gunicorn's warnings (worker timeouts), tracebacks
                continue
            rid = line.get("request_id") or ""
            if line.get("level") in ("WARNING", "ERROR", "CRITICAL") or (line.get("status") or 0) >= 500:
                log.trouble.append(raw)
            if rid.split(".")[0] in CLASSES and rid.count(".") == 2:
                log.by_request[rid].append(raw)
                if line.get("logger") == "factdesk.access":
                    name = rid.split(".")[0]
                    log.duration_ms[name].append(float(line["duration_ms"]))
                    log.statuses[(name, int(line["status"]))] += 1
        return log


# -- PostgreSQL, Redis and the desk -------------------------------------------------------------


@contextmanager
def postgres_database(name: str) -> Iterator[str]:
    """A fresh database `name` on the local PostgreSQL; dropped at the end, whatever happens."""
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        try:
            yield PG_URL.format(name=name)
        finally:
            with admin.connect() as conn:
                conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        admin.dispose()


@contextmanager
def redis_database() -> Iterator[int]:
    """Redis database REDIS_DB, emptied before and after; the keys it held before (0 expected)."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    try:
        before = client.dbsize()
        client.flushdb()
        try:
            yield before
        finally:
            client.flushdb()
    finally:
        client.close()


def desk_env(desk: Desk, **overrides: str) -> dict[str, str]:
    """The environment of the CLI and the servers: this checkout, PostgreSQL, Redis, limits off."""
    env = snapshot_env(factdesk_env(desk.data_dir))  # rate limits "off", this checkout on PYTHONPATH
    env |= {"FACTDESK_DATABASE_URL": desk.url, "FACTDESK_REDIS_URL": REDIS_URL}
    env["FACTDESK_FETCH_ALLOWED_NETWORKS"] = "127.0.0.0/8"  # the trickling receiver is local
    return env | {f"FACTDESK_{k.upper()}": v for k, v in overrides.items()}


def serve_command(port: int) -> list[str]:
    """`factdesk serve`: migrations, then gunicorn with WORKERS sync workers and the job worker."""
    return [executable("factdesk"), "serve", "--host", HOST, "--port", str(port), "--workers", str(WORKERS)]


def cli(desk: Desk, *args: str) -> str:
    """`factdesk ARGS` against the desk's database; its standard output."""
    done = subprocess.run(
        [executable("factdesk"), *args],
        cwd=REPO,
        env=desk_env(desk),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise BenchError(
            f"factdesk {' '.join(args)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return done.stdout


def prepare(desk: Desk, count: int) -> list[str]:
    """Demo desk, users, `count` published claims; notes on what was stored."""
    started = time.perf_counter()
    demo = cli(desk, "demo")
    for name, role in (
        (SUBMITTER, "submitter"),
        (REVIEWERS[0], "reviewer"),
        (REVIEWERS[1], "reviewer"),
        (ADMIN, "admin"),
    ):
        out = cli(desk, "users", "add", name, "--role", role)
        added, token = ADDED_LINE.search(out), TOKEN_LINE.search(out)
        if added is None or token is None:
            raise BenchError(f"factdesk users add {name} printed no id or token:\n{out}")
        desk.user_ids[name], desk.tokens[name] = added.group(2), token.group(1)
    cli_seconds = time.perf_counter() - started
    started = time.perf_counter()
    insert_published(desk, count)
    engine = make_engine(desk.url)
    try:
        with engine.connect() as conn:
            desk.published = [
                (row.id, row.rating)
                for row in conn.execute(
                    sa.text("SELECT id, rating FROM claim WHERE verdict_version > 0 ORDER BY seq")
                )
            ]
            total = conn.execute(sa.text("SELECT count(*) FROM claim")).scalar_one()
            verdicts = conn.execute(sa.text("SELECT count(*) FROM verdict")).scalar_one()
    finally:
        engine.dispose()
    return [
        f"`factdesk demo` and three `factdesk users add` in {cli_seconds:.1f} s: {demo.splitlines()[0]}",
        (
            f"{count} published claims (claim, tags, appearance, verdict rows) stored with bulk SQL and "
            f"ANALYZEd in {time.perf_counter() - started:.1f} s; now {total} claims, {len(desk.published)} "
            f"published, {verdicts} verdicts"
        ),
    ]


def insert_published(desk: Desk, count: int, seed: int = 20251206) -> None:
    """`count` published claims as a publication leaves them, minus the history events.

    Per claim: the `claim` row (status published, verdict_version 1, the rating cycling over the
    default scale, assigned to the first reviewer), its tags, one appearance, and verdict version 1
    proposed by the first reviewer and approved by the second, with no evidence. The mix reads no
    history, so no `claim_event` rows. The PostgreSQL tsvector column fills itself.
    """
    vocab = Vocabulary.build()
    rng = random.Random(seed)
    submitter = desk.user_ids[SUBMITTER]
    proposer, approver = (desk.user_ids[name] for name in REVIEWERS)
    claims, tags, appearances, verdicts = [], [], [], []
    for serial in range(count):
        data = make_claim(vocab, rng, serial)
        now = utcnow()
        claim_id = new_id("clm")
        rating = RATINGS[serial % len(RATINGS)]
        quote = data["appearance"]["quote"]
        claims.append(
            {
                "id": claim_id,
                "text": data["text"],
                "text_key": claim_key(data["text"]),
                "claimant": data["claimant"],
                "language": "en",
                "status": "published",
                "assignee_id": proposer,
                "rating": rating,
                "verdict_version": 1,
                "pending_proposal_id": None,
                "needs_review": False,
                "duplicate_of": None,
                "submitted_by": submitter,
                "version": 4,  # submitted, start_research, propose, approve
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
                "added_by": submitter,
                "created_at": now,
            }
        )
        verdicts.append(
            {
                "id": new_id("vrd"),
                "claim_id": claim_id,
                "version": 1,
                "rating": rating,
                "summary": f"Rated {rating.replace('_', ' ')}: {data['text'][:200]}",
                "proposer_id": proposer,
                "approvers": [approver],
                "proposed_at": now,
                "published_at": now,
                "correction_note": None,
                "evidence": [],
            }
        )
    engine = make_engine(desk.url)
    try:
        with engine.begin() as conn:
            for model, rows in (
                (Claim, claims),
                (ClaimTag, tags),
                (Appearance, appearances),
                (Verdict, verdicts),
            ):
                conn.execute(model.__table__.insert(), rows)  # type: ignore[attr-defined]
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("ANALYZE"))
    finally:
        engine.dispose()


def write_data(path: Path, desk: Desk, etags: dict[str, str], bodies: list[dict], queries: list[str]) -> None:
    """load_mix.lua's DATA_FILE: published claims with their badge ETags, queries, bodies."""
    lines = [f"p\t{cid}\t{etags[rating]}" for cid, rating in desk.published]
    lines += [f"q\t{urllib.parse.quote(q)}" for q in queries]
    lines += [f"b\t{json.dumps(body, separators=(',', ':'))}" for body in bodies]
    path.write_text("\n".join(lines) + "\n")


def learn_etags(server: Server, desk: Desk) -> dict[str, str]:
    """The badge ETag of every rating in use (it depends on the rendered bytes only)."""
    etags: dict[str, str] = {}
    for cid, rating in desk.published:
        if rating in etags:
            continue
        status, headers, body = fetch(server, f"/badges/{cid}.svg")
        if status != 200 or "ETag" not in headers:
            raise BenchError(f"GET /badges/{cid}.svg ({rating}) answered {status}: {body[:200]!r}")
        etags[rating] = headers["ETag"]
        status, _, _ = fetch(server, f"/badges/{cid}.svg", {"If-None-Match": etags[rating]})
        if status != 304:
            raise BenchError(f"GET /badges/{cid}.svg with its ETag answered {status}, not 304")
    return etags


def cpu_seconds_of(marker: bytes) -> float:
    """User + system CPU seconds of the processes whose command line contains `marker`."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if marker not in (stat.parent / "cmdline").read_bytes():
                continue
            fields_ = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        ticks += int(fields_[11]) + int(fields_[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def steal_seconds() -> float:
    """CPU seconds the hypervisor gave to other guests since boot (all CPUs), from /proc/stat."""
    try:
        values = Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]
        return int(values[7]) / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError):
        return math.nan


def post_json(
    server: Server, path: str, body: dict, token: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One POST of JSON with a token: status, headers, body (4xx and 5xx too)."""
    req = urllib.request.Request(server.url(path), data=json.dumps(body).encode(), method="POST")
    for name, value in {"Content-Type": "application/json", "Authorization": f"Bearer {token}"}.items():
        req.add_header(name, value)
    for name, value in (headers or {}).items():
        req.add_header(name, value)
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def warm_writes(server: Server, desk: Desk, bodies: list[dict]) -> None:
    """Submit `bodies` and start research on each, so no worker meets its first write in the run."""
    for i, body in enumerate(bodies):
        status, headers, answer = post_json(server, "/api/v1/claims", body, desk.tokens[SUBMITTER])
        if status != 201:
            raise BenchError(f"warm-up POST /api/v1/claims answered {status}: {answer[:300]!r}")
        path = urllib.parse.urlsplit(headers["Location"]).path + "/transitions"
        reviewer = desk.tokens[REVIEWERS[i % 2]]
        status, _, answer = post_json(
            server, path, {"action": "start_research"}, reviewer, {"If-Match": headers["ETag"]}
        )
        if status != 200:
            raise BenchError(f"warm-up POST {path} answered {status}: {answer[:300]!r}")


def claim_ids(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.scalars(sa.text("SELECT id FROM claim")))
    finally:
        engine.dispose()


# -- after the run: were the writes kept? -------------------------------------------------------


def read_back(server: Server, ids: list[str], token: str) -> Counter:
    """GET /api/v1/claims/{id} of every id (4 at a time); how many answered each status."""

    def status(cid: str) -> int:
        status, _, _ = fetch(server, f"/api/v1/claims/{cid}", {"Authorization": f"Bearer {token}"})
        return status

    with ThreadPoolExecutor(4) as pool:
        return Counter(pool.map(status, ids))


def check_database(desk: Desk, mix: Mix, before: set[str], run_ended: float) -> tuple[list[str], int]:
    """Rows for every 201 and every 200 transition; notes and the number of writes missing.

    `before` holds the ids of the claims stored before the run.
    """
    notes, missing = [], 0
    engine = make_engine(desk.url)
    reviewer_ids = {1: desk.user_ids[REVIEWERS[0]], 2: desk.user_ids[REVIEWERS[1]]}
    try:
        with engine.connect() as conn:
            stored = conn.execute(sa.text("SELECT id, status, assignee_id, created_at FROM claim")).all()
    finally:
        engine.dispose()
    rows = {row.id: row for row in stored if row.id not in before}
    after = len(stored)
    absent = [cid for cid in mix.created if cid not in rows]
    missing += len(absent)
    notes.append(
        f"database: {len(mix.created) - len(absent)} of the {len(mix.created)} claims answered 201 are stored"
        + (f"  << MISSING: {', '.join(absent[:10])}" if absent else "")
    )
    wrong = [
        f"{cid} ({rows[cid].status}, assignee {rows[cid].assignee_id})"
        for cid, reviewer in mix.moved
        if cid in rows
        and (rows[cid].status != "researching" or rows[cid].assignee_id != reviewer_ids[reviewer])
    ]
    missing += len(wrong)
    notes.append(
        f"database: {len(mix.moved) - len(wrong)} of the {len(mix.moved)} transitions answered 200 are "
        "stored (researching, assigned to the reviewer who sent it)"
        + (f"  << NOT STORED: {', '.join(wrong[:10])}" if wrong else "")
    )
    deduped = mix.counts[("submit", 200)]
    extra = sorted(set(rows) - set(mix.created), key=lambda cid: rows[cid].created_at)
    expected = len(before) + len(mix.created)
    when = ", ".join(f"{rows[c].created_at.timestamp() - run_ended:+.1f}" for c in extra[:10])
    notes.append(
        f"claims in the database: {len(before)} before the run + {len(mix.created)} answered 201 "
        f"(+ {deduped} answered 200, an existing text: expected 0) = {expected}; counted {after}"
        + (
            f"; {after - expected} more: submissions in flight when wrk stopped, whose answers it never read "
            f"(stored at {when} s from wrk's end)"
            if after > expected
            else ""
        )
        + (f"  << {expected - after} FEWER" if after < expected else "")
    )
    if after < expected:
        missing += expected - after
    unseen = [cid for cid in extra if rows[cid].status != "submitted"]
    if unseen:
        notes.append(f"of those, {len(unseen)} were moved on too (a transition in flight as well)")
    return notes, missing


# -- the rate limit check -----------------------------------------------------------------------


def check_rate_limits(desk: Desk, work: Path) -> list[str]:
    """Limits on again, low: a burst must trip them once across both workers, counted in Redis."""
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=5)
    client.flushdb()
    port = free_port()
    env = desk_env(desk, rate_limit_public=f"{RATE_PUBLIC}/minute", rate_limit_writes=f"{RATE_WRITES}/minute")
    command = serve_command(port)
    vocab, rng = Vocabulary.build(), random.Random(99)
    token = desk.tokens[SUBMITTER]
    try:
        with serving("factdesk (limits on)", command, env, port, work / "limits.log") as server:
            badge = f"/badges/{desk.published[0][0]}.svg"
            reads = Counter(fetch(server, badge)[0] for _ in range(RATE_PUBLIC + 15))
            writes: Counter = Counter()
            for i in range(RATE_WRITES + 3):
                body = json.dumps(make_claim(vocab, rng, BODY_SERIALS * 2 + i)).encode()
                req = urllib.request.Request(server.url("/api/v1/claims"), data=body, method="POST")
                req.add_header("Content-Type", "application/json")
                req.add_header("Authorization", f"Bearer {token}")
                try:
                    with urllib.request.urlopen(req, timeout=30) as response:
                        writes[response.status] += 1
                except urllib.error.HTTPError as exc:
                    writes[exc.code] += 1
            keys = [k.decode() for k in client.scan_iter(count=1000)]
        limiter_keys = [k for k in keys if "factdesk" in k]
        reads_ok = reads[200] == RATE_PUBLIC and reads[429] == 15
        writes_ok = writes[201] == RATE_WRITES and writes[429] == 3
        return [
            (
                f"{'PASS' if reads_ok else 'FAIL'}  {RATE_PUBLIC + 15} badge GETs from one address at "
                f"{RATE_PUBLIC}/minute: {dict(sorted(reads.items()))} (expected {RATE_PUBLIC} x 200 across "
                "both workers, the rest 429)"
            ),
            (
                f"{'PASS' if writes_ok else 'FAIL'}  {RATE_WRITES + 3} submissions with one token at "
                f"{RATE_WRITES}/minute: {dict(sorted(writes.items()))} (expected {RATE_WRITES} x 201, 3 x 429)"
            ),
            (
                f"{'PASS' if limiter_keys else 'FAIL'}  counters in Redis db {REDIS_DB}: "
                f"{', '.join(sorted(limiter_keys)[:4]) or 'none'}"
            ),
        ]
    finally:
        client.close()


# -- report -------------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def ms(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


def print_table(mix: Mix, log: ServerLog, seconds: float) -> None:
    total = sum(mix.counts.values())
    header = (
        f"{'endpoint class':<42} {'requests':>8} {'share':>6} {'req/s':>6} {'p50 ms':>7} {'p99 ms':>7} "
        f"{'srv p50':>7} {'srv p99':>7}  answers (expected first; 5xx)"
    )
    print(header)
    print("-" * len(header))
    for name, (label, expected) in CLASSES.items():
        n = mix.answers(name)
        lat = [us / 1000 for us in mix.latency_us.get(name, [])]
        srv = log.duration_ms.get(name, [])
        statuses = mix.statuses(name)
        shown = [f"{s}: {statuses[s]}" for s in expected if s in statuses]
        shown += [f"{s}: {c}" for s, c in statuses.items() if s not in expected]
        fives = sum(c for s, c in statuses.items() if s >= 500)
        share = n / total if total else 0.0
        print(
            f"{label:<42} {n:>8} {share:>6.1%} {n / seconds:>6.1f} {ms(percentile(lat, 50)):>7} "
            f"{ms(percentile(lat, 99)):>7} {ms(percentile(srv, 50)):>7} {ms(percentile(srv, 99)):>7}  "
            f"{', '.join(shown) or '-'}; 5xx {fives}"
        )
    unknown = {s: c for (name, s), c in mix.counts.items() if name == "unknown"}
    if unknown:
        print(f"{'answers without a known X-Request-Id':<42} {sum(unknown.values()):>8}  {unknown}")
    every = [us / 1000 for values in mix.latency_us.values() for us in values]
    srv_all = [v for values in log.duration_ms.values() for v in values]
    print(
        f"{'all':<42} {total:>8} {1:>6.0%} {total / seconds:>6.1f} {ms(percentile(every, 50)):>7} "
        f"{ms(percentile(every, 99)):>7} {ms(percentile(srv_all, 50)):>7} {ms(percentile(srv_all, 99)):>7}"
    )


def group_lines(mix: Mix) -> list[str]:
    total = sum(mix.counts.values()) or 1
    parts = [
        f"{label} {sum(mix.answers(n) for n in names) / total:.1%} (aimed at {aim:.0%})"
        for label, names, aim in GROUPS
    ]
    return ["mix: " + "; ".join(parts)]


def trouble_lines(mix: Mix, log: ServerLog) -> list[str]:
    """The server log's lines for each unexpected answer, and any error or gunicorn line."""
    lines = []
    for entry in mix.bad[:20]:
        rid = entry.split()[0]
        lines.append(f"unexpected answer {entry}; server log:")
        lines += [f"    {raw[:400]}" for raw in log.by_request.get(rid, ["(no line with this request id)"])]
    if log.trouble:
        lines.append(f"server log: {len(log.trouble)} warnings, errors or tracebacks, the first 20:")
        lines += [f"    {t[:400]}" for t in log.trouble[:20]]
    else:
        lines.append("server log: no warning, error or traceback")
    restarted = log.boots - WORKERS
    lines.append(
        f"gunicorn booted {log.boots} workers"
        + (f"  << {restarted} REPLACED (a worker died or timed out)" if restarted else ": none replaced")
    )
    return lines


@dataclass
class Run:
    """One mixed run and what was checked after it."""

    result: Result
    mix: Mix
    log: ServerLog
    cpu: dict[str, float]  # who used the CPU during the run, in CPU seconds
    read: Counter  # read-back statuses of the 201s
    db_notes: list[str]
    missing: int  # writes answered 2xx but not found in the database as answered


def run_mixed(desk: Desk, work: Path, duration: int, hostile_peers: bool = True) -> Run:
    """The server, the wrk run (beside the hostile peers, unless told not to), and the checks of
    the writes while the server still runs."""
    vocab, rng = Vocabulary.build(), random.Random(6)
    bodies = [make_claim(vocab, rng, BODY_SERIALS + i) for i in range(BODIES)]
    data_file, out_file, server_log = work / "mix.tsv", work / "mix-threads.jsonl", work / "factdesk.log"
    token, reviewer_tokens = desk.tokens[SUBMITTER], [desk.tokens[name] for name in REVIEWERS]
    port = free_port()
    with serving("factdesk", serve_command(port), desk_env(desk), port, server_log) as server:
        write_data(data_file, desk, learn_etags(server, desk), bodies, vocab.queries())
        for cid, _ in desk.published[:20]:  # each on a new connection, so both workers warm up
            warm_up(server, f"/c/{cid}", [None], None)
            warm_up(server, f"/api/v1/claims/{cid}", [None], token)
        for q in vocab.queries()[::10]:
            warm_up(server, "/api/v1/claims?q=" + urllib.parse.quote(q), [None] * 2, token)
        warm_writes(
            server, desk, [make_claim(vocab, rng, BODY_SERIALS + BODIES + i) for i in range(WARM_WRITES)]
        )
        before = claim_ids(desk.url)
        hostile = Hostile.start(server, desk) if hostile_peers else None
        print(f"... {duration} s of mixed load", flush=True)
        pg_marker = f" {desk.db_name} ".encode()  # PostgreSQL's backends name their database in their title
        busy, pg, rds = machine_busy_seconds(), cpu_seconds_of(pg_marker), cpu_seconds_of(b"redis-server")
        steal = steal_seconds()
        run_started = time.time()
        args = [str(data_file), str(out_file), str(THREADS), token, *reviewer_tokens]
        result = run_wrk("mixed", server, "/", MIX_LUA, args, CONNECTIONS, duration)
        cpu = {
            "postgres": cpu_seconds_of(pg_marker) - pg,
            "redis": cpu_seconds_of(b"redis-server") - rds,
            "server": result.server_cpu_s,
            "wrk": result.wrk_cpu_s,
        }
        cpu["others"] = max(0.0, machine_busy_seconds() - busy - sum(cpu.values()))
        cpu["steal"] = steal_seconds() - steal  # part of "others"
        if hostile:
            hostile.stop(desk)
        mix = Mix.read(out_file)
        print(f"... reading back {len(mix.created)} created claims", flush=True)
        read = read_back(server, mix.created, token)
        db_notes, missing = check_database(desk, mix, before, run_started + result.seconds)
        db_notes += hostile.notes(desk) if hostile else ["no hostile peers (--no-hostile)"]
    return Run(result, mix, ServerLog.read(server_log), cpu, read, db_notes, missing)


class Hostile:
    """The run's hostile peers: a webhook receiver that trickles its answer, and a PDF bomb."""

    def __init__(self, receiver: "TricklingReceiver", upload: threading.Thread) -> None:
        self.receiver, self.upload = receiver, upload
        self.upload_answer: tuple[int, float] | None = None

    @classmethod
    def start(cls, server: Server, desk: Desk) -> "Hostile":
        receiver = TricklingReceiver()
        events = ["claim.published", "claim.corrected", "claim.source_changed"]
        status, _, answer = post_json(
            server, "/api/v1/webhooks", {"url": receiver.url, "events": events}, desk.tokens[ADMIN]
        )
        if status != 201:
            raise BenchError(f"the webhook was refused ({status}): {answer[:300]!r}")
        hook = json.loads(answer)
        queue_deliveries(desk, hook["id"], TRICKLE_DELIVERIES)
        hostile = cls(receiver, threading.Thread(target=lambda: None))
        hostile.upload = threading.Thread(target=hostile._upload_bomb, args=(server, desk), daemon=True)
        hostile.upload.start()
        return hostile

    def _upload_bomb(self, server: Server, desk: Desk) -> None:
        time.sleep(10)
        started = time.monotonic()
        status = upload_file(server, desk.tokens[REVIEWERS[0]], bomb_pdf(), "bomb.pdf")
        self.upload_answer = (status, time.monotonic() - started)

    def stop(self, desk: Desk) -> None:
        """Waits for the upload and for one attempt per queued delivery (the job worker's minute
        sweep sends them, each taking up to its deadline), then closes the receiver."""
        self.upload.join(60)
        engine = make_engine(desk.url)
        try:
            deadline = time.monotonic() + TRICKLE_WAIT_SECONDS
            while time.monotonic() < deadline:
                with engine.connect() as conn:
                    done = conn.execute(sa.text("SELECT count(*) FROM webhook_attempt")).scalar_one()
                if done >= TRICKLE_DELIVERIES:
                    break
                time.sleep(1)
        finally:
            engine.dispose()
        self.receiver.close()

    def notes(self, desk: Desk) -> list[str]:
        engine = make_engine(desk.url)
        try:
            with engine.connect() as conn:
                attempts = conn.execute(
                    sa.text("SELECT count(*), max(duration_ms) FROM webhook_attempt")
                ).one()
                errors = conn.execute(
                    sa.text("SELECT error, count(*) FROM webhook_attempt GROUP BY error ORDER BY 2 DESC")
                ).all()
                bomb = conn.execute(
                    sa.text(
                        "SELECT ok, error FROM snapshot WHERE content_type = 'application/pdf' ORDER BY id DESC LIMIT 1"
                    )
                ).first()
        finally:
            engine.dispose()
        upload = (
            f"answered {self.upload_answer[0]} in {self.upload_answer[1]:.2f} s"
            if self.upload_answer
            else "did not answer"
        )
        return [
            (
                f"hostile webhook receiver (1 byte / 3 s): it received {self.receiver.requests} deliveries; "
                f"{attempts[0]} attempts recorded, the longest {attempts[1] or 0} ms (one deadline each): "
                + "; ".join(f"{count} x {error!r}" for error, count in errors)
            ),
            (
                f"PDF bomb (200 pages sharing a 4.2 MB stream) uploaded 10 s in: {upload}; its snapshot "
                + (f"ok={bomb.ok}, error={bomb.error!r}" if bomb else "was not found")
            ),
        ]


class TricklingReceiver:
    """Accepts each delivery, then answers one byte every 3 s."""

    def __init__(self) -> None:
        self.requests = 0
        self._stop = threading.Event()
        self._listener = socket.create_server((HOST, 0))
        self._listener.settimeout(0.1)
        self.url = f"http://{HOST}:{self._listener.getsockname()[1]}/hook"
        self._threads: list[threading.Thread] = []
        self._accepting = threading.Thread(target=self._accept, daemon=True)
        self._accepting.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            self.requests += 1
            thread = threading.Thread(target=self._trickle, args=(conn,), daemon=True)
            thread.start()
            self._threads.append(thread)

    def _trickle(self, conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            for byte in b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n" + b"x" * 100:
                if self._stop.wait(3):
                    return
                conn.sendall(bytes([byte]))

    def close(self) -> None:
        self._stop.set()
        self._accepting.join()
        self._listener.close()


def queue_deliveries(desk: Desk, webhook_id: str, count: int) -> None:
    """Pending deliveries for the receiver, due now: the job worker's minute sweep sends them."""
    engine = make_engine(desk.url)
    try:
        with engine.begin() as conn:
            for _ in range(count):
                conn.execute(
                    sa.text(
                        "INSERT INTO webhook_delivery (id, webhook_id, event, payload, state, attempts, "
                        "next_attempt_at, created_at) VALUES (:id, :w, 'claim.published', '{}', 'pending', 0, :now, :now)"
                    ),
                    {"id": new_id("dlv"), "w": webhook_id, "now": utcnow()},
                )
    finally:
        engine.dispose()


def upload_file(server: Server, token: str, data: bytes, name: str) -> int:
    """POST a document as multipart/form-data; the status."""
    boundary = "factdesk-bench-boundary"
    body = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="{name}"\r\n'
            "Content-Type: application/pdf\r\n\r\n"
        ).encode()
        + data
        + f"\r\n--{boundary}--\r\n".encode()
    )
    request = urllib.request.Request(
        server.url("/api/v1/sources"),
        data=body,
        method="POST",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as answer:
            return answer.status
    except urllib.error.HTTPError as err:
        return err.code


def run_notes(run: Run, desk: Desk) -> list[str]:
    result, seconds = run.result, run.result.seconds
    share = {k: f"{v / seconds:.0%}" for k, v in run.cpu.items()}
    return [
        (
            f"wrk: {result.responses} answers in {seconds:.1f} s, socket errors {result.socket_errors}, overall "
            f"p50 {result.p50_ms:.1f} ms, p99 {result.p99_ms:.1f} ms (wrk's own histogram)"
        ),
        (
            f"CPU during the run (100% = one CPU, {os.cpu_count()} CPUs): gunicorn, its workers and the job "
            f"worker {share['server']}, PostgreSQL backends of {desk.db_name} {share['postgres']}, redis-server "
            f"{share['redis']}, wrk {share['wrk']}, everything else on the machine {share['others']} (of "
            f"which the hypervisor's steal {share['steal']}, the rest other processes and kernel work); "
            f"{result.cpu_ms_per_request:.2f} ms of gunicorn CPU per answer"
        ),
        (
            f"{CONNECTIONS} connections always waiting on {WORKERS} sync workers: mean latency = {CONNECTIONS} / "
            f"req/s = {CONNECTIONS / result.rps * 1000:.0f} ms by Little's law. The 'srv' columns are the "
            "server's own duration_ms from its access lines (before_request to after_request): without the "
            "time in gunicorn's queue"
        ),
    ]


def run_checks(run: Run) -> list[str]:
    mix = run.mix
    seen, logged = mix.server_errors(), sum(n for (_, s), n in run.log.statuses.items() if s >= 500)
    unread = len(mix.created) - run.read[200]
    lost = unread + run.missing
    return [
        (
            f"5xx: {seen} {'PASS' if seen == 0 and logged == 0 else 'FAIL'} (answers wrk read; the server's "
            f"access lines of the run's requests: {logged})"
        ),
        f"lost writes: {lost} {'PASS' if lost == 0 else 'FAIL'}",
        f"  read back over HTTP: {run.read[200]} of the {len(mix.created)} claims answered 201 answer 200"
        + (f"  << {dict(run.read)}" if unread else ""),
        *(f"  {line}" for line in run.db_notes),
    ]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=DURATION, help=f"seconds of load [{DURATION}]")
    parser.add_argument("--claims", type=int, default=PUBLISHED, help=f"published claims [{PUBLISHED}]")
    parser.add_argument("--keep", action="store_true", help="keep the work dir (wrk output, server logs)")
    parser.add_argument("--skip-limits", action="store_true", help="skip the rate limit check")
    parser.add_argument(
        "--no-hostile", action="store_true", help="no trickling webhook receiver or PDF bomb during the run"
    )
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the server is stopped and the db dropped

    import service

    work = Path(tempfile.mkdtemp(prefix="factdesk-bench-load-"))
    desk = Desk(f"factdesk_load_{os.getpid()}", "", work / "desk")
    started = time.monotonic()
    notes: list[str] = []
    limit_lines: list[str] = []
    run: Run | None = None
    print(
        f"Factdesk mixed load: {WORKERS} gunicorn sync workers on PostgreSQL + Redis db {REDIS_DB}, "
        f"wrk -t{THREADS} -c{CONNECTIONS} -d{args.duration}s --timeout={WRK_TIMEOUT} -s {MIX_LUA.name}; "
        f"{os.cpu_count()} CPUs; rate limits off"
    )
    print(f"code: {Path(service.__file__).parent.parent}; work dir {work}; database {desk.db_name}")
    if Path(service.__file__).resolve().parent.parent != REPO:
        print(f"WARNING: this process imports `service` from outside {REPO}; set PYTHONPATH={REPO}")
    try:
        with redis_database() as keys_before, postgres_database(desk.db_name) as url:
            if keys_before:
                notes.append(f"NOTE  Redis db {REDIS_DB} held {keys_before} keys; emptied them")
            desk.url = url
            desk.data_dir.mkdir()
            print("... demo desk, users, published claims", flush=True)
            notes += prepare(desk, args.claims)
            run = run_mixed(desk, work, args.duration, hostile_peers=not args.no_hostile)
            notes += run_notes(run, desk)
            if not args.skip_limits:
                print("... rate limit check (limits on, Redis)", flush=True)
                try:
                    limit_lines = check_rate_limits(desk, work)
                except Exception as exc:  # the load's results stand; say why this one is missing
                    limit_lines = [f"FAIL  rate limit check did not run: {type(exc).__name__}: {exc}"]
    except Exception as exc:  # report it: no numbers, but the reason
        notes.append(f"FAILED: {type(exc).__name__}: {exc}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    print(f"\nResults ({time.monotonic() - started:.0f} s in all)\n")
    if run is not None:
        print_table(run.mix, run.log, run.result.seconds)
        print()
        for line in group_lines(run.mix) + trouble_lines(run.mix, run.log):
            print(f"  {line}")
    print("\nNotes")
    print("\n".join(f"  {line}" for line in notes))
    if run is not None:
        print("\nChecks")
        print("\n".join(f"  {line}" for line in run_checks(run)))
    if limit_lines:
        print("\nRate limits (a separate server with limits on, same database and Redis)")
        print("\n".join(f"  {line}" for line in limit_lines))
    if args.keep:
        print(f"\nwrk output and server logs kept in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
