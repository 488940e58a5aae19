"""Exceptions of the fact-check library (mapped to problem answers by `service.web.problems`)."""

from service.core.errors import InvalidInputError, NotFoundError, TooLargeError


class FactCheckNotFound(NotFoundError):
    """No imported fact-check has this id."""


class UnreadablePayload(InvalidInputError):
    """The body is JSON, but no shape of ClaimReview this library reads (422)."""


class NothingImportable(InvalidInputError):
    """Every item of the payload is broken: `errors` names each by its place in the body (422)."""


class TooManyItems(TooLargeError):
    """More items in one body than one import takes (413): send the feed in parts."""
