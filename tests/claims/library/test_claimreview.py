"""Reading ClaimReview as real publishers write it (claims/library/claimreview.py).

The real examples are in `data/` (see its README): every one must read, with the deviations of
each forgiven and the right verdict, publisher and dates.
"""

import copy
import json
from datetime import date
from pathlib import Path

import pytest

from claims.library.claimreview import ParsedItem, ParseError, parse_payload, verdict_of
from claims.library.errors import UnreadablePayload
from claims.library.models import FactCheckVerdict as V

DATA = Path(__file__).parent / "data"
EXAMPLES = json.loads((DATA / "claimreview_examples.json").read_text())
FEED_ITEM = json.loads((DATA / "datacommons_feed_item_example.json").read_text())
GOOGLE_CLAIM = json.loads((DATA / "google_factcheck_api_claim_example.json").read_text())


def fixture_name(example: dict) -> str:
    return example["source"].rsplit("/", 1)[1].removesuffix(".json").removesuffix(".html")


BY_NAME = {fixture_name(e): e["claimreview"] for e in EXAMPLES}

# fixture: (verdict, rating as kept, publisher, review date, claimant, claim date, appearance url)
EXPECTED = {
    "aajtak_india_today_raw": (
        V.FALSE, "False", "Aajtak", date(2020, 7, 5), "सोशल मीडिया यूजर्स", date(2020, 7, 5),
        "https://www.facebook.com/photo?fbid=3035204319926390",
    ),
    "afp_checamos_raw": (
        V.FALSE, "Falso", "Checamos", date(2020, 6, 23), "Várias fontes", date(2020, 5, 30),
        "https://twitter.com/CatinhaZen/status/1266839666889809923",
    ),
    "afp_factual_raw": (
        V.MOSTLY_FALSE, "Engañoso", "Factual", date(2021, 6, 1), "Varias fuentes", date(2021, 5, 30),
        "https://www.facebook.com/francisco.r.floranes/posts/1200102550412305",
    ),
    "afp_raw": (
        V.FALSE, "False", "AFP Fact Check", date(2020, 6, 24), "multiple sources", date(2020, 5, 14),
        "https://www.facebook.com/photo.php?fbid=1334206990098622&set=a.134474800071853&type=3",
    ),
    "africa_check_raw": (
        V.FALSE, "Incorrect", "Taryn Willows", date(2020, 3, 27), "Mzwandile Masina, mayor of Ekurhuleni",
        date(2020, 3, 18), "https://youtu.be/jA8iEODBe5Q?t=1368",
    ),
    "africa_check_raw_old": (
        V.FALSE, "Incorrect", "Africa Check", date(2020, 7, 6), "South African president Cyril Ramaphosa",
        date(2020, 6, 13),
        "http://www.thepresidency.gov.za/press-statements/president-cyril-ramaphosa-condemns-surge-murders-women-and-children",
    ),
    "data_commons_raw": (
        V.UNRATED,
        "Reker hat diesen Satz nie gesagt. «Völliger Unsinn», heißt es dazu aus der Pressestelle der Stadt Köln.",
        "Deutsche Presse-Agentur", date(2019, 9, 20), "Irmin Suhl", date(2019, 9, 7),
        "https://www.facebook.com/photo.php?fbid=389949688569877&set=a.155170952047753&type=3&theater",
    ),
    "estadao_raw": (
        V.FALSE, "Falso", "Estadão", date(2020, 8, 28), "Boatos de redes sociais", date(2020, 8, 28),
        None,  # the author's sameAs is the review itself: not where the claim appeared
    ),
    "fact_check_cite_raw": (
        V.UNRATED,
        ("The Health Desk Experts said Current data shows that roughly 10% of infected people do not "
         "have measurable antibodies once they recover from COVID-19."),
        "FactCheckZW", date(2021, 6, 18), None, date(2021, 6, 18), None,
    ),
    "india_today_mixed_ld_json_types": (
        V.MIXED, "Half true", "India Today", date(2020, 10, 13), "Facebook user", date(2020, 10, 12),
        "https://www.facebook.com/valentinbosioc/posts/3628642017198443",
    ),
    "india_today_raw": (
        V.MOSTLY_FALSE, "Mostly false", "India Today", date(2020, 6, 23), "Facebook users", date(2020, 6, 20),
        "https://www.facebook.com/groups/481283325377304/permalink/1596610437177915/",
    ),
    "lupa_raw": (
        V.FALSE, "Falso", "Agência Lupa", date(2020, 8, 31), "Post no Facebook", date(2020, 8, 31),
        "https://www.facebook.com/eueradireitaenaosabia/videos/610935333129570/",
    ),
    "tfc_taiwan_raw": (V.FALSE, "錯誤", "台灣事實查核中心", date(2020, 7, 24), None, None, None),
    "vishvas_news_raw": (
        V.FALSE, "False", "Vishvas News", date(2020, 6, 22), "FB User-Afroz Muhammed", date(2020, 6, 22),
        "https://www.facebook.com/AfrozSpeaker/videos/vb.100009544993209/2578838919110916/?type=2&theater",
    ),
    "boom_live_raw": (
        V.FALSE, "False", "BOOM", date(2019, 4, 10), "Facebook Page - NoConversion", date(2019, 4, 10), None,
    ),
}  # fmt: skip


def only_item(payload: object) -> ParsedItem:
    results = parse_payload(payload)
    assert len(results) == 1
    item = results[0]
    assert isinstance(item, ParsedItem), item
    return item


def test_every_example_is_expected() -> None:
    assert sorted(BY_NAME) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_real_example_reads(name: str) -> None:
    review = BY_NAME[name]
    item = only_item(review)
    verdict, rating, publisher, reviewed_on, claimant, claimed_on, appearance = EXPECTED[name]
    assert item.url == review["url"]
    assert item.claim_reviewed == " ".join(review["claimReviewed"].split())
    assert (item.verdict, item.rating, item.publisher) == (verdict, rating, publisher)
    assert (item.review_date, item.claimant, item.claim_date) == (reviewed_on, claimant, claimed_on)
    assert item.appearance_url == appearance
    assert item.raw == review  # kept as received
    assert item.index == 0
    assert item.path == ""


def test_numbers_as_strings_ints_empty_or_absent() -> None:
    assert only_item(BY_NAME["afp_raw"]).rating_value == 1.0  # "1"
    lupa = only_item(BY_NAME["lupa_raw"])  # ints, and a scale of 6 on which "Falso" is 4
    assert (lupa.rating_value, lupa.best_rating, lupa.worst_rating) == (4.0, 6.0, None)
    zw = only_item(BY_NAME["fact_check_cite_raw"])  # ratingValue ""
    assert (zw.rating_value, zw.best_rating, zw.worst_rating) == (None, 5.0, 1.0)
    taiwan = only_item(BY_NAME["tfc_taiwan_raw"])  # no ratingValue: the words decide
    assert (taiwan.rating_value, taiwan.verdict) == (None, V.FALSE)


def test_trailing_carriage_return_is_trimmed_from_the_rating() -> None:
    assert BY_NAME["africa_check_raw_old"]["reviewRating"]["alternateName"] == "Incorrect \r"
    assert only_item(BY_NAME["africa_check_raw_old"]).rating == "Incorrect"


def test_publisher_url_without_a_scheme_and_a_person_author() -> None:
    assert only_item(BY_NAME["fact_check_cite_raw"]).publisher_url == "https://factcheck.cite.org.zw"
    boom = only_item(BY_NAME["boom_live_raw"])  # author a Person: the publisher organisation is named
    assert (boom.publisher, boom.publisher_url) == ("BOOM", "https://www.boomlive.in")


def test_data_commons_feed_item() -> None:
    item = only_item(FEED_ITEM)
    assert item.url == "https://www.presseportal.de/pm/133833/4381130"
    assert item.path == "/item/0"
    assert item.publisher == "Deutsche Presse-Agentur"


def test_google_fact_check_tools_claim() -> None:
    item = only_item(GOOGLE_CLAIM)
    assert item.url.startswith("https://www.vishvasnews.com/urdu/society/viral-video-of-doctor")
    assert item.claim_reviewed == "کانپور کے ہیلٹ اسپتال میں مریض کی پٹائی کرتا ڈاکٹر"
    assert (item.claimant, item.claim_date, item.review_date) == (
        "FB User-Harshit Pandey",
        date(2019, 6, 20),
        date(2019, 6, 20),
    )
    assert (item.rating, item.verdict, item.language) == ("False", V.FALSE, "ur")
    assert (item.publisher, item.publisher_url) == ("vishvasnews.com", "https://vishvasnews.com")
    assert item.headline is not None
    assert item.headline.startswith("فیکٹ چیک")
    assert item.raw["claimReview"] == GOOGLE_CLAIM["claimReview"]


def test_google_search_response_with_several_reviews_per_claim() -> None:
    second = {
        **GOOGLE_CLAIM["claimReview"][0],
        "url": "https://other.example.org/review",
        "textualRating": "True",
    }
    claim = {**GOOGLE_CLAIM, "claimReview": [*GOOGLE_CLAIM["claimReview"], second]}
    results = parse_payload(
        {"claims": [claim, {"text": "no reviews", "claimReview": []}], "nextPageToken": "x"}
    )
    assert [type(r).__name__ for r in results] == ["ParsedItem", "ParsedItem", "ParseError"]
    assert [r.path for r in results] == ["/claims/0/claimReview/0", "/claims/0/claimReview/1", "/claims/1"]
    assert [r.index for r in results] == [0, 1, 2]
    assert isinstance(results[1], ParsedItem)
    assert results[1].verdict == V.TRUE


def test_a_list_and_a_data_feed_of_all_the_examples() -> None:
    reviews = [e["claimreview"] for e in EXAMPLES]
    as_list = parse_payload(reviews)
    assert [r.url for r in as_list if isinstance(r, ParsedItem)] == [r["url"] for r in reviews]
    feed = {
        "@context": "https://schema.org",
        "@type": "DataFeed",
        "dataFeedElement": [{"@type": "DataFeedItem", "item": [r]} for r in reviews],
    }
    as_feed = parse_payload(feed)
    assert [r.url for r in as_feed if isinstance(r, ParsedItem)] == [r["url"] for r in reviews]
    assert [r.index for r in as_feed] == list(range(len(reviews)))
    assert as_feed[3].path == "/dataFeedElement/3/item/0"


def test_a_feed_whose_elements_are_the_reviews_themselves() -> None:
    reviews = [e["claimreview"] for e in EXAMPLES[:3]]
    results = parse_payload({"@type": "DataFeed", "dataFeedElement": reviews})
    assert [r.path for r in results] == ["/dataFeedElement/0", "/dataFeedElement/1", "/dataFeedElement/2"]
    assert all(isinstance(r, ParsedItem) for r in results)


def test_a_page_graph_with_context_on_the_graph_and_references_by_id() -> None:
    page = {
        "@context": "https://schema.org",
        "@graph": [
            {"@type": "WebPage", "@id": "https://checks.example.org/x/", "name": "A page"},
            {"@type": "Organization", "@id": "https://checks.example.org/#org", "name": "Example Checks",
             "url": "https://checks.example.org/"},
            {"@type": "Person", "@id": "https://checks.example.org/#poster", "name": "A poster",
             "sameAs": "https://social.example.com/p/1"},
            {
                "@type": "ClaimReview",
                "@id": "https://checks.example.org/x/#claimreview",
                "claimReviewed": "The bridge was built in 1990.",
                "author": {"@id": "https://checks.example.org/#org"},
                "itemReviewed": {"@type": "Claim", "author": {"@id": "https://checks.example.org/#poster"}},
                "reviewRating": {"@type": "Rating", "ratingValue": 2, "alternateName": "Mostly False"},
                "datePublished": "2024-02-29T08:00:00+05:30",
            },
        ],
    }  # fmt: skip
    item = only_item(page)
    assert item.url == "https://checks.example.org/x/"  # from @id, without its fragment
    assert item.path == "/@graph/3"
    assert (item.publisher, item.publisher_url) == ("Example Checks", "https://checks.example.org/")
    assert (item.claimant, item.appearance_url) == ("A poster", "https://social.example.com/p/1")
    assert (item.verdict, item.review_date) == (V.MOSTLY_FALSE, date(2024, 2, 29))


def test_a_graph_without_claim_reviews_is_unreadable_an_empty_feed_is_not() -> None:
    with pytest.raises(UnreadablePayload, match="holds no ClaimReview"):
        parse_payload({"@graph": [{"@type": "WebPage", "name": "no review here"}]})
    assert parse_payload([]) == []
    assert parse_payload({"@type": "DataFeed", "dataFeedElement": []}) == []


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("2020-06-23 20:02", date(2020, 6, 23)),
        ("2020-03-27T10:46:13+0200", date(2020, 3, 27)),
        ("2020-06-22T12:26:08+5:30", date(2020, 6, 22)),
        ("2020-07-05", date(2020, 7, 5)),
        ("2019-12-09T15:11:25.619782+00:00", date(2019, 12, 9)),
        ("2020/08/31", date(2020, 8, 31)),
        ("June 23, 2020", date(2020, 6, 23)),
        (" 2020-06-23T00:30:00-03:00 ", date(2020, 6, 23)),  # the day the publisher wrote, not UTC's
        ("2020-02-31", None),
        ("yesterday", None),
        ("", None),
        (20200623, None),
    ],
)
def test_dates_as_publishers_write_them(written: object, expected: date | None) -> None:
    review = {**BY_NAME["afp_raw"], "datePublished": written}
    assert only_item(review).review_date == expected


@pytest.mark.parametrize(
    ("label", "value", "best", "worst", "expected"),
    [
        ("False", 1, 5, 1, V.FALSE),
        ("Falso", 4, 6, None, V.FALSE),  # the words win over a scale that is not one
        ("Pants on Fire!", None, None, None, V.FALSE),
        ("FALSE: the photo is from 2015", None, None, None, V.FALSE),
        ("Mostly False", None, None, None, V.MOSTLY_FALSE),
        ("Misleading", None, None, None, V.MOSTLY_FALSE),
        ("Engañoso", None, None, None, V.MOSTLY_FALSE),
        ("Irreführend", None, None, None, V.MOSTLY_FALSE),
        ("部分錯誤", None, None, None, V.MOSTLY_FALSE),
        ("Half True", None, None, None, V.MIXED),
        ("Mostly true", None, None, None, V.MOSTLY_TRUE),
        ("Verdadeiro", None, None, None, V.TRUE),
        ("Wahr", None, None, None, V.TRUE),
        ("ग़लत", None, None, None, V.FALSE),  # with a nukta, as typed
        ("गलत", None, None, None, V.FALSE),
        ("Yanlış", None, None, None, V.FALSE),  # Turkish, with its dotless i
        ("Not true", None, None, None, V.FALSE),
        ("True, but it is old", 4, 5, 1, V.MOSTLY_TRUE),  # words that name nothing: the value decides
        ("Something else entirely", 3, 5, 1, V.MIXED),
        (None, 5, 5, 1, V.TRUE),
        (None, 2, None, None, V.MOSTLY_FALSE),  # 1–5 when the scale is not given
        (None, 1, 6, 1, V.FALSE),
        (None, 6, 6, 1, V.TRUE),
        (None, 0, 10, 0, V.FALSE),
        (None, 1, 1, 5, V.TRUE),  # a scale written upside down
        (None, 7, 5, 1, V.UNRATED),  # off its scale
        (None, 3, 3, 3, V.UNRATED),
        ("Unproven", None, None, None, V.UNRATED),
        (None, None, 5, 1, V.UNRATED),
    ],
)
def test_verdicts(label, value, best, worst, expected) -> None:
    assert verdict_of(label, value, best, worst) == expected


def errors_of(payload: object) -> list[tuple[int, str, str]]:
    return [(r.index, r.path, r.detail) for r in parse_payload(payload) if isinstance(r, ParseError)]


def good_review(n: int = 0) -> dict:
    review = copy.deepcopy(BY_NAME["afp_raw"])
    review["url"] = f"https://factcheck.example.org/{n}"
    return review


@pytest.mark.parametrize(
    ("change", "detail"),
    [
        ({"url": None}, "No url"),
        ({"url": ""}, "No url"),
        ({"url": "/relative/path"}, "not an absolute http(s) URL"),
        ({"url": "javascript:alert(1)"}, "not an absolute http(s) URL"),
        ({"url": "https://example.org/" + "a" * 2100}, "at most 2048 bytes"),
        ({"url": ["https://example.org/a"]}, None),  # a list of one url is fine
        ({"claimReviewed": None}, "No claimReviewed"),
        ({"claimReviewed": "   "}, "No claimReviewed"),
        ({"claimReviewed": "x" * 5001}, "longer than 5,000 characters"),
        ({"reviewRating": {"ratingValue": float("nan")}}, "NaN or Infinity"),
        ({"claimReviewed": "lone \ud800 surrogate"}, "lone surrogate"),
        ({"description": "a NUL \x00 inside"}, "NUL"),
        ({"reviewBody": "x" * 600_000}, "larger than 500,000 characters"),
    ],
)
def test_broken_items_are_refused_by_index(change: dict, detail: str | None) -> None:
    broken = {**good_review(1), **change}
    broken = {k: v for k, v in broken.items() if v is not None}
    results = parse_payload([good_review(0), broken, good_review(2)])
    assert isinstance(results[0], ParsedItem)
    assert isinstance(results[2], ParsedItem)
    if detail is None:
        assert isinstance(results[1], ParsedItem)
    else:
        assert isinstance(results[1], ParseError)
        assert (results[1].index, results[1].path) == (1, "/1")
        assert detail in results[1].detail


def test_what_is_not_a_claim_review_in_a_list_or_feed_is_an_error() -> None:
    payload = {
        "@type": "DataFeed",
        "dataFeedElement": [
            {"@type": "DataFeedItem", "item": [good_review(0), {"@type": "Article", "headline": "x"}]},
            42,
            {"@type": "DataFeedItem", "item": "text"},
        ],
    }
    assert errors_of(payload) == [
        (1, "/dataFeedElement/0/item/1", "Not a ClaimReview: an object of @type Article."),
        (2, "/dataFeedElement/1", "Not a ClaimReview: a number."),
        (3, "/dataFeedElement/2/item", "Not a ClaimReview: a string."),
    ]


@pytest.mark.parametrize(
    "payload",
    [
        42,
        "ClaimReview",
        None,
        True,
        {},
        {"foo": 1},
        {"@type": "Article", "headline": "x"},
        {"@type": ["WebPage"]},
    ],
)
def test_unknown_shapes_are_unreadable(payload: object) -> None:
    with pytest.raises(UnreadablePayload, match="not ClaimReview"):
        parse_payload(payload)


def test_nesting_too_deep_is_an_error_not_a_crash() -> None:
    payload: list = [good_review(0)]
    for _ in range(50):
        payload = [payload]
    assert errors_of(payload) == [(0, "/0" * 9, "Nested too deeply to be a ClaimReview.")]


def test_text_is_cleaned_but_kept() -> None:
    review = good_review(0)
    review["claimReviewed"] = "  Cafe\u0301 prices  rose\u000b by 41%\r\nin 2024 &amp; 2025  "
    review["reviewRating"]["alternateName"] = "\tFalse\r"
    item = only_item(review)
    assert item.claim_reviewed == "Café prices rose by 41% in 2024 & 2025"  # NFC, entities, no controls
    assert item.rating == "False"
    assert item.raw["claimReviewed"] == review["claimReviewed"]  # raw is as received


def test_long_names_are_shortened_not_refused() -> None:
    review = good_review(0)
    review["author"]["name"] = "A" * 400
    review["reviewRating"]["alternateName"] = "B" * 600
    item = only_item(review)
    assert item.publisher is not None
    assert len(item.publisher) == 300
    assert item.publisher.endswith("…")
    assert item.rating is not None
    assert len(item.rating) == 500


def test_urls_keep_their_queries() -> None:
    review = good_review(0)
    review["url"] = " https://factcheck.example.org/?p=1&amp;reg=2&copy=3 "
    review["itemReviewed"]["appearance"] = {"@type": "CreativeWork", "url": "HTTPS://x.example.com:8443/a b"}
    item = only_item(review)
    assert item.url == "https://factcheck.example.org/?p=1&reg=2&copy=3"  # &amp; decoded, nothing else
    assert item.appearance_url == "HTTPS://x.example.com:8443/a b"
    review["itemReviewed"]["appearance"] = {"url": "https://x.example.com:99999/"}  # no such port
    fallback = review["itemReviewed"]["url"]  # the claim's own url, next in line
    assert only_item(review).appearance_url == fallback


def test_untyped_objects_with_a_claim_reviewed_are_claim_reviews() -> None:
    review = good_review(0)
    del review["@type"]
    assert only_item(review).url == "https://factcheck.example.org/0"
    review["@type"] = ["http://schema.org/ClaimReview"]
    assert only_item(review).url == "https://factcheck.example.org/0"
