"""Quote anchoring: find a W3C TextQuoteSelector (exact, prefix, suffix) in a snapshot's extracted text.

`anchor_quote(text, exact, prefix, suffix)` compares normalised forms (Unicode NFKC, case, whitespace,
quotes, dashes) and answers offsets into the original text; fuzzy matches only above a high threshold.
"""

import bisect
import itertools
import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache

from rapidfuzz import fuzz

# Typographic variants folded to ASCII, and invisible characters removed. Applied before NFKC (so a
# double prime stays one '"' instead of NFKC's two primes) and again after (NFKC turns small and
# vertical forms into em dashes and the like).
_QUOTES_SINGLE = "\u2018\u2019\u201a\u201b\u2032\u2035\u2039\u203a\u02bc\uff07"
_QUOTES_DOUBLE = "\u201c\u201d\u201e\u201f\u2033\u2036\u00ab\u00bb\u301d\u301e\u301f\uff02"
_DASHES = "\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u2043\ufe58\ufe63\uff0d"
_INVISIBLE = "\u00ad\u180e\u200b\u200c\u200d\u2060\ufeff"
# Frequent characters that NFKC would change anyway (no-break and typographic spaces, full-width ASCII
# in CJK text), mapped here to NFKC's own result: text without them passes NFKC's quick check, and
# a full NFKC pass over a 1 MB text costs up to ~150 ms.
_NFKC_SPACES = "\u00a0\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f\u3000"
_FULL_WIDTH = {chr(code): chr(code - 0xFEE0) for code in range(0xFF01, 0xFF5F)}
_FOLD_MAP = {
    **_FULL_WIDTH,
    **dict.fromkeys(_NFKC_SPACES, " "),
    **dict.fromkeys(_QUOTES_SINGLE, "'"),
    **dict.fromkeys(_QUOTES_DOUBLE, '"'),
    **dict.fromkeys(_DASHES, "-"),
    **dict.fromkeys(_INVISIBLE, ""),
}
_FOLD_CHARS = re.compile("[" + re.escape("".join(_FOLD_MAP)) + "]")
_DIGITS = re.compile(r"\d+")
# Whitespace that survives NFKC and the fold above: the characters str.isspace() accepts, less those.
_SPACES_AFTER_NFKC = "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f\x85\u1680\u2028\u2029"

# The text is normalised in blocks of about this many characters: each block cheaply with C-level
# string operations, and only the one or two blocks a match falls in again character by character
# to map offsets back. Keeps a 1 MB text well under the latency goal.
_BLOCK = 4096

_MAX_SCORED_OCCURRENCES = 10_000  # exact occurrences compared with the quote's prefix and suffix

# Fuzzy search over a long text aligns only around places where rare pieces of the quote occur.
_FUZZY_WHOLE_TEXT_MAX = 20_000  # up to this many characters, also align against the whole text
_MAX_PROBES = 32  # n-grams of the quote whose frequency in the text is measured
_MAX_SEEDS = 10  # rarest present n-grams used to vote for candidate windows
_MAX_HITS_PER_SEED = 200  # an n-gram more frequent than this does not discriminate
_MAX_HITS_FALLBACK = 20_000  # ... but is still used when the quote has nothing rarer
_MAX_WINDOWS = 8  # candidate windows aligned with rapidfuzz
_ALIGNMENT_SLACK = 5.0  # points below the threshold at which a partial alignment is still refined


@dataclass(frozen=True)
class Anchor:
    """Where a quote sits in a text: offsets into the original text, and how it was matched."""

    status: str  # "found" or "not_found"
    start: int | None
    end: int | None
    score: float | None  # 1.0 for an exact (normalised) match; the similarity (0-1) for a fuzzy one
    fuzzy: bool


NOT_FOUND = Anchor("not_found", None, None, None, False)


def _fold_characters(text: str) -> str:
    """text with typographic quotes, dashes and spaces folded and invisible characters removed."""
    # One str.replace per distinct character present runs at C speed; str.translate with a dict, or a
    # regex substitution with a Python callback per match, costs tens of ms per MB.
    for char in set(_FOLD_CHARS.findall(text)):
        text = text.replace(char, _FOLD_MAP[char])
    return text


def normalise(text: str) -> str:
    """The comparison form of text: NFKC, case-folded, whitespace collapsed, quotes and dashes folded."""
    # C-level string operations only: this runs over whole snapshot texts (see _Folded).
    if text.isascii():
        # NFKC leaves ASCII alone, nothing in it needs folding, and casefold() equals lower() there.
        text = text.lower()
    else:
        text = _fold_characters(unicodedata.normalize("NFKC", _fold_characters(text)).casefold())
    for space in _SPACES_AFTER_NFKC:
        if space in text:
            text = text.replace(space, " ")
    while "  " in text:
        text = text.replace("  ", " ")
    return text


@lru_cache(maxsize=4096)
def _joins_previous(char: str) -> bool:
    """Whether char can combine with the character before it under NFKC (marks, Hangul vowels/finals)."""
    first = unicodedata.normalize("NFKD", char)[0]
    code = ord(first)
    return (
        unicodedata.category(first).startswith("M")
        or 0x1160 <= code <= 0x11FF  # conjoining Hangul medial vowels and final consonants
        or 0xD7B0 <= code <= 0xD7FF
    )


def _fold_with_spans(text: str) -> tuple[str, list[int], list[int]]:
    """The comparison form of text with, per character, the original span [start, end) it came from."""
    # Fold and drop invisible characters one by one, remembering where each survivor was.
    chars: list[tuple[str, int]] = []
    for i, char in enumerate(text):
        folded = _FOLD_MAP.get(char, char)
        if folded:
            chars.append((folded, i))
    # NFKC composes a character with the marks that follow it, so normalise cluster by cluster:
    # a base character and everything that may combine with it. The result equals NFKC of the whole.
    pieces: list[tuple[str, int, int]] = []
    cluster = ""
    cluster_start = cluster_end = 0
    for char, i in chars:
        if cluster and _joins_previous(char):
            cluster += char
            cluster_end = i + 1
            continue
        if cluster:
            pieces.append((cluster, cluster_start, cluster_end))
        cluster, cluster_start, cluster_end = char, i, i + 1
    if cluster:
        pieces.append((cluster, cluster_start, cluster_end))

    out: list[str] = []
    starts: list[int] = []
    ends: list[int] = []
    for piece, start, end in pieces:
        for char in unicodedata.normalize("NFKC", piece).casefold():
            char = _FOLD_MAP.get(char, char)
            if not char:
                continue
            if char.isspace():
                if out and out[-1] == " ":
                    ends[-1] = end  # a whitespace run collapses into the first space
                    continue
                char = " "
            out.append(char)
            starts.append(start)
            ends.append(end)
    return "".join(out), starts, ends


def normalise_with_map(text: str) -> tuple[str, list[int]]:
    """The comparison form of text and, for each of its characters, the offset in the original."""
    folded, starts, _ = _fold_with_spans(text)
    return folded, starts


class _Folded:
    """A text's comparison form, built block by block, that maps positions back to the original."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.block_starts: list[int] = []  # original offset where each block begins
        self.folded_starts: list[int] = []  # offset of each block's first character in self.folded
        self.drops_space: list[bool] = []  # block's leading space merged into the previous block's
        parts: list[str] = []
        length = 0
        ends_with_space = False
        start = 0
        while start < len(text):
            end = self._boundary(start + _BLOCK)
            part = normalise(text[start:end])
            drop = ends_with_space and part.startswith(" ")
            if drop:
                part = part[1:]
            self.block_starts.append(start)
            self.folded_starts.append(length)
            self.drops_space.append(drop)
            parts.append(part)
            length += len(part)
            if part:
                ends_with_space = part.endswith(" ")
            start = end
        self.folded = "".join(parts)
        self._spans: dict[int, tuple[list[int], list[int]]] = {}

    def _boundary(self, position: int) -> int:
        """The first position at or after position where a block may end without changing the result."""
        text = self.text
        while position < len(text) and (text[position] in _INVISIBLE or _joins_previous(text[position])):
            position += 1
        return min(position, len(text))

    def _block_spans(self, block: int) -> tuple[list[int], list[int]]:
        """Original spans of a block's folded characters, computed on first use."""
        if block not in self._spans:
            start = self.block_starts[block]
            end = self.block_starts[block + 1] if block + 1 < len(self.block_starts) else len(self.text)
            folded, starts, ends = _fold_with_spans(self.text[start:end])
            skip = 1 if self.drops_space[block] else 0
            part_end = self.folded_starts[block + 1] if block + 1 < len(self.folded_starts) else None
            if folded[skip:] != self.folded[self.folded_starts[block] : part_end]:
                # Both forms are built to agree; if they ever do not, offsets would point at the wrong
                # passage, so fail loudly rather than anchor to different text.
                raise RuntimeError(f"quote anchoring: inconsistent normalisation of block {block}")
            self._spans[block] = (
                [start + offset for offset in starts[skip:]],
                [start + offset for offset in ends[skip:]],
            )
        return self._spans[block]

    def span(self, position: int) -> tuple[int, int]:
        """The original [start, end) that the folded character at position came from."""
        block = bisect.bisect_right(self.folded_starts, position) - 1
        # Empty blocks share a folded start with the next one; the character is in the last of them.
        starts, ends = self._block_spans(block)
        index = position - self.folded_starts[block]
        return starts[index], ends[index]

    def original(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of the folded range [start, end)."""
        return self.span(start)[0], self.span(end - 1)[1]

    def is_aligned(self, start: int, end: int) -> bool:
        """Whether [start, end) neither starts nor ends inside the expansion of one original character."""
        if start > 0 and self.span(start - 1) == self.span(start):
            return False
        return not (end < len(self.folded) and self.span(end - 1) == self.span(end))


def _context_score(folded: str, start: int, end: int, prefix: str, suffix: str) -> float:
    """How well the text around [start, end) agrees with the quote's prefix and suffix (0-200)."""
    score = 0.0
    if prefix:
        before = folded[max(0, start - len(prefix) - 1) : start].rstrip()[-len(prefix) :]
        score += fuzz.ratio(prefix, before)
    if suffix:
        after = folded[end : end + len(suffix) + 1].lstrip()[: len(suffix)]
        score += fuzz.ratio(suffix, after)
    return score


def _occurrences(folded: str, quote: str) -> Iterator[int]:
    """Every position where quote occurs in folded, overlapping ones included, in order."""
    position = folded.find(quote)
    while position != -1:
        yield position
        position = folded.find(quote, position + 1)


def _exact(doc: _Folded, quote: str, prefix: str, suffix: str) -> tuple[int, int] | None:
    """The best exact occurrence of quote in the folded text, by context; ties go to the first."""
    occurrences: Iterable[int] = _occurrences(doc.folded, quote)
    if prefix or suffix:
        # sorted() is stable, so equal context scores keep the text's order. A quote repeated more
        # often than the cap is not told apart by its context anyway.
        candidates = list(itertools.islice(occurrences, _MAX_SCORED_OCCURRENCES))
        occurrences = sorted(
            candidates, key=lambda at: -_context_score(doc.folded, at, at + len(quote), prefix, suffix)
        )
    for position in occurrences:
        # A quote matching half of an expanded character ("i" inside the ligature "ﬁ") is not in the text.
        if doc.is_aligned(position, position + len(quote)):
            return position, position + len(quote)
    return None


def _candidate_windows(folded: str, quote: str, threshold: float) -> list[tuple[int, int]]:
    """Stretches of folded likely to hold a near-copy of quote, found by voting with its rare n-grams."""
    size = 3 if len(quote) < 24 else 4 if len(quote) < 60 else 6
    if len(quote) < size:
        return []
    stride = max(1, (len(quote) - size) // (_MAX_PROBES - 1))
    probes: dict[str, int] = {}
    for offset in range(0, len(quote) - size + 1, stride):
        probes.setdefault(quote[offset : offset + size], offset)
    counted = sorted((folded.count(gram), offset, gram) for gram, offset in probes.items())
    # Grams absent from the text hold a typo; very common ones would vote everywhere.
    seeds = [(offset, gram) for count, offset, gram in counted if 0 < count <= _MAX_HITS_PER_SEED]
    if not seeds:  # a quote made only of common words: let its least common pieces vote
        seeds = [(offset, gram) for count, offset, gram in counted if 0 < count <= _MAX_HITS_FALLBACK][:3]
    seeds = seeds[:_MAX_SEEDS]
    # Each occurrence of a seed votes for where the quote would start.
    votes: list[tuple[int, int]] = []
    for seed, (offset, gram) in enumerate(seeds):
        votes.extend((position - offset, seed) for position in _occurrences(folded, gram))
    if not votes:
        return []
    votes.sort()
    # Insertions and deletions before a seed shift its vote; a passage within the threshold has at most
    # 2 * (1 - threshold) * len(quote) of them, so one passage's votes lie within `drift` of each other.
    drift = 8 + int(2 * (1 - threshold) * len(quote))
    ranked: list[tuple[int, int]] = []  # (distinct seeds voting within drift after a vote, that vote)
    end = 0
    for begin, (start, _) in enumerate(votes):
        end = max(end, begin)
        while end < len(votes) and votes[end][0] - start <= drift:
            end += 1
        ranked.append((len({seed for _, seed in votes[begin:end]}), start))
    ranked.sort(key=lambda item: (-item[0], item[1]))
    # A quote that differs from the text by a few typos keeps most of its seeds intact there; stretches
    # with fewer votes are chance, and aligning a long quote against one costs up to ~100 ms.
    enough = -(-len(seeds) // 3)
    windows: list[tuple[int, int]] = []
    for distinct, start in ranked:
        if distinct < enough or len(windows) == _MAX_WINDOWS:
            break
        window = (max(0, start - drift), min(len(folded), start + len(quote) + 2 * drift))
        if not any(window[0] < other_end and other_start < window[1] for other_start, other_end in windows):
            windows.append(window)
    return windows


def _refine(folded: str, quote: str, start: int, end: int) -> tuple[float, int, int]:
    """Adjust the ends of an aligned window to the passage most similar to quote; (ratio, start, end)."""
    reach = max(3, len(quote) // 20)
    best_start = start
    best = fuzz.ratio(quote, folded[start:end])
    for candidate in range(max(0, start - reach), min(end, start + reach + 1)):
        score = fuzz.ratio(quote, folded[candidate:end])
        if score > best:
            best, best_start = score, candidate
    best_end = end
    for candidate in range(max(best_start + 1, end - reach), min(len(folded), end + reach) + 1):
        score = fuzz.ratio(quote, folded[best_start:candidate])
        if score > best:
            best, best_end = score, candidate
    return best, best_start, best_end


def _fuzzy(
    folded: str, quote: str, prefix: str, suffix: str, threshold: float
) -> tuple[float, int, int] | None:
    """The passage most similar to quote, with the same numbers, if its similarity reaches threshold."""
    windows = _candidate_windows(folded, quote, threshold)
    if len(folded) <= _FUZZY_WHOLE_TEXT_MAX:
        windows.append((0, len(folded)))
    best: tuple[float, float, int, int] | None = None
    for window_start, window_end in windows:
        window = folded[window_start:window_end]
        # partial_ratio compares equal-length windows, which undervalues a passage with an inserted
        # or deleted character; a little slack here, the real test is on the refined passage below.
        cutoff = max(0.0, threshold * 100 - _ALIGNMENT_SLACK)
        alignment = fuzz.partial_ratio_alignment(quote, window, score_cutoff=cutoff)
        if alignment is None:
            continue
        _, start, end = _refine(
            folded, quote, window_start + alignment.dest_start, window_start + alignment.dest_end
        )
        start, end = _trim(folded, start, end)
        # The similarity reported and tested is that of the final passage, not of the partial window:
        # partial matching alone would accept a text that holds only part of a longer quote.
        ratio = fuzz.ratio(quote, folded[start:end])
        if start >= end or ratio / 100 < threshold:
            continue
        # Figures are what a fact-check rests on: forgive a typo in a word, never a different number.
        if _DIGITS.findall(folded, start, end) != _DIGITS.findall(quote):
            continue
        context = _context_score(folded, start, end, prefix, suffix)
        if best is None or (ratio, context) > (best[0], best[1]):
            best = (ratio, context, start, end)
    if best is None:
        return None
    return best[0] / 100, best[2], best[3]


def _trim(folded: str, start: int, end: int) -> tuple[int, int]:
    """Shrink [start, end) so the passage neither begins nor ends with a collapsed space."""
    while start < end and folded[start] == " ":
        start += 1
    while end > start and folded[end - 1] == " ":
        end -= 1
    return start, end


def anchor_quote(
    text: str,
    exact: str,
    prefix: str | None = None,
    suffix: str | None = None,
    *,
    threshold: float = 0.9,
) -> Anchor:
    """Anchor a text quote in text: exact after normalisation, else fuzzy at or above threshold."""
    if not 0 < threshold <= 1:
        raise ValueError(f"threshold must be in (0, 1], not {threshold}")
    quote = normalise(exact).strip()
    if not quote or not text:
        return NOT_FOUND
    prefix_folded = normalise(prefix).strip() if prefix else ""
    suffix_folded = normalise(suffix).strip() if suffix else ""
    doc = _Folded(text)

    found = _exact(doc, quote, prefix_folded, suffix_folded)
    if found is not None:
        start, end = doc.original(*found)
        return Anchor("found", start, end, 1.0, False)

    match = _fuzzy(doc.folded, quote, prefix_folded, suffix_folded, threshold)
    if match is None:
        return NOT_FOUND
    score, start, end = match
    original_start, original_end = doc.original(start, end)
    return Anchor("found", original_start, original_end, score, True)
