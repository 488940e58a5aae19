"""Absolute public URLs for links in API bodies, pages and webhooks.

Links never come from a request's `Host` header (anyone can send any): they are built on the
configured base, FACTDESK_BASE_URL, which `factdesk serve` sets to the address it listens on when
it is not given. A process sets its base once (`configure`); an app sets it for each request
(`use_base`), so that several apps in one process (tests) can differ.
"""

from contextvars import ContextVar

DEFAULT_BASE = "http://127.0.0.1:8000"  # where `factdesk serve` listens unless told otherwise
_process_base = [DEFAULT_BASE]
_request_base: ContextVar[str | None] = ContextVar("public_base", default=None)


def configure(base: str) -> None:
    """The base of every link this process builds outside a request (the job worker, the CLI)."""
    _process_base[0] = base.rstrip("/") or DEFAULT_BASE


def use_base(base: str | None) -> None:
    """The base of this request's links (the app's configured base); None when it ends."""
    _request_base.set(base.rstrip("/") or DEFAULT_BASE if base is not None else None)


def base_url() -> str:
    """The public base URL, without a trailing slash."""
    return _request_base.get() or _process_base[0]


def absolute(path: str) -> str:
    """`path` (starting with `/`) under the service's public base URL."""
    return base_url() + path
