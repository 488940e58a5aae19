"""Bearer-token authentication for every request, and the role check views declare."""

import logging
from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from flask import Response, g, request
from sqlalchemy.exc import SQLAlchemyError

from service.accounts.models import Role, User
from service.accounts.services import UserService
from service.core.database import write_intent
from service.web import context
from service.web.problems import problem

View = TypeVar("View", bound=Callable[..., Any])
SCHEME = "Bearer"
log = logging.getLogger(__name__)


def current_user() -> User | None:
    """The authenticated user of this request, or None for an anonymous reader."""
    user: User | None = g.get("user")
    return user


def signed_in_user() -> User:
    """The authenticated user of a view behind `require_role` (which answers 401 without one)."""
    user = current_user()
    if user is None:
        raise RuntimeError("signed_in_user() needs a view behind require_role")
    return user


def unauthorized(detail: str) -> Response:
    """401 with the challenge naming the bearer scheme."""
    return problem(401, detail, headers={"WWW-Authenticate": f'{SCHEME} realm="factdesk"'})


def authenticate() -> Response | None:
    """Resolve `Authorization: Bearer fdk_…`; a malformed or unknown token is 401 at once."""
    g.user = None
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != SCHEME.lower() or not secret.strip():
        return unauthorized("Send your token as `Authorization: Bearer fdk_…`.")
    found = UserService(context.session()).authenticate(secret.strip())
    if found is None:
        return unauthorized("This token is not valid (unknown or revoked).")
    g.user = found.user
    if found.use_is_due:
        _note_use(secret.strip())
    return None


def _note_use(secret: str) -> None:
    """Record the token's use in a short write of its own, at most once a minute per token; a
    busy database only delays the record, never the request."""
    context.commit()  # end the read: the write below takes the lock afresh
    try:
        with write_intent(True):
            UserService(context.session()).note_use(secret)
            context.commit()
    except SQLAlchemyError as exc:
        context.rollback()
        log.warning("could not record a token's use: %s", exc)


def require_role(role: Role | str) -> Callable[[View], View]:
    """Views decorated with this answer 401 without a token and 403 below `role`."""
    needed = Role(role)

    def decorator(view: View) -> View:
        @wraps(view)
        def wrapper(*args: object, **kwargs: object) -> object:
            user = current_user()
            if user is None:
                return unauthorized("This needs a token: `Authorization: Bearer fdk_…`.")
            if not user.has_role(needed):
                return problem(403, f"This needs the {needed} role; you are a {user.role}.")
            return view(*args, **kwargs)

        return wrapper  # type: ignore[return-value]  # wraps() keeps the signature mypy cannot see

    return decorator
