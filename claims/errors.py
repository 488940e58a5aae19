"""Exceptions of the claims domain."""

from service.core.errors import ConflictError, NotFoundError, StaleVersionError


class ClaimNotFound(NotFoundError):
    """No such claim, or not visible to the caller."""


class ClaimLocked(ConflictError):
    """A published claim changes only through the `correct` transition."""


class StaleClaim(StaleVersionError):
    """The caller's `If-Match` names an older version of the claim."""


class CitationNotFound(NotFoundError):
    """No such citation on this claim."""


class InvalidTransition(ConflictError):
    """The workflow table does not allow this action from the claim's status.

    `extra["allowed_actions"]` lists what the caller could do instead.
    """
