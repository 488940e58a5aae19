"""Full-text search over claims: SQLite FTS5 or a PostgreSQL tsvector, behind one interface.

`ClaimSearch.matching(q)` gives a SQL condition for `?q=`; `candidates(text)` finds the claims
most likely to be near-duplicates of `text` through the index, never by scanning every claim.
"""

import itertools
import re
import threading
import time
import unicodedata
import weakref
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from claims.models import Claim

_PHRASE = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"\w+", re.UNICODE)
# Words too common to tell claims apart; dropping them keeps duplicate look-ups cheap.
_STOPWORDS = frozenset(
    [
        "a",
        "an",
        "and",
        "are",
        "as",
        "at",
        "be",
        "by",
        "for",
        "from",
        "has",
        "have",
        "in",
        "is",
        "it",
        "its",
        "of",
        "on",
        "or",
        "that",
        "the",
        "this",
        "to",
        "was",
        "were",
        "will",
        "with",
        "not",
    ]
)
MAX_QUERY_TERMS = 16
RARE_TERMS = 4
COUNT_CAP = 1_000  # PostgreSQL counts a word's claims up to this many


def parse_query(q: str) -> tuple[list[str], list[list[str]]]:
    """Split a user query into bare words and quoted phrases (each a list of words)."""
    phrases = [_WORD.findall(p) for p in _PHRASE.findall(q)]
    rest = _PHRASE.sub(" ", q)
    words = _WORD.findall(rest)
    return words[:MAX_QUERY_TERMS], [p for p in phrases if p][:MAX_QUERY_TERMS]


def significant_words(text: str, limit: int = 12) -> list[str]:
    """Distinct, lower-cased words of `text` worth looking up, longest first."""
    seen: dict[str, None] = {}
    for word in _WORD.findall(text.casefold()):
        if word not in _STOPWORDS and (len(word) > 1 or not word.isascii()):
            seen.setdefault(word)
    return sorted(seen, key=len, reverse=True)[:limit]


class ClaimSearch:
    """Dialect-specific full-text conditions over `Claim.search_text`."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    def matching(self, q: str) -> sa.ColumnElement[bool]:
        """A WHERE condition: every word and quoted phrase of `q` occurs in the claim."""
        words, phrases = parse_query(q)
        if not words and not phrases:
            return sa.false()
        if self.dialect == "postgresql":
            query: sa.ColumnElement[Any] | None = None
            for w in words:
                query = _pg_and(query, sa.func.plainto_tsquery("simple", w))
            for p in phrases:
                query = _pg_and(query, sa.func.phraseto_tsquery("simple", " ".join(p)))
            return sa.column("search_vector").op("@@")(query)
        terms = [_fts5_quote(w) for w in words] + [_fts5_quote(" ".join(p)) for p in phrases]
        return col(Claim.seq).in_(
            sa.select(sa.column("rowid"))
            .select_from(sa.table("claim_fts"))
            .where(sa.text("claim_fts MATCH :fts_q").bindparams(fts_q=" ".join(terms)))
        )

    def candidates(self, text: str, limit: int = 20) -> list[tuple[str, str]]:
        """(id, text) of the claims sharing the most telling words with `text`, best first.

        Those sharing two of its four rarest words, or, when none does, one: a near-duplicate
        shares most words, so it shares rare ones, and asking for pairs keeps the set to rank
        small (at 100,000 claims a few rows, not thousands).
        """
        words = significant_words(text)
        if self.dialect != "postgresql":
            words = [_without_diacritics(w) for w in words]  # as FTS5's unicode61 stores them
        rare = self._rarest(words, RARE_TERMS)
        for groups in (list(itertools.combinations(rare, 2)), [(word,) for word in rare]):
            rows = self._sharing_a_group(groups, limit) if groups else []
            if rows:
                return rows
        return []

    def _sharing_a_group(self, groups: Sequence[tuple[str, ...]], limit: int) -> list[tuple[str, str]]:
        """Claims holding every word of at least one group, best ranked first."""
        if self.dialect == "postgresql":
            query: sa.ColumnElement[Any] | None = None
            for group in groups:
                both: sa.ColumnElement[Any] | None = None
                for word in group:
                    term = sa.func.plainto_tsquery("simple", word)
                    both = term if both is None else both.op("&&")(term)
                query = both if query is None else query.op("||")(both)
            vector: sa.ColumnClause[Any] = sa.column("search_vector")
            stmt = (
                sa.select(col(Claim.id), col(Claim.text))
                .where(vector.op("@@")(query))
                .order_by(sa.func.ts_rank(vector, query).desc())
                .limit(limit)
            )
            return [(claim_id, text) for claim_id, text in self.session.execute(stmt)]
        match = " OR ".join("(" + " AND ".join(_fts5_quote(w) for w in group) + ")" for group in groups)
        rows = self.session.execute(
            sa.text(
                "SELECT c.id, c.text FROM claim_fts JOIN claim c ON c.seq = claim_fts.rowid "
                "WHERE claim_fts MATCH :q ORDER BY claim_fts.rank LIMIT :limit"
            ),
            {"q": match, "limit": limit},
        ).all()
        return [(claim_id, text) for claim_id, text in rows]

    def _rarest(self, words: list[str], keep: int) -> list[str]:
        """The `keep` words of `words` found in the fewest claims."""
        if not words:
            return []
        counts = _term_counts(self.session.get_bind()).get(words, self._count_claims)
        present = [w for w in words if counts.get(w)]
        return sorted(present, key=lambda w: counts[w])[:keep]

    def _count_claims(self, words: list[str]) -> dict[str, int]:
        """Claims holding each word: SQLite from the FTS5 vocabulary; PostgreSQL through the GIN
        index, counted up to COUNT_CAP (a word that common is no use for finding duplicates)."""
        if self.dialect == "postgresql":
            rows = self.session.execute(
                sa.text(
                    "SELECT w, (SELECT count(*) FROM (SELECT 1 FROM claim "
                    "WHERE search_vector @@ plainto_tsquery('simple', w) LIMIT :cap) AS found) "
                    "FROM unnest(CAST(:words AS text[])) AS w"
                ),
                {"words": words, "cap": COUNT_CAP},
            ).all()
            return dict(rows)
        params = {f"w{i}": w for i, w in enumerate(words)}
        rows = self.session.execute(
            # Only bound parameters are spliced in (their names, never the words themselves).
            sa.text(
                "SELECT term, doc FROM claim_fts_vocab WHERE term IN ("  # noqa: S608
                + ", ".join(f":{k}" for k in params)
                + ")"
            ),
            params,
        ).all()
        return dict(rows)


class TermCounts:
    """How many claims hold each word, remembered for a few minutes (per process and database).

    FTS5 counts a word's claims by walking its whole posting list (a quarter of a millisecond for
    a word in 30,000 claims: at 100,000 claims the count was most of a duplicate look-up), and
    PostgreSQL by reading up to COUNT_CAP rows through the index. The
    counts only choose which words to search by; one a few minutes old chooses as well. Words in
    no claim are not remembered, so a word's first claims are found at once.
    """

    TTL_SECONDS = 300.0
    SIZE = 50_000

    def __init__(self) -> None:
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def get(self, words: list[str], count: Callable[[list[str]], dict[str, int]]) -> dict[str, int]:
        """Counts of `words`: remembered ones, and `count(the others)`."""
        now = time.monotonic()
        known, missing = {}, []
        for word in words:
            hit = self._counts.get(word)
            if hit is not None and hit[0] > now:
                known[word] = hit[1]
            else:
                missing.append(word)
        if missing:
            fresh = count(missing)
            with self._lock:
                if len(self._counts) + len(fresh) > self.SIZE:
                    self._counts.clear()
                for word, claims in fresh.items():
                    if claims:
                        self._counts[word] = (now + self.TTL_SECONDS, claims)
            known.update(fresh)
        return known


# Keyed by the session's bind: the engine (a session bound to one connection would get its own).
_TERM_COUNTS: "weakref.WeakKeyDictionary[sa.Engine | sa.Connection, TermCounts]" = weakref.WeakKeyDictionary()


def _term_counts(bind: sa.Engine | sa.Connection) -> TermCounts:
    counts = _TERM_COUNTS.get(bind)
    if counts is None:
        counts = _TERM_COUNTS.setdefault(bind, TermCounts())
    return counts


def _without_diacritics(word: str) -> str:
    # As FTS5's unicode61 tokenizer (remove_diacritics 2) stores terms.
    decomposed = unicodedata.normalize("NFKD", word)
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.combining(c)))


def _fts5_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _pg_and(left: sa.ColumnElement[Any] | None, right: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return right if left is None else left.op("&&")(right)
