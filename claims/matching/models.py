"""The sentence vectors of the desk's claims and the imported fact-checks (`encoder`), one row each.

A row is written by the embedding job (`vectors.embed_pending`), never in the transaction that
writes the claim or the fact-check: it records the `updated_at` of the row it read, and a row
changed since is encoded again. Rows are replaced, never updated, so `id` only grows: a web
process reads the rows written since it last looked by `id`.
"""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.core.database import UTCDateTime


class Embedding(SQLModel, table=True):
    __tablename__ = "embedding"
    # AUTOINCREMENT on SQLite: an id is never handed out twice, even after the newest row is deleted.
    __table_args__ = (sa.UniqueConstraint("kind", "seq"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    kind: str = Field(max_length=10)  # "claim" or "factcheck"
    seq: int  # the row's seq in its table
    read_at: datetime = Field(sa_type=UTCDateTime)  # that row's updated_at when it was encoded
    vector: bytes = Field(sa_type=sa.LargeBinary)  # encoder.to_bytes: 384 float16
