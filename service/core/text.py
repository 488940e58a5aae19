"""Text hygiene shared by every input: NFC, trimming, control characters, comparison keys."""

import hashlib
import re
import unicodedata

# C0/C1 controls except tab and newline; DEL too. Carriage returns are folded into newlines.
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")  # JSON can carry them ("\ud800"); UTF-8 cannot
_WHITESPACE = re.compile(r"\s+")
_QUOTES = str.maketrans(
    {
        "\u2018": "'",
        "\u2019": "'",
        "\u201a": "'",
        "\u201b": "'",
        "\u2032": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u201e": '"',
        "\u201f": '"',
        "\u2033": '"',
        "\u00ab": '"',
        "\u00bb": '"',
        "\u2010": "-",
        "\u2011": "-",
        "\u2012": "-",
        "\u2013": "-",
        "\u2014": "-",
        "\u2015": "-",
        "\u2212": "-",
    }
)


class ControlCharacterError(ValueError):
    """The text holds a control character other than newline or tab, or a lone surrogate."""


def clean(value: str) -> str:
    """NFC-normalise and trim; refuse control characters other than newline and tab."""
    value = value.replace("\r\n", "\n").replace("\r", "\n")
    if _CONTROL.search(value):
        raise ControlCharacterError("Control characters other than newline and tab are not allowed.")
    if _SURROGATE.search(value):
        raise ControlCharacterError("The text holds a lone surrogate (U+D800 to U+DFFF): not valid Unicode.")
    return unicodedata.normalize("NFC", value).strip()


def fold(value: str) -> str:
    """A comparison form: NFKC, case-folded, typographic quotes and dashes made plain, one space."""
    value = unicodedata.normalize("NFKC", value).translate(_QUOTES).casefold()
    return _WHITESPACE.sub(" ", value).strip()


def claim_key(text: str) -> str:
    """The key under which two claim texts count as the same claim (a SHA-256 of its fold)."""
    return hashlib.sha256(fold(text).rstrip(" .!?;:…").encode()).hexdigest()
