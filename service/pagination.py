"""Opaque keyset cursors for `?cursor=` lists: the id of the last item seen, base64url-wrapped."""

import base64
import binascii
import json

from service.exceptions import InvalidInputError


def encode_cursor(last_id: str) -> str:
    """The cursor that continues after the item with id `last_id`."""
    raw = json.dumps({"after": last_id}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The id a cursor continues after; a cursor that was not made here is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)["after"]
        if not isinstance(value, str):
            raise ValueError
        return value
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInputError("The cursor is not valid.", {"cursor": ["Not a valid cursor."]}) from exc
