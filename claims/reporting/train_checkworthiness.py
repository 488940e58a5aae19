"""Train the check-worthiness model and write `claims/reporting/checkworthiness.json.gz`.

`python -m claims.reporting.train_checkworthiness [--data ../shared/data/checkworthiness]` rebuilds
the weights file from public data, deterministically. Needs scikit-learn (a tool here, never
imported by the service); the benchmark `tests.bench.checkworthiness` reuses `fit`.
"""

import argparse
import base64
import csv
import gzip
import io
import json
import random
import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse  # type: ignore[import-untyped]  # scipy ships no stubs; arrays in, arrays out
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from claims.reporting import checkworthiness as cw

DEFAULT_DATA = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "checkworthiness"
CLAIMBUSTER = "claimbuster-2.5xNCS.json.gz"
CHECKTHAT = "checkthat2020-task5-train-50debates.tsv.gz"

# Chosen by 5-fold cross-validation on ClaimBuster (see tests/bench/checkworthiness.py).
C = 3.0  # inverse L2 strength of the logistic regression
MIN_DF = 2  # a bucket seen in fewer training sentences is left out (weight 0)
HAND_SCALE = 0.3  # the hand features' scale beside the two unit-length n-gram blocks
SEED = 13
# CheckThat! 2020 Task 5: the debates held out for the benchmark, drawn once with this seed.
CHECKTHAT_TEST_DEBATES = 15
CHECKTHAT_SPLIT_SEED = 2020


@dataclass(frozen=True)
class Sentence:
    """One labelled sentence; `group` is its debate (CheckThat!) or "claimbuster"."""

    text: str
    label: int
    group: str
    line: int = 0


def load_claimbuster(data: Path) -> list[Sentence]:
    """ClaimBuster's 9,674 debate sentences: 1 = check-worthy factual (CFS), 0 = not."""
    with gzip.open(data / CLAIMBUSTER, "rt", encoding="utf-8") as file:
        rows = json.load(file)
    return [Sentence(row["text"], int(row["label"]), "claimbuster", int(row["sentence_id"])) for row in rows]


def load_checkthat(data: Path) -> list[Sentence]:
    """CheckThat! 2020 Task 5's 50 debates and speeches, one sentence per line, in order."""
    with gzip.open(data / CHECKTHAT, "rt", encoding="utf-8", newline="") as file:
        reader = csv.DictReader(file, delimiter="\t", quoting=csv.QUOTE_NONE)
        return [
            Sentence(row["text"], int(row["label"]), row["debate"], int(row["line_number"])) for row in reader
        ]


def checkthat_split(sentences: Sequence[Sentence]) -> tuple[list[str], list[str]]:
    """The benchmark's fixed split of CheckThat! debates: (training debates, test debates)."""
    debates = sorted({s.group for s in sentences})
    draw = random.Random(CHECKTHAT_SPLIT_SEED)  # noqa: S311  # a reproducible split, not a secret
    test = sorted(draw.sample(debates, CHECKTHAT_TEST_DEBATES))
    return [d for d in debates if d not in test], test


_WORDS = re.compile(r"\w+")


def text_key(text: str) -> str:
    """A sentence's identity across the two data sets (they share the 2016 debates)."""
    return " ".join(_WORDS.findall(text.lower()))


def design_matrix(counts: cw.Counts, idf: np.ndarray, n_rows: int) -> Any:
    """The scipy matrix the logistic regression sees: tf-idf blocks, then the scaled hand features."""
    width = cw.WORD_BUCKETS + cw.CHAR_BUCKETS
    ngrams = sparse.csr_matrix(
        (cw.tfidf_values(counts, idf, n_rows), (counts.rows, counts.cols)), shape=(n_rows, width)
    )
    return sparse.hstack([ngrams, sparse.csr_matrix(counts.hand * HAND_SCALE)], format="csr")


def fit(texts: Sequence[str], labels: Sequence[int], *, c: float = C) -> dict[str, Any]:
    """Train on labelled sentences; the weights as `checkworthiness.Scorer` reads them."""
    y = np.asarray(labels, dtype=np.int64)
    counts = cw.count_features(texts)
    n = len(texts)
    width = cw.WORD_BUCKETS + cw.CHAR_BUCKETS
    df = np.bincount(counts.cols, minlength=width)
    kept = df >= MIN_DF
    # Rounded to float16 as stored, so the served model is exactly the one trained.
    idf = np.where(kept, np.log((1 + n) / (1 + df)) + 1, 0.0).astype(np.float16).astype(np.float64)
    x = design_matrix(counts, idf, n)
    columns = np.flatnonzero(np.concatenate([kept, np.ones(len(cw.HAND_FEATURES), dtype=bool)]))
    model = LogisticRegression(C=c, class_weight="balanced", max_iter=5000, tol=1e-6)
    model.fit(x[:, columns], y)
    coef = np.zeros(x.shape[1])
    coef[columns] = model.coef_[0]
    ngram_columns = np.flatnonzero(kept)
    return {
        "format": cw.FORMAT,
        "word_buckets": cw.WORD_BUCKETS,
        "char_buckets": cw.CHAR_BUCKETS,
        "columns": _encode(np.diff(ngram_columns, prepend=0).astype("<u4")),
        "idf": _encode(idf[ngram_columns].astype("<f2")),
        "coef": _encode(coef[ngram_columns].astype("<f4")),
        "hand_features": list(cw.HAND_FEATURES),
        "hand_coef": [round(float(v), 8) for v in coef[width:]],
        "hand_scale": HAND_SCALE,
        "intercept": round(float(model.intercept_[0]), 8),
        "threshold": 0.5,
    }


def _encode(array: np.ndarray) -> str:
    return base64.b64encode(array.tobytes()).decode("ascii")


def training_set(claimbuster: Sequence[Sentence], checkthat: Sequence[Sentence]) -> list[Sentence]:
    """What the shipped model learns from: both data sets whole."""
    return [*claimbuster, *checkthat]


def without(sentences: Sequence[Sentence], held_out: Sequence[Sentence]) -> list[Sentence]:
    """`sentences` less any whose text is among `held_out`'s (the two data sets share debates)."""
    keys = {text_key(s.text) for s in held_out}
    return [s for s in sentences if text_key(s.text) not in keys]


def fit_sentences(sentences: Sequence[Sentence], *, c: float = C) -> dict[str, Any]:
    """`fit` on `Sentence`s."""
    return fit([s.text for s in sentences], [s.label for s in sentences], c=c)


def out_of_fold(sentences: Sequence[Sentence], extra: Sequence[Sentence] = (), folds: int = 5) -> np.ndarray:
    """Each sentence's model score (before the rules) from a model trained on the other folds
    (stratified, fixed seed) and on `extra` less the texts of the fold scored."""
    y = np.array([s.label for s in sentences])
    scores = np.zeros(len(y))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=SEED)
    for train, test in splitter.split(np.zeros(len(y)), y):
        held_out = [sentences[i] for i in test]
        scorer = cw.Scorer(fit_sentences([*(sentences[i] for i in train), *without(extra, held_out)]))
        scores[test] = scorer.raw_scores([s.text for s in held_out])
    return scores


def best_threshold(scores: np.ndarray, labels: Sequence[int]) -> tuple[float, float]:
    """The cut with the best F1 of the positive class, on a 0.01 grid: (threshold, F1)."""
    y = np.asarray(labels) == 1
    best = (0.5, -1.0)
    for t in np.round(np.arange(0.05, 0.96, 0.01), 2):
        picked = scores >= t
        tp = int(np.sum(picked & y))
        f1 = 2 * tp / (int(picked.sum()) + int(y.sum())) if tp else 0.0
        if f1 > best[1]:
            best = (float(t), f1)
    return best


def write_weights(weights: dict[str, Any], path: Path) -> None:
    """Gzipped JSON with no timestamp: the same weights make the same bytes."""
    raw = json.dumps(weights, sort_keys=True, separators=(",", ":")).encode()
    buffer = io.BytesIO()
    with gzip.GzipFile(fileobj=buffer, mode="wb", compresslevel=9, mtime=0, filename="") as file:
        file.write(raw)
    path.write_bytes(buffer.getvalue())


def main(argv: Sequence[str] | None = None) -> int:
    """Train on all of the data and write the package's weights file."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA, help="the checkworthiness data folder")
    parser.add_argument("--out", type=Path, default=Path(__file__).with_name(cw.WEIGHTS_FILE))
    args = parser.parse_args(argv)
    claimbuster = load_claimbuster(args.data)
    checkthat = load_checkthat(args.data)
    # The cut: the best F1 on ClaimBuster's CFS label, each fold scored by a model trained as the
    # shipped one is (the other folds and CheckThat!) that never saw the fold's sentences.
    oof = out_of_fold(claimbuster, checkthat)
    served = cw.damp([s.text for s in claimbuster], oof)
    threshold, f1 = best_threshold(served, [s.label for s in claimbuster])
    sentences = training_set(claimbuster, checkthat)
    weights = fit_sentences(sentences)
    weights["threshold"] = threshold
    weights["about"] = {
        "model": "logistic regression (C=3, balanced classes) over tf-idf of hashed word 1-2 grams and"
        " character 2-5 grams, and a few hand features",
        "trained_on": f"ClaimBuster 2.5xNCS (Arslan et al., ICWSM 2020), {len(claimbuster)} sentences,"
        f" and CheckThat! 2020 Task 5's 50 training debates, {len(checkthat)} sentences",
        "threshold": f"best F1 of the check-worthy class on ClaimBuster by 5-fold cross-validation"
        f" (seed {SEED}), each fold scored (rules applied) by a model trained as this one is, on the"
        f" other folds and CheckThat!: F1 {f1:.4f}",
    }
    write_weights(weights, args.out)
    print(f"wrote {args.out}: {args.out.stat().st_size} bytes, threshold {threshold} (F1 {f1:.4f})")  # noqa: T201
    return 0


if __name__ == "__main__":
    sys.exit(main())
