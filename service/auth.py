"""Bearer-token authentication for every request, and the role check views declare."""

from collections.abc import Callable
from functools import wraps

from flask import Flask, Response, g, request

from service import db
from service.errors import problem
from service.models import User, role_rank
from service.tokens import UserService


def current_user() -> User | None:
    """The authenticated user of this request, or None for an anonymous reader."""
    return g.get("user")


def unauthorized(detail: str) -> Response:
    return problem(401, detail, headers={"WWW-Authenticate": 'Bearer realm="factdesk"'})


def authenticate() -> Response | None:
    """Resolve `Authorization: Bearer fdk_…`; a malformed or unknown token is 401 at once."""
    g.user = None
    header = request.headers.get("Authorization")
    if header is None:
        return None
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return unauthorized("Send your token as `Authorization: Bearer fdk_…`.")
    user = UserService(db.session()).authenticate(secret.strip())
    if user is None:
        return unauthorized("This token is not valid (unknown or revoked).")
    g.user = user
    return None


def require_role(role: str) -> Callable:
    """Views decorated with this answer 401 without a token and 403 below `role`."""

    def decorator(view: Callable) -> Callable:
        @wraps(view)
        def wrapper(*args: object, **kwargs: object) -> object:
            user = current_user()
            if user is None:
                return unauthorized("This needs a token: `Authorization: Bearer fdk_…`.")
            if role_rank(user.role) < role_rank(role):
                return problem(403, f"This needs the {role} role; you are a {user.role}.")
            return view(*args, **kwargs)

        wrapper.required_role = role  # read by the OpenAPI security documentation
        return wrapper

    return decorator


def init_app(app: Flask) -> None:
    app.before_request(authenticate)
