"""What views send besides their schema's dump: list links, archived bytes, page headers."""

from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from flask import Response, request, send_file

from service.core.urls import absolute

if TYPE_CHECKING:
    from sources.models import Snapshot
    from sources.services import SourceService

BEARER: list[dict[str, list[str]]] = [
    {"bearerAuth": []}
]  # the OpenAPI security of endpoints that need a token
# Server-rendered pages (public and desk): nothing runs, nothing is fetched from elsewhere.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'self'; img-src 'self'; base-uri 'none'; "
    "form-action 'none'",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "X-Content-Type-Options": "nosniff",
}


def next_link(cursor: str | None) -> dict[str, str]:
    """A `Link: <…>; rel="next"` header for the page after this one, if there is one."""
    if cursor is None:
        return {}
    args = request.args.to_dict()
    args["cursor"] = cursor
    return {"Link": f'<{absolute(request.path)}?{urlencode(args)}>; rel="next"'}


class Extended:
    """An object plus a few extra attributes, for schemas that dump both (`Extended(claim, x=…)`)."""

    def __init__(self, target: object, **extra: object) -> None:
        self._target = target
        self.__dict__.update(extra)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._target, name)


def send_snapshot(sources: "SourceService", snapshot: "Snapshot", max_age: int | None = None) -> Response:
    """A snapshot's archived bytes as captured, sandboxed so they cannot run as this site, with
    its hash as ETag; `max_age` makes it publicly cacheable (it never changes)."""
    response = send_file(
        sources.content_path(snapshot),
        mimetype=snapshot.content_type or "application/octet-stream",
        conditional=True,
        etag=snapshot.sha256 or False,
        max_age=max_age,
    )
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    return response
