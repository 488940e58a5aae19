"""Shields.io-style SVG verdict badges: `render_svg(Badge(label, message, color), style)` gives the SVG.

Pure and deterministic (same badge, same bytes), so the HTTP layer can derive a strong ETag from the output.
"""

import hashlib
import json
import math
import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache

from claims.workflow import active_scale
from service.core.errors import InvalidInputError
from service.core.etags import etag_matches
from service.public.states import BadgeState
from service.public.widths import BOLD, REGULAR, UNITS_PER_EM

STYLES = ("flat", "flat-square", "for-the-badge")
DEFAULT_LABEL = "fact-check"
MAX_LABEL = 40

LABEL_COLOR = "#555555"
FONT_FAMILY = "Verdana,Geneva,DejaVu Sans,sans-serif"

# Fallback advances in em for code points outside the table. They err wide: a box that is a little too
# large only spaces the letters out (textLength), one that is too small squeezes glyphs into each other.
WIDE_EM = 1.0  # CJK, Hangul, kana, fullwidth forms and the widest spaces
EMOJI_EM = 1.2  # colour emoji fonts draw wider than an em
OTHER_EM = {False: 0.85, True: 0.95}  # DejaVu Sans outside Latin-1 averages 0.72 em (0.78 bold)
# Joined scripts (see _JOINED_BLOCKS) are scaled to their box rather than spaced, so a generous estimate
# would stretch the glyphs: this one is a little above a joined Arabic letter (0.61 em in DejaVu Sans) and a
# Devanagari letter (0.55 em in Noto Sans Devanagari).
JOINED_EM = {False: 0.65, True: 0.7}

_COLOR = re.compile(r"#[0-9a-fA-F]{6}")
# Not allowed anywhere in an XML 1.0 document, not even as a character reference.
_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_ESCAPES = str.maketrans(
    {
        "&": "&amp;",
        "<": "&lt;",
        ">": "&gt;",
        '"': "&quot;",
        "'": "&apos;",
        # References keep tab, newline and carriage return intact through attribute-value normalisation.
        "\t": "&#9;",
        "\n": "&#10;",
        "\r": "&#13;",
    }
)
# Bidi embeddings, overrides and isolates in a label could reorder what a reader sees around them.
_BIDI_CONTROLS = frozenset("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
_EMOJI_BLOCKS = ((0x1F000, 0x1FAFF), (0x2600, 0x27BF), (0x2B00, 0x2BFF))
# Scripts whose letters join or fuse with their neighbours, besides the Arabic-type letters: N'Ko, the Indic
# blocks, Myanmar, Khmer and Mongolian. Chromium spreads textLength's extra space between characters, which
# breaks the joins (Arabic shows isolated letters, Devanagari loses its conjuncts), so such text is scaled
# to its length with lengthAdjust="spacingAndGlyphs" instead.
_JOINED_BLOCKS = ((0x07C0, 0x07FF), (0x0900, 0x0DFF), (0x1000, 0x109F), (0x1780, 0x18AF))


@dataclass(frozen=True)
class Badge:
    label: str  # left text, e.g. "fact-check"
    message: str  # right text, e.g. "Mostly false", "under review", "not rated", "not found"
    color: str  # "#rrggbb" of the right side


@dataclass(frozen=True)
class _Style:
    height: int
    font_size: float
    padding: int  # between a text and the edges of its half
    baseline: float
    # Added to the measured width only: textLength then spreads the letters. A letter-spacing attribute
    # as well would put Chromium's trailing spacing inside textLength and pull the text off centre.
    letter_spacing: float
    uppercase: bool
    bold_message: bool


_STYLES = {
    "flat": _Style(20, 11, 5, 14, 0, False, False),
    "flat-square": _Style(20, 11, 5, 14, 0, False, False),
    "for-the-badge": _Style(28, 10, 12, 17.5, 1.25, True, True),
}


def clean_label(value: str | None) -> str:
    """The label to show: trimmed NFC text, DEFAULT_LABEL when empty; ValueError if too long or unsafe."""
    # Checked before trimming, which would otherwise quietly drop a leading or trailing tab or newline.
    for char in value or "":
        if unicodedata.category(char) in ("Cc", "Cs", "Zl", "Zp") or char in _BIDI_CONTROLS:
            raise ValueError(f"The label may not contain the control character U+{ord(char):04X}.")
        if char in "\ufffe\uffff":
            raise ValueError(f"The label may not contain the non-character U+{ord(char):04X}.")
    label = unicodedata.normalize("NFC", value or "").strip()
    if len(label) > MAX_LABEL:
        raise ValueError(f"The label is longer than {MAX_LABEL} characters.")
    return label or DEFAULT_LABEL


def text_width(text: str, style: str = "flat") -> float:
    """Width in px of `text` set as the message of a badge in `style` (caps and letter-spacing included)."""
    spec = _style(style)
    return _measure(_shown(text, spec), spec, bold=spec.bold_message)


def render_svg(badge: Badge, style: str = "flat") -> str:
    """The badge as a standalone SVG document (no XML declaration, no scripts, no external references)."""
    spec = _style(style)
    if not _COLOR.fullmatch(badge.color):
        raise ValueError(f"Badge colour must be #rrggbb, not {badge.color!r}.")
    color = badge.color.lower()
    label, message = _xml_safe(badge.label), _xml_safe(badge.message)
    accessible = f"{label}: {message}" if label else message
    shown_label, shown_message = _shown(badge.label, spec), _shown(badge.message, spec)

    # Whole pixels keep the edge between the two halves on the pixel grid.
    label_text = math.ceil(_measure(shown_label, spec, bold=False)) if label else 0
    message_text = math.ceil(_measure(shown_message, spec, bold=spec.bold_message))
    left = label_text + 2 * spec.padding if label else 0
    right = message_text + 2 * spec.padding
    width, height = left + right, spec.height
    # Several badges inlined in one HTML page share an id space: ids derived from the content keep
    # url(#…) pointing at this badge's own clip path, and keep the output deterministic.
    key = json.dumps([style, badge.label, badge.message, color], ensure_ascii=True)
    uid = hashlib.sha256(key.encode()).hexdigest()[:10]

    parts = [
        (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
            f'viewBox="0 0 {width} {height}" role="img" aria-label="{_escape(accessible)}">'
        ),
        f"<title>{_escape(accessible)}</title>",
    ]
    halves = (f'<rect width="{left}" height="{height}" fill="{LABEL_COLOR}"/>' if left else "") + (
        f'<rect x="{left}" width="{right}" height="{height}" fill="{color}"/>'
    )
    if style == "flat":
        parts += [
            (
                f'<linearGradient id="s{uid}" x2="0" y2="100%">'
                '<stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/>'
                "</linearGradient>"
            ),
            f'<clipPath id="r{uid}"><rect width="{width}" height="{height}" rx="3" fill="#fff"/></clipPath>',
            (
                f'<g clip-path="url(#r{uid})">{halves}'
                f'<rect width="{width}" height="{height}" fill="url(#s{uid})"/></g>'
            ),
        ]
    else:
        parts.append(f'<g shape-rendering="crispEdges">{halves}</g>')

    parts.append(
        f'<g fill="#fff" text-anchor="middle" font-family="{FONT_FAMILY}" '
        f'text-rendering="geometricPrecision" font-size="{_num(spec.font_size)}">'
    )
    if label:
        parts += _texts(shown_label, left / 2, label_text, LABEL_COLOR, spec, style, bold=False)
    if shown_message:
        parts += _texts(shown_message, left + right / 2, message_text, color, spec, style, spec.bold_message)
    parts.append("</g></svg>")
    return "".join(parts)


def _style(style: str) -> _Style:
    try:
        return _STYLES[style]
    except KeyError:
        raise ValueError(f"Unknown badge style {style!r}; expected one of {', '.join(STYLES)}.") from None


def _xml_safe(text: str) -> str:
    return _XML_ILLEGAL.sub("\ufffd", text)


def _shown(text: str, spec: _Style) -> str:
    # SVG folds tab, newline and carriage return into spaces (or drops them); measure them as spaces.
    shown = _xml_safe(text).replace("\t", " ").replace("\n", " ").replace("\r", " ")
    return shown.upper() if spec.uppercase else shown


def _escape(text: str) -> str:
    return text.translate(_ESCAPES)


def _num(value: float) -> str:
    return f"{value:.2f}".rstrip("0").rstrip(".")


def _measure(text: str, spec: _Style, bold: bool) -> float:
    ems, spaced, previous = 0.0, 0, 0.0
    for char in text:
        if char == "\ufe0f":
            # Variation selector 16 asks for the emoji presentation of the character before it (©️, ❤️, 1️⃣).
            ems += max(0.0, EMOJI_EM - previous)
            previous = EMOJI_EM
            continue
        previous = _advance(char, bold)
        ems += previous
        spaced += previous > 0 and not _joins(char)
    return ems * spec.font_size + spaced * spec.letter_spacing


@lru_cache(maxsize=4096)
def _advance(char: str, bold: bool) -> float:
    """Advance of one code point in em: the font table, else a generous estimate by kind of character."""
    point = ord(char)
    for first, widths in (BOLD if bold else REGULAR).items():
        if first <= point < first + len(widths):
            return widths[point - first] / UNITS_PER_EM
    category = unicodedata.category(char)
    if category in ("Mn", "Me", "Cf"):  # combining marks, joiners, bidi marks, tags: drawn on a neighbour
        return 0.0
    if any(start <= point <= end for start, end in _EMOJI_BLOCKS):
        return EMOJI_EM
    if _joins(char):
        return JOINED_EM[bold]
    if unicodedata.east_asian_width(char) in ("W", "F") or category == "Zs":
        return WIDE_EM
    decomposed = unicodedata.normalize("NFD", char)
    if decomposed != char:  # ő, ș, ǘ …: a base letter from the table plus zero-width marks
        return sum(_advance(part, bold) for part in decomposed)
    return OTHER_EM[bold]


def _texts(
    shown: str, centre: float, length: int, background: str, spec: _Style, style: str, bold: bool
) -> list[str]:
    """The <text> elements of one half: a shadow (flat only) under the text itself."""
    fill = text_colour(background)
    shadow = "#010101" if fill == "#fff" else "#ccc"
    attrs = f'x="{_num(centre)}" textLength="{length}"'
    if any(_joins(char) for char in shown):
        attrs += ' lengthAdjust="spacingAndGlyphs"'
    if _right_to_left(shown):
        # The first strong character decides the base direction (as dir="auto" does in HTML), so a mixed
        # Arabic/Latin message keeps its reading order; text-anchor="middle" is the same either way.
        attrs += ' direction="rtl"'
    if bold:
        attrs += ' font-weight="bold"'
    content = _escape(shown)
    texts = []
    if style == "flat":
        texts.append(
            f'<text aria-hidden="true" {attrs} y="{_num(spec.baseline + 1)}" fill="{shadow}" '
            f'fill-opacity=".3">{content}</text>'
        )
    texts.append(f'<text {attrs} y="{_num(spec.baseline)}" fill="{fill}">{content}</text>')
    return texts


def _joins(char: str) -> bool:
    point = ord(char)
    return unicodedata.bidirectional(char) == "AL" or any(
        start <= point <= end for start, end in _JOINED_BLOCKS
    )


def _right_to_left(text: str) -> bool:
    for char in text:
        direction = unicodedata.bidirectional(char)
        if direction in ("R", "AL"):
            return True
        if direction == "L":
            return False
    return False


def text_colour(background: str) -> str:
    """White, shields.io's #333 or black: the first that reaches WCAG AA's 4.5:1 for text on
    `background` (black always does where white does not)."""
    for colour in ("#fff", "#333", "#000"):
        if contrast(colour, background) >= AA_TEXT:
            return colour
    return "#000"


AA_TEXT = 4.5  # WCAG 2 AA, normal text: the badge's 11 px text is not "large"


def contrast(first: str, second: str) -> float:
    """WCAG 2 contrast ratio of two #rgb or #rrggbb colours, 1 to 21."""
    lighter, darker = sorted((_luminance(first), _luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


def _luminance(colour: str) -> float:
    """WCAG 2 relative luminance of #rgb or #rrggbb."""
    digits = colour[1:] if len(colour) == 7 else "".join(c * 2 for c in colour[1:])
    channels = (int(digits[i : i + 2], 16) / 255 for i in (0, 2, 4))
    red, green, blue = (c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in channels)
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


# -- what a claim's badge says, and how it is sent (the view and the fast path alike) -------------

# Where a claim stands when it has no rating, each told apart from the others (and from the
# default scale's grey `unverifiable`) by its colour as well as its words.
UNDER_REVIEW = "#0969da"  # blue: work in progress
NOT_RATED = "#6e5494"  # purple: the desk dismissed it
NOT_FOUND = "#e5e5e5"  # pale: no such claim
UNKNOWN_RATING = "#9f9f9f"  # a rating the active scale no longer has
SVG_TYPE = "image/svg+xml; charset=utf-8"


def badge_for(state: BadgeState | None, label: str) -> Badge:
    """What a claim's badge says: its published rating, or where it stands."""
    if state is None:
        return Badge(label, "not found", NOT_FOUND)
    status, rating, verdict_version = state
    if verdict_version > 0 and rating is not None:
        scale = active_scale()
        if rating in scale:
            return Badge(label, scale[rating].label, scale[rating].color)
        return Badge(label, rating, UNKNOWN_RATING)
    if status == "dismissed":
        return Badge(label, "not rated", NOT_RATED)
    return Badge(label, "under review", UNDER_REVIEW)


@lru_cache(maxsize=4096)
def rendered(badge: Badge, style: str) -> tuple[bytes, str]:
    """The badge's SVG bytes and their strong ETag."""
    svg = render_svg(badge, style).encode()
    return svg, '"' + hashlib.sha256(svg).hexdigest()[:32] + '"'


def badge_answer(
    state: BadgeState | None, style: str, label: str, if_none_match: str, max_age: int
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body of a badge: what the view and the fast path (fastpath.py) both send."""
    svg, etag = rendered(badge_for(state, label), style)
    headers = [
        ("ETag", etag),
        ("Cache-Control", f"public, max-age={max_age}"),
        ("X-Content-Type-Options", "nosniff"),
    ]
    if state is not None and etag_matches(etag, if_none_match, wildcard=False):
        return 304, headers, b""
    headers += [("Content-Type", SVG_TYPE), ("Content-Length", str(len(svg)))]
    return (200 if state is not None else 404), headers, svg


def badge_params(style: str, label: str | None) -> tuple[str, str]:
    """The style and label a badge is drawn with (the view and the fast path both ask this);
    InvalidInputError naming the field that is refused."""
    if style not in STYLES:
        raise InvalidInputError(f"style is one of {', '.join(STYLES)}.", {"style": ["Unknown style."]})
    try:
        return style, clean_label(label)
    except ValueError as exc:
        raise InvalidInputError(str(exc), {"label": [str(exc)]}) from exc
