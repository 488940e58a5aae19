"""The one error layer: every failure becomes RFC 9457 problem details, never HTML or a trace.

Domain exceptions (`service.core.errors`) map to statuses here; views never build error bodies.
"""

import logging
from http import HTTPStatus
from typing import Any

from flask import Flask, Response, json, request
from marshmallow import Schema, fields
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException

from service.core.errors import (
    ConflictError,
    DomainError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    PreconditionRequiredError,
    RateLimited,
    StaleVersionError,
    TooLargeError,
    UnavailableError,
)

log = logging.getLogger(__name__)

PROBLEM_TYPE = "application/problem+json"
INT_DIGITS_LIMIT = "for integer string conversion"  # CPython's message for over-long int literals
TOO_MANY_REQUESTS = "Too many requests"
_STATUS_BY_ERROR: list[tuple[type[DomainError], int]] = [
    (NotFoundError, 404),
    (ForbiddenError, 403),
    (ConflictError, 409),
    (StaleVersionError, 412),
    (TooLargeError, 413),
    (PreconditionRequiredError, 428),
    (InvalidInputError, 422),
    (UnavailableError, 503),
]


class ProblemSchema(Schema):
    """RFC 9457 problem details, as every error of this API is shaped."""

    type = fields.String(metadata={"example": "about:blank"})
    title = fields.String()
    status = fields.Integer()
    detail = fields.String()
    instance = fields.String()
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Validation failures by field (422 only)."},
    )


def problem(
    status: int,
    detail: str,
    *,
    title: str | None = None,
    type_: str = "about:blank",
    headers: dict[str, str] | None = None,
    **extra: object,
) -> Response:
    """A problem+json response."""
    body = problem_document(
        status, detail, request.path if request else None, title=title, type_=type_, **extra
    )
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM_TYPE)
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def problem_document(
    status: int,
    detail: str,
    instance: str | None,
    *,
    title: str | None = None,
    type_: str = "about:blank",
    **extra: object,
) -> dict[str, Any]:
    """The body of a problem+json response; for answers made outside Flask too (fastpath.py)."""
    body = {
        "type": type_,
        "title": title or HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "instance": instance,
    }
    body.update({k: v for k, v in extra.items() if v is not None})
    return body


def too_many_requests(error: RateLimited) -> Response:
    """429 with Retry-After: the client spent its rate limit."""
    return problem(
        429,
        error.detail,
        title=TOO_MANY_REQUESTS,
        headers={"Retry-After": str(error.retry_after)},
    )


def flatten_messages(messages: object, prefix: str = "") -> dict[str, list[str]]:
    """webargs/marshmallow nested messages to `{"field.sub": [msg, …]}`."""
    flat: dict[str, list[str]] = {}
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "body"
            for k, v in flatten_messages(value, name).items():
                flat.setdefault(k, []).extend(v)
    elif isinstance(messages, list | tuple):
        for item in messages:
            if isinstance(item, dict):
                for k, v in flatten_messages(item, prefix).items():
                    flat.setdefault(k, []).extend(v)
            else:
                flat.setdefault(prefix or "body", []).append(str(item))
    else:
        flat.setdefault(prefix or "body", []).append(str(messages))
    return flat


def http_exception_problem(error: HTTPException) -> Response:
    """Problem details for werkzeug/flask-smorest HTTP errors (404, 405, 400, 413, 422 …)."""
    status = error.code or 500
    data = getattr(error, "data", None) or {}
    headers = dict(error.get_headers()) if status in (405,) else {}
    headers.pop("Content-Type", None)
    if status == 422 and "messages" in data:
        by_location = data["messages"]
        errors: dict[str, list[str]] = {}
        for messages in by_location.values():  # json, query, headers …: field names suffice
            errors.update(flatten_messages(messages))
        return problem(
            422,
            "The request has invalid fields.",
            title="Invalid fields",
            type_="urn:factdesk:problem:validation",
            errors=errors,
        )
    if status == 400 and "messages" in data:
        return problem(400, "The request body is not valid JSON.", title="Malformed body")
    detail = data.get("message") or error.description or HTTPStatus(status).description
    if status == 405:
        detail = f"{request.method} is not allowed here."
    elif status == 404:
        detail = "Nothing is here."
    elif status == 413:
        detail = "The request body is larger than this service accepts."
    return problem(status, str(detail), headers=headers)


def domain_problem(error: DomainError) -> Response:
    """Problem details for a domain exception, by the family it belongs to."""
    status = next((s for cls, s in _STATUS_BY_ERROR if isinstance(error, cls)), None)
    if status is None:  # a domain error no family claims: a defect, not the client's fault
        log.error("unmapped domain error %s: %s", type(error).__name__, error.detail)
        return problem(500, "Something went wrong on our side; it has been logged.")
    extra: dict[str, Any] = dict(error.extra)
    if isinstance(error, InvalidInputError) and error.errors:
        extra["errors"] = error.errors
    headers = {"Retry-After": str(error.retry_after)} if isinstance(error, UnavailableError) else None
    return problem(status, error.detail, title=error.title, headers=headers, **extra)


def register_error_handlers(app: Flask) -> None:
    """Route every exception to problem details."""

    app.register_error_handler(RateLimited, too_many_requests)

    @app.errorhandler(DomainError)
    def _domain(error: DomainError) -> Response:
        return domain_problem(error)

    @app.errorhandler(StaleDataError)
    def _stale(_error: StaleDataError) -> Response:
        return problem(
            412,
            "The resource changed while your request was applied; fetch it and try again.",
            title="Precondition failed",
        )

    @app.errorhandler(OperationalError)
    def _database_down(error: OperationalError) -> Response:
        log.error("database error: %s", error.orig.__class__.__name__ if error.orig else error)
        return problem(503, "The database is not answering; try again shortly.", headers={"Retry-After": "5"})

    @app.errorhandler(DBAPIError)
    def _database_error(error: DBAPIError) -> Response:
        if error.connection_invalidated:
            return _database_down(error)  # type: ignore[arg-type]  # a lost connection is answered as one
        log.exception("database error", exc_info=error)
        return problem(500, "Something went wrong on our side; it has been logged.")

    @app.errorhandler(RecursionError)
    def _nested_too_deeply(_error: RecursionError) -> Response:
        # What a JSON body nested thousands deep does to every JSON parser on the way in.
        log.warning("recursion limit reached on %s %s", request.method, request.path)
        return problem(400, "The request body is nested too deeply to read.", title="Malformed body")

    @app.errorhandler(ValueError)
    def _value_error(error: ValueError) -> Response:
        # A JSON number of thousands of digits: Python refuses to turn it into an int (CVE-2020-10735)
        # while the body is read, before any schema sees it. Anything else is a defect of ours.
        if INT_DIGITS_LIMIT in str(error):
            return problem(
                400,
                "The request body holds a number too long to read (over 4,300 digits).",
                title="Malformed body",
            )
        return _unexpected(error)

    @app.errorhandler(Exception)
    def _unexpected(error: Exception) -> Response:
        if isinstance(error, HTTPException):
            return http_exception_problem(error)
        log.exception("unhandled error on %s %s", request.method, request.path, exc_info=error)
        return problem(500, "Something went wrong on our side; it has been logged.")
