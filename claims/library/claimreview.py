"""Reading ClaimReview as publishers really write it: `parse_payload(json) -> [ParsedItem | ParseError]`.

Takes one ClaimReview, a list, a schema.org DataFeed, a page's `@graph`, or the Google Fact Check
Tools API's flattened claims, and forgives what real markup does (numbers as strings, `""`,
dates without `T` or with `+5:30`, `http://schema.org`, `@id` references inside a graph, …).
Pure: no database, no network. An item without a url or a claim is a `ParseError`, by index.
"""

import functools
import html
import json
import math
import re
import unicodedata
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

from claims.library.errors import TooManyItems, UnreadablePayload
from claims.library.models import (
    CLAIM_REVIEWED_MAX,
    CLAIMANT_MAX,
    HEADLINE_MAX,
    LANGUAGE_MAX,
    PUBLISHER_MAX,
    RATING_MAX,
    URL_MAX,
    FactCheckVerdict,
)

RAW_MAX = 500_000  # characters of one item's JSON: far beyond any real ClaimReview
MAX_ITEMS = 100_000  # items in one body: a whole day of every fact-checker's output, and then some
MAX_DEPTH = 8  # containers (lists, feeds, graphs) nested in one another

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")
_SPACE = re.compile(r"\s+")
_LANGUAGE = re.compile(r"^[A-Za-z]{2,3}(-[A-Za-z0-9]{1,8})*$")
_HTTP_URL = re.compile(r"^[Hh][Tt][Tt][Pp][Ss]?://([^/?#\s]+)([/?#].*)?$")
_BARE_HOST = re.compile(r"^[\w-]+(\.[\w-]+)*\.[A-Za-z]{2,}(/\S*)?$")
_ISO_DATE = re.compile(r"^(\d{4})[-/](\d{1,2})[-/](\d{1,2})(?=$|[T\s])")
_WORDED_DATES = ("%B %d, %Y", "%b %d, %Y", "%d %B %Y", "%d %b %Y")
_SCHEMA_PREFIX = re.compile(r"^(https?://schema\.org/|schema:)", re.IGNORECASE)
_LABEL_END = re.compile(r"[.:;!?(\[—–]| - ")
_NOT_A_CLAIM_PAGE = ("wikipedia.org", "wikidata.org")


@dataclass
class ParseError:
    """An item that cannot be imported: where it is in the body and why."""

    index: int
    path: str  # JSON Pointer into the body: "/dataFeedElement/3/item/0"
    detail: str


@dataclass
class ParsedItem:
    """One ClaimReview, read: the fields of `claims.library.models.FactCheck` but its keys."""

    index: int
    path: str
    url: str
    claim_reviewed: str
    claimant: str | None = None
    claim_date: date | None = None
    appearance_url: str | None = None
    rating: str | None = None
    rating_value: float | None = None
    best_rating: float | None = None
    worst_rating: float | None = None
    verdict: FactCheckVerdict = FactCheckVerdict.UNRATED
    publisher: str | None = None
    publisher_url: str | None = None
    review_date: date | None = None
    language: str | None = None
    headline: str | None = None
    raw: dict[str, Any] = field(default_factory=dict)
    raw_json: str = ""  # `raw` as canonical JSON (sorted keys), for the content hash


class _ItemError(Exception):
    """Why one item is refused (becomes a ParseError)."""


# -- the shapes of a payload ----------------------------------------------------------------------


@dataclass
class _Candidate:
    """Something that should be a ClaimReview, found at `path`."""

    path: str
    node: Any
    graph: Mapping[str, Mapping[str, Any]] | None = None  # `@id` → node, inside a `@graph`
    google_claim: Mapping[str, Any] | None = None  # the Fact Check Tools claim a review belongs to
    problem: str | None = None  # set when the walk already knows it is not one


def parse_payload(obj: object) -> list[ParsedItem | ParseError]:
    """Every item of the payload in document order, read or refused; `index` counts them from 0.

    Raises UnreadablePayload when the body is no shape of ClaimReview at all (a number, an
    object of another type): nothing in it could be an item; TooManyItems over MAX_ITEMS.
    """
    if isinstance(obj, Mapping):
        if not _is_container(obj) and not _is_claim_review(obj) and "claimReview" not in obj:
            raise UnreadablePayload(
                f"The body is not ClaimReview: expected a ClaimReview, a list of them, a DataFeed, a "
                f"page's @graph or Fact Check Tools claims, got {_describe(obj)}."
            )
    elif not isinstance(obj, list):
        raise UnreadablePayload(
            f"The body is not ClaimReview: expected a JSON object or list, got {_describe(obj)}."
        )
    results: list[ParsedItem | ParseError] = []
    for index, candidate in enumerate(_walk(obj, "", 0, strict=True)):
        if index >= MAX_ITEMS:
            raise TooManyItems(f"The body holds more than {MAX_ITEMS:,} items; import it in parts.")
        try:
            if candidate.problem is not None:
                raise _ItemError(candidate.problem)
            if candidate.google_claim is not None:
                results.append(_read_google(index, candidate))
            else:
                results.append(_read(index, candidate))
        except _ItemError as exc:
            results.append(ParseError(index, candidate.path, str(exc)))
    if not results and isinstance(obj, Mapping) and "@graph" in obj:  # an empty feed is news; this is not
        raise UnreadablePayload("The page's @graph holds no ClaimReview.")
    return results


def _walk(obj: Any, path: str, depth: int, *, strict: bool) -> Iterator[_Candidate]:
    """The candidate items under `obj`. `strict`: what is not a ClaimReview is an error (in lists
    and feeds), not ignored (a page's graph holds other nodes too)."""
    if depth > MAX_DEPTH:
        yield _Candidate(path, obj, problem="Nested too deeply to be a ClaimReview.")
        return
    if isinstance(obj, list):
        for i, element in enumerate(obj):
            yield from _walk(element, f"{path}/{i}", depth + 1, strict=strict)
        return
    if not isinstance(obj, Mapping):
        if strict:
            yield _Candidate(path, obj, problem=f"Not a ClaimReview: {_describe(obj)}.")
        return
    if "dataFeedElement" in obj or "datafeed" in _types(obj):
        yield from _walk_feed(obj, path, depth)
    elif _is_feed_item(obj):
        yield from _walk_feed_item(obj, path, depth)
    elif "@graph" in obj:
        yield from _walk_graph(obj, path, depth)
    elif "claimReview" in obj:  # Fact Check Tools: a claim with its reviews
        reviews = obj["claimReview"]
        if isinstance(reviews, Mapping):
            yield _Candidate(f"{path}/claimReview", reviews, google_claim=obj)
        elif isinstance(reviews, list) and reviews:
            for i, review in enumerate(reviews):
                yield _Candidate(f"{path}/claimReview/{i}", review, google_claim=obj)
        else:
            yield _Candidate(path, obj, problem="A claim whose claimReview holds no review.")
    elif isinstance(obj.get("claims"), list) and "@type" not in obj:  # Fact Check Tools search
        yield from _walk(obj["claims"], f"{path}/claims", depth + 1, strict=True)
    elif _is_claim_review(obj):
        yield _Candidate(path, obj)
    elif strict:
        yield _Candidate(path, obj, problem=f"Not a ClaimReview: {_describe(obj)}.")


def _walk_feed(feed: Mapping[str, Any], path: str, depth: int) -> Iterator[_Candidate]:
    elements = feed.get("dataFeedElement", [])
    if isinstance(elements, Mapping):
        elements = [elements]
    if not isinstance(elements, list):
        yield _Candidate(f"{path}/dataFeedElement", elements, problem="dataFeedElement is not a list.")
        return
    for i, element in enumerate(elements):
        yield from _walk(element, f"{path}/dataFeedElement/{i}", depth + 1, strict=True)


def _walk_feed_item(element: Mapping[str, Any], path: str, depth: int) -> Iterator[_Candidate]:
    items = element["item"]
    if isinstance(items, list):
        for j, item in enumerate(items):
            yield from _walk(item, f"{path}/item/{j}", depth + 2, strict=True)
    else:
        yield from _walk(items, f"{path}/item", depth + 1, strict=True)


def _walk_graph(page: Mapping[str, Any], path: str, depth: int) -> Iterator[_Candidate]:
    nodes = page["@graph"]
    if isinstance(nodes, Mapping):
        nodes = [nodes]
    if not isinstance(nodes, list):
        yield _Candidate(f"{path}/@graph", nodes, problem="@graph is not a list.")
        return
    graph = {n["@id"]: n for n in nodes if isinstance(n, Mapping) and isinstance(n.get("@id"), str)}
    for i, node in enumerate(nodes):
        here = f"{path}/@graph/{i}"
        if isinstance(node, Mapping) and _is_claim_review(node):
            yield _Candidate(here, node, graph=graph)
        elif isinstance(node, Mapping) and ("@graph" in node or "dataFeedElement" in node):
            yield from _walk(node, here, depth + 1, strict=False)


def _is_feed_item(obj: Mapping[str, Any]) -> bool:
    """A DataFeedItem: what wraps each ClaimReview of a feed (`{"item": [ClaimReview]}`)."""
    return "item" in obj and ("datafeeditem" in _types(obj) or not _is_claim_review(obj))


def _is_container(obj: Mapping[str, Any]) -> bool:
    return (
        _is_feed_item(obj)
        or "dataFeedElement" in obj
        or "datafeed" in _types(obj)
        or "@graph" in obj
        or (isinstance(obj.get("claims"), list) and "@type" not in obj)
    )


def _is_claim_review(obj: Mapping[str, Any]) -> bool:
    """Typed ClaimReview (in any spelling of schema.org), or untyped with a ClaimReview's fields."""
    types = _types(obj)
    if types:
        return "claimreview" in types
    return "claimReviewed" in obj or "reviewRating" in obj


def _types(obj: Mapping[str, Any]) -> frozenset[str]:
    """The node's @type names, as lower-case schema.org terms ("http://schema.org/Claim" → "claim")."""
    value = obj.get("@type")
    if isinstance(value, str):
        return _type_names((value,))
    if isinstance(value, list):
        return _type_names(tuple(v for v in value if isinstance(v, str)))
    return frozenset()


@functools.lru_cache(maxsize=1024)  # a feed writes the same few types on every item
def _type_names(names: tuple[str, ...]) -> frozenset[str]:
    return frozenset(_SCHEMA_PREFIX.sub("", n).strip().casefold() for n in names)


def _describe(value: object) -> str:
    if isinstance(value, Mapping):
        written = value.get("@type")
        types = [written] if isinstance(written, str) else written if isinstance(written, list) else []
        if types:
            return f"an object of @type {', '.join(_cut(str(t), 40) for t in types[:3])}"
        keys = ", ".join(_cut(str(k), 40) for k in sorted(value)[:5])
        return f"an object with keys {keys}" if keys else "an empty object"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    return "a number" if isinstance(value, int | float) else "a string"


# -- one ClaimReview ----------------------------------------------------------------------------


def _read(index: int, candidate: _Candidate) -> ParsedItem:
    node: Mapping[str, Any] = candidate.node
    raw, raw_json = _raw(node)

    def deref(value: Any) -> Any:  # `{"@id": …}` → the graph's node of that id
        if candidate.graph is not None and isinstance(value, Mapping) and set(value) <= {"@id", "@type"}:
            return candidate.graph.get(str(value.get("@id")), value)
        if isinstance(value, list):
            return [deref(v) for v in value]
        return value

    url = _review_url(node)
    claim_reviewed = _text(node.get("claimReviewed"), CLAIM_REVIEWED_MAX, cut=False)
    if not claim_reviewed:
        raise _ItemError("No claimReviewed: the claim the review checks.")
    reviewed = _first_mapping(deref(node.get("itemReviewed"))) or {}
    rating = _first_mapping(deref(node.get("reviewRating"))) or {}
    label = _text(rating.get("alternateName"), RATING_MAX) or _text(rating.get("name"), RATING_MAX)
    value = _number(rating.get("ratingValue"))
    best, worst = _number(rating.get("bestRating")), _number(rating.get("worstRating"))
    publisher, publisher_url = _publisher(deref(node.get("author")), deref(node.get("publisher")))
    return ParsedItem(
        index=index,
        path=candidate.path,
        url=url,
        claim_reviewed=claim_reviewed,
        claimant=_names(deref(reviewed.get("author")), CLAIMANT_MAX),
        claim_date=_date(reviewed.get("datePublished")) or _date(reviewed.get("dateCreated")),
        appearance_url=_appearance(reviewed, deref, url),
        rating=label,
        rating_value=value,
        best_rating=best,
        worst_rating=worst,
        verdict=verdict_of(label, value, best, worst),
        publisher=publisher,
        publisher_url=publisher_url,
        review_date=_date(node.get("datePublished")) or _date(node.get("dateCreated")),
        language=_language(node.get("inLanguage")),
        headline=_text(node.get("headline"), HEADLINE_MAX) or _text(node.get("name"), HEADLINE_MAX),
        raw=raw,
        raw_json=raw_json,
    )


def _read_google(index: int, candidate: _Candidate) -> ParsedItem:
    """A review of the Fact Check Tools API (`claims[].claimReview[]`), with its claim's fields."""
    claim = candidate.google_claim or {}
    review = candidate.node
    if not isinstance(review, Mapping):
        raise _ItemError(f"Not a claim review: {_describe(review)}.")
    raw, raw_json = _raw({**{k: v for k, v in claim.items() if k != "claimReview"}, "claimReview": [review]})
    url = _review_url(review)
    claim_reviewed = _text(claim.get("text"), CLAIM_REVIEWED_MAX, cut=False)
    if not claim_reviewed:
        raise _ItemError("No claim text: the claim the review checks.")
    label = _text(review.get("textualRating"), RATING_MAX)
    source: Mapping[str, Any] = _first_mapping(review.get("publisher")) or {}
    site = _text(source.get("site"), PUBLISHER_MAX)
    return ParsedItem(
        index=index,
        path=candidate.path,
        url=url,
        claim_reviewed=claim_reviewed,
        claimant=_text(claim.get("claimant"), CLAIMANT_MAX),
        claim_date=_date(claim.get("claimDate")),
        rating=label,
        verdict=verdict_of(label, None, None, None),
        publisher=_text(source.get("name"), PUBLISHER_MAX) or site,
        publisher_url=_url(site, lenient=True) if site else None,
        review_date=_date(review.get("reviewDate")),
        language=_language(review.get("languageCode")),
        headline=_text(review.get("title"), HEADLINE_MAX),
        raw=raw,
        raw_json=raw_json,
    )


def _raw(node: Mapping[str, Any]) -> tuple[dict[str, Any], str]:
    """The item as received, and as canonical JSON; refused when no database could store it."""
    try:
        text = json.dumps(node, ensure_ascii=False, sort_keys=True, allow_nan=False, separators=(",", ":"))
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _ItemError("The item holds a lone surrogate (\\ud800 to \\udfff): not valid Unicode.") from exc
    except ValueError as exc:  # NaN or Infinity: not JSON, though Python's reader takes them
        raise _ItemError("The item holds NaN or Infinity, which JSON has no number for.") from exc
    except TypeError as exc:  # keys that are not strings cannot come from a JSON body
        raise _ItemError("The item is not JSON.") from exc
    if "\\u0000" in text:
        raise _ItemError("The item holds a NUL character (\\u0000), which no text column stores.")
    if len(text) > RAW_MAX:
        raise _ItemError(f"The item is larger than {RAW_MAX:,} characters of JSON.")
    return dict(node), text


def _review_url(node: Mapping[str, Any]) -> str:
    """The review's url (its identity): `url`, or else the page it is the main entity of."""
    value = node.get("url")
    if value is None or value == "":
        page = node.get("mainEntityOfPage")
        value = (page.get("@id") or page.get("url")) if isinstance(page, Mapping) else page
    if (value is None or value == "") and isinstance(node.get("@id"), str):
        value = node["@id"].split("#", 1)[0]  # "https://…/story#claimreview": the story
    if value is None or value == "":
        raise _ItemError("No url: the address of the published review, which is its identity.")
    url = _url(value)
    if url is None:
        shown = value if isinstance(value, str) else _describe(value)
        raise _ItemError(
            f"The url {shown[:200]!r} is not an absolute http(s) URL of at most {URL_MAX} bytes."
        )
    return url


def _appearance(reviewed: Mapping[str, Any], deref: Callable[[Any], Any], review_url: str) -> str | None:
    """Where the claim was made: its appearance, first appearance, own url, or its author's
    `sameAs` as many publishers write it (not the review itself, nor an encyclopaedia page)."""
    for key in ("appearance", "firstAppearance", "url", "sameAs"):
        url = _url(deref(reviewed.get(key)))
        if url and url != review_url:
            return url
    author = _first_mapping(deref(reviewed.get("author")))
    if author is not None:
        url = _url(author.get("sameAs"))
        host = (urlsplit(url).hostname or "") if url else ""
        if url and url != review_url and not host.endswith(_NOT_A_CLAIM_PAGE):
            return url
    return None


def _publisher(author: Any, publisher: Any) -> tuple[str | None, str | None]:
    """The organisation that published the review: an Organization author, else the publisher,
    else whoever the author is (a Person byline)."""
    authors = [a for a in _as_list(author) if isinstance(a, Mapping)]
    organisations = [
        a for a in authors if any(t.endswith(("organization", "corporation")) for t in _types(a))
    ]
    chosen = next(iter(organisations), None)
    if chosen is None:
        chosen = next((p for p in _as_list(publisher) if isinstance(p, Mapping)), None)
    if chosen is None:
        chosen = next(iter(authors), None)
    if chosen is None:
        name = _text(author, PUBLISHER_MAX) or _text(publisher, PUBLISHER_MAX)
        return name, None
    name = _names(chosen, PUBLISHER_MAX)
    site = _url(chosen.get("url"), lenient=True) or _url(chosen.get("@id"))
    return name, site


# -- values -------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _first_mapping(value: Any) -> Mapping[str, Any] | None:
    return next((v for v in _as_list(value) if isinstance(v, Mapping)), None)


def _plain(value: str) -> str:
    """Text as the desk keeps it: entities decoded, controls dropped, NFC, one space, trimmed."""
    if value.isprintable() and "&" not in value and "  " not in value and value == value.strip():
        return unicodedata.normalize("NFC", value)  # most strings: nothing to clean
    if "&" in value:
        value = html.unescape(value)
    value = _CONTROL.sub(" ", value)
    return _SPACE.sub(" ", unicodedata.normalize("NFC", value)).strip()


def _cut(value: str, limit: int) -> str:
    return value if len(value) <= limit else value[: limit - 1].rstrip() + "…"


def _text(value: Any, limit: int, *, cut: bool = True) -> str | None:
    """A string field (a number is written out; a list's strings are joined); None when empty.
    Over `limit`: shortened with …, or refused when `cut` is false."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        value = str(value) if not isinstance(value, float) or math.isfinite(value) else ""
    elif isinstance(value, list):
        value = ", ".join(s for s in (_text(v, limit) for v in value) if s)
    elif isinstance(value, Mapping):
        value = value.get("@value") or value.get("name") or ""
        return _text(value, limit, cut=cut) if isinstance(value, str) else None
    if not isinstance(value, str):
        return None
    text = _plain(value)
    if len(text) > limit and not cut:
        raise _ItemError(f"The claim is longer than {limit:,} characters.")
    return _cut(text, limit) or None


def _names(entity: Any, limit: int) -> str | None:
    """The name(s) of a Person or Organization, a list of them, or a bare string."""
    names: list[str] = []
    for one in _as_list(entity):
        if isinstance(one, Mapping):
            name = _text(one.get("name"), limit) or _text(one.get("alternateName"), limit)
        else:
            name = _text(one, limit)
        if name and name not in names:
            names.append(name)
    return _cut(", ".join(names), limit) if names else None


def _url(value: Any, *, lenient: bool = False) -> str | None:
    """An absolute http(s) URL from a string, an object's `url`/`@id`, or a list's first; with
    `lenient`, a bare host ("factcheck.example.org") is taken as https."""
    for one in _as_list(value):
        if isinstance(one, Mapping):
            one = one.get("url") or one.get("@id") or one.get("contentUrl")
        if not isinstance(one, str):
            continue
        # Only &amp; is decoded: "?a=1&reg=2" is a query, not ®.
        text = unicodedata.normalize("NFC", one.strip().replace("&amp;", "&"))
        if lenient and _BARE_HOST.match(text):
            text = "https://" + text
        if _usable_url(text):
            return text
    return None


def _usable_url(text: str) -> bool:
    found = _HTTP_URL.match(text)
    if found is None or _CONTROL.search(text) or len(text.encode()) > URL_MAX:
        return False
    if not any(c in found[1] for c in ":@["):  # a plain host name: nothing more to check
        return True
    try:  # a port, credentials or an IPv6 address: as urllib (and the fetcher) will read it
        parts = urlsplit(text)
        _ = parts.port  # a bad port raises here
    except ValueError:
        return False
    return bool(parts.hostname)


def _number(value: Any) -> float | None:
    """A rating number: int, float or a numeric string ("4", " 4.5 ", "4,5"); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str):
        value = value.strip().replace(",", ".")
        if not value or len(value) > 30:
            return None
    try:
        number = float(value)
    except (TypeError, ValueError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _date(value: Any) -> date | None:
    """The calendar date a time was written with, in the writer's own zone: `2020-06-23`,
    `2020-06-23 20:02`, `…T12:26:08+5:30`, `2020/06/23`, `June 23, 2020`. None if unreadable."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    found = _ISO_DATE.match(text)
    try:
        if found:
            return date(int(found[1]), int(found[2]), int(found[3]))
        for pattern in _WORDED_DATES:
            try:
                return datetime.strptime(text, pattern).date()  # noqa: DTZ007 - a date, not a time
            except ValueError:
                continue
    except ValueError:  # 2020-02-31
        return None
    return None


def _language(value: Any) -> str | None:
    if isinstance(value, Mapping):
        value = value.get("alternateName") or value.get("name")
    if isinstance(value, str) and len(value.strip()) <= LANGUAGE_MAX and _LANGUAGE.match(value.strip()):
        return value.strip()
    return None


# -- verdicts -----------------------------------------------------------------------------------

# Rating labels as fact-checkers write them, folded (see `_label_key`), in the languages of the
# publishers that mark up ClaimReview most.
_LABELS: dict[FactCheckVerdict, tuple[str, ...]] = {
    FactCheckVerdict.FALSE: (
        "false", "fake", "incorrect", "wrong", "untrue", "not true", "pants on fire", "fabricated",
        "hoax", "four pinocchios", "totally false", "completely false", "baseless", "false claim",
        "fake news", "scam", "falso", "falsa", "incorrecto", "incorreto", "mentira", "faux", "fausse",
        "falsch", "frei erfunden", "sbagliato", "onwaar", "fout", "salah", "hoaks", "yanlis", "sai",
        "nepravda", "fałsz", "错误", "錯誤", "假", "虚假", "गलत", "ग़लत", "झूठ", "फर्जी", "फेक", "غلط",
        "неправда", "фейк", "ложь",
    ),
    FactCheckVerdict.MOSTLY_FALSE: (
        "mostly false", "misleading", "partly false", "partially false", "largely false",
        "mostly incorrect", "three pinocchios", "distorted", "false context", "manipulated",
        "missing context", "enganoso", "engañoso", "enganador", "parcialmente falso",
        "mayormente falso", "en gran parte falso", "distorcido", "insustentável", "trompeur",
        "plutôt faux", "partiellement faux", "irreführend", "größtenteils falsch",
        "teilweise falsch", "fehlender Kontext", "fuorviante", "menyesatkan", "yaniltici", "भ्रामक",
        "部分錯誤", "部分错误", "误导", "誤導", "گمراہ کن",
    ),
    FactCheckVerdict.MIXED: (
        "half true", "mixed", "mixture", "partly true", "partially true", "partly correct",
        "two pinocchios", "exaggerated", "needs context", "half correct", "verdadero pero",
        "verdadeiro mas", "medio verdadero", "a medias", "discutible", "contraditório", "impreciso",
        "exagerado", "exagéré", "moitié vrai", "halb wahr", "teilweise richtig", "teilweise wahr",
        "mezza verità", "आधा सच", "半真半假", "部分正確", "部分正确",
    ),
    FactCheckVerdict.MOSTLY_TRUE: (
        "mostly true", "mostly correct", "largely true", "largely correct", "mostly accurate",
        "one pinocchio", "mayormente verdadero", "en gran parte cierto", "plutôt vrai",
        "majoritairement vrai", "größtenteils richtig", "größtenteils wahr", "c'eri quasi",
    ),
    FactCheckVerdict.TRUE: (
        "true", "correct", "accurate", "right", "verdadeiro", "verdadero", "cierto", "correcto",
        "correto", "verdade", "vrai", "exact", "richtig", "wahr", "vero", "waar", "juist", "benar",
        "doğru", "правда", "正確", "正确", "真", "सच", "सही",
    ),
}  # fmt: skip


def _label_key(label: str) -> str:
    """A label as looked up: case, accents, punctuation and spacing ignored ("Falso!" = "falso").

    Accents are the marks that sit above or below a letter (combining class 200 and up); vowel
    signs, viramas and nuktas of other scripts are part of their words and stay.
    """
    # Turkish dotless i (U+0131) reads as i: "yanlis" is how most keyboards type it.
    decomposed = unicodedata.normalize("NFKD", label.casefold().replace("\u0131", "i"))
    kept = "".join(
        c if c.isalnum() or c == "'" or unicodedata.category(c).startswith("M") else " "
        for c in decomposed
        if unicodedata.combining(c) < 200
    )
    return " ".join(kept.split())


_BY_LABEL = {_label_key(label): verdict for verdict, labels in _LABELS.items() for label in labels}


@functools.lru_cache(maxsize=4096)  # a feed repeats a few dozen labels thousands of times
def _named_verdict(label: str) -> FactCheckVerdict | None:
    """The verdict a rating's words name, if they name one."""
    found = _BY_LABEL.get(_label_key(label))
    if found is None:  # "False: the photo is from 2015"
        head = _LABEL_END.split(label, maxsplit=1)[0]
        found = _BY_LABEL.get(_label_key(head)) if head.strip() != label.strip() else None
    return found


def verdict_of(
    label: str | None, value: float | None, best: float | None, worst: float | None
) -> FactCheckVerdict:
    """The common verdict of a rating: its words when they name one, else its value on its scale.

    Words come first because real scales cannot be trusted: Agência Lupa writes "Falso" as 4 of
    6. A value is read on `worstRating`–`bestRating` (1–5 when not given) and split in fifths.
    """
    found = _named_verdict(label) if label else None
    if found is not None:
        return found
    if value is None:
        return FactCheckVerdict.UNRATED
    top = best if best is not None else 5.0
    bottom = worst if worst is not None else 1.0
    if top == bottom or not min(top, bottom) <= value <= max(top, bottom):
        return FactCheckVerdict.UNRATED
    share = (value - bottom) / (top - bottom)  # 0 = worst, 1 = best
    steps = (
        FactCheckVerdict.FALSE,
        FactCheckVerdict.MOSTLY_FALSE,
        FactCheckVerdict.MIXED,
        FactCheckVerdict.MOSTLY_TRUE,
        FactCheckVerdict.TRUE,
    )
    return steps[min(4, int(share * 4 + 0.5))]
