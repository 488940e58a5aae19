"""The badge fast path: `GET /badges/{id}.svg` answered below Flask.

Badges are most of the traffic, and a badge is one cached row and one cached SVG, so what Flask
does around it (a request context, URL matching, a dozen request hooks) would be most of its
cost. This WSGI middleware answers the plain badge requests itself, and keeps every promise the
Flask view keeps: the same status, headers and bytes (both come from `badges.badge_answer`), the
same public rate limit, access line, request id and metrics.

Everything else goes to Flask unchanged: other paths and methods, ids that are not plain, bad
parameters (the view answers those 422s), requests with credentials (Flask checks them), and any
failure to read the badge's state (Flask answers it as problem+json).
"""

import re
import time
from collections.abc import Callable, Iterable
from functools import lru_cache
from typing import Any
from urllib.parse import parse_qsl

from flask import Flask

from service.core.errors import InvalidInputError, RateLimited
from service.ops.logs import REQUEST_ID_HEADER, request_id_from, write_access
from service.ops.metrics import observe
from service.public.badges import DEFAULT_LABEL, badge_answer, badge_params
from service.public.states import badge_reader, cached_badge_state
from service.web.problems import PROBLEM_TYPE, TOO_MANY_REQUESTS, problem_document
from service.web.ratelimit import COUNTED, address_of

BADGE_PATH = re.compile(r"/badges/([A-Za-z0-9_-]{1,100})\.svg")
ENDPOINT = "/badges/<claim_id>.svg"  # the Flask route's rule: one metrics series for both ways in
REASONS = {200: "200 OK", 304: "304 NOT MODIFIED", 404: "404 NOT FOUND", 429: "429 TOO MANY REQUESTS"}

StartResponse = Callable[..., object]
WSGIApp = Callable[[dict[str, Any], Any], Iterable[bytes]]


class BadgeFastPath:
    """WSGI middleware in front of Flask's `wsgi_app`: answers plain badge GETs and HEADs itself."""

    def __init__(self, app: Flask, wsgi_app: WSGIApp) -> None:
        self.wsgi_app = wsgi_app  # Flask's own: everything this does not answer goes there
        self.reader = badge_reader(app)
        self.limits = app.extensions["factdesk.limits"]
        self.max_age = app.extensions["factdesk.settings"].badge_max_age
        self.dumps = app.json.dumps  # the JSON the Flask view's problems are written with

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        method = environ.get("REQUEST_METHOD")
        match = BADGE_PATH.fullmatch(environ.get("PATH_INFO", ""))
        if match is None or method not in ("GET", "HEAD") or "HTTP_AUTHORIZATION" in environ:
            return self.wsgi_app(environ, start_response)
        args = badge_args(environ.get("QUERY_STRING", ""))
        if args is None:  # a parameter the view refuses, with its reasons
            return self.wsgi_app(environ, start_response)
        address = address_of(environ, self.limits.trusted_proxies)
        try:
            self.limits.check_public(address)
        except RateLimited as refused:
            return self._too_many(environ, start_response, refused, address, started)
        environ[COUNTED] = True  # so Flask does not count this request again if it answers after all
        style, label = args
        try:
            state = cached_badge_state(self.reader, match.group(1), self.max_age)
            answer = badge_answer(state, style, label, environ.get("HTTP_IF_NONE_MATCH", ""), self.max_age)
        except Exception:  # the database is away, say: Flask answers it as problem+json, and logs it
            return self.wsgi_app(environ, start_response)
        status, headers, body = answer
        return self._send(environ, start_response, status, headers, body, address, started)

    def _too_many(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        refused: RateLimited,
        address: str,
        started: float,
    ) -> Iterable[bytes]:
        document = problem_document(429, refused.detail, environ["PATH_INFO"], title=TOO_MANY_REQUESTS)
        body = self.dumps(document).encode()
        headers = [
            ("Retry-After", str(refused.retry_after)),
            ("Content-Type", PROBLEM_TYPE),
            ("Content-Length", str(len(body))),
        ]
        return self._send(environ, start_response, 429, headers, body, address, started)

    def _send(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes,
        address: str,
        started: float,
    ) -> Iterable[bytes]:
        request_id = request_id_from(environ.get("HTTP_X_REQUEST_ID", ""))
        start_response(REASONS[status], [*headers, (REQUEST_ID_HEADER, request_id)])
        method, path = environ["REQUEST_METHOD"], environ["PATH_INFO"]
        write_access(
            method,
            path,
            status,
            request_id,
            duration_ms=round((time.perf_counter() - started) * 1000, 2),
            user_id=None,
            remote_addr=address,
        )
        observe(ENDPOINT, method, status, started)
        return [body] if method == "GET" else []


@lru_cache(maxsize=1024)
def badge_args(query: str) -> tuple[str, str] | None:
    """(style, label) from a badge's query string, read as Flask reads it; None when the view
    would refuse them."""
    if not query:
        return "flat", DEFAULT_LABEL
    try:  # as werkzeug's request.args: the first value of each name, invalid bytes kept quoted
        pairs = parse_qsl(
            query.encode("latin-1").decode(), keep_blank_values=True, errors="werkzeug.url_quote"
        )
    except (UnicodeError, ValueError):
        return None
    first: dict[str, str] = {}
    for name, value in pairs:
        first.setdefault(name, value)
    try:
        return badge_params(first.get("style", "flat"), first.get("label"))
    except InvalidInputError:
        return None
