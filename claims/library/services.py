"""The fact-check library: import ClaimReview in bulk, list and search it, read one.

`FactCheckLibrary(session).import_payload(json, user)` writes through SQLAlchemy Core, a chunk
of rows per statement, in the caller's transaction (which commits once, as every service here).
"""

import hashlib
import re
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.orm import Session
from sqlmodel import col, select

from claims.library.claimreview import ParsedItem, ParseError, parse_payload
from claims.library.errors import FactCheckNotFound, NothingImportable
from claims.library.models import PUBLISHER_MAX, FactCheck
from claims.search import MAX_QUERY_TERMS
from service.accounts.models import User
from service.core.database import utcnow
from service.core.ids import new_id
from service.core.text import fold

_PHRASE = re.compile(r'"([^"]*)"')
FACTCHECK: sa.Table = FactCheck.__table__  # type: ignore[attr-defined]  # set by SQLModel's metaclass
# What an import writes from each item: everything but the row's identity and who imported it.
CONTENT = (
    "url",
    "claim_reviewed",
    "claimant",
    "claim_date",
    "appearance_url",
    "rating",
    "rating_value",
    "best_rating",
    "worst_rating",
    "verdict",
    "publisher",
    "publisher_key",
    "publisher_url",
    "review_date",
    "language",
    "headline",
    "raw",
    "search_text",
    "content_hash",
)


@dataclass
class ImportReport:
    """What an import did: counts, and the items refused (by index, with where and why)."""

    imported: int = 0
    updated: int = 0
    skipped: int = 0  # the same url, nothing changed
    errors: list[ParseError] = field(default_factory=list)


class FactCheckLibrary:
    """ClaimReview published elsewhere, kept so that matching finds it. Never the desk's verdicts."""

    CHUNK = 1_000  # urls per SELECT of what exists, and rows per bulk INSERT / UPDATE

    def __init__(self, session: Session) -> None:
        self.session = session
        self.dialect = session.get_bind().dialect.name

    # -- import ------------------------------------------------------------------------------

    def import_payload(self, obj: object, user: User) -> ImportReport:
        """Import every readable item of `obj` (a parsed JSON body); a url already imported is
        updated, or skipped when nothing changed. Broken items are reported and the others kept;
        when every item is broken, NothingImportable (and nothing is written)."""
        parsed = parse_payload(obj)  # before touching the database: SQLite's write lock waits less
        errors = [p for p in parsed if isinstance(p, ParseError)]
        items = [p for p in parsed if isinstance(p, ParsedItem)]
        if errors and not items:
            raise NothingImportable(
                f"No item can be imported: all {len(errors)} are broken (see `errors`, by place in the body).",
                {e.path or "body": [f"Item {e.index}: {e.detail}"] for e in errors},
            )
        report = ImportReport(errors=errors)
        by_url: dict[str, list[dict[str, Any]]] = {}
        for item in items:  # an url twice in one body: as if imported one after the other
            by_url.setdefault(item.url, []).append(row_of(item))
        urls = list(by_url)
        for start in range(0, len(urls), self.CHUNK):
            self._import_chunk({url: by_url[url] for url in urls[start : start + self.CHUNK]}, user, report)
        return report

    def _import_chunk(self, rows: dict[str, list[dict[str, Any]]], user: User, report: ImportReport) -> None:
        stored = {
            url: (seq, content_hash)
            for url, seq, content_hash in self.session.execute(
                sa.select(FACTCHECK.c.url, FACTCHECK.c.seq, FACTCHECK.c.content_hash).where(
                    FACTCHECK.c.url.in_(list(rows))
                )
            )
        }
        now = utcnow()
        inserts: list[dict[str, Any]] = []
        updates: list[dict[str, Any]] = []
        for url, versions in rows.items():
            seq, before = stored.get(url, (None, None))
            for version in versions:
                if before is None:
                    report.imported += 1
                elif version["content_hash"] == before:
                    report.skipped += 1
                else:
                    report.updated += 1
                before = version["content_hash"]
            last = versions[-1]
            if seq is None:
                inserts.append(
                    {
                        **last,
                        "id": new_id("fck"),
                        "imported_at": now,
                        "updated_at": now,
                        "imported_by": user.id,
                    }
                )
            elif last["content_hash"] != stored[url][1]:
                updates.append({**last, "updated_at": now, "_seq": seq})
        if inserts:
            self.session.execute(self._insert(), inserts)
        if updates:
            self.session.execute(
                sa.update(FACTCHECK).where(FACTCHECK.c.seq == sa.bindparam("_seq")),
                updates,
            )

    def _insert(self) -> sa.Insert:
        """INSERT, or on PostgreSQL an upsert: another import of the same url may commit between
        this one's SELECT and INSERT (on SQLite the write lock is taken before the SELECT)."""
        if self.dialect != "postgresql":
            return sa.insert(FACTCHECK)
        stmt = postgresql.insert(FACTCHECK)
        return stmt.on_conflict_do_update(
            index_elements=[FACTCHECK.c.url],
            set_={name: stmt.excluded[name] for name in (*CONTENT, "updated_at")},
        )

    # -- reading -------------------------------------------------------------------------------

    def get(self, factcheck_id: str) -> FactCheck:
        """One imported fact-check by its id."""
        found = self.session.scalar(select(FactCheck).where(FactCheck.id == factcheck_id))
        if found is None:
            raise FactCheckNotFound(f"No imported fact-check {factcheck_id!r}.")
        return found

    def page(
        self, q: str | None, publisher: str | None, limit: int, after: int | None = None
    ) -> tuple[list[FactCheck], bool]:
        """Newest imports first, after the cursor (a `seq`): the page and whether more follow.

        `q`: words and "quoted phrases", all required, over the claim, headline and claimant;
        `publisher`: the publisher's name, case and spacing aside.
        """
        stmt = select(FactCheck)
        if q:
            stmt = stmt.where(self.matching(q))
        if publisher:
            stmt = stmt.where(FactCheck.publisher_key == _publisher_key(publisher))
        if after is not None:
            stmt = stmt.where(col(FactCheck.seq) < after)
        found = list(self.session.scalars(stmt.order_by(col(FactCheck.seq).desc()).limit(limit + 1)))
        return found[:limit], len(found) > limit

    def matching(self, q: str) -> sa.ColumnElement[bool]:
        """A WHERE condition on `factcheck`: every word and quoted phrase of `q` occurs in it
        (the query syntax of `GET /api/v1/claims?q=`)."""
        words, phrases = query_terms(q)
        if not words and not phrases:
            return sa.false()
        if self.dialect == "postgresql":
            terms = [sa.func.plainto_tsquery("simple", w) for w in words]
            terms += [sa.func.phraseto_tsquery("simple", p) for p in phrases]
            query: sa.ColumnElement[Any] = terms[0]
            for term in terms[1:]:
                query = query.op("&&")(term)
            return sa.column("search_vector").op("@@")(query)
        quoted = " ".join(_fts5_quote(term) for term in (*words, *phrases))
        return col(FactCheck.seq).in_(
            sa.select(sa.column("rowid"))
            .select_from(sa.table("factcheck_fts"))
            .where(sa.text("factcheck_fts MATCH :fts_q").bindparams(fts_q=quoted))
        )


def search_text(*parts: str | None) -> str:
    """What the full-text index holds: the parts folded, hyphens as spaces (PostgreSQL's parser
    reads "covid-19" as "covid" and "-19", FTS5 as "covid" and "19": this way both see 19)."""
    return fold("\n".join(p for p in parts if p)).replace("-", " ")


def query_terms(q: str) -> tuple[list[str], list[str]]:
    """The words and "quoted phrases" of a query, folded as `search_text` is. Words are split at
    spaces only, and each is handed whole to the engine's own tokenizer, as the indexed text was:
    splitting at `\\W` here would cut "U.S." (one token to PostgreSQL) or a Devanagari word at its
    vowel signs."""
    folded = fold(q).replace("-", " ")
    phrases = [p.strip() for p in _PHRASE.findall(folded)]
    words = _PHRASE.sub(" ", folded).split()

    def useful(term: str) -> bool:
        return any(c.isalnum() for c in term)

    return (
        [w for w in words if useful(w)][:MAX_QUERY_TERMS],
        [p for p in phrases if useful(p)][:MAX_QUERY_TERMS],
    )


def row_of(item: ParsedItem) -> dict[str, Any]:
    """The content columns of one item, with the hash that tells a changed re-import: of the item
    as received and of what was read from it (so a better reading of the same item updates it)."""
    row: dict[str, Any] = {name: getattr(item, name) for name in CONTENT if hasattr(item, name)}
    row["verdict"] = str(item.verdict)
    row["publisher_key"] = _publisher_key(item.publisher) if item.publisher else None
    row["search_text"] = search_text(item.claim_reviewed, item.headline, item.claimant)
    read = repr([row[name] for name in CONTENT if name not in ("raw", "content_hash")])  # str, float, date
    row["content_hash"] = hashlib.sha256(f"{item.raw_json}\n{read}".encode()).hexdigest()
    return row


def _publisher_key(name: str) -> str:
    return fold(name)[:PUBLISHER_MAX]


def _fts5_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'
