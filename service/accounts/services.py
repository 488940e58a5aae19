"""Users and their API tokens: creation, look-up by secret, revocation. No Flask here."""

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col, select

from service.accounts.models import ROLES, DeskSession, Role, Token, User
from service.accounts.signin import SignInService
from service.core.database import utcnow
from service.core.errors import ConflictError, InvalidInputError, NotFoundError

TOKEN_PREFIX = "fdk_"  # noqa: S105 - the visible marker of a token, not a secret
SHOWN_PREFIX_LENGTH = 12  # "fdk_" + 8 characters: enough to tell tokens apart, useless to guess
LAST_USED_EVERY = timedelta(minutes=1)  # how fresh a token's last use is kept: one write a minute at most


@dataclass(frozen=True)
class Person:
    """A user as the people list shows them: when they last used a token or signed in to the desk."""

    user: User
    last_active_at: datetime | None


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class UserService:
    """Adds users and issues, finds and revokes their tokens."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def add(self, name: str, role: str) -> User:
        """A new user; names are unique."""
        if role not in ROLES:
            raise InvalidInputError(f"Unknown role {role!r}.", {"role": [f"One of {', '.join(ROLES)}."]})
        name = name.strip()
        if not name or len(name) > 80:
            raise InvalidInputError("A user name has 1 to 80 characters.")
        if self.by_name(name) is not None:
            raise ConflictError(f"A user named {name!r} exists already.")
        user = User(name=name, role=role)
        self.session.add(user)
        self.session.flush()
        return user

    def by_name(self, name: str) -> User | None:
        return self.session.scalars(select(User).where(User.name == name)).first()

    def find(self, name_or_id: str) -> User:
        user = self.session.get(User, name_or_id) or self.by_name(name_or_id)
        if user is None:
            raise NotFoundError(f"No user {name_or_id!r}.")
        return user

    def any(self) -> bool:
        """Whether at least one user exists."""
        return self.session.scalars(select(User.id).limit(1)).first() is not None

    def people(self) -> list[Person]:
        """Every user, by name (case aside, the same on every database), with their last activity."""
        users = sorted(self.session.scalars(select(User)).all(), key=lambda user: user.name.casefold())
        last_token = dict(
            self.session.execute(
                select(Token.user_id, sa.func.max(Token.last_used_at)).group_by(col(Token.user_id))
            ).all()
        )
        last_sign_in = dict(
            self.session.execute(
                select(DeskSession.user_id, sa.func.max(DeskSession.created_at)).group_by(
                    col(DeskSession.user_id)
                )
            ).all()
        )
        return [Person(user, _latest(last_token.get(user.id), last_sign_in.get(user.id))) for user in users]

    def person(self, user: User) -> Person:
        return next(p for p in self.people() if p.user.id == user.id)

    def set_role(self, user: User, role: str) -> User:
        """Give `user` another role; the last active admin keeps theirs."""
        if role not in ROLES:
            raise InvalidInputError(f"Unknown role {role!r}.", {"role": [f"One of {', '.join(ROLES)}."]})
        if role != Role.ADMIN:
            self._keep_an_admin(user, "demote")
        user.role = role
        self.session.add(user)
        self.session.flush()
        return user

    def set_disabled(self, user: User, disabled: bool) -> User:
        """Disable (or enable again) `user`: their tokens and desk sessions stop at once, since
        both are checked against `disabled_at` on every request; the sessions also end for good."""
        if disabled and user.disabled_at is None:
            self._keep_an_admin(user, "disable")
            user.disabled_at = utcnow()
            SignInService(self.session).end_sessions(user.id)
        elif not disabled:
            user.disabled_at = None
        self.session.add(user)
        self.session.flush()
        return user

    def _keep_an_admin(self, user: User, action: str) -> None:
        if user.role != Role.ADMIN or user.disabled_at is not None:
            return
        admins = self.session.scalars(  # locked: two admins demoting each other cannot both win
            select(User.id)
            .where(col(User.role) == Role.ADMIN, col(User.disabled_at).is_(None))
            .with_for_update()
        ).all()
        if set(admins) <= {user.id}:
            raise ConflictError(
                f"{user.name} is the last admin: make another admin before you {action} them."
            )

    def tokens(self, user: User) -> Sequence[Token]:
        """`user`'s tokens, newest first, revoked ones included (their secrets are never kept)."""
        return self.session.scalars(
            select(Token).where(col(Token.user_id) == user.id).order_by(col(Token.created_at).desc())
        ).all()

    def issue_token(self, user: User) -> str:
        """A new token for `user`; the secret is returned once and only its hash is kept."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.session.add(
            Token(user_id=user.id, prefix=secret[:SHOWN_PREFIX_LENGTH], secret_hash=_digest(secret))
        )
        self.session.flush()
        return secret

    def revoke(self, prefix: str, owner: User | None = None) -> int:
        """Revoke the live tokens (of `owner`, when given) whose shown prefix starts with `prefix`;
        how many were revoked."""
        if len(prefix) < SHOWN_PREFIX_LENGTH:
            raise InvalidInputError(f"Give at least the first {SHOWN_PREFIX_LENGTH} characters of the token.")
        query = select(Token).where(
            Token.prefix == prefix[:SHOWN_PREFIX_LENGTH], col(Token.revoked_at).is_(None)
        )
        if owner is not None:
            query = query.where(col(Token.user_id) == owner.id)
        tokens = self.session.scalars(query).all()
        tokens = [
            t
            for t in tokens
            if len(prefix) == SHOWN_PREFIX_LENGTH or hmac.compare_digest(t.secret_hash, _digest(prefix))
        ]
        for token in tokens:
            token.revoked_at = utcnow()
        self.session.flush()
        return len(tokens)

    def authenticate(self, secret: str) -> "Authenticated | None":
        """The active user owning this live token (and whether its last use is due to be
        recorded: see `note_use`), or None."""
        if not secret.startswith(TOKEN_PREFIX) or len(secret) > 200:
            return None
        digest = _digest(secret)
        row = self.session.execute(
            select(Token, User)
            .join(User, col(User.id) == col(Token.user_id))
            .where(
                Token.secret_hash == digest, col(Token.revoked_at).is_(None), col(User.disabled_at).is_(None)
            )
        ).first()
        if row is None or not hmac.compare_digest(row[0].secret_hash, digest):
            return None
        last_used = row[0].last_used_at
        return Authenticated(row[1], last_used is None or utcnow() - last_used >= LAST_USED_EVERY)

    def note_use(self, secret: str) -> None:
        """Record that the token was used now, unless that was recorded within LAST_USED_EVERY.

        One short statement of its own (the caller commits it apart from the request's work), so a
        read-only request writes at most once a minute per token."""
        now = utcnow()
        self.session.execute(
            sa.update(Token)
            .where(
                col(Token.secret_hash) == _digest(secret),
                sa.or_(col(Token.last_used_at).is_(None), col(Token.last_used_at) < now - LAST_USED_EVERY),
            )
            .values(last_used_at=now)
        )


@dataclass(frozen=True)
class Authenticated:
    user: User
    use_is_due: bool  # the token's last use was recorded over LAST_USED_EVERY ago (or never)


def _latest(*times: datetime | None) -> datetime | None:
    return max((t for t in times if t is not None), default=None)
