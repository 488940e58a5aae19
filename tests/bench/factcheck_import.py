"""Fact-check import benchmark: a DataFeed of 30,000 ClaimReviews through `POST /api/v1/factchecks`,
first import and re-imports, beside the naive way (one ORM object and a flush per item).

    python -m tests.bench.factcheck_import                       # SQLite; about a minute
    python -m tests.bench.factcheck_import --database-url postgresql://postgres@127.0.0.1:5432/test
    python -m tests.bench.factcheck_import --items 5000          # a quicker, smaller run

SQLite runs in a temporary directory. With `--database-url`, PostgreSQL runs too: the benchmark
creates the database `factdesk_bench_factcheck` on that server (connecting through the URL's
database) and drops it at the end. Each engine's database is migrated to the head first.

The feed is made up but shaped as real ones are (see tests/claims/library/data): ~50 publishers,
ratings as strings, ints or absent, dates with and without zones, an itemReviewed with author and
appearance, a short description; about 900 bytes of JSON per item. Rows, per engine:

* api           `POST /api/v1/factchecks` through the Flask test client (the whole request: body
                checks, JSON decoding, parsing, bulk writes, commit; no sockets), as an editor.
* library       `FactCheckLibrary.import_payload` in process, on the already decoded JSON.
* naive         the baseline, on the same decoded JSON and the same parser: per item a SELECT by
                url, then one `FactCheck` ORM object added and flushed (or its changed attributes
                flushed); one commit at the end.

Each runs three times on an empty table: first import (all new), the same feed again (all
unchanged), and the feed with 10% of the items changed. The table is emptied between rows.
Prints seconds, items per second and the speed-up over naive; the exit code is 0 whatever the
numbers: it is a report.
"""

import argparse
import copy
import json
import random
import resource
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlmodel import Session, select

from claims.library.claimreview import ParsedItem, parse_payload
from claims.library.models import FactCheck
from claims.library.services import FactCheckLibrary, row_of
from service import create_app
from service.accounts.models import User
from service.accounts.services import UserService
from service.core.database import make_engine, utcnow
from service.ops.migrate import upgrade

PG_DATABASE = "factdesk_bench_factcheck"
URL = "/api/v1/factchecks"

PUBLISHERS = [
    ("AFP Fact Check", "https://factcheck.afp.com/"), ("Africa Check", "https://africacheck.org"),
    ("Agência Lupa", "https://piaui.folha.uol.com.br/lupa"), ("BOOM", "https://www.boomlive.in"),
    ("India Today", "https://www.indiatoday.in"), ("Vishvas News", "https://www.vishvasnews.com"),
    ("Full Fact", "https://fullfact.org"), ("PolitiFact", "https://www.politifact.com"),
    ("Correctiv", "https://correctiv.org"), ("Maldita", "https://maldita.es"),
    ("台灣事實查核中心", "https://tfc-taiwan.org.tw"), ("Deutsche Presse-Agentur", "https://www.dpa.com"),
] + [(f"Fact Desk {n}", f"https://checks{n}.example.org") for n in range(38)]  # fmt: skip
RATINGS = [
    ("False", "1", "5"), ("Falso", 1, 5), ("Mostly false", "2", "5"), ("Misleading", "2", "5"),
    ("Half true", "3", "5"), ("Mostly true", "4", "5"), ("True", "5", "5"), ("Incorrect \r", 1, 6),
    ("Falso", 4, 6), ("錯誤", None, "5"), ("Missing context", "", "5"),
    ("The photo is from 2015, not from this year's floods.", None, None),
]  # fmt: skip
DATES = [
    "2024-03-{d:02d}",
    "2024-03-{d:02d} 20:02",
    "2024-03-{d:02d}T12:26:08+5:30",
    "2024-03-{d:02d}T10:46:13+0200",
]
WORDS = [
    "minister", "said", "the", "government", "spent", "million", "on", "the", "new", "hospital",
    "bridge", "vaccine", "tunnel", "school", "budget", "police", "crime", "rate", "rose", "fell",
    "percent", "since", "last", "year", "video", "shows", "photo", "of", "flood", "fire", "protest",
    "election", "votes", "counted", "president", "claimed", "that", "country", "signed", "resolution",
    "united", "nations", "border", "troops", "farmers", "prices", "fuel", "water", "tax", "health",
]  # fmt: skip


def make_review(n: int, rng: random.Random) -> dict[str, Any]:
    """One made-up ClaimReview as publishers write them."""
    publisher, site = PUBLISHERS[n % len(PUBLISHERS)]
    label, value, best = RATINGS[n % len(RATINGS)]
    claim = " ".join(rng.choice(WORDS) for _ in range(rng.randint(12, 24))).capitalize() + f" ({n})."
    rating: dict[str, Any] = {"@type": "Rating", "alternateName": label, "worstRating": "1"}
    if value is not None:
        rating["ratingValue"] = value
    if best is not None:
        rating["bestRating"] = best
    day = 1 + n % 28
    return {
        "@context": "http://schema.org",
        "@type": "ClaimReview",
        "url": f"{site.rstrip('/')}/checks/{n}-{'-'.join(claim.lower().split()[:4])}",
        "claimReviewed": claim,
        "name": f"Fact check: {claim[:60]}",
        "description": " ".join(rng.choice(WORDS) for _ in range(12)),
        "datePublished": DATES[n % len(DATES)].format(d=day),
        "author": {"@type": "Organization", "name": publisher, "url": site},
        "itemReviewed": {
            "@type": ("Claim", "CreativeWork", "creativeWork")[n % 3],
            "author": {"@type": "Person", "name": f"Social media user {n % 997}"},
            "datePublished": f"2024-02-{day:02d}",
            "appearance": [{"@type": "CreativeWork", "url": f"https://social.example.com/posts/{n}"}],
        },
        "reviewRating": rating,
    }


def make_feed(count: int, seed: int = 20261201) -> dict[str, Any]:
    rng = random.Random(seed)
    return {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "dateModified": "2026-12-01T00:00:00Z",
        "dataFeedElement": [
            {"@type": "DataFeedItem", "dateCreated": "2026-12-01", "item": [make_review(n, rng)]}
            for n in range(count)
        ],
    }


def changed(feed: dict[str, Any], share: float = 0.10) -> dict[str, Any]:
    """The feed with `share` of its reviews re-rated (every tenth, for 10%)."""
    again = copy.deepcopy(feed)
    step = round(1 / share)
    for n, element in enumerate(again["dataFeedElement"]):
        if n % step == 0:
            element["item"][0]["reviewRating"]["alternateName"] = "Corrected: mostly true"
    return again


# -- the three ways -------------------------------------------------------------------------------


def naive_import(session: Session, payload: object, user: User) -> dict[str, int]:
    """The baseline: per item a SELECT, then an ORM object (or its changes) flushed."""
    counts = {"imported": 0, "updated": 0, "skipped": 0, "errors": 0}
    for item in parse_payload(payload):
        if not isinstance(item, ParsedItem):
            counts["errors"] += 1
            continue
        row = row_of(item)
        found = session.exec(select(FactCheck).where(FactCheck.url == item.url)).first()
        if found is None:
            session.add(FactCheck(**row, imported_by=user.id))
            counts["imported"] += 1
        elif found.content_hash == row["content_hash"]:
            counts["skipped"] += 1
            continue
        else:
            for name, value in row.items():
                setattr(found, name, value)
            found.updated_at = utcnow()
            counts["updated"] += 1
        session.flush()
    return counts


class Engine:
    """One database, migrated, with an editor and an app on it."""

    def __init__(self, name: str, url: str, data_dir: Path) -> None:
        self.name, self.url = name, url
        self.engine = make_engine(url)
        upgrade(self.engine)
        with Session(self.engine, expire_on_commit=False) as session:
            users = UserService(session)
            self.user = users.add("bench-editor", "editor")
            self.token = users.issue_token(self.user)
            session.commit()
        self.app = create_app(
            {
                "database_url": url,
                "data_dir": str(data_dir),
                "rate_limit_writes": "off",
                "JOBS_IMMEDIATE": True,
            }
        )
        self.client = self.app.test_client()

    def empty(self) -> None:
        with self.engine.begin() as conn:
            conn.execute(sa.text("DELETE FROM factcheck"))

    def rows(self) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM factcheck")).scalar_one())

    def api(self, body: bytes) -> dict[str, int]:
        response = self.client.post(
            URL,
            data=body,
            headers={"Authorization": f"Bearer {self.token}", "Content-Type": "application/json"},
        )
        if response.status_code != 200:
            raise RuntimeError(f"{self.name}: {response.status_code} {response.get_data(as_text=True)[:500]}")
        report = response.get_json()
        return {**report, "errors": len(report["errors"])}

    def in_session(self, work: Callable[[Session, User], dict[str, int]]) -> dict[str, int]:
        with Session(self.engine, expire_on_commit=False) as session:
            user = session.get(User, self.user.id)
            assert user is not None
            done = work(session, user)
            session.commit()
        return done

    def dispose(self) -> None:
        self.app.extensions["factdesk.engine"].dispose()
        self.engine.dispose()


def timed(run: Callable[[], dict[str, int]]) -> tuple[float, dict[str, int]]:
    started = time.perf_counter()
    report = run()
    return time.perf_counter() - started, report


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(db: Engine, feed: dict[str, Any], count: int) -> list[str]:
    """The table's rows for one engine."""
    again = changed(feed)
    first = json.dumps(feed).encode()
    bodies = {"first": first, "same": first, "10% changed": json.dumps(again).encode()}
    payloads = {"first": feed, "same": feed, "10% changed": again}
    results: dict[tuple[str, str], tuple[float, dict[str, int]]] = {}
    rss_before = peak_rss_mb()
    for how in ("api", "library", "naive"):
        db.empty()
        for step in ("first", "same", "10% changed"):
            if how == "api":
                body = bodies[step]
                results[how, step] = timed(lambda body=body: db.api(body))
            elif how == "library":
                payload = payloads[step]
                results[how, step] = timed(
                    lambda payload=payload: db.in_session(
                        lambda s, u: _counts(FactCheckLibrary(s).import_payload(payload, u))
                    )
                )
            else:
                payload = payloads[step]
                results[how, step] = timed(
                    lambda payload=payload: db.in_session(lambda s, u: naive_import(s, payload, u))
                )
            if db.rows() != count:
                raise RuntimeError(f"{db.name} {how} {step}: {db.rows()} rows, expected {count}")
        if how == "api":
            rss_after_api = peak_rss_mb()
    lines = [
        f"{db.name}: {count:,} items, body {len(first) / 1e6:.1f} MB",
        f"  {'how':<8} {'import':<12} {'seconds':>8} {'items/s':>9} {'vs naive':>9}   imported/updated/skipped/errors",
    ]
    for step in ("first", "same", "10% changed"):
        naive_seconds = results["naive", step][0]
        for how in ("api", "library", "naive"):
            seconds, report = results[how, step]
            counts = "/".join(str(report[k]) for k in ("imported", "updated", "skipped", "errors"))
            lines.append(
                f"  {how:<8} {step:<12} {seconds:>8.2f} {count / seconds:>9,.0f} {naive_seconds / seconds:>8.1f}x   {counts}"
            )
    lines.append(
        f"  peak RSS of this process grew {rss_after_api - rss_before:.0f} MB during the API imports"
    )
    lines.append(_phases(feed, first))
    return lines


def _counts(report: Any) -> dict[str, int]:
    return {
        "imported": report.imported,
        "updated": report.updated,
        "skipped": report.skipped,
        "errors": len(report.errors),
    }


def _phases(feed: dict[str, Any], body: bytes) -> str:
    """Where an import's time goes before the database: decoding the body, reading the items."""
    started = time.perf_counter()
    json.loads(body)
    decoded = time.perf_counter()
    items = parse_payload(feed)
    parsed = time.perf_counter()
    for item in items:
        if isinstance(item, ParsedItem):
            row_of(item)
    rows = time.perf_counter()
    return (
        f"  phases (in process, no database): JSON decoding {decoded - started:.2f} s, "
        f"parse_payload {parsed - decoded:.2f} s, rows and hashes {rows - parsed:.2f} s"
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--items", type=int, default=30_000, help="ClaimReviews in the feed [30000]")
    parser.add_argument("--database-url", help="a PostgreSQL server to run on too (postgresql://…/db)")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="factdesk-bench-factcheck-"))
    admin_url = None
    print(f"Fact-check import benchmark: a DataFeed of {args.items:,} ClaimReviews", flush=True)
    feed = make_feed(args.items)
    try:
        engines = [("SQLite", f"sqlite:///{work / 'factdesk.db'}")]
        if args.database_url:
            admin_url = args.database_url
            engines.append(("PostgreSQL", admin_url.rsplit("/", 1)[0] + "/" + PG_DATABASE))
            _pg(admin_url, f"DROP DATABASE IF EXISTS {PG_DATABASE}", f"CREATE DATABASE {PG_DATABASE}")
        for name, url in engines:
            db = Engine(name, url, work / name.lower())
            try:
                print("\n".join(measure(db, feed, args.items)), flush=True)
            finally:
                db.dispose()
    finally:
        shutil.rmtree(work, ignore_errors=True)
        if admin_url:
            _pg(admin_url, f"DROP DATABASE IF EXISTS {PG_DATABASE}")
    return 0


def _pg(url: str, *statements: str) -> None:
    admin = make_engine(url, autocommit=True)
    try:
        with admin.connect() as conn:
            for statement in statements:
                conn.execute(sa.text(statement))
    finally:
        admin.dispose()


if __name__ == "__main__":
    sys.exit(main())
