"""Passwords for the reviewer desk: argon2 hashes, sign-in, and the lock-out after repeated failures.

`SignInService(session).sign_in(name, password)` answers the user or raises `SignInRefused`
(`AccountLocked` when the account is locked). No Flask here; the caller commits.
"""

import hashlib
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy.orm import Session
from sqlmodel import select

from service.accounts.models import User
from service.core.database import utcnow
from service.core.errors import DomainError, InvalidInputError

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
        """Store the argon2 hash of a new password; it also lifts any lock-out."""
        self.check_password(password)
        user.password_hash = self.hasher.hash(password)
        user.failed_logins, user.locked_until = 0, None
        self.session.add(user)
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

    @staticmethod
    def password_fingerprint(user: User) -> str:
        """A short value that changes with the password, so a new password ends old sessions."""
        return hashlib.sha256((user.password_hash or "").encode()).hexdigest()[:16]

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
