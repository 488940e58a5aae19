"""People and their API tokens: who may do what on the desk."""

from datetime import datetime
from enum import StrEnum

from sqlmodel import Field, SQLModel

from service.core.database import UTCDateTime, utcnow
from service.core.errors import ForbiddenError
from service.core.ids import new_id


class Role(StrEnum):
    """The roles, each including the ones before it."""

    SUBMITTER = "submitter"  # submit claims and appearances, read the desk
    REVIEWER = "reviewer"  # research, cite, propose and approve verdicts
    EDITOR = "editor"  # dismiss, reopen, correct published verdicts
    ADMIN = "admin"  # users, tokens, webhooks

    def includes(self, other: "Role | str") -> bool:
        """Whether this role may do what `other` may (the one comparison of roles)."""
        ladder = list(Role)
        return ladder.index(self) >= ladder.index(Role(other))


ROLES = tuple(Role)


def ensure_role(user: "User", role: Role) -> None:
    """ForbiddenError unless `user` holds `role` or one above it (services call this, so the API
    and the desk refuse alike)."""
    if not user.has_role(role):
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

    def has_role(self, role: Role | str) -> bool:
        """Whether the user holds `role` or one above it."""
        return Role(self.role).includes(role)


class Token(SQLModel, table=True):
    """An API token; only its SHA-256 is stored, with a short prefix to tell tokens apart."""

    __tablename__ = "token"

    id: str = Field(default_factory=lambda: new_id("tok"), primary_key=True, max_length=40)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=40)
    prefix: str = Field(max_length=16, index=True)
    secret_hash: str = Field(max_length=64, sa_column_kwargs={"unique": True})
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    revoked_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    last_used_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class DeskSession(SQLModel, table=True):
    """A signed-in reviewer desk session. The browser's cookie holds a secret, the table its hash:
    signing out, a new password or a disabled account end it here, on the server, at once."""

    __tablename__ = "desk_session"

    id: str = Field(primary_key=True, max_length=64)  # SHA-256 of the cookie's secret
    user_id: str = Field(foreign_key="user.id", index=True, max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    expires_at: datetime = Field(sa_type=UTCDateTime)
    ended_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
