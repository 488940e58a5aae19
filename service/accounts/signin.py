"""Passwords for the reviewer desk: argon2 hashes, sign-in, and the lock-out after repeated failures.

`SignInService(session).sign_in(name, password)` answers the user or raises `SignInRefused`
(`AccountLocked` when the account is locked). No Flask here; the caller commits.
"""

import hashlib
import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache

import sqlalchemy as sa
from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session
from sqlmodel import col, select

from service.accounts.models import DeskSession, User
from service.core.database import utcnow
from service.core.errors import DomainError, InvalidInputError

SESSION_LIFETIME = timedelta(hours=12)  # a working day; then sign in again
MAX_FAILURES = 5  # failed attempts within FAILURE_WINDOW that lock the account
FAILURE_WINDOW = timedelta(minutes=1)
LOCK_FOR = timedelta(minutes=15)
MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 takes any length; this only bounds the work one request can ask for
DEFAULT_HASHER = PasswordHasher()  # argon2id, RFC 9106 low-memory profile (argon2-cffi's default)


class SignInRefused(DomainError):
    """Unknown name, wrong password, disabled account or no password set: never says which."""

    title = "Sign-in refused"

    def __init__(self, detail: str = "Wrong username or password.") -> None:
        super().__init__(detail)


class AccountLocked(SignInRefused):
    """Too many failed attempts; `until` is when the account opens again."""

    def __init__(self, until: datetime) -> None:
        super().__init__(
            f"Too many failed attempts: this account is locked until {until.strftime('%H:%M')} UTC."
        )
        self.until = until


class SignInService:
    """Sets passwords and checks them, counting failures on the user's row."""

    def __init__(
        self,
        session: Session,
        hasher: PasswordHasher | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.session = session
        self.hasher = hasher or DEFAULT_HASHER
        self.clock = clock

    @staticmethod
    def check_password(password: str) -> None:
        """Refuse a password too short or too long to be set."""
        if not MIN_PASSWORD <= len(password) <= MAX_PASSWORD:
            raise InvalidInputError(
                f"A password has {MIN_PASSWORD} to {MAX_PASSWORD} characters.",
                {"password": [f"At least {MIN_PASSWORD} characters."]},
            )

    def set_password(self, user: User, password: str) -> None:
        """Store the argon2 hash of a new password; it also lifts any lock-out, and ends every
        desk session of the user (whoever knew the old password is signed out)."""
        self.check_password(password)
        user.password_hash = self.hasher.hash(password)
        user.failed_logins, user.locked_until = 0, None
        self.session.add(user)
        self.end_sessions(user.id)
        self.session.flush()

    def start_session(self, user: User) -> str:
        """A new desk session for `user`; the secret for the cookie (only its hash is kept)."""
        secret = secrets.token_urlsafe(32)
        now = self.clock()
        self.session.add(
            DeskSession(
                id=_digest(secret), user_id=user.id, created_at=now, expires_at=now + SESSION_LIFETIME
            )
        )
        self.session.flush()
        return secret

    def session_user(self, secret: str) -> User | None:
        """The active user of a live session, or None (ended, expired, unknown, user disabled)."""
        if not secret or len(secret) > 100:
            return None
        row = self.session.execute(
            select(DeskSession, User)
            .join(User, col(User.id) == col(DeskSession.user_id))
            .where(
                col(DeskSession.id) == _digest(secret),
                col(DeskSession.ended_at).is_(None),
                col(DeskSession.expires_at) > self.clock(),
                col(User.disabled_at).is_(None),
            )
        ).first()
        return row[1] if row is not None else None

    def end_session(self, secret: str) -> None:
        """Sign out: the session's cookie no longer works, wherever it was copied to."""
        self.session.execute(
            sa.update(DeskSession)
            .where(col(DeskSession.id) == _digest(secret), col(DeskSession.ended_at).is_(None))
            .values(ended_at=self.clock())
        )
        self.session.flush()

    def end_sessions(self, user_id: str) -> None:
        """End every live desk session of a user (a new password; a disabled account)."""
        self.session.execute(
            sa.update(DeskSession)
            .where(col(DeskSession.user_id) == user_id, col(DeskSession.ended_at).is_(None))
            .values(ended_at=self.clock())
        )
        self.session.flush()

    def sign_in(self, name: str, password: str) -> User:
        """The user with this name and password, or SignInRefused / AccountLocked."""
        now = self.clock()
        user = self.session.scalars(
            select(User)
            .where(User.name == name.strip())
            .with_for_update()
            .execution_options(populate_existing=True)
        ).first()
        if user is None or user.disabled_at is not None or not user.password_hash:
            self._verify(_decoy_hash(self.hasher), password)  # as long as for a real account
            raise SignInRefused()
        if (until := self.locked_until(user, now)) is not None:
            raise AccountLocked(until)
        if not self._verify(user.password_hash, password):
            self._count_failure(user, now)
            if (until := self.locked_until(user, now)) is not None:
                raise AccountLocked(until)
            raise SignInRefused()
        if self.hasher.check_needs_rehash(user.password_hash):
            user.password_hash = self.hasher.hash(password)
        user.failed_logins, user.locked_until = 0, None
        self.session.add(user)
        self.session.flush()
        return user

    @staticmethod
    def locked_until(user: User, now: datetime) -> datetime | None:
        """When the user's lock-out ends, or None if the account is not locked now."""
        if user.failed_logins >= MAX_FAILURES and user.locked_until is not None and user.locked_until > now:
            return user.locked_until
        return None

    def _count_failure(self, user: User, now: datetime) -> None:
        # The table has no column for when a run of failures began, so until the account locks,
        # `locked_until` holds the end of the one-minute window the failures are counted in;
        # an account is locked only once `failed_logins` reaches MAX_FAILURES.
        window_open = user.failed_logins > 0 and user.locked_until is not None and user.locked_until > now
        if window_open:
            user.failed_logins += 1
        else:
            user.failed_logins, user.locked_until = 1, now + FAILURE_WINDOW
        if user.failed_logins >= MAX_FAILURES:
            user.locked_until = now + LOCK_FOR
        self.session.add(user)
        self.session.flush()

    def _verify(self, password_hash: str, password: str) -> bool:
        if len(password) > MAX_PASSWORD:
            return False
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False


@lru_cache(maxsize=4)
def _decoy_hash(hasher: PasswordHasher) -> str:
    """A hash to verify against when the account does not exist (made once per process)."""
    return hasher.hash("not the password of any account")


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()
