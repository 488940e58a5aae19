"""Retrieval quality of matching on CLEF CheckThat! 2020 Task 2 (English), beside plain BM25.

    python -m tests.bench.retrieval                    # SQLite, about 2 minutes
    python -m tests.bench.retrieval --database-url postgresql://postgres@127.0.0.1:5432/NAME
                                                       # PostgreSQL: NAME's public schema is dropped
    python -m tests.bench.retrieval --split train      # the tweets the re-ranker was trained on

The 10,375 verified claims (Snopes) are imported through the fact-check library, as ClaimReview
items (claimReviewed = the claim, headline = the article's title, url made up from the claim's id),
into a fresh database. Each dev tweet, cleaned (`train_reranker.clean_tweet`), is matched by
`Matcher.match` (the code of POST /api/v1/match). The same run computes, over the same words:

* BM25 (Okapi)      k1 1.2, b 0.75 over every claim and title, every word of the tweet; ties oldest first
* FTS5 bm25         SQLite only: the index's own ranking, every word of the tweet ORed
* index candidates  the matcher's first stage alone: the rarest words' summed weights
* re-ranked, no embeddings   the re-ranker trained without word vectors (ablation, never served)
* sentence vectors alone     the nearest all-MiniLM-L6-v2 vectors (`VectorSearch`), no re-ranking
* without sentence vectors   `Matcher` with the model's words part (`word_reranker`): what an
                    extraction's sentences are matched with
* Matcher.match     the service: the index's candidates and the nearest vectors', re-ranked with
                    wordllama word vectors and sentence vectors, relations applied

The fact-checks' sentence vectors are written by the embedding job's code (`embed_pending`) after
the import, and timed apart.

Official measure MAP@5; also MAP@1 and recall@10. Data: `../shared/data/claim-retrieval/` (read
its README); the re-ranker saw the train split only. The exit code is 0: it is a report.
"""

import argparse
import math
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from claims.library.services import FactCheckLibrary
from claims.matching import retrieval
from claims.matching.encoder import encoder
from claims.matching.retrieval import (
    FEATURES,
    IndexSearch,
    Reranker,
    features,
    word_reranker,
    word_vectors,
    words,
)
from claims.matching.services import Matcher
from claims.matching.train_reranker import (
    DATA,
    LEXICAL,
    clean_tweet,
    metrics,
    read_answers,
    read_claims,
    read_tweets,
)
from claims.matching.vectors import VectorSearch, embed_pending, forget_vectors
from service.accounts.services import UserService
from service.core.database import make_engine
from service.ops.migrate import upgrade

URL = "https://checkthat.example/snopes/{}"  # a made-up, unique review url per verified claim


def fresh_engine(url: str | None, directory: Path) -> sa.Engine:
    """A migrated, empty database: SQLite in `directory`, or `url`'s public schema dropped first."""
    if url is None:
        engine = make_engine(f"sqlite:///{directory / 'retrieval.db'}")
    else:
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.exec_driver_sql("DROP SCHEMA public CASCADE")
            conn.exec_driver_sql("CREATE SCHEMA public")
    upgrade(engine)
    return engine


def import_claims(engine: sa.Engine, claims: Mapping[str, tuple[str, str]]) -> tuple[float, dict[str, str]]:
    """Import every verified claim as a ClaimReview; seconds taken, and vclaim id by fact-check id."""
    items = [
        {
            "@context": "https://schema.org",
            "@type": "ClaimReview",
            "url": URL.format(claim_id),
            "claimReviewed": claim,
            "headline": title,
            "author": {"@type": "Organization", "name": "Snopes"},
        }
        for claim_id, (claim, title) in claims.items()
    ]
    started = time.perf_counter()
    with Session(engine) as session:
        editor = UserService(session).add("retrieval-bench", "editor")
        report = FactCheckLibrary(session).import_payload(items, editor)
        session.commit()
        seconds = time.perf_counter() - started
        if report.errors or report.imported != len(items):
            sys.exit(f"import failed: {report.imported} imported, errors {report.errors[:3]}")
        by_url = {URL.format(i): i for i in claims}
        rows = session.execute(sa.text("SELECT id, url FROM factcheck")).all()
    return seconds, {fck: by_url[url] for fck, url in rows}


class BM25:
    """Okapi BM25 over every document, in memory, on the words the matcher reads."""

    def __init__(self, documents: Sequence[tuple[str, str]]) -> None:
        self.bags = [Counter(words(f"{claim}\n{title}")) for claim, title in documents]
        self.lengths = np.array([sum(bag.values()) for bag in self.bags], dtype=float)
        self.average = float(self.lengths.mean())
        holding = Counter(word for bag in self.bags for word in bag)
        n = len(self.bags)
        self.idf = {w: math.log(1 + (n - k + 0.5) / (k + 0.5)) for w, k in holding.items()}
        self.postings: dict[str, list[int]] = {}
        for i, bag in enumerate(self.bags):
            for word in bag:
                self.postings.setdefault(word, []).append(i)

    def rank(self, text: str, limit: int = 10) -> list[int]:
        scores = np.zeros(len(self.bags))
        for word in set(words(text)):
            for i in self.postings.get(word, ()):
                tf = self.bags[i][word]
                norm = 1.2 * (0.25 + 0.75 * self.lengths[i] / self.average)
                scores[i] += self.idf[word] * tf * 2.2 / (tf + norm)
        order = np.argsort(-scores, kind="stable")[:limit]
        return [int(i) for i in order if scores[i] > 0]


def fts5_bm25(session: Session, text: str, limit: int = 10) -> list[str]:
    terms = retrieval.index_terms(text, "sqlite")
    if not terms:
        return []
    rows = session.execute(
        sa.text(
            "SELECT f.id FROM factcheck_fts JOIN factcheck f ON f.seq = factcheck_fts.rowid "
            "WHERE factcheck_fts MATCH :q ORDER BY factcheck_fts.rank, f.seq LIMIT :limit"
        ),
        {"q": " OR ".join('"' + t.replace('"', '""') + '"' for t in terms), "limit": limit},
    )
    return [row[0] for row in rows]


def ablation(model_data: Mapping[str, object]) -> Callable[[np.ndarray], np.ndarray]:
    """The re-ranker trained without word vectors (its weights are kept beside the served ones)."""
    part = model_data["ablation_without_embeddings"]
    assert isinstance(part, dict)
    columns = [FEATURES.index(name) for name in LEXICAL]
    mean, scale, weights = (np.array(part[k]) for k in ("mean", "scale", "weights"))
    return lambda matrix: ((matrix[:, columns] - mean) / scale) @ weights


def row(name: str, result: Mapping[str, float], extra: str = "") -> str:
    return (
        f"| {name:34s} | {result['map@1']:.3f} | {result['map@5']:.3f} | {result['recall@10']:.3f} | {extra}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--database-url", help="a PostgreSQL database to use (its public schema is dropped)")
    parser.add_argument("--split", default="dev", choices=("dev", "train"))
    args = parser.parse_args()

    claims = read_claims(args.data)
    ids = list(claims)
    tweets, answers = read_tweets(args.data, args.split), read_answers(args.data, args.split)
    queries = {tweet: clean_tweet(tweets[tweet]) for tweet in answers}
    with tempfile.TemporaryDirectory(prefix="factdesk-retrieval-") as directory:
        engine = fresh_engine(args.database_url, Path(directory))
        engine_name = engine.dialect.name
        seconds, vclaim_of = import_claims(engine, claims)
        started = time.perf_counter()
        embedded = embed_pending(lambda: Session(engine))
        embedding_seconds = time.perf_counter() - started
        retrieval.forget_counts()
        forget_vectors()
        word_vectors()  # loaded once, before timing
        model_data = __import__("json").loads(retrieval.MODEL_PATH.read_text())
        model = Reranker.from_json(model_data)
        lexical = ablation(model_data)
        bm25 = BM25([claims[i] for i in ids])

        rankings: dict[str, dict[str, list[str]]] = {
            k: {} for k in ("bm25", "fts5", "index", "lexical", "sentence", "words", "matcher")
        }
        times: dict[str, list[float]] = {"bm25": [], "matcher": []}
        with Session(engine) as session:
            matcher = Matcher(session)
            words_matcher = Matcher(session, word_reranker)
            matcher.match("warm up: the vectors are read once")
            by_key = {
                (c.kind, c.seq): c.id
                for c in IndexSearch(session).fetch(
                    [("factcheck", seq) for (seq,) in session.execute(sa.text("SELECT seq FROM factcheck"))]
                )
            }
            for tweet, text in queries.items():
                nearest, _ = VectorSearch.of(session).nearest(encoder().encode([text])[0], 10)
                rankings["sentence"][tweet] = [vclaim_of[by_key[key]] for key in nearest]
                started = time.perf_counter()
                rankings["bm25"][tweet] = [ids[i] for i in bm25.rank(text)]
                times["bm25"].append((time.perf_counter() - started) * 1000)
                if engine_name == "sqlite":
                    rankings["fts5"][tweet] = [vclaim_of[f] for f in fts5_bm25(session, text)]
                found = IndexSearch(session).candidates(text, model.candidates)
                names = [vclaim_of[c.id] for c in found.candidates]
                rankings["index"][tweet] = names
                if found.candidates:
                    documents = [(c.text, c.title) for c in found.candidates]
                    matrix = features(text, documents, found.idf, word_vectors(), model.average_length)
                    scores = lexical(matrix)
                    order = sorted(range(len(names)), key=lambda i: -round(float(scores[i]), 9))
                    rankings["lexical"][tweet] = [names[i] for i in order]
                rankings["words"][tweet] = [vclaim_of[m.id] for m in words_matcher.match(text, limit=10)]
                started = time.perf_counter()
                matches = matcher.match(text, limit=10)
                times["matcher"].append((time.perf_counter() - started) * 1000)
                rankings["matcher"][tweet] = [vclaim_of[m.id] for m in matches]
        engine.dispose()

    print(
        f"CheckThat! 2020 Task 2, {args.split}: {len(answers)} tweets against {len(claims):,} verified "
        f"claims, on {engine_name} (imported through the fact-check library in {seconds:.1f} s; "
        f"{embedded:,} sentence vectors written in {embedding_seconds:.0f} s)\n"
    )
    print(f"| {'ranking':34s} | MAP@1 | MAP@5 | R@10  | time per tweet")
    print(f"|{'-' * 36}|-------|-------|-------|---------------")
    ms = statistics.median
    print(
        row(
            "BM25 (Okapi, in memory)",
            metrics(rankings["bm25"], answers),
            f"median {ms(times['bm25']):.1f} ms",
        )
    )
    if engine_name == "sqlite":
        print(row("FTS5 bm25 alone", metrics(rankings["fts5"], answers)))
    print(row(f"index candidates ({model.candidates}), as found", metrics(rankings["index"], answers)))
    print(row("re-ranked, no embeddings (ablation)", metrics(rankings["lexical"], answers)))
    print(row("sentence vectors alone (MiniLM)", metrics(rankings["sentence"], answers)))
    print(row("Matcher without sentence vectors", metrics(rankings["words"], answers)))
    print(
        row(
            "Matcher.match (POST /api/v1/match)",
            metrics(rankings["matcher"], answers),
            f"median {ms(times['matcher']):.1f} ms",
        )
    )
    twins = Counter(" ".join(words(claim)) for claim, _ in claims.values())
    doubled = sum(
        1 for t, wanted in answers.items() if any(twins[" ".join(words(claims[w][0]))] > 1 for w in wanted)
    )
    print(
        f"\n{doubled} of the {len(answers)} tweets' answers have a twin in the collection (the same "
        "claim imported twice, quotes aside); ties are ranked oldest first, as the import order goes."
    )


if __name__ == "__main__":
    main()
