"""The service's own tables: users, their API tokens, and stored idempotent responses."""

from datetime import datetime

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.database import UTCDateTime, utcnow
from service.exceptions import ForbiddenError
from service.ids import new_id

ROLES = ("submitter", "reviewer", "editor", "admin")


def role_rank(role: str) -> int:
    """Position of `role` in the ladder; each role includes the ones before it."""
    return ROLES.index(role)


def ensure_role(user: "User", role: str) -> None:
    """ForbiddenError unless `user` holds `role` or one above it (services call this, so the API
    and the desk refuse alike)."""
    if role_rank(user.role) < role_rank(role):
        raise ForbiddenError(f"This needs the {role} role; you are a {user.role}.")


class User(SQLModel, table=True):
    __tablename__ = "user"

    id: str = Field(default_factory=lambda: new_id("usr"), primary_key=True, max_length=40)
    name: str = Field(max_length=80, sa_column_kwargs={"unique": True})
    role: str = Field(max_length=20)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    # For the reviewer desk's sign-in (argon2); API clients use tokens.
    password_hash: str | None = Field(default=None, max_length=200)
    failed_logins: int = Field(default=0, sa_column_kwargs={"server_default": "0"})
    locked_until: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Token(SQLModel, table=True):
    """An API token; only its SHA-256 is stored, with a short prefix to tell tokens apart."""

    __tablename__ = "token"

    id: str = Field(default_factory=lambda: new_id("tok"), primary_key=True, max_length=40)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=40)
    prefix: str = Field(max_length=16, index=True)
    secret_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class IdempotencyRecord(SQLModel, table=True):
    """The first response to a request sent with an `Idempotency-Key`, replayed on retries."""

    __tablename__ = "idempotency_record"

    user_id: str = Field(foreign_key="user.id", primary_key=True, max_length=40)
    key: str = Field(primary_key=True, max_length=255)
    request_hash: str = Field(max_length=64)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    completed_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    response_status: int | None = None
    response_headers: dict | None = Field(default=None, sa_type=sa.JSON)
    response_body: bytes | None = Field(default=None, sa_type=sa.LargeBinary)
