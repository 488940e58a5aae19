"""Full-text search over claims: SQLite FTS5 or a PostgreSQL tsvector, behind one interface.

`ClaimSearch.matching(q)` gives a SQL condition for `?q=`. (Finding the claims like a given text,
for duplicates and matching, is `claims.matching.retrieval`.)
"""

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col

from claims.models import Claim

_PHRASE = re.compile(r'"([^"]*)"')
_WORD = re.compile(r"\w+", re.UNICODE)
MAX_QUERY_TERMS = 16


def parse_query(q: str) -> tuple[list[str], list[list[str]]]:
    """Split a user query into bare words and quoted phrases (each a list of words)."""
    phrases = [_WORD.findall(p) for p in _PHRASE.findall(q)]
    rest = _PHRASE.sub(" ", q)
    words = _WORD.findall(rest)
    return words[:MAX_QUERY_TERMS], [p for p in phrases if p][:MAX_QUERY_TERMS]


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


def _fts5_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _pg_and(left: sa.ColumnElement[Any] | None, right: sa.ColumnElement[Any]) -> sa.ColumnElement[Any]:
    return right if left is None else left.op("&&")(right)
