"""What views read from a request beyond their schema's arguments: `If-Match`, hand-loaded bodies."""

from collections.abc import Mapping
from typing import Any

from flask import request
from marshmallow import Schema, ValidationError

from service.core.errors import InvalidInputError, PreconditionRequiredError
from service.core.etags import parse_tags
from service.web.problems import flatten_messages


def if_match() -> list[str]:
    """The entity tags in `If-Match`; 428 when the header is missing."""
    header = request.headers.get("If-Match")
    if not header:
        raise PreconditionRequiredError(
            "Send If-Match with the ETag you last read, so concurrent edits are not lost."
        )
    return parse_tags(header)


def load(schema: Schema, data: Mapping[str, Any] | None) -> Any:
    """Validate `data` with `schema` as `@blp.arguments` would: a 422 with `errors` if it fails."""
    try:
        return schema.load(data if data is not None else {})
    except ValidationError as exc:
        raise InvalidInputError("The request has invalid fields.", flatten_messages(exc.messages)) from exc
