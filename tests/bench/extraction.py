"""Extraction speed through the API (run by hand, not part of pytest):

    python -m tests.bench.extraction [--database-url postgresql://…] [--runs 30]

On a fresh data directory with the example desk loaded (`factdesk demo`), times
`POST /api/v1/extractions` (in-process, through the whole Flask stack: auth, schema, reading,
scoring, matching of the check-worthy sentences, the write) for the restated report the demo
ships and for a 20,000-word transcript (one utterance a line). Beside it, in the same run, the
baseline: the reading alone (`read_report`: sentences, numbers, kinds, scores) with no HTTP and no
database. Goals (issue #13): the report under 150 ms median, the transcript under 3 s.
"""

import argparse
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from importlib.resources import files

from sqlmodel import Session

from claims.reporting.checkworthiness import load_scorer
from claims.reporting.services import read_report
from service import create_app
from service.accounts.services import UserService
from service.core.config import Settings
from service.core.database import make_engine
from service.ops.demo import load_demo
from service.ops.migrate import upgrade

REPORT = (files("service.ops.demo") / "report.txt").read_text(encoding="utf-8").strip()
GOALS_MS = {"report": 150.0, "transcript 20k words": 3000.0}

SPEAKERS = ["MODERATOR", "SENATOR HALE", "GOVERNOR ORTIZ"]
PHRASES = [
    "we cut taxes for {n} million families",
    "unemployment fell to {p} percent last year",
    "I never voted for that bill",
    "my opponent raised spending by {n} billion dollars",
    "thank you all for being here tonight",
    "the state ranks {k}th in the nation for schools",
    "crime went up {p} percent since {y}",
    "let me be clear about this",
    "we built more than {n} thousand homes",
    "that is simply not true",
]


def transcript(words: int, seed: int = 7) -> str:
    rng = random.Random(seed)
    lines, count = [], 0
    while count < words:
        parts = [
            rng.choice(PHRASES).format(
                n=rng.randint(2, 90), p=rng.randint(2, 19), k=rng.randint(2, 49), y=rng.randint(1995, 2020)
            )
            for _ in range(rng.randint(1, 4))
        ]
        line = f"{rng.choice(SPEAKERS)}: " + ". ".join(p[0].upper() + p[1:] for p in parts) + "."
        lines.append(line)
        count += len(line.split())
    return "\n".join(lines)


def timed(runs: int, call: Callable[[], object]) -> list[float]:
    call()  # warm-up: models loaded, caches filled
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--database-url", default="")
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(data_dir=data_dir, database_url=args.database_url, rate_limit_writes="off")
        engine = make_engine(settings.sqlalchemy_url)
        upgrade(engine)
        with Session(engine, expire_on_commit=False) as session:
            load_demo(session, settings)
            users = UserService(session)
            token = users.issue_token(users.add("bench-newsroom", "submitter"))
            session.commit()
        app = create_app(
            {
                "data_dir": data_dir,
                "database_url": args.database_url,
                "rate_limit_writes": "off",
                "log_level": "WARNING",
            }
        )
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        scorer = load_scorer()
        long_text = transcript(20_000)

        def post(text: str) -> Callable[[], object]:
            def call() -> object:
                response = client.post("/api/v1/extractions", json={"text": text}, headers=headers)
                assert response.status_code == 201, response.get_json()
                return response

            return call

        rows = []
        for name, text, runs in (("report", REPORT, args.runs), ("transcript 20k words", long_text, 3)):
            api = timed(runs, post(text))
            alone = timed(runs, lambda text=text: read_report(text, scorer))
            sentences = len(read_report(text, scorer))
            rows.append(
                (name, len(text), sentences, statistics.median(alone), statistics.median(api), max(api))
            )
        engine.dispose()

    database = "PostgreSQL" if args.database_url else "SQLite"
    print(f"Extraction through POST /api/v1/extractions, {database}, example desk loaded")
    print("| text | chars | sentences | reading alone, median | API, median | API, slowest | goal |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for name, chars, sentences, alone, median, slowest in rows:
        verdict = "PASS" if median < GOALS_MS[name] else "FAIL"
        print(
            f"| {name} | {chars:,} | {sentences:,} | {alone:.1f} ms | {median:.1f} ms | {slowest:.1f} ms "
            f"| < {GOALS_MS[name]:.0f} ms: {verdict} |"
        )


if __name__ == "__main__":
    main()
