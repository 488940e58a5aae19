"""How two claim texts relate: the same claim, the same with another number, its negation, or not.

`relation(a, b)` first asks whether a and b are about the same thing (`similarity` of their content
words, numbers and negations left out), then compares their numbers by value and their negations.
"""

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from functools import lru_cache
from types import MappingProxyType

from claims.language import Number, content_terms, find_numbers, negation_cues

# At or above this `similarity`, two texts are about the same claim. Measured on the pairs in
# tests/claims/matching/test_relations.py: rewordings of one claim score 0.66 and up, claims about
# other actors or acts 0.5 and below.
SAME_CLAIM = 0.6
# A word written with a capital, as names are ("Korea", "UN"), says more about what a claim is
# about than a common word: "The U.S. co-sponsored …" is not "The U.K. co-sponsored …".
_NAME_WEIGHT = 1.5

_CACHED_LENGTH = 2000  # longer texts are not claims; they are read each time, never kept

# Words before a number that make it a bound or an estimate, and how far an estimate may be off.
_AT_LEAST = frozenset({"more than", "over", "above", "at least", "upwards of", "in excess of", "exceeding"})
_AT_MOST = frozenset({"less than", "fewer than", "under", "below", "up to", "at most", "no more than"})
_NEARLY = frozenset({"nearly", "almost", "just under", "close to"})
_ROUGHLY = 0.1
_QUALIFIER = re.compile(
    r"(?i)\b(more\s+than|over|above|at\s+least|upwards\s+of|in\s+excess\s+of|exceeding|less\s+than"
    r"|fewer\s+than|under|below|up\s+to|at\s+most|no\s+more\s+than|nearly|almost|just\s+under|close\s+to"
    r"|about|around|roughly|approximately|some|an\s+estimated|estimated|circa|approx\.?)\s*$"
)
_MONEY = frozenset({"usd", "eur", "gbp", "jpy", "krw", "inr", "aud", "cad", "hkd", "nzd"})
_DURATIONS = frozenset({"years", "months", "weeks", "days", "hours", "minutes", "decades", "centuries"})


class Relation(StrEnum):
    """How a claim relates to another (the `relation` of a match)."""

    SAME = "same"
    NUMBER_CONFLICT = "number_conflict"
    NEGATION = "negation"
    RELATED = "related"


@dataclass(frozen=True)
class _Quantity:
    """A number and the range of values its wording allows ("about 40": 36 to 44)."""

    number: Number
    low: float
    high: float


@dataclass(frozen=True)
class _Claim:
    """What relations compare of one text: content word weights, numbers, whether it is negated."""

    weights: Mapping[str, float]
    norm: float
    quantities: tuple[_Quantity, ...]
    negated: bool


def _read(text: str) -> _Claim:
    # A matcher compares one text with many: each claim-sized text is read once.
    return _read_cached(text) if len(text) <= _CACHED_LENGTH else _read_text(text)


@lru_cache(maxsize=8192)
def _read_cached(text: str) -> _Claim:
    return _read_text(text)


def _read_text(text: str) -> _Claim:
    text = unicodedata.normalize("NFKC", text)
    weights: dict[str, float] = {}
    for stem, name in content_terms(text):
        weights[stem] = max(weights.get(stem, 1.0), _NAME_WEIGHT if name else 1.0)
    norm = sum(weight**2 for weight in weights.values())
    quantities = _quantities(text, find_numbers(text))
    return _Claim(MappingProxyType(weights), norm, quantities, bool(negation_cues(text)))


def similarity(a: str, b: str) -> float:
    """How much of their content a and b share, in [0, 1]; numbers and negations do not count."""
    return _similarity(_read(a), _read(b))


def _similarity(a: _Claim, b: _Claim) -> float:
    if not a.weights or not b.weights:
        return 0.0
    # A word is a name in both texts if either writes it as one.
    shared = norm_a = norm_b = 0.0
    for stem in a.weights.keys() & b.weights.keys():
        weight_a, weight_b = a.weights[stem], b.weights[stem]
        weight = max(weight_a, weight_b)
        shared += weight**2
        norm_a += weight**2 - weight_a**2
        norm_b += weight**2 - weight_b**2
    return min(1.0, shared / math.sqrt((a.norm + norm_a) * (b.norm + norm_b)))


def relation(a: str, b: str) -> Relation:
    """The relation of claim b to claim a (symmetric)."""
    claim_a, claim_b = _read(a), _read(b)
    if _similarity(claim_a, claim_b) < SAME_CLAIM:
        return Relation.RELATED
    if _numbers_conflict(claim_a.quantities, claim_b.quantities):
        return Relation.NUMBER_CONFLICT
    if claim_a.negated != claim_b.negated:
        return Relation.NEGATION
    return Relation.SAME


def _unit_class(unit: str | None) -> str | None:
    """What kind of quantity a unit measures: numbers of different kinds are not comparable."""
    if unit is None or unit in ("%", "year", "day"):
        return unit
    if unit in _MONEY:
        return "money"
    if unit in _DURATIONS:
        return "duration"
    return "count"  # "countries" and "u.n. member states" count the same things here


def _quantities(text: str, numbers: Sequence[Number]) -> tuple[_Quantity, ...]:
    """Each number with the range its wording allows: "more than 40" is not a conflict with 41."""
    quantities = []
    for number in numbers:
        value = float(number.value)
        low, high = value, value
        qualifier = _QUALIFIER.search(text, max(0, number.start - 24), number.start)
        if qualifier:
            word = " ".join(qualifier.group(1).lower().split())
            if word in _AT_LEAST:
                high = math.inf
            elif word in _AT_MOST:
                low = -math.inf
            elif word in _NEARLY:
                low = value * (1 - _ROUGHLY)
            else:
                low, high = value * (1 - _ROUGHLY), value * (1 + _ROUGHLY)
        quantities.append(_Quantity(number, min(low, high), max(low, high)))
    return tuple(quantities)


def _equal(x: _Quantity, y: _Quantity) -> bool:
    if x.high < y.low or y.high < x.low:
        return False
    unit_x, unit_y = x.number.unit, y.number.unit
    if unit_x is None or unit_y is None:
        return True
    kind = _unit_class(unit_x)
    return kind == _unit_class(unit_y) and (kind == "count" or unit_x == unit_y)


def _comparable(x: _Quantity, y: _Quantity) -> bool:
    kind_x, kind_y = _unit_class(x.number.unit), _unit_class(y.number.unit)
    return kind_x is None or kind_y is None or kind_x == kind_y


def _numbers_conflict(quantities_a: Sequence[_Quantity], quantities_b: Sequence[_Quantity]) -> bool:
    """Whether a number of one text has no equal in the other while a comparable one differs.

    A number only one side gives (a date, a detail) is not a conflict: the claim is the same,
    told with more or less detail.
    """
    unmatched_b = list(quantities_b)
    unmatched_a = []
    for x in quantities_a:
        equal = next((y for y in unmatched_b if _equal(x, y)), None)
        if equal is None:
            unmatched_a.append(x)
        else:
            unmatched_b.remove(equal)
    return any(_comparable(x, y) for x in unmatched_a for y in unmatched_b)
