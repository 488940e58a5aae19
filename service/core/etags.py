"""Entity tags as HTTP compares them: `If-Match` before a change, `If-None-Match` before a resend."""

from collections.abc import Iterable


def parse_tags(header: str | None) -> list[str]:
    """The entity tags of an `If-Match` or `If-None-Match` header value, in order."""
    return [part.strip() for part in (header or "").split(",") if part.strip()]


def etag_matches(etag: str, tags: Iterable[str] | str, *, wildcard: bool = True) -> bool:
    """Whether `etag` is among `tags` (a header value or its parsed tags), strongly compared;
    `*` matches any current version when `wildcard`."""
    found = parse_tags(tags) if isinstance(tags, str) else list(tags)
    return etag in found or (wildcard and "*" in found)
