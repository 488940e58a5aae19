"""Check-worthiness benchmark: the shipped model's recipe beside simple baselines, in one run.

    python -m tests.bench.checkworthiness [--data ../shared/data/checkworthiness]   # about 3 minutes
    python -m tests.bench.checkworthiness --shipped-cv   # also the shipped recipe's F1: 4 minutes more

1. ClaimBuster (Arslan et al., ICWSM 2020; 9,674 debate sentences, CFS = 1 vs NCS = 0): F1 of the
   check-worthy class by 5-fold stratified cross-validation (seed 13), the model's recipe
   (`train_checkworthiness.fit`, trained on the other folds only) beside a TF-IDF word 1-2 gram +
   logistic regression baseline. Both weigh the classes equally and cut at 0.5; the model's scores
   are the served ones (`checkworthiness.RULES` applied), and also shown without the rules.
2. CLEF CheckThat! 2020 Task 5 (50 debates, 42,776 sentences, 487 chosen by fact-checkers): MAP over
   debates on the 15 debates drawn once with seed 2020 (`checkthat_split`), the model trained as the
   shipped one is, on ClaimBuster and the other 35 debates (ClaimBuster sentences whose text is in a
   test debate left out: both cover the 2016 debates); beside "has a number" and random order, and
   the same recipe trained on ClaimBuster alone.
3. The demo report (`service/ops/demo/report.txt`): every sentence with the shipped model's score,
   best first, the fact-checker's picks marked.

Prints tables; the exit code is 0 whatever the numbers: it is a report, not a test.
"""

import argparse
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedKFold

from claims.language import split_sentences
from claims.reporting import checkworthiness as cw
from claims.reporting import train_checkworthiness as train
from tests.claims.reporting.test_checkworthiness import NOT_PICKS, PICKS, REPORT

RANDOM_ORDERS = 20  # tie-breaking orders averaged for the rule and for random


def f1_precision_recall(scores: np.ndarray, labels: np.ndarray, cut: float) -> tuple[float, float, float]:
    """F1, precision and recall of the positive class for scores at or above `cut`."""
    picked = scores >= cut
    tp = float(np.sum(picked & (labels == 1)))
    precision = tp / max(int(picked.sum()), 1)
    recall = tp / max(int(labels.sum()), 1)
    f1 = 2 * precision * recall / (precision + recall) if tp else 0.0
    return f1, precision, recall


def baseline_out_of_fold(texts: Sequence[str], labels: np.ndarray) -> np.ndarray:
    """TF-IDF word 1-2 grams + logistic regression, as the issue's baseline, on the same folds."""
    scores = np.zeros(len(labels))
    splitter = StratifiedKFold(n_splits=5, shuffle=True, random_state=train.SEED)
    for fit_rows, test_rows in splitter.split(np.zeros(len(labels)), labels):
        vectoriser = TfidfVectorizer(ngram_range=(1, 2))
        x = vectoriser.fit_transform([texts[i] for i in fit_rows])
        model = LogisticRegression(class_weight="balanced", max_iter=2000).fit(x, labels[fit_rows])
        scores[test_rows] = model.predict_proba(vectoriser.transform([texts[i] for i in test_rows]))[:, 1]
    return scores


def claimbuster_table(data: Path, *, shipped_recipe: bool) -> None:
    sentences = train.load_claimbuster(data)
    texts = [s.text for s in sentences]
    labels = np.array([s.label for s in sentences])
    folds = list(StratifiedKFold(n_splits=5, shuffle=True, random_state=train.SEED).split(texts, labels))
    rows: list[tuple[str, np.ndarray, float]] = []
    started = time.perf_counter()
    rows.append(("TF-IDF word 1-2 grams + LR (baseline)", baseline_out_of_fold(texts, labels), 0.5))
    baseline_seconds = time.perf_counter() - started
    started = time.perf_counter()
    ours = train.out_of_fold(sentences)
    ours_seconds = time.perf_counter() - started
    rows.append(("ours, as served (rules applied)", cw.damp(texts, ours), 0.5))
    rows.append(("ours, model alone (no rules)", ours, 0.5))
    threshold = cw.load_scorer().threshold
    if shipped_recipe:  # folds trained with all of CheckThat! too, as the shipped model is
        shipped = cw.damp(texts, train.out_of_fold(sentences, train.load_checkthat(data)))
        rows.append(("shipped recipe (+ CheckThat!), rules, at 0.5", shipped, 0.5))
        rows.append((f"shipped recipe (+ CheckThat!), rules, at {threshold}", shipped, threshold))
    print(
        f"\n1. ClaimBuster CFS vs NCS, {len(labels)} sentences ({int(labels.sum())} CFS), 5-fold CV, seed {train.SEED}"
    )
    print(f"{'model':52s} {'F1 (mean ± sd of folds)':>24s} {'P':>6s} {'R':>6s} {'pooled F1':>9s}")
    for name, scores, cut in rows:
        per_fold = [f1_precision_recall(scores[test], labels[test], cut)[0] for _, test in folds]
        f1, precision, recall = f1_precision_recall(scores, labels, cut)
        spread = f"{statistics.mean(per_fold):.4f} ± {statistics.stdev(per_fold):.4f}"
        print(f"{name:52s} {spread:>24s} {precision:6.3f} {recall:6.3f} {f1:9.4f}")
    print(f"(training and scoring took {baseline_seconds:.0f} s and {ours_seconds:.0f} s)")
    if not shipped_recipe:
        print(
            f"shipped model's threshold {threshold}: {cw.load_scorer().about.get('threshold')} (--shipped-cv measures it)"
        )


def average_precision(scores: np.ndarray, labels: np.ndarray) -> float:
    """AP of one debate: the mean of the precision at each chosen sentence's rank."""
    order = np.argsort(-scores, kind="stable")
    ranked = labels[order]
    hits = np.cumsum(ranked)
    return float(np.mean((hits / np.arange(1, len(ranked) + 1))[ranked == 1]))


def mean_average_precision(
    debates: dict[str, list[train.Sentence]], score: Callable[[list[train.Sentence]], np.ndarray]
) -> tuple[float, list[float]]:
    per_debate = []
    for sentences in debates.values():
        labels = np.array([s.label for s in sentences])
        per_debate.append(average_precision(score(sentences), labels))
    return statistics.mean(per_debate), per_debate


def checkthat_table(data: Path) -> None:
    claimbuster = train.load_claimbuster(data)
    checkthat = train.load_checkthat(data)
    train_debates, test_debates = train.checkthat_split(checkthat)
    test_sentences = [s for s in checkthat if s.group in test_debates]
    debates = {d: [s for s in test_sentences if s.group == d] for d in test_debates}
    training = train.training_set(
        train.without(claimbuster, test_sentences), [s for s in checkthat if s.group in train_debates]
    )
    started = time.perf_counter()
    scorer = cw.Scorer(train.fit_sentences(training))
    fit_seconds = time.perf_counter() - started
    claimbuster_only = cw.Scorer(train.fit_sentences(train.without(claimbuster, test_sentences)))

    rng = np.random.default_rng(train.SEED)

    def averaged(rule: Callable[[train.Sentence], float]) -> tuple[float, list[float]]:
        """MAP of a rule whose ties are broken in random order, averaged over `RANDOM_ORDERS` orders."""
        runs = [
            mean_average_precision(
                debates, lambda ss: np.array([rule(s) for s in ss]) + rng.random(len(ss)) * 1e-6
            )
            for _ in range(RANDOM_ORDERS)
        ]
        per_debate = [statistics.mean(values) for values in zip(*(r[1] for r in runs), strict=True)]
        return statistics.mean(r[0] for r in runs), per_debate

    def served(model: cw.Scorer) -> Callable[[list[train.Sentence]], np.ndarray]:
        return lambda ss: np.array(model.score([s.text for s in ss]))

    def alone(model: cw.Scorer) -> Callable[[list[train.Sentence]], np.ndarray]:
        return lambda ss: model.raw_scores([s.text for s in ss])

    rows = [
        ("random order (mean of 20)", averaged(lambda s: 0.0)),
        (
            "has a number (ties in random order, mean of 20)",
            averaged(lambda s: float(any(c.isdigit() for c in s.text))),
        ),
        ("ours, ClaimBuster only, as served", mean_average_precision(debates, served(claimbuster_only))),
        ("ours, ClaimBuster + 35 debates, as served", mean_average_precision(debates, served(scorer))),
        ("ours, ClaimBuster + 35 debates, no rules", mean_average_precision(debates, alone(scorer))),
    ]
    positives = sum(s.label for s in test_sentences)
    print(
        f"\n2. CheckThat! 2020 Task 5: train on 35 debates (+ ClaimBuster), test on 15 debates"
        f" ({len(test_sentences)} sentences, {positives} chosen), MAP over debates"
    )
    print(f"   test debates (seed {train.CHECKTHAT_SPLIT_SEED}): {', '.join(test_debates)}")
    print(f"{'ranking':52s} {'MAP':>7s} {'min AP':>7s} {'max AP':>7s}")
    for name, (value, per_debate) in rows:
        print(f"{name:52s} {value:7.4f} {min(per_debate):7.4f} {max(per_debate):7.4f}")
    print(
        f"(training set: {len(training)} sentences, {sum(s.label for s in training)} positive;"
        f" fit in {fit_seconds:.0f} s)"
    )


def report_table() -> None:
    scorer = cw.load_scorer()
    spans = split_sentences(REPORT)
    sentences = [REPORT[start:end] for start, end in spans]
    scores = scorer.score(sentences)
    started = time.perf_counter()
    scorer.score(sentences)
    seconds = time.perf_counter() - started
    print(
        f"\n3. service/ops/demo/report.txt, {len(sentences)} sentences, shipped model"
        f" (threshold {scorer.threshold}; ✓ = checkworthy, ★ = a fact-checker's pick, ✗ = not one)"
    )
    for score, sentence in sorted(zip(scores, sentences, strict=True), key=lambda pair: -pair[0]):
        pick = (
            "★"
            if any(p in sentence for p in PICKS)
            else "✗"
            if any(p in sentence for p in NOT_PICKS)
            else " "
        )
        mark = "✓" if score >= scorer.threshold else " "
        shown = sentence if len(sentence) <= 100 else sentence[:99] + "…"
        print(f"{score:6.3f} {mark} {pick} {shown}")
    lowest_pick = min(s for s, t in zip(scores, sentences, strict=True) if any(p in t for p in PICKS))
    highest_other = max(s for s, t in zip(scores, sentences, strict=True) if any(p in t for p in NOT_PICKS))
    print(
        f"lowest pick {lowest_pick:.3f}, highest non-pick {highest_other:.3f}; scored in {seconds * 1000:.1f} ms"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--data", type=Path, default=train.DEFAULT_DATA, help="the checkworthiness data folder"
    )
    parser.add_argument(
        "--shipped-cv",
        action="store_true",
        help="also cross-validate the shipped recipe (ClaimBuster folds + CheckThat!) on ClaimBuster: 4 minutes more",
    )
    args = parser.parse_args(argv)
    claimbuster_table(args.data, shipped_recipe=args.shipped_cv)
    checkthat_table(args.data)
    report_table()
    return 0


if __name__ == "__main__":
    sys.exit(main())
