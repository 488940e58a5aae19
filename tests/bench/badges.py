"""Badge benchmark: Factdesk's `GET /badges/{claim_id}.svg` against a bare Flask SVG endpoint, under wrk.

    python -m tests.bench.badges            # from the repository root; about 1.5 minutes

Stores 10,000 published claims with bulk SQL in a migrated SQLite database, then runs, each
server on a free loopback port with 2 gunicorn sync workers, `wrk -t2 -c64 -d10s --latency
--timeout=20s -s badge_get.lua`:

1. bare          tests/bench/bare_badge_app.py: the same SVG bytes and headers from memory.
2. 200 uniform   Factdesk, uniformly random claim ids.
3. 200 Zipf      Factdesk, Zipf-distributed ids (s = 1.1, as real embeds are).
4. 304           Factdesk, uniformly random ids, each request with its id's ETag in If-None-Match.
5. 304, limit on run 4 again on a server with the public rate limit on (at a rate no run reaches):
                 what counting every request costs. Not a goal; the goals are measured with
                 limits off, because one loopback client stands for many readers.
6. bare again    to see whether the machine's load moved meanwhile; ratios use the mean of 1 and 6.

Prints a table (req/s, share of bare, p50, p99, errors = unexpected statuses + socket errors,
server CPU per request), diagnostics (checks of what was served, an in-process timing of where a
badge request's time goes), and PASS/FAIL per goal. The exit code is 0 either way: a report.
"""

import argparse
import bisect
import contextlib
import cProfile
import io
import math
import os
import pstats
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import sqlalchemy as sa

from claims.models import Claim
from claims.workflow import DEFAULT_SCALE
from service.core.config import Settings
from service.core.database import make_engine, utcnow
from service.core.ids import new_id
from service.core.text import claim_key
from tests.bench.intake import (
    CONNECTIONS,
    HOST,
    REPO,
    THREADS,
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
    print_details,
    run_wrk,
    serving,
    warm_up,
)

BENCH_DIR = Path(__file__).resolve().parent
BADGE_LUA = BENCH_DIR / "badge_get.lua"

CLAIMS = 10_000
ZIPF_S = 1.1
ZIPF_DRAWS = 200_000  # far more than a 10 s run asks for: each thread walks its own stretch
USER = "bench"
RATINGS = tuple(r.key for r in DEFAULT_SCALE)  # true, mostly_true, … unverifiable
WARM_UP = 40  # requests per server before measuring, to distinct ids
CHECKS = 30  # ids whose ETag and 304 are checked over HTTP before the runs
PROBE_REQUESTS = 2_000  # in-process requests per probe

LIMIT_ON = "100000000/minute"  # the public rate limit of the extra run: counted, never reached
GOAL_UNIFORM = 0.30
GOAL_ZIPF = 0.60
GOAL_304 = 0.70
GOAL_P99_MS = 50.0
NOISY = 0.15  # bare runs further apart than this: the machine's load moved during the benchmark
OTHER_LOAD = 0.10  # other processes' CPU during a run, in CPUs, above which the run is flagged

ADDED_LINE = re.compile(r"Added \S+ \((usr_\w+)\) as admin")


# -- the published claims -----------------------------------------------------------------------


@dataclass(frozen=True)
class Published:
    ids: list[str]  # in insertion order
    ratings: list[str]  # ratings[i] is the rating of ids[i]


def snapshot_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with this checkout first on PYTHONPATH, so servers and CLI import the code that runs here."""
    parts = [str(REPO), *(p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p)]
    return {**env, "PYTHONPATH": os.pathsep.join(dict.fromkeys(parts))}


def factdesk_cli(data_dir: Path, *args: str) -> str:
    """Run `factdesk ARGS` on `data_dir`; its standard output."""
    done = subprocess.run(
        [executable("factdesk"), *args],
        cwd=REPO,
        env=snapshot_env(factdesk_env(data_dir)),
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


def create_desk(data_dir: Path) -> str:
    """Migrate a fresh database and add the admin the claims are submitted by; the user's id."""
    factdesk_cli(data_dir, "db", "upgrade")
    added = factdesk_cli(data_dir, "users", "add", USER, "--role", "admin")
    match = ADDED_LINE.search(added)
    if match is None:
        raise BenchError(f"factdesk users add printed no user id:\n{added}")
    return match.group(1)


def insert_published(url: str, user_id: str, count: int, seed: int = 20251128) -> Published:
    """Insert `count` published claims with bulk SQL; ratings cycle over the scale's keys.

    Only `claim` rows: the badge reads status, rating and verdict_version of one row and nothing
    else, so the verdict, event and appearance rows a real publication also writes are left out
    (the claim pages and the feed would need them; the badge does not). Texts and claimants are
    the intake benchmark's made-up ones; the FTS5 trigger indexes `search_text` as usual.
    """
    vocab = Vocabulary.build()
    rng = random.Random(seed)
    rows = []
    for serial in range(count):
        data = make_claim(vocab, rng, serial)
        now = utcnow()
        rows.append(
            {
                "id": new_id("clm"),
                "text": data["text"],
                "text_key": claim_key(data["text"]),
                "claimant": data["claimant"],
                "language": None,
                "status": "published",
                "assignee_id": None,
                "rating": RATINGS[serial % len(RATINGS)],
                "verdict_version": 1,
                "pending_proposal_id": None,
                "needs_review": False,
                "duplicate_of": None,
                "submitted_by": user_id,
                "version": 1,
                "search_text": "\n".join([data["text"], data["claimant"]]),
                "created_at": now,
                "updated_at": now,
            }
        )
    engine = make_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(Claim.__table__.insert(), rows)  # type: ignore[attr-defined]
        raw = engine.raw_connection()  # outside any transaction, which a checkpoint needs
        try:
            raw.cursor().execute("PRAGMA wal_checkpoint(TRUNCATE)")
        finally:
            raw.close()
        with engine.connect() as conn:
            public = conn.execute(
                sa.text(
                    "SELECT count(*) FROM claim WHERE status = 'published' "
                    "AND verdict_version > 0 AND rating IS NOT NULL"
                )
            ).scalar_one()
    finally:
        engine.dispose()
    if public != count:
        raise BenchError(f"{public} published claims in the database after inserting {count}")
    return Published([r["id"] for r in rows], [r["rating"] for r in rows])


def zipf_ranks(n: int, s: float, draws: int, seed: int) -> list[int]:
    """`draws` 0-based ranks from a Zipf distribution over `n` items: P(rank k) ∝ 1 / (k + 1) ** s."""
    cum, total = [], 0.0
    for k in range(1, n + 1):
        total += k**-s
        cum.append(total)
    rng = random.Random(seed)
    return [min(bisect.bisect_left(cum, rng.random() * total), n - 1) for _ in range(draws)]


def write_zipf_sequence(path: Path, n: int, seed: int = 11) -> list[int]:
    """The Zipf run's requests as 1-based lines of the ids file; the popular ids are random ones."""
    order = list(range(n))
    random.Random(seed).shuffle(order)  # rank k is ids[order[k]], not the k-th claim inserted
    sequence = [order[rank] + 1 for rank in zipf_ranks(n, ZIPF_S, ZIPF_DRAWS, seed)]
    path.write_text("\n".join(map(str, sequence)) + "\n")
    return sequence


def write_ids(path: Path, published: Published, etags: dict[str, str]) -> None:
    """The file badge_get.lua reads: "id<TAB>etag" per claim ("-" before the ETags are known)."""
    lines = [
        f"{cid}\t{etags.get(rating, '-')}"
        for cid, rating in zip(published.ids, published.ratings, strict=True)
    ]
    path.write_text("\n".join(lines) + "\n")


def describe_zipf(sequence: list[int]) -> str:
    counts = Counter(sequence).most_common()
    total = len(sequence)
    top = {k: sum(c for _, c in counts[:k]) / total for k in (1, 10, 100, 1000)}
    return (
        f"Zipf s={ZIPF_S}: {total:,} draws, {len(counts):,} distinct ids; the most asked-for id has "
        f"{top[1]:.1%} of the draws, the top 10 {top[10]:.0%}, top 100 {top[100]:.0%}, "
        f"top 1,000 {top[1000]:.0%}"
    )


def ids_touched(sequence: list[int], requests: int) -> int:
    """How many distinct ids `requests` requests of the Zipf run asked for (each thread its stretch)."""
    per_thread = math.ceil(requests / THREADS)
    touched: set[int] = set()
    for t in range(THREADS):
        start = t * len(sequence) // THREADS
        touched.update(sequence[start : start + per_thread])
    return len(touched)


# -- servers ------------------------------------------------------------------------------------


@dataclass
class Context:
    work: Path
    data_dir: Path
    ids_file: Path
    zipf_file: Path
    duration: int
    profile: bool
    published: Published | None = None
    etags: dict[str, str] = field(default_factory=dict)
    other_load: dict[str, float] = field(default_factory=dict)  # result name: other processes' CPU share
    diagnostics: list[str] = field(default_factory=list)


def fetch(
    server: Server, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One GET: status, headers, body (4xx, 5xx and 304 too, which urllib raises)."""
    req = urllib.request.Request(server.url(path), headers=headers or {})
    try:
        with urllib.request.urlopen(req, timeout=30) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read()


def warm(server: Server, ids: list[str]) -> None:
    for cid in ids:
        warm_up(server, f"/badges/{cid}.svg", [None], None)


@contextmanager
def bare_server(ctx: Context, label: str) -> Iterator[Server]:
    port = free_port()
    command = [
        executable("gunicorn"),
        "-w",
        str(WORKERS),
        "-b",
        f"{HOST}:{port}",
        "tests.bench.bare_badge_app:app",
    ]
    with serving(
        "bare badge app", command, snapshot_env(dict(os.environ)), port, ctx.work / f"{label}.log"
    ) as srv:
        yield srv


@contextmanager
def factdesk_server(ctx: Context, public_limit: str = "off") -> Iterator[Server]:
    """`factdesk serve --workers 2`: gunicorn and, in the same process group, the job worker."""
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
    env = {**snapshot_env(factdesk_env(ctx.data_dir)), "FACTDESK_RATE_LIMIT_PUBLIC": public_limit}
    log = ctx.work / ("factdesk.log" if public_limit == "off" else "factdesk-limited.log")
    with serving("factdesk", command, env, port, log) as srv:
        yield srv


def machine_busy_seconds() -> float:
    """CPU seconds all CPUs have been busy (or stolen by the hypervisor) since boot, from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return math.nan
    user, nice, system, _idle, _iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def wrk_badges(name: str, server: Server, ctx: Context, expect: int, zipf: bool) -> Result:
    """One wrk run of badge_get.lua; notes how much CPU the rest of the machine took meanwhile."""
    args = [str(ctx.ids_file), str(expect)]
    if zipf:
        args += [str(ctx.zipf_file), str(THREADS)]
    busy_before = machine_busy_seconds()
    result = run_wrk(name, server, "/badges", BADGE_LUA, args, CONNECTIONS, ctx.duration)
    others = machine_busy_seconds() - busy_before - result.server_cpu_s - result.wrk_cpu_s
    ctx.other_load[name] = max(others, 0.0) / result.seconds
    return result


def run_bare(ctx: Context, label: str) -> Result:
    assert ctx.published is not None
    with bare_server(ctx, label) as server:
        warm(server, ctx.published.ids[:WARM_UP])
        status, headers, body = fetch(server, f"/badges/{ctx.published.ids[0]}.svg")
        result = wrk_badges(f"bare GET /badges/{{id}}.svg ({label})", server, ctx, 200, zipf=False)
    result.notes.append(f"answers {status}, {len(body)} bytes, ETag {headers.get('ETag')}")
    return result


def learn_etags(ctx: Context, server: Server) -> list[str]:
    """One badge per rating gives its ETag; check a sample of ids, a 304, a 404 and the bare bytes."""
    from tests.bench import bare_badge_app

    assert ctx.published is not None
    ids, ratings = ctx.published.ids, ctx.published.ratings
    notes: list[str] = []
    bodies: dict[str, bytes] = {}
    for rating in RATINGS:
        cid = ids[ratings.index(rating)]
        status, headers, body = fetch(server, f"/badges/{cid}.svg")
        if status != 200 or not body.startswith(b"<svg") or "ETag" not in headers:
            raise BenchError(f"GET /badges/{cid}.svg ({rating}) answered {status}: {body[:200]!r}")
        ctx.etags[rating], bodies[rating] = headers["ETag"], body
    notes.append(
        f"{len(set(ctx.etags.values()))} distinct ETags for the {len(RATINGS)} ratings; badges of "
        f"{min(map(len, bodies.values()))}-{max(map(len, bodies.values()))} bytes"
    )
    rng = random.Random(5)
    wrong = []
    for i in rng.sample(range(len(ids)), CHECKS):
        status, headers, _ = fetch(server, f"/badges/{ids[i]}.svg")
        if status != 200 or headers.get("ETag") != ctx.etags[ratings[i]]:
            wrong.append(f"{ids[i]} ({ratings[i]}): {status} {headers.get('ETag')}")
        status, _, body = fetch(server, f"/badges/{ids[i]}.svg", {"If-None-Match": ctx.etags[ratings[i]]})
        if status != 304 or body:
            wrong.append(f"{ids[i]} with If-None-Match: {status}, {len(body)} bytes")
    notes.append(
        f"{CHECKS} random ids checked: ETag as their rating's, 304 with it"
        + (f"  << WRONG: {'; '.join(wrong[:5])}" if wrong else ": all as expected")
    )
    status, _, _ = fetch(server, "/badges/clm_00000000000000000000000000.svg")
    notes.append(f"an unknown id answers {status}" + ("" if status == 404 else "  << EXPECTED 404"))
    same = bodies["mostly_false"] == bare_badge_app.SVG and ctx.etags["mostly_false"] == bare_badge_app.ETAG
    notes.append(
        "the bare app's SVG and ETag are those of Factdesk's 'Mostly false' badge"
        if same
        else "  << the bare app's SVG or ETag DIFFER from Factdesk's 'Mostly false' badge"
    )
    return notes


def job_worker_cpu(server: Server) -> float:
    """CPU seconds of the job worker that `factdesk serve` runs beside gunicorn, in its process group."""
    ticks = 0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields_ = stat.read_text().rsplit(")", 1)[1].split()
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError):
            continue
        if int(fields_[2]) == server.process.pid and b"service.cli\0worker" in cmdline:
            ticks += int(fields_[11]) + int(fields_[12])
    return ticks / os.sysconf("SC_CLK_TCK")


def run_factdesk(ctx: Context) -> list[Result]:
    assert ctx.published is not None
    runs = [
        ("factdesk 200, uniform ids", 200, False),
        (f"factdesk 200, Zipf s={ZIPF_S} ids", 200, True),
        ("factdesk 304, uniform ids + If-None-Match", 304, False),
    ]
    results = []
    with factdesk_server(ctx) as server:
        ctx.diagnostics += [f"[factdesk] {note}" for note in learn_etags(ctx, server)]
        write_ids(ctx.ids_file, ctx.published, ctx.etags)
        warm(server, ctx.published.ids[-WARM_UP:])
        worker_before, started = job_worker_cpu(server), time.monotonic()
        for name, expect, zipf in runs:
            try:
                results.append(wrk_badges(name, server, ctx, expect, zipf))
            except Exception as exc:  # report it and go on with the next run
                results.append(Result(name, error=f"{type(exc).__name__}: {exc}"))
        worker_cpu, seconds = job_worker_cpu(server) - worker_before, time.monotonic() - started
    ctx.diagnostics.append(
        f"[factdesk] the job worker beside gunicorn (counted in srv CPU) used {worker_cpu:.2f} s of CPU "
        f"in the {seconds:.0f} s of the three runs ({worker_cpu / seconds:.1%} of one core)"
    )
    return results


def run_limited(ctx: Context) -> list[Result]:
    """The 304 run again with the public rate limit on (counted in each worker's memory), as in
    production, at a limit one loopback client cannot reach: what counting costs."""
    assert ctx.published is not None
    with factdesk_server(ctx, public_limit=LIMIT_ON) as server:
        warm(server, ctx.published.ids[-WARM_UP:])
        return [wrk_badges(f"factdesk 304, public limit on ({LIMIT_ON})", server, ctx, 304, False)]


# -- in-process: where a badge request's time goes ----------------------------------------------

# (file suffix, function, label): the parts of a Factdesk badge request the probe reports.
PARTS = (
    ("flask/app.py", "__call__", "Flask's app(environ, start_response), in all"),
    ("service/public/fastpath.py", "__call__", "  the badge fast path"),
    ("service/web/ratelimit.py", "check_public", "    the public rate limit (off here)"),
    ("service/public/states.py", "cached_badge_state", "    the badge state: cache, else one row"),
    ("~", "<method 'execute' of 'sqlite3.Cursor' objects>", "      in SQLite itself"),
    ("service/public/badges.py", "badge_answer", "    the SVG, ETag and headers"),
    ("service/ops/logs.py", "write_access", "    the access line"),
    ("service/ops/metrics.py", "observe", "    metrics"),
)


def timed_requests(get: Callable[[int], object], count: int) -> float:
    """Milliseconds per call of get(i), i in 0..count-1."""
    started = time.perf_counter()
    for i in range(count):
        get(i)
    return (time.perf_counter() - started) * 1000 / count


def probe_in_process(ctx: Context) -> list[str]:
    """Time badge requests through the Flask test client, Factdesk and bare, and profile Factdesk's.

    The test client stands in for gunicorn (no sockets): both apps pay for it alike, so the
    difference is Factdesk's own work per request. The access lines go to /dev/null.
    """
    from service import create_app
    from tests.bench import bare_badge_app

    assert ctx.published is not None
    ids, ratings = ctx.published.ids, ctx.published.ratings
    rng = random.Random(3)
    picks = [rng.randrange(len(ids)) for _ in range(PROBE_REQUESTS)]
    app = create_app({"data_dir": str(ctx.data_dir)})
    factdesk_client, bare_client = app.test_client(), bare_badge_app.app.test_client()

    def factdesk_200(i: int) -> None:
        response = factdesk_client.get(f"/badges/{ids[picks[i]]}.svg")
        assert response.status_code == 200, response.status_code

    def factdesk_304(i: int) -> None:
        etag = ctx.etags[ratings[picks[i]]]
        response = factdesk_client.get(f"/badges/{ids[picks[i]]}.svg", headers={"If-None-Match": etag})
        assert response.status_code == 304, response.status_code

    def bare_200(i: int) -> None:
        assert bare_client.get(f"/badges/{ids[picks[i]]}.svg").status_code == 200

    def measure(get: Callable[[int], object]) -> float:
        timed_requests(get, 200)  # warm: imports, caches, compiled SQL
        return statistics.median(timed_requests(get, PROBE_REQUESTS) for _ in range(3))

    with open(os.devnull, "w") as devnull, contextlib.redirect_stderr(devnull):
        bare, ok, not_modified = measure(bare_200), measure(factdesk_200), measure(factdesk_304)
        profiler = cProfile.Profile()
        profiler.enable()
        timed_requests(factdesk_200, PROBE_REQUESTS)
        profiler.disable()
    lines = [
        (
            f"in-process, Flask test client, {PROBE_REQUESTS:,} requests x3 (median): bare {bare:.3f} ms/req; "
            f"Factdesk 200 {ok:.3f}, 304 {not_modified:.3f} ms/req (the 200s after the first {PROBE_REQUESTS:,} "
            "mostly from the badge state cache)"
        ),
    ]
    stats = pstats.Stats(profiler)
    cumulative: dict[tuple[str, str], float] = {}
    for (filename, _, function), (_, _, _, ct, _) in stats.stats.items():  # type: ignore[attr-defined]
        for suffix, name, _label in PARTS:
            if function == name and filename.endswith(suffix):
                cumulative[(suffix, name)] = cumulative.get((suffix, name), 0.0) + ct
    whole = cumulative.get(("flask/app.py", "__call__")) or math.nan
    lines.append("cProfile of the Factdesk 200s (the profiler slows calls; read the shares):")
    for suffix, name, label in PARTS:
        ct = cumulative.get((suffix, name), 0.0)
        lines.append(f"  {ct * 1000 / PROBE_REQUESTS:7.3f} ms/req {ct / whole:6.1%}  {label}")
    if ctx.profile:
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
        lines += ["full profile, by own time:", *out.getvalue().splitlines()]
    return lines


# -- report -------------------------------------------------------------------------------------


def print_table(results: list[Result], bare_rps: float, other_load: dict[str, float]) -> None:
    header = (
        f"{'name':<44} {'req/s':>8} {'of bare':>8} {'p50':>9} {'p99':>9} {'errors':>7} "
        f"{'srv CPU ms/req':>15} {'others':>7}"
    )
    print(header)
    print("-" * len(header))
    for r in results:
        if r.error:
            print(f"{r.name:<44} {'ERROR':>8}  {r.error.splitlines()[0][:70]}")
            continue
        print(
            f"{r.name:<44} {r.rps:>8.1f} {r.rps / bare_rps:>8.0%} {r.p50_ms:>7.1f}ms {r.p99_ms:>7.1f}ms "
            f"{r.errors:>7} {r.cpu_ms_per_request:>15.2f} {other_load.get(r.name, math.nan):>7.0%}"
        )
    print()
    print_details(results, unexpected="unexpected status")


def usable(result: Result | None) -> bool:
    return result is not None and result.error is None and result.responses > 0


def goal_lines(by_key: dict[str, Result], bare_rps: float) -> list[str]:
    lines = []
    for key, share, what in (
        ("uniform", GOAL_UNIFORM, "200s over uniform ids"),
        ("zipf", GOAL_ZIPF, f"200s over Zipf s={ZIPF_S} ids"),
        ("304", GOAL_304, "304s"),
    ):
        result = by_key.get(key)
        if not usable(result) or math.isnan(bare_rps):
            lines.append(f"FAIL  {what} >= {share:.0%} of bare: not measured")
            continue
        assert result is not None
        ratio = result.rps / bare_rps
        lines.append(
            f"{'PASS' if ratio >= share else 'FAIL'}  {what} >= {share:.0%} of bare: {result.rps:.0f} req/s "
            f"is {ratio:.1%} of {bare_rps:.0f}"
        )
    runs = [by_key.get(k) for k in ("uniform", "zipf", "304")]
    if all(usable(r) for r in runs):
        p99s = [r.p99_ms for r in runs if r is not None]
        bare_p99 = ", ".join(f"{by_key[k].p99_ms:.1f}" for k in ("bare1", "bare2") if usable(by_key.get(k)))
        lines.append(
            f"{'PASS' if max(p99s) < GOAL_P99_MS else 'FAIL'}  "
            f"p99 < {GOAL_P99_MS:.0f} ms in each Factdesk run: "
            f"uniform {p99s[0]:.1f}, Zipf {p99s[1]:.1f}, 304 {p99s[2]:.1f} ms (bare {bare_p99 or '-'} ms)"
        )
    else:
        lines.append(f"FAIL  p99 < {GOAL_P99_MS:.0f} ms in each Factdesk run: not measured")
    limited = by_key.get("304limited")
    if usable(limited) and not math.isnan(bare_rps):
        assert limited is not None
        lines.append(
            f"INFO  304s with the public rate limit on (not a goal): {limited.rps:.0f} req/s is "
            f"{limited.rps / bare_rps:.1%} of bare, p99 {limited.p99_ms:.1f} ms"
        )
    for result in by_key.values():
        if result.error is None and result.errors:
            lines.append(f"WARN  {result.name}: {result.errors} errors (unexpected status + socket)")
    return lines


def load_lines(by_key: dict[str, Result], other_load: dict[str, float]) -> list[str]:
    """What the numbers look like with the machine's other load and the queueing taken out."""
    runs = {k: r for k, r in by_key.items() if usable(r)}
    bare_cpu = [runs[k].cpu_ms_per_request for k in ("bare1", "bare2") if k in runs]
    lines = []
    if bare_cpu:
        per_request = statistics.mean(bare_cpu)
        shares = ", ".join(
            f"{k} {per_request / runs[k].cpu_ms_per_request:.0%}"
            for k in ("uniform", "zipf", "304")
            if k in runs
        )
        lines.append(
            f"bare srv CPU ms/req / Factdesk's (the req/s share if CPU alone set the pace, whatever else "
            f"runs on the machine): {shares}"
        )
    cpus = os.cpu_count() or 1
    used = ", ".join(
        f"{k} {(r.server_cpu_s + r.wrk_cpu_s) / r.seconds:.0%} + {other_load.get(r.name, math.nan):.0%}"
        for k, r in runs.items()
        if r.seconds
    )
    lines.append(
        f"CPU during each run, server + wrk + everything else on the machine, of the {cpus * 100}% "
        f"{cpus} CPUs give: {used}"
    )
    queue = ", ".join(f"{k} {CONNECTIONS / r.rps * 1000:.0f} ms" for k, r in runs.items() if r.rps)
    lines.append(
        f"{CONNECTIONS} connections always waiting on {WORKERS} workers: mean latency = "
        f"{CONNECTIONS} / req/s (Little's law): {queue}; so p99 < {GOAL_P99_MS:.0f} ms needs well over "
        f"{CONNECTIONS / GOAL_P99_MS * 1000:.0f} req/s"
    )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--duration", type=int, default=10, help="seconds per wrk run [10]")
    parser.add_argument("--claims", type=int, default=CLAIMS, help=f"published claims [{CLAIMS}]")
    parser.add_argument("--keep", action="store_true", help="keep the data directory and server logs")
    parser.add_argument("--profile", action="store_true", help="print the in-process cProfile in full")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))  # so the servers are stopped too
    # The in-process probe reads settings from this environment; the servers get factdesk_env's.
    for name in [n for n in os.environ if n.startswith("FACTDESK_")]:
        del os.environ[name]
    os.environ["FACTDESK_RATE_LIMIT_PUBLIC"] = "off"  # one probe client stands for many readers

    import service

    work = Path(tempfile.mkdtemp(prefix="factdesk-bench-badges-"))
    ctx = Context(work, work / "desk", work / "ids.tsv", work / "zipf.txt", args.duration, args.profile)
    started = time.monotonic()
    by_key: dict[str, Result] = {}
    print(
        f"Factdesk badge benchmark: {WORKERS} gunicorn sync workers, wrk -t{THREADS} -c{CONNECTIONS} "
        f"-d{args.duration}s --timeout={WRK_TIMEOUT}; {args.claims:,} published claims; {os.cpu_count()} CPUs"
    )
    print(f"code: {Path(service.__file__).parent.parent}; work dir {work}")
    if Path(service.__file__).resolve().parent.parent != REPO:
        print(f"WARNING: this process imports `service` from outside {REPO}; set PYTHONPATH={REPO}")
    try:
        ctx.data_dir.mkdir()
        print("... storing the published claims", flush=True)
        user_id = create_desk(ctx.data_dir)
        url = Settings.from_env({}, data_dir=str(ctx.data_dir)).sqlalchemy_url
        t0 = time.perf_counter()
        ctx.published = insert_published(url, user_id, args.claims)
        ctx.diagnostics.append(
            f"stored {args.claims:,} published claims (claim rows only) with bulk SQL in "
            f"{time.perf_counter() - t0:.1f} s; ratings cycle over {', '.join(RATINGS)}"
        )
        write_ids(ctx.ids_file, ctx.published, {})
        sequence = write_zipf_sequence(ctx.zipf_file, len(ctx.published.ids))
        ctx.diagnostics.append(describe_zipf(sequence))

        scenarios: list[tuple[list[str], str, Callable[[], list[Result]]]] = [
            (["bare1"], "bare badge app", lambda: [run_bare(ctx, "1st")]),
            (["uniform", "zipf", "304"], "factdesk", lambda: run_factdesk(ctx)),
            (["304limited"], "factdesk with the public limit on", lambda: run_limited(ctx)),
            (["bare2"], "bare badge app again", lambda: [run_bare(ctx, "2nd")]),
        ]
        for keys, title, run in scenarios:
            print(f"... {title}", flush=True)
            try:
                for key, result in zip(keys, run(), strict=True):
                    by_key[key] = result
            except Exception as exc:  # report it and go on with the next scenario
                for key in keys:
                    by_key[key] = Result(f"{title} [{key}]", error=f"{type(exc).__name__}: {exc}")
        zipf = by_key.get("zipf")
        if zipf is not None and usable(zipf):
            zipf.notes.append(f"asked for {ids_touched(sequence, zipf.requests):,} distinct ids")
        print("... in-process probe", flush=True)
        try:
            ctx.diagnostics += probe_in_process(ctx)
        except Exception as exc:
            ctx.diagnostics.append(f"in-process probe FAILED: {type(exc).__name__}: {exc}")
    except Exception as exc:  # the set-up failed: nothing to measure, but still a report
        ctx.diagnostics.append(f"set-up FAILED: {type(exc).__name__}: {exc}")
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)

    bares = [by_key[k].rps for k in ("bare1", "bare2") if usable(by_key.get(k))]
    bare_rps = statistics.mean(bares) if bares else math.nan
    print(
        f"\nResults ({time.monotonic() - started:.0f} s in all; 'of bare' = of the mean bare req/s; "
        "'others' = CPU the rest of the machine used meanwhile, 100% = one CPU)\n"
    )
    print_table(list(by_key.values()), bare_rps, ctx.other_load)
    print("\nDiagnostics")
    for line in ctx.diagnostics + load_lines(by_key, ctx.other_load):
        print(f"  {line}")
    print("\nGoals")
    lines = goal_lines(by_key, bare_rps)
    if len(bares) == 2 and abs(bares[0] - bares[1]) / bare_rps > NOISY:
        lines.append(
            f"NOTE  the two bare runs differ by {abs(bares[0] - bares[1]) / bare_rps:.0%} "
            f"({bares[0]:.0f} and {bares[1]:.0f} req/s): the machine's load moved; run again to compare"
        )
    busiest = max(ctx.other_load.items(), key=lambda item: item[1], default=None)
    if busiest is not None and busiest[1] > OTHER_LOAD:
        lines.append(
            f"NOTE  other processes took up to {busiest[1]:.0%} of a CPU during a run ({busiest[0]}): "
            "the req/s are not the servers' own"
        )
    print("\n".join(lines))
    failed = sum(line.startswith("FAIL") for line in lines)
    print(f"\n{4 - failed} of 4 goals met." if failed else "\nAll goals met.")
    if args.keep:
        print(f"Data and server logs kept in {work}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
