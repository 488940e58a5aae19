"""The access line of every request Flask answers, with its `X-Request-Id` (see `ops.logs`)."""

import time

import sqlalchemy as sa
from flask import Flask, Response, g, has_request_context, request

from service.core.config import Settings
from service.ops.logs import REQUEST_ID_HEADER, configure, new_request_id, request_id_from, write_access
from service.web.ratelimit import client_address  # the address rate limits are keyed on


def init_app(app: Flask, settings: Settings) -> None:
    """Configure logging and write the access line of every request."""
    configure(settings, request_id=current_request_id)
    # First in line, so requests refused early (401, 413, 429) are logged with their id.
    app.before_request_funcs.setdefault(None, []).insert(0, _begin)
    app.after_request_funcs.setdefault(None, []).insert(0, _access)


def current_request_id() -> str | None:
    """The id of the request being handled, if any."""
    return g.get("request_id") if has_request_context() else None


def _begin() -> None:
    g.request_started = time.perf_counter()
    g.request_id = request_id_from(request.headers.get(REQUEST_ID_HEADER, ""))


def _access(response: Response) -> Response:
    if "request_id" not in g:  # a request refused before `_begin` ran still gets an id
        g.request_id = new_request_id()
    request_id = g.request_id
    response.headers[REQUEST_ID_HEADER] = request_id
    started = g.get("request_started")
    write_access(
        request.method,
        request.path,
        response.status_code,
        request_id,
        duration_ms=round((time.perf_counter() - started) * 1000, 2) if started else None,
        user_id=_user_id(),
        remote_addr=client_address(),
    )
    return response


def _user_id() -> str | None:
    user = g.get("user")
    if user is None:
        return None
    # The primary key from the identity map: after a failed request's rollback the user is expired,
    # and reading `user.id` would query a database that may be what failed.
    state = sa.inspect(user, raiseerr=False)
    if state is not None and state.identity:
        return str(state.identity[0])
    found: str | None = getattr(user, "id", None)
    return found
