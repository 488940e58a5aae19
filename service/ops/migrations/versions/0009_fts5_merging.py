"""fts5 merging

SQLite only: the full-text indexes of claims and fact-checks merge their segments sooner
(`automerge` 2 and `crisismerge` 4, from FTS5's 4 and 16). Each write transaction adds a segment,
and a look-up reads every segment: under a steady stream of single-claim submissions the index
held a dozen or more, and intake's look-ups (a word's count, its postings) ran about twice as
long as in a merged index. Writes do a little more merging work each (tests/bench/intake.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

TABLES = ("claim_fts", "factcheck_fts")


def _configure(automerge: int, crisismerge: int) -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    for table in TABLES:  # our own table names; the values are bound
        for setting, value in (("automerge", automerge), ("crisismerge", crisismerge)):
            op.execute(
                sa.text(f"INSERT INTO {table}({table}, rank) VALUES (:setting, :value)").bindparams(  # noqa: S608
                    setting=setting, value=value
                )
            )


def upgrade() -> None:
    _configure(2, 4)


def downgrade() -> None:
    _configure(4, 16)  # FTS5's defaults
