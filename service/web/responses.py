"""What views send besides their schema's dump: list links, archived bytes, page headers."""

import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlencode

from flask import Response, request

from service.core.urls import absolute

if TYPE_CHECKING:
    from sources.models import Snapshot
    from sources.services import SourceService

CHUNK = 256 * 1024  # what an archive read sends at once: its memory per reader, whatever the size

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
    its hash as ETag; `max_age` makes it publicly cacheable (it never changes).

    Streamed from the store a chunk at a time, so a large archive never sits whole in a worker.
    The store is asked before the first byte is sent: one that does not answer is a 503 with
    Retry-After (StoreUnavailable), not a broken body; a reader holding the hash needs no store."""
    if snapshot.sha256 and snapshot.ok and request.if_none_match.contains(snapshot.sha256):
        response = Response(status=304)
    else:
        archived = sources.content(snapshot)
        stack = ExitStack()
        reader = stack.enter_context(archived.open())
        response = Response(_chunks(reader, stack), mimetype=archived.content_type, direct_passthrough=True)
        response.call_on_close(stack.close)  # a HEAD, or a client gone before the first chunk
        response.content_length = archived.size
    response.set_etag(snapshot.sha256 or "")
    response.headers["Content-Security-Policy"] = "sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Disposition"] = "inline"
    if max_age is not None:
        response.cache_control.public = True
        response.cache_control.max_age = max_age
        response.expires = datetime.fromtimestamp(time.time() + max_age, UTC)
    else:
        response.cache_control.no_cache = True
    response.make_conditional(request, accept_ranges=True, complete_length=response.content_length)
    return response


def _chunks(reader: BinaryIO, stack: ExitStack) -> Iterator[bytes]:
    """The reader's bytes; it is closed when they end or the client leaves (the generator holds the
    stack: Flask's test client, like some servers, keeps the body but not the response's closers)."""
    with stack:
        while chunk := reader.read(CHUNK):
            yield chunk
