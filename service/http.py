"""Small HTTP helpers views share: conditional requests, list pagination headers, archived bytes."""

from typing import TYPE_CHECKING
from urllib.parse import urlencode

from flask import Response, request, send_file
from marshmallow import Schema, ValidationError

from service.errors import flatten_messages
from service.exceptions import InvalidInputError, PreconditionRequiredError
from service.urls import absolute

if TYPE_CHECKING:
    from sources.models import Snapshot
    from sources.services import SourceService


def if_match() -> list[str]:
    """The entity tags in `If-Match`; 428 when the header is missing."""
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequiredError(
            "Send If-Match with the ETag you last read, so concurrent edits are not lost."
        )
    return [part.strip() for part in header.split(",") if part.strip()]


def next_link(cursor: str | None) -> dict[str, str]:
    """A `Link: <…>; rel="next"` header for the page after this one, if there is one."""
    if cursor is None:
        return {}
    args = request.args.to_dict()
    args["cursor"] = cursor
    return {"Link": f'<{absolute(request.path)}?{urlencode(args)}>; rel="next"'}


class Annotated:
    """An object plus a few extra attributes, for schemas that dump both (`Annotated(claim, x=…)`)."""

    def __init__(self, target: object, **extra: object) -> None:
        self._target = target
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> object:
        return getattr(self._target, name)


def load(schema: Schema, data: object) -> dict:
    """Validate `data` with `schema` as `@blp.arguments` would: a 422 with `errors` if it fails."""
    try:
        return schema.load(data if data is not None else {})
    except ValidationError as exc:
        raise InvalidInputError("The request has invalid fields.", flatten_messages(exc.messages)) from exc


def send_snapshot(sources: "SourceService", snapshot: "Snapshot", max_age: int | None = None) -> Response:
    """A snapshot's archived bytes as captured, sandboxed so they cannot run as this site, with
    its hash as ETag; `max_age` makes it publicly cacheable (it never changes)."""
    response = send_file(
        sources.content_path(snapshot),
        mimetype=snapshot.content_type or "application/octet-stream",
        conditional=True,
        etag=snapshot.sha256,
        max_age=max_age,
    )
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    return response
