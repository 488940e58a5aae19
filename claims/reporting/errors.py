"""What can go wrong with an extraction (mapped to problems by `service.web.problems`)."""

from service.core.errors import InvalidInputError, NotFoundError


class ExtractionNotFound(NotFoundError):
    """No extraction with this id."""


class NothingToRead(InvalidInputError):
    """The text is empty, or the source has no text that could ever be read."""


class UnusableSentence(InvalidInputError):
    """A chosen sentence cannot become a claim (no such sentence, too long, not read yet)."""
