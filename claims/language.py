"""The language layer of claims from reporting: sentences, numbers with values, kinds, negation.

Pure text analysis, no database: `analyse(text)` splits a report into sentences (offsets exact, a
line break always ends one) and gives each its kinds and numbers; `content_words` and
`negation_cues` are what `claims.matching.relations` compares two claims with.
"""

import re
import threading
import unicodedata
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import lru_cache

import snowballstemmer
from sentencex import get_sentence_boundaries
from text_to_num import text2num

KINDS = ("number", "comparison", "negation", "attribution", "time", "quote")


@dataclass(frozen=True)
class Number:
    """A number as written in a text, with its value and what it counts."""

    text: str  # as written: "41", "forty-one", "41%", "1.2 million", "a dozen", "$3.5bn"
    value: int | float  # int when whole
    unit: str | None  # normalised lower-case: "u.n. member states", "%", "usd", "year"; None if unknown
    start: int  # offsets into the text given to find_numbers
    end: int


@dataclass(frozen=True)
class Sentence:
    """One sentence of a text: its span, its kinds and its numbers (offsets into the whole text)."""

    start: int
    end: int
    text: str
    kinds: tuple[str, ...]
    numbers: tuple[Number, ...]


# --- Sentences ----------------------------------------------------------------------------------

# What str.splitlines() breaks on: a line break always ends a sentence.
_LINE_BREAK = re.compile(r"\r\n|[\n\r\v\f\x1c\x1d\x1e\x85\u2028\u2029]")
# The splitter is Rust: a lone surrogate cannot cross into it. U+FFFD keeps the offsets.
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """The sentences of `text` as (start, end) spans, in order, trimmed; a line break ends one."""
    spans: list[tuple[int, int]] = []
    position = 0
    for match in _LINE_BREAK.finditer(text):
        _split_line(text, position, match.start(), spans)
        position = match.end()
    _split_line(text, position, len(text), spans)
    return spans


def _boundaries(line: str) -> list[int]:
    """Where sentencex ends sentences in `line`; none (the line is one sentence) when it fails."""
    try:
        return [int(boundary["end_index"]) for boundary in get_sentence_boundaries("en", line)]
    except (KeyboardInterrupt, SystemExit):
        raise
    except BaseException:  # a Rust panic (pyo3's PanicException is a BaseException), seen on
        # byte offsets inside a no-break space: the line stays whole rather than failing the request
        return []


def _split_line(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    line = text[start:end]
    stripped = line.lstrip()
    if not stripped:
        return
    offset = start + len(line) - len(stripped)
    stripped = stripped.rstrip()
    # sentencex's boundaries are only used as cut points: whatever it answers, the pieces between
    # them cover the line exactly.
    safe = _SURROGATE.sub("\ufffd", stripped)
    cuts = sorted({boundary for boundary in _boundaries(safe) if 0 < boundary < len(safe)})
    cuts.append(len(stripped))
    previous = 0
    for cut in cuts:
        piece = stripped[previous:cut]
        body = piece.strip()
        if body:
            piece_start = offset + previous + len(piece) - len(piece.lstrip())
            piece_end = piece_start + len(body)
            # The splitter sometimes ends a sentence at an abbreviation it does not know ("$3.5 bn. to
            # the U.K."): a sentence does not begin with a lower-case letter.
            if spans and body[0].islower() and spans[-1][0] >= offset:
                spans[-1] = (spans[-1][0], piece_end)
            else:
                spans.append((piece_start, piece_end))
        previous = cut


# --- Numbers ------------------------------------------------------------------------------------


def _wordset(words: str) -> frozenset[str]:
    """A set of words written as one string, as word lists read best."""
    return frozenset(words.split())


_ONES = _wordset(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen"
)
_TENS = _wordset("twenty thirty forty fifty sixty seventy eighty ninety")
_SCALES = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_EXTRA_SCALES = {"dozen": 12, "trillion": 10**12}  # words text2num does not take
_SCALE_WORDS = _SCALES | _EXTRA_SCALES
_NUMBER_WORDS = frozenset([*_ONES, *_TENS, *_SCALES, "dozen"])
# Longest first, so that "fourteen" is not read as "four".
_WORD = "(?:" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True)) + r")\b"
_WORD_SEP = r"(?:[ \t]*-[ \t]*|[ \t]+(?:and[ \t]+)?)"
_CURRENCY_PREFIX = {"$": "usd", "us$": "usd", "a$": "aud", "c$": "cad", "hk$": "hkd", "nz$": "nzd"}
_CURRENCY_PREFIX |= {"€": "eur", "£": "gbp", "¥": "jpy", "₩": "krw", "₹": "inr"}
_CURRENCY_PREFIX |= {"usd": "usd", "eur": "eur", "gbp": "gbp"}
_CURRENCY_WORD = {"dollar": "usd", "dollars": "usd", "euro": "eur", "euros": "eur"}
_CURRENCY_WORD |= {"usd": "usd", "eur": "eur", "gbp": "gbp"}
_MONTHS = _wordset(
    "january february march april may june july august september october november december "
    "jan feb mar apr jun jul aug sep sept oct nov dec"
)

_NUMBER_TAIL = r"""
    (?P<percent>[ \t]*(?:%|percent\b|per[ \t]+cent\b|pct\b))?
    (?:[ \t]+(?P<curword>(?:us[ \t]+)?dollars?|euros?|usd|eur|gbp)\b)?
"""
_DIGIT_NUMBER = re.compile(
    r"""(?ix)
    (?P<skip>  # dates and clock times: not counts (`time` finds them)
        \b\d{4}-\d{1,2}-\d{1,2}\b | \b\d{1,2}/\d{1,2}/\d{2,4}\b | \b\d{1,2}:\d{2}(?::\d{2})?\b
        | \b\d{1,2}(?:\.\d{2})?[ \t]*[ap]\.?m\b\.?
    )
    | (?:(?P<cur>(?:us|a|c|hk|nz)?\$|[€£¥₩₹]|\b(?:usd|eur|gbp)\b)[ \t]?)?
      (?<![\w.,])  # not inside a word or a number: "G20", "1.2.3"
      (?P<digits>\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?)
      (?P<suffix>[^\W\d_]+)?
      (?:[ \t]*(?P<scale>hundred|thousand|million|billion|trillion|dozen)\b)?
    """
    + _NUMBER_TAIL
)
_WORD_NUMBER = re.compile(
    rf"""(?ix)
    (?<![\w-])(?:(?P<article>an?)[ \t]+)?(?P<words>{_WORD}(?:{_WORD_SEP}{_WORD})*)
    """
    + _NUMBER_TAIL
)
_WORD_TOKEN = re.compile(rf"(?i){_WORD}|\band\b")
_ORDINAL_SUFFIX = frozenset({"st", "nd", "rd", "th"})
_SUFFIX_SCALE = {"bn": 10**9, "b": 10**9, "mn": 10**6, "m": 10**6, "k": 1000, "tn": 10**12, "trn": 10**12}
_SUFFIX_SCALE |= {"thousand": 1000, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_MEASURES = _wordset("km kg cm mm m mph kph kmh ft lb lbs kw kwh mw mwh gw gwh gb mb tb ml mg ha")
_FRACTIONS = _wordset(
    "half halves third thirds quarter quarters fifth fifths sixth sixths eighth eighths tenth tenths"
)
_TIME_UNITS = _wordset("year month week day hour minute second decade century")
# A compound after a hyphen: "three-year", "41-member", "twenty-first".
_HYPHEN_WORD = re.compile(r"-([^\W\d_]+)")
_FOLLOWING_WORD = re.compile(r"[ \t]+([^\W\d_][\w'’.-]*)")
_INITIALISM = re.compile(r"(?:[^\W\d_]\.){2,}")
_COMPOUND_PREFIX = re.compile(r"([^\W\d_]+)-$")
_PREVIOUS_WORD = re.compile(r"([^\W\d_]+)\.?[ \t,]*$")
# Before a 19xx/20xx number, these make it a year even when a noun follows ("in 2008 people …").
_YEAR_CUES = (
    _wordset(
        "in since during until till before after by from through between circa early late mid pre post year fiscal"
    )
    | _MONTHS
)
_LEADING_MODIFIERS = _wordset("other more additional new different separate further extra such")
_IRREGULAR_PLURALS = _wordset(
    "people children men women police staff personnel cattle feet teeth mice geese data media "
    "crises criteria phenomena fish sheep deer aircraft offspring"
)
_STOPWORDS = _wordset(
    """a about above across after afterwards again against all almost alone along already also although
    always am among amongst an and another any anyone anything anyway anywhere are around as at be became
    because become becomes been before beforehand being below beside besides between beyond both but by
    can could did do does doing done down during each either else elsewhere enough etc even ever every
    everyone everything everywhere few for former formerly from further had has have having he hence her
    here hers herself him himself his how however i if in indeed into is it its itself just last latter
    least less many may me meanwhile might mine more moreover most mostly much must my myself namely
    neither nevertheless next no nobody none noone nor not nothing now nowhere of off often on once one only
    onto or other others otherwise our ours ourselves out over own per perhaps please quite rather
    really same say says said seem seemed seeming seems several she should since so some somehow someone
    something sometime sometimes somewhere still such than that the their theirs them themselves then
    thence there thereafter thereby therefore therein thereupon these they this those though through
    throughout thru thus to together too toward towards under until up upon us very via was we well were
    what whatever when whence whenever where whereafter whereas whereby wherein whereupon wherever whether
    which while whither who whoever whole whom whose why will with within without would yes yet you your
    yours yourself yourselves according nearly roughly approximately estimated"""
)


_WORDS = re.compile(r"[^\W\d_]+")
_DIGIT = re.compile(r"\d")


def _words(text: str) -> frozenset[str]:
    """The lower-case words of a text: a cheap test of whether a costlier pattern can match at all."""
    return frozenset(_WORDS.findall(text.lower()))


def find_numbers(text: str) -> list[Number]:
    """The numbers in `text`, digits and words alike, with their values and units, in order.

    Vague quantities ("hundreds", "dozens", "several thousand") and ordinals ("first", "3rd") are
    not numbers here: they have no value to compare. Nor is a lone "one" (as in "one of them", "no
    one"); "one hundred" is. Dates like 2024-05-01 and clock times are left to `sentence_kinds`, and
    names with digits ("G20", "F-35", "COVID-19", "5G") are not quantities. A sign is not read.
    """
    return _find_numbers(text, _words(text))


def _find_numbers(text: str, words: frozenset[str]) -> list[Number]:
    numbers: list[Number] = []
    if _DIGIT.search(text):
        for match in _DIGIT_NUMBER.finditer(text):
            if match["skip"] is None and (number := _read_digits(text, match)) is not None:
                numbers.append(number)
    if words & _NUMBER_WORDS:
        in_words = [number for match in _WORD_NUMBER.finditer(text) for number in _read_words(text, match)]
        if numbers:  # "$2 million": the digits' reading has the scale word already
            starts = [number.start for number in numbers]
            in_words = [number for number in in_words if not _overlaps(number, numbers, starts)]
            return sorted([*numbers, *in_words], key=lambda number: number.start)
        return in_words
    return numbers


def _overlaps(number: Number, others: list[Number], starts: list[int]) -> bool:
    """Whether `number` overlaps one of `others` (in order, `starts` their starts)."""
    index = bisect_left(starts, number.end) - 1
    return index >= 0 and others[index].end > number.start


def _is_year(digits: str) -> bool:
    return len(digits) == 4 and digits[:2] in ("19", "20")


def _read_digits(text: str, match: re.Match[str]) -> Number | None:
    digits = match["digits"]
    if len(digits) > 30:
        return None  # no real quantity is written with more digits; a hostile one could be huge
    at = match.start("digits")
    if text[at - 1 : at] == "-" and _previous_word(text, at) not in _YEAR_CUES | {""}:
        return None  # a name or code: "F-35", "COVID-19" (but "mid-2019" is a year)
    amount = Decimal(digits.replace(",", ""))
    currency = match["cur"]
    unit = _CURRENCY_PREFIX[currency.lower()] if currency else None
    suffix = (match["suffix"] or "").lower()
    year_like = False
    if suffix:
        if suffix in _ORDINAL_SUFFIX:
            return None
        if suffix in _SUFFIX_SCALE and (currency or len(suffix) > 1):
            amount *= _SUFFIX_SCALE[suffix]
        elif suffix == "s" and _is_year(digits):
            unit = "year"  # "the 1990s"
        elif suffix in _MEASURES:
            unit = unit or suffix
        else:
            return None  # "5G", "3D": names, not quantities
    elif match["scale"]:
        amount *= _SCALE_WORDS[match["scale"].lower()]
    else:
        year_like = _is_year(digits)
    return _finish(text, match, amount, unit, year_like=year_like and not currency)


def _read_words(text: str, match: re.Match[str]) -> list[Number]:
    tokens = [
        (token.group().lower(), token.start(), token.end()) for token in _WORD_TOKEN.finditer(match["words"])
    ]
    base = match.start("words")
    numbers: list[Number] = []
    index = 0
    while index < len(tokens):
        # The longest run from here that reads as one number, grown a word at a time (so that a
        # hostile "one one one …" stays linear); "and" only inside ("one hundred and five").
        article = index == 0 and match["article"] is not None and tokens[0][0] in _SCALE_WORDS
        best: tuple[int, int] | None = None
        for stop in range(index + 1, min(len(tokens), index + 12) + 1):
            if tokens[stop - 1][0] == "and":
                continue
            value = _words_value(("one",) * article + tuple(word for word, _, _ in tokens[index:stop]))
            if value is None:
                break
            best = (stop, value)
        if best is None:
            index += 1
            continue
        stop, value = best
        words = [word for word, _, _ in tokens[index:stop]]
        # "one of them", "no one": rarely a count; "several hundred", "a few thousand": vague.
        if words[0] in _SCALE_WORDS and not article:
            index += 1
            continue
        if words != ["one"]:
            start = match.start("article") if article else base + tokens[index][1]
            end = base + tokens[stop - 1][2]
            number = _finish_words(text, match, value, start, end, last=stop == len(tokens))
            if number is not None:
                numbers.append(number)
        index = stop
    return numbers


@lru_cache(maxsize=4096)
def _words_value(words: tuple[str, ...]) -> int | None:
    """The value of number words ("forty one", "one dozen", "two trillion"), or None."""
    if words[-1] in _EXTRA_SCALES:
        if len(words) == 1:
            return _EXTRA_SCALES[words[0]]
        head = _words_value(words[:-1])
        return None if head is None else head * _EXTRA_SCALES[words[-1]]
    if "dozen" in words or "trillion" in words:
        return None
    try:
        return int(text2num(" ".join(words), "en"))
    except ValueError:
        return None


def _finish_words(
    text: str, match: re.Match[str], value: int, start: int, end: int, *, last: bool
) -> Number | None:
    if not last:
        return Number(text[start:end], value, None, start, end)
    # The percent sign or currency word after the words belongs to the last number of the run.
    unit = None
    stop = end
    if match["percent"]:
        unit, stop = "%", match.end("percent")
    if match["curword"]:
        unit, stop = _CURRENCY_WORD[match["curword"].split()[-1].lower()], match.end("curword")
    if stop == end:
        hyphen = _HYPHEN_WORD.match(text, end) if text[end : end + 1] == "-" else None
        if hyphen:
            word = hyphen.group(1).lower()
            if word in _FRACTIONS or word.endswith(("th", "first", "second", "third")):
                return None  # "two-thirds", "twenty-first"
            unit = word + "s" if word in _TIME_UNITS else word
        else:
            unit = _counted_noun(text, end, value)
    return Number(text[start:stop], value, unit, start, stop)


def _finish(
    text: str, match: re.Match[str], amount: Decimal, unit: str | None, *, year_like: bool
) -> Number | None:
    start, end = match.start(), match.end()
    if match["percent"]:
        unit = unit or "%"
    if match["curword"]:
        unit = _CURRENCY_WORD[match["curword"].split()[-1].lower()]
    value = _value(amount)
    if unit is None:
        hyphen = _HYPHEN_WORD.match(text, end) if text[end : end + 1] == "-" else None
        day_like = isinstance(value, int) and 1 <= value <= 31
        previous_word = _previous_word(text, start) if year_like or day_like else ""
        if hyphen:
            word = hyphen.group(1).lower()
            if word in _FRACTIONS:
                return None
            unit = word + "s" if word in _TIME_UNITS else word
        elif year_like and previous_word in _YEAR_CUES:
            unit = "year"
        elif day_like and _is_day(text, start, end, previous_word):
            unit = "day"
        else:
            unit = _counted_noun(text, end, value)
            if unit is None and year_like:
                unit = "year"
    return Number(text[start:end], value, unit, start, end)


def _previous_word(text: str, position: int) -> str:
    """The word before `position`, lower-case, across a space, comma or hyphen ("mid-2019")."""
    previous = _PREVIOUS_WORD.search(text, max(0, position - 24), position) or _COMPOUND_PREFIX.search(
        text, max(0, position - 12), position
    )
    return previous.group(1).lower() if previous else ""


_MONTH_AFTER = re.compile(r"[ \t]+(?:of[ \t]+)?([^\W\d_]+)")


def _is_day(text: str, start: int, end: int, previous_word: str) -> bool:
    if previous_word in _MONTHS and text[start - 1 : start] in (" ", "\t"):
        return True
    following = _MONTH_AFTER.match(text, end)
    return following is not None and following.group(1).lower() in _MONTHS and following.group(1)[0].isupper()


def _value(amount: Decimal) -> int | float:
    return int(amount) if amount == amount.to_integral_value() else float(amount)


def _counted_noun(text: str, position: int, value: int | float) -> str | None:
    """The short noun phrase a number counts ("41 U.N. member states …" → "u.n. member states")."""
    words: list[str] = []
    for _ in range(4):
        following = _FOLLOWING_WORD.match(text, position)
        if following is None:
            break
        word = following.group(1)
        position = following.end()
        ends_sentence = False
        if word.endswith(".") and not _INITIALISM.fullmatch(word):
            word, ends_sentence = word.rstrip("."), True
        lower = word.lower().replace("’", "'")
        if not words and lower in _LEADING_MODIFIERS:
            continue
        if lower.endswith("'s") or lower in _STOPWORDS or not lower:
            break
        if lower in _CURRENCY_WORD:
            return _CURRENCY_WORD[lower]
        words.append(lower)
        if _is_plural(lower) or (value == 1 and len(words) == 1 and lower in _TIME_UNITS):
            return " ".join(words)
        if ends_sentence:
            break
    return None


def _is_plural(word: str) -> bool:
    if word in _IRREGULAR_PLURALS:
        return True
    return len(word) >= 3 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ous", "'s"))


# --- Negation -----------------------------------------------------------------------------------

_NEGATION = re.compile(
    r"""(?ix)
    (?P<skip>
        \bnot[ \t]+(?:only|just|merely|simply|least|surprisingly|unlike|to[ \t]+mention|to[ \t]+say)\b
      | \bwhether[ \t]+or[ \t]+not\b | \bif[ \t]+not\b
      | \bno[ \t]+(?:doubt|matter|wonder|less|fewer|sooner|more[ \t]+than)\b
      | \bno\.?[ \t]*\d | \bno-(?!one\b) | \bnot-
      | \bnone[ \t]+other\b | \bnone[ \t]+the[ \t]+less\b
      | \bnothing[ \t]+(?:but|less|short|more[ \t]+than)\b
      | \bwithout[ \t]+(?:a[ \t]+)?(?:doubt|question|exception)\b
      | \bnever[ \t]+mind\b
    )
    | (?P<cue>
        \bno[ \t]+longer\b | \bno[ -]one\b
      | \b(?:has|have|had)[ \t]+yet[ \t]+to\b
      | \b(?:fail|fails|failed|failing)[ \t]+to\b
      | \b(?:refuse|refuses|refused|refusing)[ \t]+to\b
      | \b(?:decline|declines|declined|declining)[ \t]+to\b
      | \b(?:deny|denies|denied|denying)\b
      | \b(?:absent|excluded|missing)[ \t]+from\b
      | \b(?:lack|lacks|lacked|lacking)\b
      | \bcannot\b | \b[^\W\d_]+n['’]t\b
      | \b(?:not|never|no|none|nobody|nothing|nowhere|neither|nor|without)\b
    )
    """
)
# Without one of these words no cue can match ("t" is what is left of "n't").
_NEGATION_WORDS = _wordset("""not never no none nobody nothing nowhere neither nor without cannot t yet fail fails failed failing
    refuse refuses refused refusing decline declines declined declining deny denies denied denying absent
    excluded missing lack lacks lacked lacking""")


def _negation_spans(text: str, words: frozenset[str] | None = None) -> list[tuple[int, int]]:
    if (words if words is not None else _words(text)).isdisjoint(_NEGATION_WORDS):
        return []
    return [match.span("cue") for match in _NEGATION.finditer(text) if match["cue"] is not None]


def negation_cues(text: str) -> list[str]:
    """The negating phrases in `text`, lower-case, in order ("not", "failed to", "didn't")."""
    return [text[start:end].lower().replace("’", "'") for start, end in _negation_spans(text)]


# --- Kinds --------------------------------------------------------------------------------------

# Each kind is a set of words looked up in the sentence's words, and for the few cues that need
# their neighbours or their capitals, a pattern run only when one of its words is there.
_COMPARISON_WORDS = _wordset("""more less fewer than most least highest lowest largest biggest smallest greatest best worst higher
    lower larger bigger smaller greater better worse twice versus vs increase increases increased increasing
    decrease decreases decreased decreasing rise rises rising risen rose fell fall falls falling fallen grew
    grow grows growing grown growth surge surges surged surging soar soars soared soaring plunge plunges
    plunged plunging jump jumps jumped drop drops dropped outnumber outnumbers outnumbered exceed exceeds
    exceeded doubled tripled quadrupled halved compared worsen worsens worsened worsening""")
_COMPARISON = re.compile(
    r"""(?ix)
    \bdeclined\b(?![ \t]+to\b)
    | \b(?:a|new|all-time)[ \t]+record\b | \brecord[- ](?:high|low|highs|lows|number|numbers|level|levels|year|amount)\b
    | \brecord-\w+
    """
)
_SUPERLATIVE = re.compile(
    r"(?i)\b(?:the|its|their|his|her|our|my|your|whose|[^\W\d_]+['’]s)[ \t]+(?:[^\W\d_]+[ \t]+)?([^\W\d_]{3,}est)\b"
)
_NOT_SUPERLATIVE = _wordset("""interest protest forest request suggest arrest contest harvest honest modest manifest digest invest
    conquest earnest behest unrest priest midwest southwest northwest guest chest quest crest nest west
    test rest pest vest zest jest lest attest detest infest ingest divest bequest inquest tempest latest
    everest budapest bucharest""")
_ATTRIBUTION_WORDS = _wordset("""said says say told stated announced claimed confirmed reported added noted wrote argued insisted
    declared asserted alleged tweeted testified warned explained acknowledged admitted contended spokesman
    spokeswoman spokesperson spokespeople""")
_ATTRIBUTION = re.compile(r"(?i)\baccording[ \t]+to\b|\bin[ \t]+a[ \t]+statement\b")
_TIME_WORDS = _wordset("""january february april june july september october november december monday tuesday wednesday
    thursday friday saturday sunday mondays tuesdays wednesdays thursdays fridays saturdays sundays
    yesterday today tonight tomorrow recently ago decade decades century centuries annually""")
_TIME_PATTERN_WORDS = _wordset("""march may august jan feb mar apr jun jul aug sep sept oct nov dec week weekend month year quarter
    spring summer autumn fall winter morning afternoon evening night term season weeks weekends months
    years quarters mornings afternoons evenings nights terms seasons""")
_TIME = re.compile(
    r"""(?x)
    \b(?:March|August|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\b
    | (?<=[^\W\d_][ \t])May\b | \bMay(?=[ \t]+\d)
    | (?i:\b(?:last|next|this|past|previous|coming|earlier[ \t]+this|later[ \t]+this)[ \t]+
         (?:week|weekend|month|year|decade|century|quarter|spring|summer|autumn|fall|winter|morning
          |afternoon|evening|night|term|season)s?\b)
    """
)
_TIME_DIGITS = re.compile(
    r"(?i)\b\d{4}-\d{1,2}-\d{1,2}\b|\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d{1,2}:\d{2}\b|\b\d{1,2}[ \t]*[ap]\.?m\b"
)
_QUOTE = re.compile(r"(?<!\d)[\"“”«»„]|‘(?=[^\W\d_])")
_LETTER = re.compile(r"[^\W\d_]")
_DATE_UNITS = frozenset({"year", "day"})


def sentence_kinds(text: str, numbers: Sequence[Number] | None = None) -> tuple[str, ...]:
    """The kinds of a sentence (a subset of KINDS, in KINDS order); `numbers` if already found."""
    words = _words(text)
    return _kinds(text, words, _find_numbers(text, words) if numbers is None else numbers)


def _kinds(text: str, words: frozenset[str], numbers: Sequence[Number]) -> tuple[str, ...]:
    found: set[str] = set()
    if any(number.unit not in _DATE_UNITS for number in numbers):
        found.add("number")
    if _is_comparison(text, words):
        found.add("comparison")
    if _negation_spans(text, words):
        found.add("negation")
    if not words.isdisjoint(_ATTRIBUTION_WORDS) or (
        ("according" in words or "statement" in words) and _ATTRIBUTION.search(text)
    ):
        found.add("attribution")
    if _is_time(text, words, numbers):
        found.add("time")
    if words and _QUOTE.search(text):
        found.add("quote")
    return tuple(kind for kind in KINDS if kind in found)


def _is_comparison(text: str, words: frozenset[str]) -> bool:
    if not words.isdisjoint(_COMPARISON_WORDS):
        return True
    if ("declined" in words or "record" in words) and _COMPARISON.search(text):
        return True
    return any(word.endswith("est") and word not in _NOT_SUPERLATIVE for word in words) and any(
        match.group(1).lower() not in _NOT_SUPERLATIVE for match in _SUPERLATIVE.finditer(text)
    )


def _is_time(text: str, words: frozenset[str], numbers: Sequence[Number]) -> bool:
    if any(number.unit in _DATE_UNITS for number in numbers) or not words.isdisjoint(_TIME_WORDS):
        return True
    if not words.isdisjoint(_TIME_PATTERN_WORDS) and _TIME.search(text):
        return True
    return _DIGIT.search(text) is not None and _TIME_DIGITS.search(text) is not None


def analyse(text: str) -> list[Sentence]:
    """Every sentence of `text` with its kinds and numbers (offsets into `text`)."""
    sentences = []
    for start, end in split_sentences(text):
        body = text[start:end]
        words = _words(body)
        found = _find_numbers(body, words)
        kinds = _kinds(body, words, found)
        numbers = tuple(Number(n.text, n.value, n.unit, n.start + start, n.end + start) for n in found)
        sentences.append(Sentence(start, end, body, kinds, numbers))
    return sentences


# --- Content words ------------------------------------------------------------------------------

# A few names written many ways, so that "U.N." meets "UN" and "United Nations". Upper-case
# abbreviations are matched as written: "US" is the country, "us" the pronoun.
_ALIASES = re.compile(
    r"""(?x)
    (?P<USA>(?i:\b(?:the[ \t]+)?united[ \t]+states(?:[ \t]+of[ \t]+america)?\b|\bu\.[ \t]?s\.(?:[ \t]?a\.)?)|\bUSA?\b)
    | (?P<UN>(?i:\bunited[ \t]+nations\b|\bu\.[ \t]?n\.)|\bUN\b)
    | (?P<UK>(?i:\bunited[ \t]+kingdom\b|\bu\.[ \t]?k\.|\b(?:great[ \t]+)?britain\b)|\bUK\b)
    | (?P<EU>(?i:\beuropean[ \t]+union\b|\be\.[ \t]?u\.)|\bEU\b)
    | (?P<COUNTRY>(?i:\bmember[ \t]+(?:states?|countries|country|nations?)\b|\bnations?\b|\bcountries\b))
    """
)
_ALIAS_WORDS = _wordset("united u s n k e usa us un uk eu britain member nation nations countries")
_TOKEN = re.compile(r"\w+(?:['’-]\w+)*")
_REMOVED = (
    _STOPWORDS
    | _NUMBER_WORDS
    | _wordset("dozens hundreds thousands millions billions trillions percent pct cent")
)
_STEMMER = snowballstemmer.stemmer("english")
_STEMMER_LOCK = threading.Lock()  # a Snowball stemmer keeps its state in the object while it works


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    with _STEMMER_LOCK:
        return str(_STEMMER.stemWord(word))


def _alias(match: re.Match[str]) -> str:
    name = match.lastgroup or ""
    return " country " if name == "COUNTRY" else f" {name} "  # the names keep their capitals


def content_terms(text: str) -> list[tuple[str, bool]]:
    """Like `content_words`, each stem with whether it was written with a capital (as names are)."""
    plain = unicodedata.normalize("NFKC", text)  # full-width letters and digits read as plain ones
    words = _words(plain)
    spans = [(number.start, number.end) for number in _find_numbers(plain, words)]
    spans += _negation_spans(plain, words)
    if spans:
        blanked = list(plain)
        for start, end in spans:
            blanked[start:end] = " " * (end - start)
        plain = "".join(blanked)
    if not words.isdisjoint(_ALIAS_WORDS):
        plain = _ALIASES.sub(_alias, plain)
    terms: list[tuple[str, bool]] = []
    for match in _TOKEN.finditer(plain):
        token = match.group()
        lower = token.lower().replace("’", "'")
        if lower.endswith("'s"):
            lower = lower[:-2]
        lower = lower.replace("-", "").replace("'", "")
        if lower in _REMOVED or not _LETTER.search(lower):
            continue
        # A capital at the start of a sentence may not make a name, but counting it as one costs
        # little: the other text's word is then taken as a name too (see relations.similarity).
        terms.append((_stem(lower), token[0].isupper()))
    return terms


def content_words(text: str) -> list[str]:
    """The stemmed, lower-case words of `text` that carry its content: no stopwords, numbers or negation."""
    return [stem for stem, _ in content_terms(text)]
