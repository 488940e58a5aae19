"""Check-worthiness: how much a sentence of reporting looks like a claim a fact-checker would check.

`load_scorer().score(sentences)` gives each sentence a score in [0, 1]; `Scorer.threshold` is the
service's `checkworthy` cut. The model is a logistic regression over hashed word and character
n-grams and a few counts, trained by `claims.reporting.train_checkworthiness` on public data and
shipped beside this module as `checkworthiness.json.gz`; scoring is numpy only.
"""

import base64
import functools
import gzip
import importlib.resources
import itertools
import json
import re
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

WEIGHTS_FILE = "checkworthiness.json.gz"
FORMAT = 1

# Feature space: [word 1-2 grams | character 2-5 grams | hand features], one column index each.
WORD_BUCKETS = 1 << 18
CHAR_BUCKETS = 1 << 20
CHAR_NGRAMS = (2, 3, 4, 5)
CHUNK = 256  # sentences featurised at once: bounds the memory a long transcript takes

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
HashArray: TypeAlias = npt.NDArray[np.uint64]

# Debates write straight quotes and hyphens, news typographic ones; digits all read as 0, so
# "41 states" and "40 states" share their n-grams and the model learns "a number" rather than which.
_NORMALISE = str.maketrans(
    {"’": "'", "‘": "'", "\u02bc": "'", "“": '"', "”": '"', "–": "-", "—": "-", "\u00a0": " "}
    | {str(d): "0" for d in range(10)}
)
_SPACES = re.compile(r"\s+")
_TOKEN = re.compile(r"\w+|[$%?€£]")
_SEPARATOR = 0  # a code point that normalised text never holds: windows across it are dropped


def normalise(text: str) -> str:
    """The text the n-grams are read from: lower case, plain quotes, digits as 0, spaces collapsed."""
    return _SPACES.sub(" ", text.replace("\x00", " ").translate(_NORMALISE)).strip().lower()


# --- Hand features: a few counts a fact-checker's eye goes to first. ---------------------------

# Read from the normalised tokens (lower case, digits as 0; "didn't" is "didn", "t").
_NUMBER_WORDS = frozenset(
    [
        "two",
        "three",
        "four",
        "five",
        "six",
        "seven",
        "eight",
        "nine",
        "ten",
        "eleven",
        "twelve",
        "thirteen",
        "fourteen",
        "fifteen",
        "sixteen",
        "seventeen",
        "eighteen",
        "nineteen",
        "twenty",
        "thirty",
        "forty",
        "fifty",
        "sixty",
        "seventy",
        "eighty",
        "ninety",
        "hundred",
        "hundreds",
        "thousand",
        "thousands",
        "million",
        "millions",
        "billion",
        "billions",
        "trillion",
        "trillions",
        "dozen",
        "dozens",
        "half",
        "quarter",
        "third",
    ]
)
_DIGITS = re.compile(r"0+(?:[.,]0+)*")
_YEAR = re.compile(r"\b(?:1[6-9]|20)\d\d\b")
_PERCENT = frozenset(["%", "percent"])
_MONEY = frozenset(["$", "€", "£", "dollar", "dollars", "euro", "euros", "pound", "pounds"])
_FIRST_PERSON = frozenset(["i", "me", "my"])
_BELIEF = frozenset(["think", "believe", "feel", "hope", "guess"])
_PRESCRIPTION = frozenset(["should", "must", "ought"])
_NEEDS = frozenset(["need", "needs"])
_PAST = frozenset(["was", "were", "had", "did"])
_AUXILIARY = frozenset(["was", "were", "is", "are", "has", "have", "had", "did", "does"])
_NEGATIVE = frozenset(["not", "never"])
_NEGATIVE_CONTRACTION = frozenset(["wasn", "weren", "didn", "hasn", "haven", "hadn", "never"])
_NAME = re.compile(r"(?<=[\w,;:] )[A-Z]")  # a capital not at the start: a name, mostly
_QUESTION_END = " \"'”’)"

HAND_FEATURES = (
    "numbers",
    "year",
    "percent",
    "money",
    "question",
    "first_person",
    "belief",  # "I think", "we believe"
    "prescription",  # "should", "must", "needs to": what ought to be, not what is
    "names",
    "length",
    "past",  # "was", "had", "signed": an event that happened can be checked
    "negated_fact",  # "was not", "never": a denial is a claim too
)


def is_prescription(tokens: Sequence[str]) -> bool:
    """Says what should be: "should", "must", "ought to", "needs to"."""
    if not _PRESCRIPTION.isdisjoint(tokens):
        return True
    return any(a in _NEEDS and b == "to" for a, b in itertools.pairwise(tokens))


def hand_features(text: str, normalised: str, tokens: Sequence[str]) -> list[float]:
    """The hand features of one sentence, in `HAND_FEATURES` order, each in [0, 1]."""
    words = set(tokens)
    numbers = len(_DIGITS.findall(normalised)) + sum(1 for t in tokens if t in _NUMBER_WORDS)
    negated = not _NEGATIVE_CONTRACTION.isdisjoint(words) or any(
        a in _AUXILIARY and b in _NEGATIVE for a, b in itertools.pairwise(tokens)
    )
    return [
        min(numbers, 4) / 4,
        float(bool(_YEAR.search(text))),
        float(not _PERCENT.isdisjoint(words) or "per cent" in normalised),
        float(not _MONEY.isdisjoint(words)),
        float(text.rstrip(_QUESTION_END).endswith("?")),
        float(not _FIRST_PERSON.isdisjoint(words)),
        float(not _BELIEF.isdisjoint(words)),
        float(is_prescription(tokens)),
        min(len(_NAME.findall(text)), 6) / 6,
        min(float(np.log1p(len(tokens)) / np.log1p(80)), 1.0),
        float(not _PAST.isdisjoint(words) or any(len(t) > 4 and t.endswith("ed") for t in tokens)),
        float(negated),
    ]


# --- Hashed n-gram counts. ---------------------------------------------------------------------

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_PRIME = np.uint64(1_000_003)


def _mix(h: HashArray) -> HashArray:
    """splitmix64's finaliser: spreads rolling hashes evenly over the buckets (wraps mod 2**64)."""
    h = (h ^ (h >> np.uint64(30))) * _M1
    h = (h ^ (h >> np.uint64(27))) * _M2
    return h ^ (h >> np.uint64(31))


@dataclass(frozen=True)
class Counts:
    """Sparse term counts (row, column, count; each pair once): the n-grams of each sentence."""

    rows: IntArray
    cols: IntArray
    counts: FloatArray
    hand: FloatArray  # (sentences, len(HAND_FEATURES))


def _sparse(rows: IntArray, cols: IntArray, width: int) -> tuple[IntArray, IntArray, FloatArray]:
    keys, counts = np.unique(rows * width + cols, return_counts=True)
    return keys // width, keys % width, counts.astype(np.float64)


def _word_counts(tokenised: Sequence[Sequence[str]]) -> tuple[IntArray, IntArray, FloatArray]:
    hashes: list[int] = []
    row_of: list[int] = []
    for row, tokens in enumerate(tokenised):
        hashes.extend(zlib.crc32(token.encode("utf-8", "surrogatepass")) for token in tokens)
        row_of.extend([row] * len(tokens))
    h = np.fromiter(hashes, dtype=np.uint64, count=len(hashes))
    rows = np.fromiter(row_of, dtype=np.int64, count=len(row_of))
    same = rows[1:] == rows[:-1]
    bigrams = _mix(h[:-1][same] * _PRIME + h[1:][same] + np.uint64(1))
    buckets = np.concatenate([_mix(h), bigrams]) % np.uint64(WORD_BUCKETS)
    return _sparse(np.concatenate([rows, rows[:-1][same]]), buckets.astype(np.int64), WORD_BUCKETS)


def _char_counts(texts: Sequence[str]) -> tuple[IntArray, IntArray, FloatArray]:
    padded = [f" {text} " for text in texts]
    joined = "\x00".join(padded)
    codes = np.frombuffer(joined.encode("utf-32-le", "surrogatepass"), dtype=np.uint32).astype(np.uint64)
    row_at = np.repeat(np.arange(len(texts), dtype=np.int64), [len(p) + 1 for p in padded])[: len(codes)]
    separators = np.concatenate([[0], np.cumsum(codes == _SEPARATOR)])
    all_rows: list[IntArray] = []
    all_buckets: list[HashArray] = []
    for n in CHAR_NGRAMS:
        windows = len(codes) - n + 1
        if windows <= 0:
            continue
        h = np.full(windows, np.uint64(n))
        for k in range(n):
            h = h * _PRIME + codes[k : k + windows]
        inside = separators[n : n + windows] == separators[:windows]
        all_rows.append(row_at[:windows][inside])
        all_buckets.append(_mix(h[inside]) % np.uint64(CHAR_BUCKETS))
    if not all_rows:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    buckets = np.concatenate(all_buckets).astype(np.int64)
    return _sparse(np.concatenate(all_rows), buckets, CHAR_BUCKETS)


def count_features(sentences: Sequence[str]) -> Counts:
    """Every sentence's word and character n-gram counts (hashed) and hand features."""
    texts = [normalise(sentence) for sentence in sentences]
    tokenised = [_TOKEN.findall(text) for text in texts]
    word_rows, word_cols, word_counts = _word_counts(tokenised)
    char_rows, char_cols, char_counts = _char_counts(texts)
    rows = np.concatenate([word_rows, char_rows])
    cols = np.concatenate([word_cols, char_cols + WORD_BUCKETS])
    hand = np.array(
        [hand_features(*parts) for parts in zip(sentences, texts, tokenised, strict=True)], dtype=np.float64
    ).reshape(-1, len(HAND_FEATURES))
    return Counts(rows, cols, np.concatenate([word_counts, char_counts]), hand)


def tfidf_values(counts: Counts, idf: FloatArray, n_rows: int) -> FloatArray:
    """Sublinear tf × idf, each block (words, characters) scaled to unit length per sentence."""
    values = (1.0 + np.log(counts.counts)) * idf[counts.cols]
    block = (counts.cols >= WORD_BUCKETS).astype(np.int64)
    squares = np.bincount(counts.rows * 2 + block, weights=values**2, minlength=2 * n_rows)
    norms = np.sqrt(squares)
    norms[norms == 0] = 1.0
    scaled: FloatArray = values / norms[counts.rows * 2 + block]
    return scaled


# --- Rules for what is obviously not a claim. --------------------------------------------------

# Matched against the normalised text (lower case, digits as 0).
_PHOTO = re.compile(
    r"\b(?:photos?|images?|pictures?) (?:by|courtesy of|credit)\b|\bfile photo\b|\blicen[cs]e photo\b"
)
_BYLINE = re.compile(r"^by \S")
_DATELINE = re.compile(r"\((?:upi|ap|afp|reuters|dpa|xinhua|yonhap)\)")
_DEFINITION = re.compile(
    r"\b(?:official|formal|full) name\b|\bstands for\b|\bis short for\b|\balso (?:known|called) as\b"
    r"|\bis defined as\b"
)
_TERMINAL = re.compile(r"[.!?…:;\"'”’)]\s*$")

# Each rule's factor multiplies the model's score; the first rule that applies wins.
RULES: dict[str, float] = {
    "empty": 0.0,  # no letter or digit at all
    "photo_credit": 0.02,  # "Photo by Peter Foley/UPI | License Photo", "File photo"
    "byline": 0.02,  # "By Jane Doe" on a short line
    "dateline": 0.02,  # "SEOUL, Nov. 19 (UPI)" on a short line
    "heading": 0.1,  # a short line with no sentence-final punctuation: "Background", "Related"
    "question": 0.3,  # a question asks; it does not assert
    "definition": 0.3,  # "the DPRK is North Korea's official name": true by definition
    "prescription": 0.6,  # "Seoul should sustain it", with no number: what ought to be, not what is
}


def damping_rule(sentence: str) -> str | None:
    """The name of the rule in `RULES` that damps this sentence, if any."""
    text = sentence.strip()
    if not any(c.isalnum() for c in text):
        return "empty"
    normalised = normalise(text)
    words = len(normalised.split())
    if _PHOTO.search(normalised):
        return "photo_credit"
    if words <= 8 and _BYLINE.search(normalised):
        return "byline"
    if words <= 10 and _DATELINE.search(normalised):
        return "dateline"
    if words <= 4 and not _TERMINAL.search(text):
        return "heading"
    if text.rstrip(_QUESTION_END).endswith("?"):
        return "question"
    if _DEFINITION.search(normalised):
        return "definition"
    if "0" not in normalised and is_prescription(_TOKEN.findall(normalised)):
        return "prescription"
    return None


# --- The scorer. --------------------------------------------------------------------------------


def _array(encoded: str, dtype: str) -> npt.NDArray[Any]:
    return np.frombuffer(base64.b64decode(encoded), dtype=np.dtype(dtype)).copy()


class Scorer:
    """A trained check-worthiness model: `score` many sentences at once."""

    def __init__(self, weights: dict[str, Any]) -> None:
        if weights.get("format") != FORMAT:
            raise ValueError(f"unsupported check-worthiness weights format {weights.get('format')!r}")
        width = WORD_BUCKETS + CHAR_BUCKETS
        if (weights["word_buckets"], weights["char_buckets"]) != (WORD_BUCKETS, CHAR_BUCKETS):
            raise ValueError("check-worthiness weights were trained for other bucket counts")
        columns = np.cumsum(_array(weights["columns"], "<u4").astype(np.int64))
        self.idf = np.zeros(width)
        self.coef = np.zeros(width)
        self.idf[columns] = _array(weights["idf"], "<f2")
        self.coef[columns] = _array(weights["coef"], "<f4")
        self.hand_coef = np.array(weights["hand_coef"], dtype=np.float64)
        self.hand_scale = float(weights["hand_scale"])
        self.intercept = float(weights["intercept"])
        self.threshold: float = float(weights["threshold"])
        self.about: dict[str, Any] = weights.get("about", {})

    def raw_scores(self, sentences: Sequence[str]) -> FloatArray:
        """The model's probabilities, before the rules."""
        parts = [
            self._raw_scores(sentences[start : start + CHUNK]) for start in range(0, len(sentences), CHUNK)
        ]
        return np.concatenate(parts) if parts else np.zeros(0)

    def _raw_scores(self, sentences: Sequence[str]) -> FloatArray:
        n = len(sentences)
        counts = count_features(sentences)
        values = tfidf_values(counts, self.idf, n)
        ngrams = np.bincount(counts.rows, weights=values * self.coef[counts.cols], minlength=n)
        logits = ngrams.astype(np.float64) + counts.hand @ self.hand_coef * self.hand_scale + self.intercept
        logits = np.clip(logits, -60.0, 60.0)  # exp() stays finite: no overflow warning
        return np.asarray(1.0 / (1.0 + np.exp(-logits)), dtype=np.float64)

    def score(self, sentences: Sequence[str]) -> list[float]:
        """Each sentence's check-worthiness in [0, 1], with the `RULES` applied."""
        return [round(float(s), 6) for s in damp(sentences, self.raw_scores(sentences))]


def damp(sentences: Sequence[str], scores: FloatArray) -> FloatArray:
    """`scores` with each sentence's damping rule applied, if it has one."""
    factors = np.ones(len(sentences))
    for i, sentence in enumerate(sentences):
        rule = damping_rule(sentence)
        if rule is not None:
            factors[i] = RULES[rule]
    return np.asarray(np.clip(scores * factors, 0.0, 1.0), dtype=np.float64)


def read_weights(data: bytes) -> dict[str, Any]:
    """The weights file's contents (gzipped JSON)."""
    weights: dict[str, Any] = json.loads(gzip.decompress(data))
    return weights


@functools.cache
def load_scorer() -> Scorer:
    """The shipped model, read once per process from the package's own weights file."""
    data = importlib.resources.files("claims.reporting").joinpath(WEIGHTS_FILE).read_bytes()
    return Scorer(read_weights(data))
