"""Users and their API tokens: creation, look-up by secret, revocation. No Flask here."""

import hashlib
import hmac
import secrets

from sqlalchemy.orm import Session
from sqlmodel import col, select

from service.accounts.models import ROLES, Token, User
from service.core.database import utcnow
from service.core.errors import ConflictError, InvalidInputError, NotFoundError

TOKEN_PREFIX = "fdk_"  # noqa: S105 - the visible marker of a token, not a secret
SHOWN_PREFIX_LENGTH = 12  # "fdk_" + 8 characters: enough to tell tokens apart, useless to guess


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

    def issue_token(self, user: User) -> str:
        """A new token for `user`; the secret is returned once and only its hash is kept."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        self.session.add(
            Token(user_id=user.id, prefix=secret[:SHOWN_PREFIX_LENGTH], secret_hash=_digest(secret))
        )
        self.session.flush()
        return secret

    def revoke(self, prefix: str) -> int:
        """Revoke the live tokens whose shown prefix starts with `prefix`; how many were revoked."""
        if len(prefix) < SHOWN_PREFIX_LENGTH:
            raise InvalidInputError(f"Give at least the first {SHOWN_PREFIX_LENGTH} characters of the token.")
        tokens = self.session.scalars(
            select(Token).where(Token.prefix == prefix[:SHOWN_PREFIX_LENGTH], col(Token.revoked_at).is_(None))
        ).all()
        tokens = [
            t
            for t in tokens
            if len(prefix) == SHOWN_PREFIX_LENGTH or hmac.compare_digest(t.secret_hash, _digest(prefix))
        ]
        for token in tokens:
            token.revoked_at = utcnow()
        self.session.flush()
        return len(tokens)

    def authenticate(self, secret: str) -> User | None:
        """The active user owning this live token, or None."""
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
        return row[1]
