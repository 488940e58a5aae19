"""Candidates for a claim text, found through the full-text indexes and re-ranked in Python.

`IndexSearch(session).candidates(text)` asks the index of the desk's claims and that of the
imported fact-checks for the documents sharing the text's rarest words (never a scan of every
row); `Reranker` scores each candidate with a small model (`reranker.json`, made by
`train_reranker.py`) over lexical features and static word embeddings (wordllama, CPU only).
"""

import itertools
import json
import logging
import math
import re
import threading
import time
import unicodedata
import weakref
from collections import Counter
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property, lru_cache, partial
from pathlib import Path
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import snowballstemmer
import sqlalchemy as sa
from rapidfuzz import fuzz
from sqlalchemy.orm import Session

from service.core.text import fold

Kind = Literal["claim", "factcheck"]
Vectors = npt.NDArray[np.float32]
MODEL_PATH = Path(__file__).with_name("reranker.json")

# Words too common to tell claims apart. Negations ("not", "no") are kept: they are content here.
STOPWORDS = frozenset((
    "a", "an", "and", "are", "as", "at", "be", "by", "for", "from", "has", "have", "in", "is", "it",
    "its", "of", "on", "or", "that", "the", "this", "to", "was", "were", "will", "with", "i", "you",
    "he", "she", "we", "they", "me", "my", "our", "your", "his", "her", "their", "them", "us", "do",
    "does", "did", "but", "if", "so", "than", "then", "there", "these", "those", "what", "which",
    "who", "whom", "how", "when", "where", "why", "just", "can", "could", "would", "should", "about",
    "into", "over", "after", "before", "up", "down", "out", "also", "been", "being", "am",
))  # fmt: skip
_TOKEN = re.compile(r"[^\W_]+")
# A capitalised word that does not start a sentence: most often a name.
_NAME = re.compile(r"(?<![.!?:]\s)(?<!^)\b[A-Z][^\W_]*(?:['’-][^\W_]+)*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")

MAX_TERMS = 32  # words of a text looked up in the indexes, rarest first
MAX_COUNTED = 128  # words of a text whose counts weigh them (a long text's others weigh as rare)
# Documents read from the indexes per look-up at most (the sum of the chosen words' counts): a
# word so common that it would pass the budget is left out; the rarer ones are what tell.
POSTINGS_BUDGET = 1_000
# PostgreSQL counts a word's documents through the index up to this many (each is a heap visit);
# a word ANALYZE found among a table's most common has its count estimated from that instead.
COUNT_CAP = POSTINGS_BUDGET + 1
TTL_SECONDS = 300.0  # how long a word's count is remembered, in a table of REMEMBER_FROM rows or more
REMEMBER_FROM = 10_000


# -- words -----------------------------------------------------------------------------------


def _strip_diacritics(word: str) -> str:
    if word.isascii():
        return word
    decomposed = unicodedata.normalize("NFKD", word)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def fold_text(text: str) -> str:
    """`text` folded, hyphens as spaces: the form both the indexes and the features read."""
    return fold(text).replace("-", " ")


def tokens(text: str) -> list[str]:
    """The folded words of `text` as the SQLite index stores them (diacritics removed)."""
    return [_strip_diacritics(t) for t in _TOKEN.findall(fold_text(text))]


def words(text: str) -> list[str]:
    """Content words: `tokens` without stopwords."""
    return [t for t in tokens(text) if t not in STOPWORDS]


_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()  # a Snowball stemmer keeps its state in the object while it works


def stem(word: str) -> str:
    """The English Snowball stem of a folded word (a word with digits is its own stem)."""
    return _stem(word) if word.isalpha() else word


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    with _STEMMER_LOCK:
        return str(_STEMMER.stemWord(word))


_DIGITS = re.compile(r"(?<![\w.,])\d{1,3}(?:,\d{3})+(?:\.\d+)?(?!\w)|\d+(?:\.\d+)?")


def number_values(text: str) -> frozenset[float]:
    """The values of the numbers written in digits in `text` ("1,200" = 1200). A cheap reading for
    the features, of every candidate; the relations read numbers in words too (`claims.language`)."""
    return frozenset(float(m.group().replace(",", "")) for m in _DIGITS.finditer(text))


def index_terms(text: str, dialect: str) -> list[str]:
    """The distinct content words of `text` as the index of `dialect` stores them, in order.

    FTS5 stores words without their diacritics, PostgreSQL's `simple` configuration with them.
    """
    seen: dict[str, None] = {}
    for word in _TOKEN.findall(fold_text(text)):
        plain = _strip_diacritics(word)
        if plain not in STOPWORDS:
            seen.setdefault(plain if dialect != "postgresql" else word)
    return list(seen)[:MAX_COUNTED]


def choose_terms(terms: Sequence[str], holding: Mapping[str, int], budget: int | None = None) -> list[str]:
    """The words to look a text up by: the rarest present (never one letter), as many as the
    postings `budget` allows (by default POSTINGS_BUDGET), and at least one."""
    budget = POSTINGS_BUDGET if budget is None else budget
    present = sorted(
        (t for t in terms if holding.get(t) and (len(t) > 1 or t.isdigit())), key=lambda t: holding[t]
    )
    chosen: list[str] = []
    postings = 0
    for term in present[:MAX_TERMS]:
        count = holding[term]
        if chosen and postings + count > budget:
            break
        chosen.append(term)
        postings += count
    return chosen


# -- what the index finds --------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """A document an index found: a claim on the desk or an imported fact-check."""

    kind: Kind
    seq: int
    id: str
    text: str  # the claim's text, or the fact-check's claim reviewed
    title: str | None = None  # the fact-check's headline
    status: str | None = None  # a claim's workflow status
    rating: str | None = None  # a claim's published rating; a fact-check's rating as written
    verdict: str | None = None  # a fact-check's rating on the common scale
    url: str | None = None
    publisher: str | None = None


def idf(documents: int, holding: int) -> float:
    """Okapi BM25's inverse document frequency (never negative)."""
    holding = min(holding, documents)
    return math.log(1 + (documents - holding + 0.5) / (holding + 0.5))


# -- the indexes -----------------------------------------------------------------------------


@dataclass(frozen=True)
class _Table:
    kind: Kind
    name: str
    fts: str  # the FTS5 table
    vocab: str  # its fts5vocab table
    # What a candidate reads: seq, id, text, title, status, rating, verdict, url, publisher.
    columns: tuple[str | None, ...]

    def select(self, alias: str) -> str:
        return ", ".join(f"{alias}.{c}" if c else "NULL" for c in self.columns)


_TABLES = (
    _Table(
        "claim",
        "claim",
        "claim_fts",
        "claim_fts_vocab",
        ("seq", "id", "text", None, "status", "rating", None, None, None),
    ),
    _Table(
        "factcheck",
        "factcheck",
        "factcheck_fts",
        "factcheck_fts_vocab",
        ("seq", "id", "claim_reviewed", "headline", None, "rating", "verdict", "url", "publisher"),
    ),
)


class _Remembered:
    """Word counts of one database's large tables, remembered for TTL_SECONDS.

    FTS5 counts a word's documents by walking its posting list, PostgreSQL through the GIN index:
    at 100,000 documents that was most of a look-up. In a table that large a count a few minutes
    old weighs a word as well; in a small one counting costs little and a new document changes
    the weights, so it is counted afresh. Words in no document are never remembered.
    """

    SIZE = 50_000

    def __init__(self) -> None:
        self.counts: dict[tuple[str, str], tuple[float, int]] = {}
        self.common: dict[str, tuple[float, dict[str, float]]] = {}  # PostgreSQL: table -> word -> share
        self.lock = threading.Lock()

    def common_words(self, table: str, read: Callable[[], dict[str, float]]) -> dict[str, float]:
        """The share of the table's rows holding each of its most common words (ANALYZE's)."""
        now = time.monotonic()
        hit = self.common.get(table)
        if hit is not None and hit[0] > now:
            return hit[1]
        found = read()
        with self.lock:
            self.common[table] = (now + TTL_SECONDS, found)
        return found

    def get(
        self,
        terms: Sequence[str],
        read: Callable[[dict[str, list[str]]], tuple[dict[str, int], dict[str, dict[str, int]]]],
    ) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
        """The tables' sizes and, by table, the counts of `terms`: those remembered, and the
        others from `read({table: words})`, which reads the sizes too, in one statement."""
        now = time.monotonic()
        known: dict[str, dict[str, int]] = {t.name: {} for t in _TABLES}
        missing: dict[str, list[str]] = {}
        for table in known:
            for term in terms:
                hit = self.counts.get((table, term))  # only ever kept from a large table
                if hit is not None and hit[0] > now:
                    known[table][term] = hit[1]
                else:
                    missing.setdefault(table, []).append(term)
        sizes, fresh = read(missing)
        large = [table for table in fresh if sizes[table] >= REMEMBER_FROM]
        if large:
            with self.lock:
                if len(self.counts) + sum(len(fresh[table]) for table in large) > self.SIZE:
                    self.counts.clear()
                for table in large:
                    for term, holding in fresh[table].items():
                        if holding:
                            self.counts[(table, term)] = (now + TTL_SECONDS, holding)
        for table, counts in fresh.items():
            known[table].update(counts)
        return sizes, known


# Keyed by the session's bind: the engine (a session bound to one connection gets its own).
_REMEMBERED: "weakref.WeakKeyDictionary[sa.Engine | sa.Connection, _Remembered]" = weakref.WeakKeyDictionary()
_REMEMBERED_LOCK = threading.Lock()


def forget_counts() -> None:
    """Forget every remembered count (tests; after a bulk load outside the service)."""
    with _REMEMBERED_LOCK:
        _REMEMBERED.clear()


def _remembered(bind: sa.Engine | sa.Connection) -> _Remembered:
    with _REMEMBERED_LOCK:
        found = _REMEMBERED.get(bind)
        if found is None:
            found = _REMEMBERED[bind] = _Remembered()
        return found


@dataclass
class Found:
    """What a look-up found: the candidates, best first by the index, and the words' statistics."""

    candidates: list[Candidate]
    documents: int
    holding: dict[str, int] = field(default_factory=dict)  # by feature word (diacritics removed)

    def idf(self, word: str) -> float:
        return idf(self.documents, self.holding.get(word, 0))


class IndexSearch:
    """The desk's claims and the imported fact-checks sharing the rarest words of a text.

    Each chosen word is looked up on its own (an FTS5 MATCH, a tsvector @@), and documents are
    ranked by the summed weights of the words they hold, so both engines find the same ones.
    """

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name
        self.remembered = _remembered(session.get_bind())

    def candidates(
        self, text: str, limit: int, exclude: Collection[str] = (), budget: int | None = None
    ) -> Found:
        """Up to `limit` documents sharing words with `text`, by summed word weight, read from
        the postings of as many of its rarest words as `budget` allows (see `choose_terms`)."""
        terms = index_terms(text, self.dialect)
        sizes, per_table = self.remembered.get(terms, self._statistics)
        holding: Counter[str] = Counter()
        for counts in per_table.values():
            holding.update(counts)
        documents = max(sum(sizes.values()), 1)
        found = Found([], documents, {_strip_diacritics(t): n for t, n in holding.items()})
        chosen = choose_terms(terms, holding, budget)
        if not chosen:
            return found
        weights = {t: idf(documents, holding[t]) for t in chosen}
        ranked = self._ranked(
            {t: {w: v for w, v in weights.items() if per_table.get(t.name, {}).get(w)} for t in _TABLES},
            limit + len(exclude),
        )
        found.candidates = [c for c in ranked if c.id not in exclude][:limit]
        return found

    def _ranked(self, weights: Mapping[_Table, Mapping[str, float]], limit: int) -> list[Candidate]:
        """The `limit` documents holding the most weight, of both tables, read in the same
        statement; best first, ties to claims, then the oldest."""
        params: dict[str, Any] = {"limit": limit}
        parts = []
        for k, (table, words) in enumerate(weights.items()):
            for i, (term, weight) in enumerate(words.items()):
                t, w = f"t{k}_{i}", f"w{k}_{i}"
                params[t] = term if self.dialect == "postgresql" else _fts5_quote(term)
                params[w] = weight
                # Only our own names and numbered parameters go into the text; the words are bound.
                if self.dialect == "postgresql":
                    where = f"FROM {table.name} WHERE search_vector @@ plainto_tsquery('simple', :{t})"
                    parts.append(f"SELECT {k} AS k, seq, CAST(:{w} AS float) AS w {where}")
                else:
                    where = f"FROM {table.fts} WHERE {table.fts} MATCH :{t}"
                    parts.append(f"SELECT {k} AS k, rowid AS seq, :{w} AS w {where}")
        if not parts:
            return []
        reads = " UNION ALL ".join(
            f"SELECT r.score, r.k, {table.select('d')} FROM ranked AS r "  # noqa: S608
            f"JOIN {table.name} AS d ON r.k = {k} AND d.seq = r.seq"
            for k, table in enumerate(_TABLES)
        )
        sql = (
            # Rounded: a sum of the same weights in another order must tie.
            "WITH ranked AS (SELECT k, seq, round(CAST(sum(w) AS numeric), 6) AS score FROM ("  # noqa: S608
            + " UNION ALL ".join(parts)
            + ") AS holding GROUP BY k, seq ORDER BY score DESC, k, seq LIMIT :limit) "
            + reads
        )
        rows = sorted(self.session.execute(sa.text(sql), params), key=lambda r: (-float(r[0]), r[1], r[2]))
        return [_candidate(row) for row in rows]

    def fetch(self, keys: Sequence[tuple[str, int]]) -> list[Candidate]:
        """The claims and fact-checks of these (kind, seq), in that order (those that exist), read
        in one statement."""
        parts, params = [], {}
        for k, table in enumerate(_TABLES):
            seqs = [seq for kind, seq in keys if kind == table.kind]
            if seqs:
                params[f"seqs{k}"] = seqs
                parts.append(
                    f"SELECT NULL, {k}, {table.select('d')} FROM {table.name} AS d WHERE d.seq IN :seqs{k}"  # noqa: S608  # our names
                )
        if not parts:
            return []
        statement = sa.text(" UNION ALL ".join(parts)).bindparams(
            *(sa.bindparam(name, expanding=True) for name in params)
        )
        found = {(c.kind, c.seq): c for c in map(_candidate, self.session.execute(statement, params))}
        return [found[key] for key in keys if key in found]

    def _statistics(
        self, missing: Mapping[str, list[str]]
    ) -> tuple[dict[str, int], dict[str, dict[str, int]]]:
        """How many rows each table holds, and how many hold each word `missing` names, by table,
        read in one statement.

        A table's size is about its highest seq (rows are not deleted), read from the primary
        key's index at once where count(*) would read every row. A word's count: on SQLite from
        the FTS5 vocabularies; on PostgreSQL, for a word among a table's most common (its
        statistics, from ANALYZE) from its share of the rows, which costs nothing, and for another
        through the GIN index, up to COUNT_CAP (more is never looked up)."""
        selects = [f"size{k}" for k in range(len(_TABLES))]
        params: dict[str, list[str]] = {}
        common: dict[str, dict[str, float]] = {}
        counted: dict[str, list[str]] = {}
        for k, table in enumerate(_TABLES):
            terms = missing.get(table.name, [])
            if self.dialect == "postgresql":
                common[table.name] = self.remembered.common_words(
                    table.name, partial(self._common_words, table)
                )
                terms = [w for w in terms if w not in common[table.name]]
            if not terms:
                continue
            counted[table.name] = params[f"words{k}"] = terms
            if self.dialect == "postgresql":  # one count per word, in the order given
                count = (
                    f"ARRAY(SELECT (SELECT count(*) FROM (SELECT 1 FROM {table.name} "  # noqa: S608
                    f"WHERE search_vector @@ plainto_tsquery('simple', w) LIMIT {COUNT_CAP}) AS found) "
                    f"FROM unnest(CAST(:words{k} AS text[])) WITH ORDINALITY AS u(w, i) ORDER BY i)"
                )
            else:  # the words found, with their counts, as a JSON object
                count = f"(SELECT json_group_object(term, doc) FROM {table.vocab} WHERE term IN :words{k})"  # noqa: S608
            # An empty table holds no word: not even its vocabulary is read (0.2 ms on SQLite).
            selects.append(f"CASE WHEN size{k} IS NULL THEN NULL ELSE {count} END")
        if self.dialect == "postgresql":
            # A look-up reads a few thousand rows at most: starting parallel workers for it (as the
            # planner would at 100,000 claims) costs more than the work, 5 ms of 8. For the rest of
            # this transaction (SET LOCAL), in the same round trip.
            selects.append("set_config('max_parallel_workers_per_gather', '0', true)")
        sizes_of = ", ".join(f"(SELECT max(seq) FROM {t.name}) AS size{k}" for k, t in enumerate(_TABLES))  # noqa: S608  # our names
        statement = sa.text(f"SELECT {', '.join(selects)} FROM (SELECT {sizes_of}) AS sizes")  # noqa: S608
        if self.dialect != "postgresql":
            statement = statement.bindparams(*(sa.bindparam(name, expanding=True) for name in params))
        row = iter(self.session.execute(statement, params).one())
        sizes = {t.name: int(next(row) or 0) for t in _TABLES}
        found: dict[str, dict[str, int]] = {name: {} for name in missing}
        for name, terms in counted.items():
            read = next(row)
            if read is None:  # an empty table
                continue
            if self.dialect == "postgresql":
                found[name] = {w: int(n) for w, n in zip(terms, read, strict=True)}
            else:
                found[name] = {w: int(n) for w, n in json.loads(read).items()}
        for name, shares in common.items():
            found.setdefault(name, {}).update(
                {w: round(shares[w] * sizes[name]) for w in missing.get(name, []) if w in shares}
            )
        return sizes, found

    def _common_words(self, table: _Table) -> dict[str, float]:
        """PostgreSQL's statistics of `search_vector`: its most common words and the share of rows
        holding each (none before the table is first analysed)."""
        row = self.session.execute(
            sa.text(
                "SELECT CAST(CAST(most_common_elems AS text) AS text[]), most_common_elem_freqs "
                "FROM pg_stats WHERE schemaname = current_schema() AND tablename = :table "
                "AND attname = 'search_vector'"
            ),
            {"table": table.name},
        ).first()
        if row is None or row[0] is None or row[1] is None:
            return {}
        return {word: float(share) for word, share in zip(row[0], row[1], strict=False)}


def _candidate(row: Sequence[Any]) -> Candidate:
    """A candidate from a row of `_ranked` or `fetch`: (score, table's number, table.columns…)."""
    _, k, seq, id_, text, title, status, rating, verdict, url, publisher = row
    return Candidate(_TABLES[k].kind, seq, id_, text, title, status, rating, verdict, url, publisher)


def _fts5_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


# -- the features ----------------------------------------------------------------------------


class WordVectors:
    """wordllama's static token embeddings (Llama 2 tokens, 256 dimensions), summed per word and
    remembered: a text's vector is the mean of its tokens', as wordllama embeds, computed from its
    words' sums (a word's tokens are the same alone as in a sentence).

    The remembered words are rows of one matrix, so a text's words are read in one indexing
    operation rather than word by word."""

    SIZE = 50_000  # words remembered, about 1 kB each

    def __init__(self, tokenizer: Any, table: Vectors) -> None:
        self.tokenizer = tokenizer
        self.table = table
        self.dimensions = table.shape[1]
        self.rows: dict[str, int] = {}  # word -> its row in `unit_rows` and `norms`
        self.unit_rows = np.zeros((1024, self.dimensions), np.float32)  # each word's sum, unit length
        self.norms = np.zeros(1024, np.float32)  # and its length
        self.lock = threading.Lock()

    def _encode(self, words: Sequence[str]) -> Vectors:
        """The token sums of `words` (zeros for a word of no tokens)."""
        found = np.zeros((len(words), self.dimensions), np.float32)
        for k, encoding in enumerate(self.tokenizer.encode_batch(list(words), add_special_tokens=False)):
            ids = [i for i, real in zip(encoding.ids, encoding.attention_mask, strict=True) if real]
            if ids:
                found[k] = self.table[ids].sum(axis=0)
        return found

    def _remember(self, words: Sequence[str], totals: Vectors) -> None:
        """Add rows for `words` (not remembered yet) from their token sums; the lock is held."""
        needed = len(self.rows) + len(words)
        if needed > len(self.norms):
            capacity = max(needed, min(2 * len(self.norms), self.SIZE))
            grown = np.zeros((capacity, self.dimensions), np.float32)
            grown[: len(self.rows)] = self.unit_rows[: len(self.rows)]
            norms = np.zeros(capacity, np.float32)
            norms[: len(self.rows)] = self.norms[: len(self.rows)]
            self.unit_rows, self.norms = grown, norms
        lengths = np.linalg.norm(totals, axis=1)
        start = len(self.rows)
        self.unit_rows[start:needed] = totals / np.where(lengths == 0, 1.0, lengths)[:, None]
        self.norms[start:needed] = lengths
        self.rows.update((word, start + k) for k, word in enumerate(words))

    def _read(self, items: Sequence[str]) -> tuple[Vectors, npt.NDArray[np.float32]]:
        """The unit vectors and lengths of `items`' token sums, one row per word (copies)."""
        unique = list(dict.fromkeys(items))
        with self.lock:
            missing = [w for w in unique if w not in self.rows]
            if not missing:
                rows = [self.rows[w] for w in items]
                return self.unit_rows[rows], self.norms[rows]
        totals = dict(zip(missing, self._encode(missing), strict=True))  # the tokenizer, unlocked
        with self.lock:
            absent = [w for w in unique if w not in self.rows]
            if len(self.rows) + len(absent) > self.SIZE:  # full: start again
                self.rows.clear()
                absent = unique
            forgotten = [w for w in absent if w not in totals]  # dropped meanwhile by another call
            if forgotten:
                totals.update(zip(forgotten, self._encode(forgotten), strict=True))
            if absent:
                self._remember(absent, np.stack([totals[w] for w in absent]))
            rows = [self.rows[w] for w in items]
            return self.unit_rows[rows], self.norms[rows]

    def sums(self, items: Sequence[str]) -> Vectors:
        """The token sums of `items`, one row per word (zeros for a word of no tokens)."""
        if not items:
            return np.zeros((0, self.dimensions), np.float32)
        units, norms = self._read(items)
        scaled: Vectors = units * norms[:, None]
        return scaled

    def units_and_sums(self, items: Sequence[str]) -> tuple[Vectors, Vectors]:
        """`units(items)` and `sums(items)` in one read."""
        if not items:
            empty = np.zeros((0, self.dimensions), np.float32)
            return empty, empty
        units, norms = self._read(items)
        sums: Vectors = units * norms[:, None]
        return units, sums

    def units(self, items: Sequence[str]) -> Vectors:
        """The words' vectors, unit length, one row per word."""
        if not items:
            return np.zeros((0, self.dimensions), np.float32)
        return self._read(items)[0]


def _unit(vector: Vectors) -> Vectors:
    norm = float(np.linalg.norm(vector))
    return vector / norm if norm else vector


_VECTORS: list[WordVectors] = []
_VECTORS_LOCK = threading.Lock()


def word_vectors() -> WordVectors:
    """wordllama 0.4's weights, from inside its wheel (never downloaded), loaded once per process."""
    with _VECTORS_LOCK:
        if not _VECTORS:
            root = logging.getLogger()
            handlers, level = list(root.handlers), root.level
            import wordllama  # 0.2 s and 40 MB: when the first match runs

            root.handlers[:] = handlers  # its import calls logging.basicConfig: undo that
            root.setLevel(level)
            model = wordllama.WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
            _VECTORS.append(WordVectors(model.tokenizer, np.ascontiguousarray(model.embedding, np.float32)))
        return _VECTORS[0]


@dataclass(frozen=True)
class _Side:
    """What the features read of a text: its tokens, content words, their stems."""

    tokens: list[str]
    words: list[str]
    stems: list[str]

    @classmethod
    def of(cls, text: str) -> "_Side":
        found = tokens(text)
        content = [t for t in found if t not in STOPWORDS]
        return cls(found, content, [stem(w) for w in content])

    @cached_property
    def glued(self) -> str:
        """The tokens without the spaces between them: what character grams read."""
        return "".join(self.tokens)

    @cached_property
    def grams(self) -> set[str]:
        """The character 4-grams of `glued`: read once for a candidate that recurs."""
        return _grams(self.glued)


# Both caches hold what a candidate's text costs to read (tens of kB with its 4-grams): sized so a
# web process's memory stays within its budget beside the models (tests/bench/match_speed.py).
@lru_cache(maxsize=512)
def _document(text: str) -> _Side:
    """A candidate's text read once: candidates recur from one look-up to the next."""
    return _Side.of(text)


@dataclass(frozen=True)
class _Read:
    """What the features read of a (text, title) document, whatever the query: read once for a
    candidate that recurs from one look-up to the next."""

    body: _Side
    heading: _Side  # the title's, or the text's again when there is none
    words: Counter[str]  # content words of both
    stems: Counter[str]
    stem_set: frozenset[str]
    title_stems: frozenset[str]
    bigrams: frozenset[tuple[str, str]]
    text: str  # the tokens of both, spaced
    body_text: str  # the text's tokens, spaced
    grams: frozenset[str]
    numbers: frozenset[float]
    unique_words: tuple[str, ...]
    length: int  # content words of both

    @classmethod
    def of(cls, text: str, title: str | None) -> "_Read":
        body = _document(text)
        heading = _document(title) if title else body
        stems = body.stems + heading.stems
        return cls(
            body=body,
            heading=heading,
            words=Counter(body.words + heading.words),
            stems=Counter(stems),
            stem_set=frozenset(stems),
            title_stems=frozenset(heading.stems),
            bigrams=frozenset(itertools.pairwise(stems)),
            text=" ".join(body.tokens + heading.tokens),
            body_text=" ".join(body.tokens),
            grams=frozenset(_joined_grams(body, heading)),
            numbers=_document_numbers(text) | (_document_numbers(title) if title else frozenset()),
            unique_words=tuple(dict.fromkeys(body.words + heading.words)),
            length=len(body.words) + len(heading.words),
        )


@lru_cache(maxsize=256)
def read_document(text: str, title: str | None) -> _Read:
    """What the features read of a (text, title) document, remembered for the next look-up."""
    return _Read.of(text, title)


def read_ahead(query: str, documents: Sequence[tuple[str, str | None]]) -> None:
    """Read what `features` will read of these documents, and look up their words' vectors: both
    remembered, so that work is done while something else is awaited (the query's encoding)."""
    reads = [read_document(text, title) for text, title in documents]
    every = [_document(query).tokens, *(r.body.tokens for r in reads), *(r.heading.tokens for r in reads)]
    word_vectors().units(list(dict.fromkeys(token for side in every for token in side)))


def overlap(a: str, b: str) -> float:
    """The cosine of the two texts' sets of content stems: a cheap bound on how alike they read."""
    stems_a, stems_b = set(_document(a).stems), set(_document(b).stems)
    if not stems_a or not stems_b:
        return 0.0
    return len(stems_a & stems_b) / math.sqrt(len(stems_a) * len(stems_b))


WORD_FEATURES = (
    "bm25",  # Okapi BM25 of the query's words in the document (text and title)
    "bm25_stems",  # the same over stems, each weighted by its rarest word
    "query_covered",  # weighted share of the query's stems in the document
    "document_covered",  # share of the document's stems in the query
    "title_covered",  # share of the title's stems in the query
    "bigrams",  # share of the document's stem bigrams in the query
    "token_set",  # rapidfuzz token_set_ratio
    "partial",  # rapidfuzz partial_ratio of the document's text in the query
    "embedding",  # cosine of the word-vector means: query and document
    "numbers_agree",  # a number of the query has its value in the document
    "numbers_conflict",  # the document has a value the query does not, which has numbers
    "names_covered",  # share of the query's capitalised words in the document
    "document_length",
    "embedding_text",  # cosine: query and the document's text alone
    "embedding_title",  # cosine: query and the title alone
    "embedding_sentence",  # best cosine between a sentence of the query and the document
    "embedding_rank",  # 1 / (1 + rank by embedding among the candidates)
    "char_grams",  # share of the document's character 4-grams in the query
    "soft_query",  # weighted mean over query words of the best word-vector cosine in the document
    "soft_document",  # mean over document words of the best cosine in the query
    "soft_query_06",  # weighted share of query words with a cosine of 0.6 or more
    "soft_document_06",
    # Relative to the best candidate of the same look-up:
    "bm25_rel",
    "bm25_stems_rel",
    "embedding_rel",
    "embedding_text_rel",
    "embedding_title_rel",
    "embedding_sentence_rel",
)
# Of the sentence vectors (all-MiniLM-L6-v2, `encoder`): query and document (text and title).
SENTENCE_FEATURES = (
    "sentence",  # their cosine
    "sentence_rank",  # 1 / (1 + rank by it among the candidates)
    "sentence_rel",  # relative to the best candidate's
    "sentence_gap",  # less the best candidate's
)
FEATURES = WORD_FEATURES + SENTENCE_FEATURES
_RELATIVE = ("bm25", "bm25_stems", "embedding", "embedding_text", "embedding_title", "embedding_sentence")
_RELATIVE_COLUMNS = [WORD_FEATURES.index(name) for name in _RELATIVE]
_BASE = len(WORD_FEATURES) - len(_RELATIVE)  # the relative ones come last


def _dot(a: Vectors, b: Vectors) -> Vectors:
    """a @ b.T in numpy's own loops: OpenBLAS would start threads for these small products, and
    in a web worker sharing its cores those cost more than the arithmetic (2x the time here)."""
    product: Vectors = np.einsum("ik,jk->ij", a, b)
    return product


def _grams(text: str, n: int = 4) -> set[str]:
    joined = text.replace(" ", "")
    return {joined[i : i + n] for i in range(len(joined) - n + 1)}


def _joined_grams(first: _Side, second: _Side) -> set[str]:
    """The 4-grams of both texts' tokens read as one: each one's own and the few across the
    seam (a gram across it has at most 3 characters on either side)."""
    return first.grams | second.grams | _grams(first.glued[-3:] + second.glued[:3])


@lru_cache(maxsize=16_384)
def _document_numbers(text: str) -> frozenset[float]:
    return number_values(text)


def _bm25(
    terms: Collection[str],
    counts: Mapping[str, int],
    length: int,
    weights: Mapping[str, float],
    average: float,
) -> float:
    score = 0.0
    norm = 1.2 * (0.25 + 0.75 * length / average)
    for term in terms:
        tf = counts.get(term)
        if tf:
            score += weights[term] * tf * 2.2 / (tf + norm)
    return score


def features(
    query: str,
    documents: Sequence[tuple[str, str | None]],
    weight: Callable[[str], float],
    vectors: WordVectors,
    average_length: float,
) -> npt.NDArray[np.float64]:
    """One row of WORD_FEATURES per (text, title) document, against `query`; `weight(word)` is the
    word's inverse document frequency in the collection searched. A document without a title is
    read as its text twice, as if its title said it again."""
    n = len(documents)
    if n == 0:
        return np.zeros((0, len(WORD_FEATURES)))
    q = _Side.of(query)
    q_set = set(q.words)
    q_stems = set(q.stems)
    q_weights = {w: weight(w) for w in q_set}
    stem_weights: dict[str, float] = {}
    for w in q_set:  # a stem weighs as its rarest word
        s = stem(w)
        stem_weights[s] = max(stem_weights.get(s, 0.0), q_weights[w])
    q_total = sum(stem_weights.values()) or 1.0
    q_bigrams = set(itertools.pairwise(q.stems))
    names = {stem(w) for name in _NAME.findall(query) for w in words(name)}
    q_numbers = number_values(query)
    q_text = " ".join(q.tokens)
    q_grams = _grams(q_text)
    q_unique = list(dict.fromkeys(q.words))
    q_word_weights = np.array([q_weights[w] for w in q_unique])
    q_word_total = float(q_word_weights.sum()) or 1.0
    sentences = [t for t in map(tokens, _SENTENCE_END.split(query)) if len(t) >= 3]

    reads = [read_document(text, title) for text, title in documents]
    bodies = [r.body for r in reads]
    headings = [r.heading for r in reads]
    # Every word's vector is looked up once: the texts' vectors are sums of their words'.
    index: dict[str, int] = {}
    for side in (q, *bodies, *headings):
        for token in side.tokens:
            index.setdefault(token, len(index))
    known = list(index)
    units, sums = vectors.units_and_sums(known)

    def text_vectors(texts: Sequence[list[str]]) -> Vectors:
        lengths = [len(t) for t in texts]
        flat = [index[token] for t in texts for token in t]
        if not flat:
            return np.zeros((len(texts), sums.shape[1]), np.float32)
        starts = np.cumsum([0, *lengths[:-1]])
        # A zero row after the last word: an empty text at the end starts there.
        rows = np.vstack([sums[flat], np.zeros((1, sums.shape[1]), np.float32)])
        totals = np.add.reduceat(rows, starts, axis=0)
        totals[np.array(lengths) == 0] = 0.0
        norms = np.linalg.norm(totals, axis=1, keepdims=True)
        unit: Vectors = (totals / np.where(norms == 0, 1.0, norms)).astype(np.float32)
        return unit

    # All in one pass: the query, its sentences, the documents' texts and their titles.
    every = text_vectors([q.tokens, *sentences, *(b.tokens for b in bodies), *(h.tokens for h in headings)])
    q_vector = every[0]
    q_sentences = every[1 : 1 + len(sentences)] if sentences else every[:1]
    body_vectors = every[1 + len(sentences) : 1 + len(sentences) + n]
    heading_vectors = every[1 + len(sentences) + n :]
    document_vectors = body_vectors + heading_vectors  # the mean of both, as one text's tokens
    document_vectors /= np.where(
        (norms := np.linalg.norm(document_vectors, axis=1, keepdims=True)) == 0, 1.0, norms
    )
    embedding = _dot(document_vectors, q_vector[None, :])[:, 0]
    embedding_text = _dot(body_vectors, q_vector[None, :])[:, 0]
    embedding_title = _dot(heading_vectors, q_vector[None, :])[:, 0]
    embedding_sentence = _dot(document_vectors, q_sentences).max(axis=1)
    similar = (
        _dot(units[[index[w] for w in q_unique]], units) if q_unique else None
    )  # query words x all words

    rows = np.zeros((n, len(WORD_FEATURES)))
    for k, d in enumerate(reads):
        length = d.length
        common = q_stems & d.stem_set
        d_numbers = d.numbers if q_numbers else frozenset()
        soft = (0.0, 0.0, 0.0, 0.0)
        if similar is not None and d.unique_words:
            columns = similar[:, [index[w] for w in d.unique_words]]
            best_q, best_d = columns.max(axis=1), columns.max(axis=0)
            soft = (
                float(q_word_weights @ best_q) / q_word_total,
                float(best_d.sum()) / len(best_d),
                float(q_word_weights @ (best_q >= 0.6)) / q_word_total,
                float(np.count_nonzero(best_d >= 0.6)) / len(best_d),
            )
        rows[k, :_BASE] = (
            _bm25(q_set, d.words, length, q_weights, average_length),
            _bm25(q_stems, d.stems, length, stem_weights, average_length),
            sum(stem_weights[s] for s in common) / q_total,
            len(common) / (len(d.stem_set) or 1),
            len(common & d.title_stems) / (len(d.title_stems) or 1),
            len(q_bigrams & d.bigrams) / (len(d.bigrams) or 1),
            fuzz.token_set_ratio(q_text, d.text) / 100,
            fuzz.partial_ratio(d.body_text, q_text) / 100,
            embedding[k],
            float(bool(q_numbers & d_numbers)),
            float(bool(q_numbers) and bool(d_numbers - q_numbers)),
            len(names & d.stem_set) / (len(names) or 1),
            math.log1p(length),
            embedding_text[k],
            embedding_title[k],
            embedding_sentence[k],
            0.0,  # embedding_rank, below
            len(q_grams & d.grams) / (len(d.grams) or 1),
            *soft,
        )
    rank = np.empty(n)
    rank[np.argsort(-embedding, kind="stable")] = np.arange(n)
    rows[:, WORD_FEATURES.index("embedding_rank")] = 1 / (1 + rank)
    best = np.maximum(rows[:, _RELATIVE_COLUMNS].max(axis=0), 1e-9)
    rows[:, _BASE:] = rows[:, _RELATIVE_COLUMNS] / best
    return rows


def sentence_features(query: Vectors, documents: Vectors) -> npt.NDArray[np.float64]:
    """One row of SENTENCE_FEATURES per document vector (unit rows), against the query's."""
    if len(documents) == 0:
        return np.zeros((0, len(SENTENCE_FEATURES)))
    cosine = (documents @ query).astype(np.float64)
    rank = np.empty(len(cosine))
    rank[np.argsort(-cosine, kind="stable")] = np.arange(len(cosine))
    best = float(cosine.max())
    rows: npt.NDArray[np.float64] = np.c_[cosine, 1 / (1 + rank), cosine / max(best, 1e-9), cosine - best]
    return rows


# -- the model -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Reranker:
    """A linear model over FEATURES, or over WORD_FEATURES alone (trained pairwise), and its
    calibration into a probability."""

    mean: npt.NDArray[np.float64]
    scale: npt.NDArray[np.float64]
    weights: npt.NDArray[np.float64]
    calibration: tuple[float, float]  # probability = sigmoid(a * score + b)
    average_length: float  # words of a document, on average, in the collection trained on
    candidates: int  # how many candidates the index is asked for
    nearest: int  # and how many of the nearest sentence vectors join them (0: no sentence vectors)

    @classmethod
    def from_json(cls, data: Mapping[str, Any], part: str | None = None) -> "Reranker":
        """The model as `train_reranker.py` wrote it, or its `part` ("words": the one without
        sentence vectors); its features must be ours."""
        model = data[part] if part else data
        if tuple(model["features"]) != (WORD_FEATURES if part == "words" else FEATURES):
            raise ValueError("The re-ranker was trained on other features: train it again.")
        a, b = model["calibration"]
        return cls(
            np.array(model["mean"], dtype=np.float64),
            np.array(model["scale"], dtype=np.float64),
            np.array(model["weights"], dtype=np.float64),
            (float(a), float(b)),
            float(data["average_length"]),
            int(model.get("candidates", data["candidates"])),  # a part's own, where it has one
            int(data["nearest"]) if part is None else 0,
        )

    @property
    def sentences(self) -> bool:
        """Whether it reads sentence vectors (SENTENCE_FEATURES)."""
        return len(self.weights) == len(FEATURES)

    def scores(self, matrix: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        """The probability, for each row of features, that its document is the claim looked for."""
        raw = ((matrix - self.mean) / self.scale) @ self.weights
        a, b = self.calibration
        # The logistic function, its argument held where exp cannot overflow (its value there is
        # 0 or 1 to double precision all the same).
        probability: npt.NDArray[np.float64] = 1 / (1 + np.exp(-np.clip(a * raw + b, -700, 700)))
        return probability

    def rank(
        self,
        query: str,
        documents: Sequence[tuple[str, str | None]],
        weight: Callable[[str], float],
        query_vector: Vectors | None = None,
        document_vectors: Vectors | None = None,
    ) -> npt.NDArray[np.float64]:
        """The probability of each (text, title) document being the claim `query` states, given
        the sentence vectors of both (`vectors.encode_documents`) if the model reads them."""
        matrix = features(query, documents, weight, word_vectors(), self.average_length)
        if self.sentences:
            if query_vector is None or document_vectors is None:
                raise ValueError("This model reads sentence vectors: pass them.")
            matrix = np.hstack([matrix, sentence_features(query_vector, document_vectors)])
        return self.scores(matrix)


@lru_cache(maxsize=2)
def _shipped(part: str | None) -> Reranker:
    return Reranker.from_json(json.loads(MODEL_PATH.read_text(encoding="utf-8")), part)


def reranker() -> Reranker:
    """The shipped model (claims/matching/reranker.json), read once per process."""
    return _shipped(None)


def word_reranker() -> Reranker:
    """The shipped model's part without sentence vectors: for matching many sentences at once
    (an extraction's), where encoding each would cost more than the rest of the work."""
    return _shipped("words")
