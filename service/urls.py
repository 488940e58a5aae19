"""Absolute public URLs for links in API bodies; the app sets the base for each request."""

from contextvars import ContextVar

public_base_url: ContextVar[str] = ContextVar("public_base_url", default="http://127.0.0.1:8000")


def absolute(path: str) -> str:
    """`path` (starting with `/`) under the service's public base URL."""
    return public_base_url.get().rstrip("/") + path
