"""The sources domain's exceptions: why a capture was refused or failed.

`detail` is written for a reviewer; the fetcher turns both into a snapshot with `ok: false`.
"""

from service.core.errors import DomainError, InvalidInputError, NotFoundError, TooLargeError


class CaptureRefused(DomainError):
    """The scheme, port or address rule refused a URL before anything was fetched from it."""

    title = "Capture refused"


class CaptureFailed(DomainError):
    """The transport, the HTTP answer, its content type or its size made the capture fail.

    `extra["outcome"]` may say "gone" (404/410); otherwise the outcome is "error".
    """

    title = "Capture failed"


class SourceNotFound(NotFoundError):
    """No such source."""


class SnapshotNotFound(NotFoundError):
    """No such snapshot of this source, or it holds no archived content."""


class UploadRefused(InvalidInputError):
    """An uploaded document that is empty, too large, or not a type Factdesk archives."""

    title = "Upload refused"


class UploadTooLarge(TooLargeError):
    """An uploaded document over FACTDESK_CAPTURE_MAX_BYTES."""
