"""Domain exceptions every package raises; `service.web.problems` maps each family to an HTTP status.

Domain code raises these (or subclasses in its own `errors.py`) and never touches HTTP.
"""


class DomainError(Exception):
    """Base class: `detail` is safe to show to the client."""

    title = "Request failed"

    def __init__(self, detail: str, **extra: object) -> None:
        super().__init__(detail)
        self.detail = detail
        self.extra = extra


class NotFoundError(DomainError):
    title = "Not found"


class ForbiddenError(DomainError):
    title = "Forbidden"


class ConflictError(DomainError):
    title = "Conflict"


class StaleVersionError(DomainError):
    title = "Precondition failed"


class TooLargeError(DomainError):
    title = "Content too large"


class PreconditionRequiredError(DomainError):
    title = "Precondition required"


class InvalidInputError(DomainError):
    """Fields that are well-formed but break a rule; `errors` maps field names to messages."""

    title = "Invalid fields"

    def __init__(self, detail: str, errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.errors = errors or {}


class UnavailableError(DomainError):
    """Something the service needs is not answering: the client may retry after `retry_after` s."""

    title = "Service unavailable"
    retry_after = 5


class RateLimited(Exception):
    """A client spent its rate limit (429); `retry_after` seconds until its window resets."""

    def __init__(self, limit: object, retry_after: int) -> None:
        self.detail = f"Too many requests: the limit is {limit}. Retry in {retry_after} s."
        super().__init__(self.detail)
        self.retry_after = retry_after
