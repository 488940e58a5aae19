"""Train the matching re-ranker (reranker.json) on CheckThat! 2020 Task 2's training tweets only.

    python -m claims.matching.train_reranker [--data ../shared/data/claim-retrieval/checkthat2020-task2]

The verified claims are indexed in memory exactly as the fact-check library indexes them, and
their sentence vectors computed as the embedding job computes them (about 2 minutes); each
training tweet's candidates are found as `Matcher` finds them (`IndexSearch`'s, then the nearest
vectors') and described by `retrieval.features` and `retrieval.sentence_features`; a logistic
regression learns, from pairs (the right claim against each wrong one of the same tweet), which
candidate is right, and a second one turns its score into a probability. Five-fold cross-validation on the training tweets is printed; dev is never read.
Needs scikit-learn (a tool for training only; the service reads the weights with numpy).
"""

import argparse
import csv
import gzip
import json
import re
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from claims.matching import retrieval
from claims.matching.encoder import Vectors, encoder
from claims.matching.retrieval import (
    FEATURES,
    WORD_FEATURES,
    choose_terms,
    features,
    idf,
    index_terms,
    sentence_features,
    word_vectors,
    words,
)
from claims.matching.vectors import encode_documents

DATA = Path(__file__).resolve().parents[2].parent / "shared/data/claim-retrieval/checkthat2020-task2"
# The index's candidates and the nearest sentence vectors' documents that join them. On train
# (5-fold MAP@5): 10 + 6 gave 0.914, as 8 + 8 did; 16 + 10 and 12 + 6 0.913; 48 + 10 0.917, at
# 3.6 times the features' cost in every match. A match asks the index for at least as many
# as it answers (10 by default).
CANDIDATES = 10
NEAREST = 6
# The words part's, on the index's candidates alone (it finds nothing by sentence vectors): with
# 16, MAP@5 0.874; 12, 0.866; 8, 0.858.
WORD_CANDIDATES = 16
LEXICAL = tuple(
    name for name in FEATURES if not name.startswith(("embedding", "soft", "sentence"))
)  # the ablation without word or sentence vectors (on the index's candidates alone)

# A tweet as scraped: "text pic.twitter.com/… — Name (@handle) Month D, YYYY".
_SIGNATURE = re.compile(r"\s*[—–]\s*([^—–]{0,80}?)\s*\(@\w+\)\s*[A-Z][a-z]+ \d{1,2}, \d{4}")
_URL = re.compile(r"https?://\S+|pic\.twitter\.com/\S+")
_CAMEL = re.compile(r"(?<=[a-z])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])|(?<=[A-Za-z])(?=\d)|_")


def clean_tweet(text: str) -> str:
    """A tweet as a claim: links dropped, the author's name kept from the signature, @handles and
    #hashtags split into words ("@JoeBiden" → "Joe Biden")."""

    def split(match: re.Match[str]) -> str:
        return " " + _CAMEL.sub(" ", match.group(1)) + " "

    text = _URL.sub(" ", text)
    text = _SIGNATURE.sub(lambda m: " " + m.group(1) + " ", text)
    text = re.sub(r"[@#](\w+)", split, text)
    return re.sub(r"\s+", " ", text).strip()


# -- the data --------------------------------------------------------------------------------


def read_claims(data: Path) -> dict[str, tuple[str, str]]:
    """Verified claims by id: (claim, title), in the file's order."""
    with gzip.open(data / "verified_claims.docs.tsv.gz", "rt", encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t")
        next(rows)
        return {row[0]: (row[1], row[2]) for row in rows}


def read_tweets(data: Path, split: str) -> dict[str, str]:
    with (data / split / "tweets.queries.tsv").open(encoding="utf-8", newline="") as f:
        rows = csv.reader(f, delimiter="\t")
        next(rows)
        return {row[0]: row[1] for row in rows}


def read_answers(data: Path, split: str) -> dict[str, set[str]]:
    answers: dict[str, set[str]] = {}
    for line in (data / split / "tweet-vclaim-pairs.qrels").read_text().splitlines():
        tweet, _, claim, _ = line.split()
        answers.setdefault(tweet, set()).add(claim)
    return answers


# -- an index in memory, as IndexSearch reads the database's --------------------------------


class MemoryIndex:
    """The fact-check library's full-text index of these documents, in memory: the same words,
    counts, choice of words and ranking by summed weight as `IndexSearch`."""

    def __init__(self, documents: Sequence[tuple[str, str | None]]) -> None:
        self.documents = list(documents)
        self.postings: dict[str, list[int]] = {}
        for seq, (text, title) in enumerate(self.documents):
            for term in set(retrieval.tokens(f"{text}\n{title or ''}")):
                self.postings.setdefault(term, []).append(seq)
        self.size = len(self.documents)
        lengths = [len(words(f"{text} {title or text}")) for text, title in self.documents]
        self.average_length = float(np.mean(lengths)) if lengths else 1.0
        self.vectors: Vectors | None = None  # every document's sentence vector, once `embed` ran

    def embed(self) -> None:
        self.vectors = encode_documents(self.documents)

    def nearest(self, query: Vectors, limit: int) -> list[int]:
        """Positions of the `limit` documents whose vectors are nearest, as `VectorSearch`'s."""
        if self.vectors is None or limit < 1:
            return []
        scores = self.vectors @ query
        top = np.argpartition(-scores, limit - 1)[:limit]
        return sorted(top.tolist(), key=lambda i: (-float(scores[i]), i))

    def holding(self, word: str) -> int:
        return len(self.postings.get(word, ()))

    def weight(self, word: str) -> float:
        return idf(self.size, self.holding(word))

    def candidates(self, text: str, limit: int) -> list[int]:
        """Positions of the documents sharing the text's chosen words, best first (ties: oldest)."""
        terms = index_terms(text, "sqlite")
        chosen = choose_terms(terms, {t: self.holding(t) for t in terms})
        summed: dict[int, float] = {}
        for term in chosen:
            weight = self.weight(term)
            for seq in self.postings[term]:
                summed[seq] = summed.get(seq, 0.0) + weight
        return sorted(summed, key=lambda seq: (-round(summed[seq], 6), seq))[:limit]


@dataclass
class Query:
    """One tweet's candidates, their features and which are right."""

    id: str
    candidates: list[str]
    matrix: npt.NDArray[np.float64]
    right: npt.NDArray[np.bool_]
    indexed: int = 0  # how many of the candidates the index found (the first ones)

    def words_only(self) -> "Query":
        """The index's candidates alone, described by WORD_FEATURES: the words model's data."""
        n = self.indexed
        return Query(self.id, self.candidates[:n], self.matrix[:n, : len(WORD_FEATURES)], self.right[:n], n)


def build(
    index: MemoryIndex,
    ids: Sequence[str],
    tweets: Mapping[str, str],
    answers: Mapping[str, set[str]],
    limit: int,
    nearest: int = NEAREST,
) -> list[Query]:
    """Candidates and features of every answered tweet: the index's `limit`, then the documents
    of the `nearest` sentence vectors not among them."""
    vectors = word_vectors()
    if index.vectors is None:
        index.embed()
    queries = []
    for tweet_id, wanted in answers.items():
        text = clean_tweet(tweets[tweet_id])
        query = encoder().encode([text])[0]
        found = index.candidates(text, limit)
        indexed = len(found)
        found += [i for i in index.nearest(query, nearest) if i not in set(found)]
        documents = [index.documents[i] for i in found]
        matrix = np.hstack([
            features(text, documents, index.weight, vectors, index.average_length),
            sentence_features(query, index.vectors[found]),  # type: ignore[index]  # embedded above
        ])  # fmt: skip
        names = [ids[i] for i in found]
        right = np.array([n in wanted for n in names], dtype=bool)
        queries.append(Query(tweet_id, names, matrix, right, indexed))
    return queries


# -- the model -------------------------------------------------------------------------------


@dataclass
class Fitted:
    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]
    calibration: tuple[float, float]

    def score(self, matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        raw: npt.NDArray[np.float64] = ((matrix - self.mean) / self.scale) @ self.weights
        return raw


def fit(queries: Sequence[Query], columns: Sequence[int], c: float = 1.0) -> Fitted:
    """Pairwise logistic regression (right minus wrong, within a tweet), then Platt scaling."""
    from sklearn.linear_model import LogisticRegression  # training only

    stacked = np.vstack([q.matrix[:, columns] for q in queries if len(q.matrix)])
    mean, scale = stacked.mean(axis=0), stacked.std(axis=0)
    scale[scale == 0] = 1.0
    pairs = []
    for q in queries:
        z = (q.matrix[:, columns] - mean) / scale
        for right in z[q.right]:
            pairs.append(right - z[~q.right])
    differences = np.vstack(pairs)
    x = np.vstack([differences, -differences])
    y = np.r_[np.ones(len(differences)), np.zeros(len(differences))]
    ranker = LogisticRegression(C=c, fit_intercept=False, max_iter=5000).fit(x, y)
    fitted = Fitted(mean, scale, ranker.coef_[0], (1.0, 0.0))
    raw = np.concatenate([fitted.score(q.matrix[:, columns]) for q in queries])
    labels = np.concatenate([q.right for q in queries])
    platt = LogisticRegression(C=100.0, max_iter=1000).fit(raw.reshape(-1, 1), labels)
    fitted.calibration = (float(platt.coef_[0][0]), float(platt.intercept_[0]))
    return fitted


def ranked(query: Query, scores: npt.NDArray[np.float64]) -> list[str]:
    """Candidates best first; ties keep the index's order (equal texts: the older first)."""
    order = sorted(range(len(scores)), key=lambda i: (-round(float(scores[i]), 9), i))
    return [query.candidates[i] for i in order]


def metrics(rankings: Mapping[str, list[str]], answers: Mapping[str, set[str]]) -> dict[str, float]:
    """MAP@1, MAP@5 (CheckThat!'s official measure) and recall@10."""
    totals = {"map@1": 0.0, "map@5": 0.0, "recall@10": 0.0}
    for query, wanted in answers.items():
        found = rankings.get(query, [])
        hits, precision = 0, 0.0
        for k, doc in enumerate(found[:5]):
            if doc in wanted:
                hits += 1
                precision += hits / (k + 1)
        totals["map@1"] += float(bool(found) and found[0] in wanted)
        totals["map@5"] += precision / min(len(wanted), 5)
        totals["recall@10"] += len(set(found[:10]) & wanted) / len(wanted)
    return {name: value / max(len(answers), 1) for name, value in totals.items()}


def folds(count: int, k: int = 5, seed: int = 0) -> Iterator[tuple[list[int], list[int]]]:
    order = np.random.default_rng(seed).permutation(count)
    for i in range(k):
        test = sorted(int(j) for j in order[i::k])
        chosen = set(test)
        yield [j for j in range(count) if j not in chosen], test


def cross_validate(
    queries: Sequence[Query], answers: Mapping[str, set[str]], columns: Sequence[int]
) -> dict[str, float]:
    rankings = {}
    for train, test in folds(len(queries)):
        model = fit([queries[i] for i in train], columns)
        for i in test:
            rankings[queries[i].id] = ranked(queries[i], model.score(queries[i].matrix[:, columns]))
    return metrics(rankings, answers)


def as_json(model: Fitted, names: Sequence[str]) -> dict[str, Any]:
    return {
        "features": list(names),
        "mean": [round(float(v), 8) for v in model.mean],
        "scale": [round(float(v), 8) for v in model.scale],
        "weights": [round(float(v), 8) for v in model.weights],
        "calibration": [round(v, 8) for v in model.calibration],
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--data", type=Path, default=DATA, help="CheckThat! 2020 Task 2 (English)")
    parser.add_argument("--candidates", type=int, default=CANDIDATES, help="candidates per look-up")
    parser.add_argument("--nearest", type=int, default=NEAREST, help="nearest vectors' documents added")
    parser.add_argument(
        "--word-candidates", type=int, default=WORD_CANDIDATES, help="candidates of the words part"
    )
    parser.add_argument("--out", type=Path, default=retrieval.MODEL_PATH)
    args = parser.parse_args()

    started = time.perf_counter()
    claims = read_claims(args.data)
    ids = list(claims)
    index = MemoryIndex([claims[i] for i in ids])
    index.embed()
    tweets, answers = read_tweets(args.data, "train"), read_answers(args.data, "train")
    queries = build(index, ids, tweets, answers, args.candidates, args.nearest)
    words_only = [q.words_only() for q in build(index, ids, tweets, answers, args.word_candidates, 0)]
    seconds = time.perf_counter() - started
    print(  # noqa: T201
        f"{len(queries)} training tweets, {args.candidates} candidates + {args.nearest} nearest "
        f"({args.word_candidates} for the words part): {seconds:.0f} s"
    )

    everything = list(range(len(FEATURES)))
    lexical = [FEATURES.index(name) for name in LEXICAL]
    word_columns = list(range(len(WORD_FEATURES)))
    first = {q.id: q.candidates for q in words_only}
    print("5-fold cross-validation on train    MAP@1  MAP@5  R@10")  # noqa: T201
    for name, result in (
        ("index candidates, as found", metrics(first, answers)),
        ("re-ranked, lexical features only", cross_validate(queries, answers, lexical)),
        ("re-ranked, no sentence vectors", cross_validate(words_only, answers, word_columns)),
        ("re-ranked, all features", cross_validate(queries, answers, everything)),
    ):
        print(f"  {name:34s} {result['map@1']:.3f}  {result['map@5']:.3f}  {result['recall@10']:.3f}")  # noqa: T201

    model = fit(queries, everything)
    without = fit(queries, lexical)
    words = fit(words_only, word_columns)
    data = {
        "trained_on": "CLEF CheckThat! 2020 Task 2 (English), training tweets only",
        "candidates": args.candidates,
        "nearest": args.nearest,
        "average_length": round(index.average_length, 4),
        **as_json(model, FEATURES),
        # Without sentence vectors, on the index's candidates alone: what an extraction's sentences
        # are matched with (`retrieval.word_reranker`).
        "words": {**as_json(words, WORD_FEATURES), "candidates": args.word_candidates},
        # Without word or sentence vectors, for the benchmark's comparison; never served.
        "ablation_without_embeddings": as_json(without, LEXICAL),
    }
    args.out.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")  # noqa: T201


if __name__ == "__main__":
    main()
