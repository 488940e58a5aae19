"""Absolute public URLs for links in API bodies; the app sets the base for each request.

The base is a callable so that requests which build no links (badges) never compute it.
"""

from collections.abc import Callable
from contextvars import ContextVar

DEFAULT_BASE = "http://127.0.0.1:8000"  # where `factdesk serve` listens unless told otherwise
_base: ContextVar[Callable[[], str]] = ContextVar("public_base", default=lambda: DEFAULT_BASE)


def use_base(base: Callable[[], str]) -> None:
    """Where this request's links point: FACTDESK_BASE_URL, or the host the request came to."""
    _base.set(base)


def base_url() -> str:
    """The public base URL, without a trailing slash."""
    return _base.get()().rstrip("/")


def absolute(path: str) -> str:
    """`path` (starting with `/`) under the service's public base URL."""
    return base_url() + path
