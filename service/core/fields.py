"""Marshmallow fields shared by every domain's schemas: clean text, RFC 3339 UTC times, URLs."""

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from marshmallow import ValidationError, fields, validate

from service.core.text import ControlCharacterError, clean


class Text(fields.String):
    """A string that is NFC-normalised and trimmed, refusing control characters but \\n and \\t.

    Length limits (`min`, `max`) apply to the cleaned text (validators run after deserialising),
    and show in the OpenAPI document as minLength/maxLength.
    """

    def __init__(self, *, min: int | None = None, max: int | None = None, **kwargs: Any) -> None:
        if min or max:
            kwargs["validate"] = [validate.Length(min=min, max=max)]
        super().__init__(**kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        value = super()._deserialize(value, attr, data, **kwargs)
        try:
            return clean(value)
        except ControlCharacterError as exc:
            raise ValidationError(str(exc)) from exc


class UTCDateTime(fields.DateTime):
    """Serialises aware datetimes as RFC 3339 in UTC with a `Z`: `2026-11-19T08:00:00Z`; with
    `precise`, to the microsecond (`…08:00:00.123456Z`), as hashed in the claims' history."""

    def __init__(self, *, precise: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.format_string = "%Y-%m-%dT%H:%M:%S.%fZ" if precise else "%Y-%m-%dT%H:%M:%SZ"

    def _serialize(self, value: datetime | None, attr: str | None, obj: Any, **kwargs: Any) -> str | None:
        if value is None:
            return None
        return value.astimezone(UTC).strftime(self.format_string)


class WebURL(fields.Url):
    """An absolute http(s) URL of at most 2,048 characters."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(schemes={"http", "https"}, require_tld=False, **kwargs)

    def _deserialize(
        self, value: Any, attr: str | None, data: Mapping[str, Any] | None, **kwargs: Any
    ) -> str:
        if isinstance(value, str):
            try:
                value = clean(value)
            except ControlCharacterError as exc:
                raise ValidationError(str(exc)) from exc
            if len(value) > 2048:
                raise ValidationError("URLs are limited to 2,048 characters.")
        url = str(super()._deserialize(value, attr, data, **kwargs))
        try:  # what every later reader of the URL (urllib, the fetcher) must be able to take apart
            parts = urlsplit(url)
            _ = parts.hostname, parts.port  # a bad port or host raises here, not deep in a capture
        except ValueError as exc:
            raise ValidationError(f"Not a usable URL: {exc}.") from exc
        return url
