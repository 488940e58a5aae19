"""Opaque keyset cursors for `?cursor=` lists: the sort key of the last item seen, base64url-wrapped."""

import base64
import binascii
import json
from typing import overload

from service.core.errors import InvalidInputError


def encode_cursor(last: str | int) -> str:
    """The cursor that continues after the item whose sort key is `last`."""
    raw = json.dumps({"after": last}, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@overload
def decode_cursor(cursor: str, kind: type[int]) -> int: ...
@overload
def decode_cursor(cursor: str, kind: type[str] = ...) -> str: ...
def decode_cursor(cursor: str, kind: type[str] | type[int] = str) -> str | int:
    """The sort key a cursor continues after; a cursor that was not made here is a 422."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)["after"]
        if type(value) is not kind:
            raise ValueError
        if isinstance(value, int) and not 0 <= value < 2**63:  # a database integer
            raise ValueError
        found: str | int = value
        return found
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeDecodeError) as exc:
        raise InvalidInputError("The cursor is not valid.", {"cursor": ["Not a valid cursor."]}) from exc
