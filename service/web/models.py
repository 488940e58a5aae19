"""The web layer's own table: the first response to a request sent with an `Idempotency-Key`."""

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.core.database import UTCDateTime, utcnow


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a request sent with an `Idempotency-Key`, replayed on retries."""

    __tablename__ = "idempotency_record"

    user_id: str = Field(foreign_key="user.id", primary_key=True, max_length=40)
    key: str = Field(primary_key=True, max_length=255)
    request_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # The process running the first request (host/pid/start time), so that a retry can tell at
    # once that it died with its process rather than wait ABANDONED_AFTER.
    owner: str | None = Field(default=None, max_length=300)
    response_status: int | None = None
    response_headers: dict[str, Any] | None = Field(default=None, sa_type=sa.JSON)
    response_body: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
