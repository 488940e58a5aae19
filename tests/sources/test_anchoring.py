"""Tests for sources/anchoring.py: exact and fuzzy quote anchoring over normalised text."""

import random
from unittest.mock import patch

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from sources import anchoring
from sources.anchoring import anchor_quote, normalise, normalise_with_map

ARTICLE = (
    "GENEVA — The Secretary-General said on Tuesday that “humanitarian access must be restored "
    "without delay.” The statement followed the Security Council’s meeting on the crisis.\n\n"
    "According to the ministry, unemployment fell to 4.1 percent in March, down from 4.6 percent."
)


def passage(text: str, found: anchoring.Anchor) -> str:
    """The original text an anchor points at."""
    assert found.status == "found", found
    assert found.start is not None
    assert found.end is not None
    return text[found.start : found.end]


def test_exact_match_answers_original_offsets() -> None:
    found = anchor_quote(ARTICLE, "unemployment fell to 4.1 percent in March")
    assert passage(ARTICLE, found) == "unemployment fell to 4.1 percent in March"
    assert (found.score, found.fuzzy) == (1.0, False)


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        ("He said “it is over” and left.", 'said "it is over" and'),
        ('He said "it is over" and left.', "said “it is over” and"),
        ("The minister’s office", "the minister's office"),
        ("The minister's office", "The minister’s office"),
        ("He was 6′2″ tall", "6'2\" tall"),
        ("«Nous refusons», a-t-il dit", '"Nous refusons", a-t-il dit'),
    ],
)
def test_typographic_quotes_match_straight_ones(text: str, quote: str) -> None:
    found = anchor_quote(text, quote)
    assert (found.status, found.fuzzy) == ("found", False)
    assert normalise(passage(text, found)) == normalise(quote)


def test_line_breaks_and_runs_of_spaces_inside_the_passage() -> None:
    text = "Figures show prices\n   rose by\r\n3\u00a0percent\u2009in the\tlast quarter, officials said."
    found = anchor_quote(text, "prices rose by 3 percent in the last quarter")
    assert passage(text, found) == "prices\n   rose by\r\n3\u00a0percent\u2009in the\tlast quarter"


@pytest.mark.parametrize(
    ("text", "quote"),
    [
        ("between 2019–2021 the rate", "between 2019-2021 the rate"),
        ("the rate — officials said — rose", "the rate - officials said - rose"),
        ("a well-known figure", "a well\u2011known figure"),
        ("temperatures of −3 degrees", "temperatures of -3 degrees"),
        ("the pre-war level", "the pre–war level"),
    ],
)
def test_dashes_match_hyphens(text: str, quote: str) -> None:
    found = anchor_quote(text, quote)
    assert (found.status, found.fuzzy) == ("found", False)
    assert len(passage(text, found)) == len(quote)


def test_nfkc_forms_map_back_to_original_offsets() -> None:
    text = "Report: ＵＮ Ｓｅｃｕｒｉｔｙ Ｃｏｕｎｃｉｌ approved the ﬁnancial plan… in full."
    found = anchor_quote(text, "UN Security Council approved the financial plan... in")
    assert passage(text, found) == "ＵＮ Ｓｅｃｕｒｉｔｙ Ｃｏｕｎｃｉｌ approved the ﬁnancial plan… in"


def test_case_soft_hyphens_and_zero_width_characters_are_ignored() -> None:
    text = "THE MINIS\u00adTRY DE\u200bNIED THE RE\ufeffPORT."
    found = anchor_quote(text, "the ministry denied the report")
    assert passage(text, found) == "THE MINIS\u00adTRY DE\u200bNIED THE RE\ufeffPORT"


def test_decomposed_accents_match_precomposed() -> None:
    text = "Le ministre a de\u0301clare\u0301 la fin de la gre\u0300ve."
    found = anchor_quote(text, "a déclaré la fin de la grève")
    assert passage(text, found) == "a de\u0301clare\u0301 la fin de la gre\u0300ve"


def test_quote_starting_inside_an_expanded_character_is_not_an_exact_match() -> None:
    # "ﬁ" folds to "fi"; a quote beginning with its "i" does not occur in the text.
    found = anchor_quote("the ﬁrst report and the irst draft", "irst")
    assert passage("the ﬁrst report and the irst draft", found) == "irst"
    assert found.start == 24


REPEATED = (
    "In Geneva, the minister said the deal is final. Critics disagreed. "
    "In Nairobi, the minister said the deal is final. Nobody objected. "
    "In Lima, the minister said the deal is final. Critics disagreed again."
)


def test_repeated_sentence_without_context_anchors_the_first() -> None:
    found = anchor_quote(REPEATED, "the minister said the deal is final")
    assert found.start == REPEATED.index("the minister")


def test_repeated_sentence_prefix_and_suffix_decide() -> None:
    found = anchor_quote(
        REPEATED, "the minister said the deal is final", "In Lima, ", " Critics disagreed again"
    )
    assert found.start == REPEATED.index("the minister", REPEATED.index("Lima"))


def test_repeated_sentence_only_suffix_decides() -> None:
    found = anchor_quote(REPEATED, "the minister said the deal is final", suffix=". Nobody objected.")
    assert found.start == REPEATED.index("the minister", REPEATED.index("Nairobi"))


def test_repeated_sentence_only_prefix_decides() -> None:
    found = anchor_quote(REPEATED, "the minister said the deal is final", prefix="in lima,")
    assert found.start == REPEATED.index("the minister", REPEATED.index("Lima"))


@pytest.mark.parametrize(
    "quote",
    [
        "unemployment rose to 9 percent",
        "",
        "   \n\t",
        "\u200b\u00ad",
        # Partial matching alone would accept this: the text holds only the first half of the quote.
        "unemployment fell to 4.1 percent in March, down from 4.6 percent, and will fall again next year",
    ],
)
def test_absent_or_empty_quote_is_not_found(quote: str) -> None:
    assert anchor_quote(ARTICLE, quote) == anchoring.Anchor("not_found", None, None, None, False)


def test_empty_text_finds_nothing() -> None:
    assert anchor_quote("", "anything").status == "not_found"


def test_one_typo_is_found_fuzzy_covering_the_passage() -> None:
    found = anchor_quote(ARTICLE, "humanitarian acess must be restored without delay")
    assert found.fuzzy is True
    assert found.score is not None
    assert 0.9 <= found.score < 1.0
    assert passage(ARTICLE, found) == "humanitarian access must be restored without delay"


def test_one_substituted_letter_is_found_fuzzy() -> None:
    found = anchor_quote(ARTICLE, "the Security Council's meeting on the crises")
    assert found.fuzzy is True
    assert passage(ARTICLE, found) == "the Security Council’s meeting on the crisis"


def test_fuzzy_match_respects_the_threshold() -> None:
    quote = "humanitarian acess must be restored without delay"
    assert anchor_quote(ARTICLE, quote, threshold=0.995).status == "not_found"


@pytest.mark.parametrize(
    "quote",
    ["aid access has to be reinstated immediately", "the jobless rate dropped to 4.1% in March"],
)
def test_paraphrase_is_not_found(quote: str) -> None:
    assert anchor_quote(ARTICLE, quote).status == "not_found"


@pytest.mark.parametrize(
    "quote",
    [
        "unemployment fell to 4.7 percent in March, down from 4.6 percent",
        "unemployment fell to 4.1 percent in March, down from 14.6 percent",
        "unemployment fell to 4.1 percent in March, down from 4 percent",
    ],
)
def test_a_different_figure_is_never_a_fuzzy_match(quote: str) -> None:
    # Each is within the similarity threshold of the text; only the number differs.
    assert anchor_quote(ARTICLE, quote).status == "not_found"


@pytest.mark.parametrize(
    ("text", "quote", "expected"),
    [
        (
            "정부는 오늘 물가 상승률이\n3.2%로 둔화됐다고 발표했다.",
            "물가 상승률이 3.2%로 둔화됐다고",
            "물가 상승률이\n3.2%로 둔화됐다고",
        ),
        ("وقال الوزير إن معدل البطالة انخفض إلى 4 في المئة.", "معدل البطالة انخفض", "معدل البطالة انخفض"),
        ("国家统计局表示，今年经济增长５．２％，高于预期。", "经济增长5.2%", "经济增长５．２％"),
        ("報道官は「カタカナ」と述べた。", "「ｶﾀｶﾅ」と述べた", "「カタカナ」と述べた"),
    ],
)
def test_korean_arabic_and_cjk_text(text: str, quote: str, expected: str) -> None:
    found = anchor_quote(text, quote)
    assert (found.status, found.fuzzy) == ("found", False)
    assert passage(text, found) == expected


def test_decomposed_hangul_matches_precomposed() -> None:
    text = "대한민국 정부 발표".replace("정부", "\u110c\u1165\u11bc\u1107\u116e")  # 정부 as conjoining jamo
    found = anchor_quote(text, "정부 발표")
    assert passage(text, found) == "\u110c\u1165\u11bc\u1107\u116e 발표"


def long_text(paragraphs: int, seed: int = 3) -> str:
    """A long text of varied sentences, so fuzzy search must narrow candidates first."""
    rng = random.Random(seed)
    words = [
        "the",
        "ministry",
        "said",
        "budget",
        "growth",
        "inflation",
        "report",
        "council",
        "vote",
        "percent",
        "million",
        "data",
        "survey",
        "health",
        "schools",
        "police",
        "court",
        "law",
        "tax",
        "energy",
        "prices",
        "wages",
        "trade",
        "border",
        "aid",
        "talks",
        "troops",
    ]
    return "\n\n".join(
        " ".join(rng.choice(words) for _ in range(rng.randint(40, 80))) + "." for _ in range(paragraphs)
    )


def test_fuzzy_match_in_a_long_text() -> None:
    text = long_text(800)
    assert len(text) > 200_000
    sentence = "Officials confirmed that the reservoir held 41 percent of its capacity on Monday"
    at = len(text) * 3 // 4
    text = text[:at] + " " + sentence + " " + text[at:]
    found = anchor_quote(
        text, "Officials confirmed that the reservoir held 41 percent of its capasity on Monday"
    )
    assert found.fuzzy is True
    assert found.score is not None
    assert found.score >= 0.9
    assert passage(text, found) == sentence


def test_fuzzy_match_prefers_the_occurrence_the_context_names() -> None:
    sentence = "Officials confirmed that the reservoir held 41 percent of its capacity"
    text = long_text(300) + f" In Lima: {sentence}. " + long_text(300, seed=4) + f" In Quito: {sentence}. "
    found = anchor_quote(text, sentence.replace("capacity", "capacty"), prefix="In Quito:")
    assert passage(text, found) == sentence
    assert found.start == text.index(sentence, text.index("Quito"))


def test_quote_absent_from_a_long_text() -> None:
    text = long_text(800)
    assert anchor_quote(text, "the ministry said the reservoir is full").status == "not_found"


def test_normalise_with_map_points_every_character_at_its_origin() -> None:
    folded, offsets = normalise_with_map("Aﬁ\u00ad “X”  —\n\u200bß")
    assert folded == 'afi "x" - ss'
    assert offsets == [0, 1, 1, 3, 4, 5, 6, 7, 9, 10, 12, 12]


# Text made of pieces that exercise every normalisation rule. Combining marks and Hangul vowel jamo
# are left out on purpose: a quote cut between a letter and the mark that composes with it is not a
# substring of the normalised text, so the property below holds for quotes cut at character boundaries.
PIECES = st.sampled_from(
    [
        *list("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.,;:!?()%$'\"-"),
        " ",
        "  ",
        "\n",
        "\r\n",
        "\t",
        "\xa0",
        "\u2009",
        "\u3000",
        "\xad",
        "\u200b",
        "\ufeff",
        *list("‘’“”′″«»–—‑−…ﬁﬂＡＢｃ１２ßİéñøÅ"),
        "정부",
        "발표",
        "ㄱ",
        "معدل",
        "البطالة",
        "经济",
        "增长",
        "ｶﾀｶﾅ",
        "ＭＡ",
        "㎏",
        "½",
    ]
)
TEXTS = st.lists(PIECES, min_size=1, max_size=60).map("".join)


@settings(max_examples=300, deadline=None)
@given(text=TEXTS, data=st.data())
def test_any_substring_is_found_and_normalises_like_the_quote(text: str, data: st.DataObject) -> None:
    start = data.draw(st.integers(0, len(text) - 1))
    end = data.draw(st.integers(start + 1, len(text)))
    quote = text[start:end]
    assume(normalise(quote).strip())
    found = anchor_quote(text, quote)
    assert (found.status, found.fuzzy, found.score) == ("found", False, 1.0)
    assert normalise(passage(text, found)).strip() == normalise(quote).strip()


@settings(max_examples=200, deadline=None)
@given(text=TEXTS, data=st.data())
def test_block_seams_do_not_change_the_result(text: str, data: st.DataObject) -> None:
    # Long texts are normalised in blocks; tiny blocks put seams everywhere.
    start = data.draw(st.integers(0, len(text) - 1))
    quote = text[start : data.draw(st.integers(start + 1, len(text)))]
    assume(normalise(quote).strip())
    whole = anchor_quote(text, quote)
    with patch.object(anchoring, "_BLOCK", data.draw(st.integers(1, 7))):
        assert anchor_quote(text, quote) == whole


@settings(max_examples=500, deadline=None)
@given(st.text(st.characters(exclude_categories=["Cs"]), max_size=40))
def test_normalise_with_map_agrees_with_normalise_on_any_text(text: str) -> None:
    folded, offsets = normalise_with_map(text)
    assert folded == normalise(text)
    assert len(offsets) == len(folded)
    assert offsets == sorted(offsets)
    assert all(0 <= offset < len(text) for offset in offsets)
