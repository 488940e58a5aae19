"""The language layer: sentences with exact offsets, numbers with values and units, kinds, negation
cues and the content words claims are compared by."""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from claims.language import (
    KINDS,
    Number,
    analyse,
    content_words,
    find_numbers,
    negation_cues,
    sentence_kinds,
    split_sentences,
)

# A UPI report (November 19, 2025) as pasted, with its curly quotes, a caption and blank lines.
REPORT = """

South Korea will again co-sponsor a United Nations resolution condemning North Korea’s human rights violations, a document showed Wednesday. Questions had emerged whether President Lee Jae Myung, seen here addressing the U.N. General Assembly, would support the resolution amid efforts to improve relations with Pyongyang. Photo by Peter Foley/UPI | License Photo
The draft resolution, introduced last week to the Third Committee of the U.N. General Assembly, “condemns in the strongest terms the long-standing and ongoing systematic, widespread and gross violations of human rights.”
The Democratic People’s Republic of Korea is the official name of North Korea.
South Korea was among the 41 U.N. member states that co-sponsored the resolution, maintaining the position of former President Yoon Suk Yeol’s conservative government.
“Our government has participated as a co-sponsor of this resolution,” the ministry said in a statement sent to UPI.
South Korea co-sponsored the resolution from 2008 through 2018, but withdrew during a period of inter-Korean detente between 2019 and 2022 under then-President Moon Jae-in.
In late October, Human Rights Watch and 20 other groups sent an open letter urging Lee’s government to back the resolution.
The rights watchdog praised Seoul for its support on Wednesday.
The United States was not among the sponsoring countries. In February, President Trump signed an executive order withdrawing the United States from the U.N. Human Rights Council.
A September report by the U.N. Human Rights Office found that North Korea’s human rights situation “has not improved over the past decade.”
The U.N. General Assembly is expected to vote on the resolution in December."""


def assert_spans_exact(text: str, spans: list[tuple[int, int]]) -> None:
    """Every span is its trimmed sentence, in order, apart, and together they hold every non-blank character."""
    previous_end = 0
    covered = [False] * len(text)
    for start, end in spans:
        assert previous_end <= start < end <= len(text)
        piece = text[start:end]
        assert piece == piece.strip()
        assert "\n" not in piece
        assert "\r" not in piece
        covered[start:end] = [True] * (end - start)
        previous_end = end
    assert all(covered[i] or text[i].isspace() for i in range(len(text)))


def sentence_with(sentences, words):
    return next(sentence for sentence in sentences if words in sentence.text)


# --- Sentences ----------------------------------------------------------------------------------


def test_the_report_splits_into_its_sentences_with_exact_offsets():
    spans = split_sentences(REPORT)
    assert_spans_exact(REPORT, spans)
    texts = [REPORT[start:end] for start, end in spans]
    assert texts[:3] == [
        (
            "South Korea will again co-sponsor a United Nations resolution condemning North Korea’s human "
            "rights violations, a document showed Wednesday."
        ),
        (
            "Questions had emerged whether President Lee Jae Myung, seen here addressing the U.N. General "
            "Assembly, would support the resolution amid efforts to improve relations with Pyongyang."
        ),
        "Photo by Peter Foley/UPI | License Photo",
    ]
    assert "The United States was not among the sponsoring countries." in texts
    assert texts[-1] == "The U.N. General Assembly is expected to vote on the resolution in December."
    assert len(texts) == 14


@pytest.mark.parametrize(
    "text",
    [
        "The U.N. General Assembly voted on the resolution.",
        "The U.S. Senate voted on it in Washington.",
        "Dr. Smith met the minister on Feb. 3 in Seoul.",
        "Mr. Lee and Ms. Kim met Gen. Park at 5 p.m. on Tuesday.",
        "See e.g. the report, i.e. the September one.",
    ],
)
def test_abbreviations_do_not_end_sentences(text):
    assert split_sentences(text) == [(0, len(text))]


def test_sentences_end_where_the_writer_ended_them():
    text = "It rose. Did it? Yes! “Really,” she said. He was in the U.S. He left."
    assert [text[start:end] for start, end in split_sentences(text)] == [
        "It rose.",
        "Did it?",
        "Yes!",
        "“Really,” she said.",
        "He was in the U.S.",
        "He left.",
    ]


@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r", "\u2028", "\u2029", "\x85", "\v", "\f"])
def test_a_line_break_always_ends_a_sentence(newline):
    text = f"MODERATOR: Senator, the economy{newline}SENATOR: grew by 3.5% last year"
    spans = split_sentences(text)
    assert [text[start:end] for start, end in spans] == [
        "MODERATOR: Senator, the economy",
        "SENATOR: grew by 3.5% last year",
    ]


def test_a_sentence_does_not_begin_in_lower_case():
    # sentencex ends a sentence at "bn."; a lower-case word after it continues the sentence.
    text = "He paid $3.5 bn. to the ministry. It was late."
    assert [text[start:end] for start, end in split_sentences(text)] == [
        "He paid $3.5 bn. to the ministry.",
        "It was late.",
    ]


@pytest.mark.parametrize("text", ["", " ", "\n\n\t \r\n", "\u3000\u00a0"])
def test_blank_text_has_no_sentences(text):
    assert split_sentences(text) == []
    assert analyse(text) == []


def test_a_lone_surrogate_does_not_break_the_splitter():
    text = "One \ud800 here. Two there."
    spans = split_sentences(text)
    assert_spans_exact(text, spans)
    assert [text[start:end] for start, end in spans] == ["One \ud800 here.", "Two there."]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_offsets_are_exact_for_any_text(text):
    assert_spans_exact(text, split_sentences(text))


SENTENCE_PIECES = st.sampled_from(
    [" ", "  ", "\n", "\r\n", "\t", ".", "!", "?", "…", "...", "U.S.", "Dr.", "Feb. 3", "e.g.", "“", "”",
     '"', "'", "(", ")", "a", "B", "word", "Ünïcödé", "한국어", "中文。", "😀", "\u200b", "\u00a0", "41", "1.2"]
)  # fmt: skip


@settings(max_examples=300, deadline=None)
@given(st.lists(SENTENCE_PIECES, max_size=60).map("".join))
def test_offsets_are_exact_for_sentence_like_text(text):
    spans = split_sentences(text)
    assert_spans_exact(text, spans)
    sentences = analyse(text)
    assert [(s.start, s.end) for s in sentences] == spans
    for sentence in sentences:
        assert sentence.text == text[sentence.start : sentence.end]
        assert set(sentence.kinds) <= set(KINDS)
        assert list(sentence.kinds) == [kind for kind in KINDS if kind in sentence.kinds]
        for number in sentence.numbers:
            assert sentence.start <= number.start < number.end <= sentence.end
            assert text[number.start : number.end] == number.text


def test_offsets_are_exact_for_200000_characters():
    filler = "\n".join(
        f"Speaker {i}: the deficit was {i} billion dollars in 20{i % 100:02d}." for i in range(2000)
    )
    text = (REPORT + "\n" + filler)[:200_000]
    text += "x" * (200_000 - len(text))
    spans = split_sentences(text)
    assert_spans_exact(text, spans)
    assert len(spans) > 2000
    assert_spans_exact("a" * 200_000, split_sentences("a" * 200_000))


# --- Numbers ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("41 U.N. member states co-sponsored it", [("41", 41, "u.n. member states")]),
        ("Forty-one countries co-sponsored it", [("Forty-one", 41, "countries")]),
        ("forty one of them", [("forty one", 41, None)]),
        ("Human Rights Watch and 20 other groups sent a letter", [("20", 20, "groups")]),
        ("Turnout was 41% in May", [("41%", 41, "%")]),
        ("Turnout was 3.5 percent, or 3.5 per cent", [("3.5 percent", 3.5, "%"), ("3.5 per cent", 3.5, "%")]),
        ("1,200 troops", [("1,200", 1200, "troops")]),
        ("1.2 million people", [("1.2 million", 1_200_000, "people")]),
        ("The aid was $3.5 billion", [("$3.5 billion", 3_500_000_000, "usd")]),
        ("The aid was $3.5bn", [("$3.5bn", 3_500_000_000, "usd")]),
        ("€20m and £5 and US$7", [("€20m", 20_000_000, "eur"), ("£5", 5, "gbp"), ("US$7", 7, "usd")]),
        ("two trillion dollars", [("two trillion dollars", 2_000_000_000_000, "usd")]),
        ("a dozen eggs and two dozen more", [("a dozen", 12, "eggs"), ("two dozen", 24, None)]),
        ("a hundred thousand people", [("a hundred thousand", 100_000, "people")]),
        ("one hundred and five people", [("one hundred and five", 105, "people")]),
        ("twenty", [("twenty", 20, None)]),
        ("from 2008 through 2018", [("2008", 2008, "year"), ("2018", 2018, "year")]),
        ("the 2008–2018 record", [("2008", 2008, "year"), ("2018", 2018, "year")]),
        ("between 2019 and 2022 under Moon", [("2019", 2019, "year"), ("2022", 2022, "year")]),
        ("since mid-2019", [("2019", 2019, "year")]),
        ("the 1990s", [("1990s", 1990, "year")]),
        ("2000 people voted", [("2000", 2000, "people")]),
        ("In 2000 people voted", [("2000", 2000, "year")]),
        ("On Feb. 3, 2024 they met", [("3", 3, "day"), ("2024", 2024, "year")]),
        ("on 3 February", [("3", 3, "day")]),
        ("a three-year term", [("three", 3, "years")]),
        ("a 41-member group", [("41", 41, "member")]),
        ("100m sprint", [("100m", 100, "m")]),
        (
            "Ｆｏｒｔｙ-one",
            [],
        ),  # full-width letters are not number words as written; content_words folds them
    ],
)
def test_numbers_with_their_values_and_units(text, expected):
    numbers = find_numbers(text)
    assert [(n.text, n.value, n.unit) for n in numbers] == expected
    for number in numbers:
        assert text[number.start : number.end] == number.text
        assert type(number.value) is (int if number.value == int(number.value) else float)


@pytest.mark.parametrize(
    "text",
    [
        "hundreds of people and several thousand more",  # vague: no value to compare
        "dozens of groups and tens of thousands of marchers",
        "the first time, the 3rd round, the twenty-first century",  # ordinals are not counts
        "one of them said no one came",  # a lone "one" is rarely a count
        "two-thirds of voters",
        "F-35 jets, COVID-19 cases, the G20 and 5G",  # names and codes
        "at 10:30 on 2024-05-01 or 5/3/2024 at 5 p.m.",  # dates and clock times: `time`, not numbers
        "",
    ],
)
def test_what_is_not_a_number(text):
    assert find_numbers(text) == []


def test_a_run_of_number_words_reads_as_few_numbers_as_it_can():
    assert [(n.text, n.value) for n in find_numbers("two and three, nineteen eighty-four")] == [
        ("two", 2),
        ("three", 3),
        ("nineteen", 19),
        ("eighty-four", 84),
    ]
    assert [(n.text, n.value) for n in find_numbers("$2 million two")] == [
        ("$2 million", 2_000_000),
        ("two", 2),
    ]


def test_hostile_numbers_are_bounded():
    assert find_numbers("9" * 5000) == []  # no real quantity has so many digits
    numbers = find_numbers("one " * 5000)
    assert numbers == []
    assert len(find_numbers("forty-one " * 1000)) == 1000


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("0123456789 ,.-%$€ abcdefghijklmnopqrstuvwxyz")), max_size=80))
def test_numbers_are_in_order_apart_and_finite(text):
    previous_end = 0
    for number in find_numbers(text):
        assert isinstance(number, Number)
        assert previous_end <= number.start < number.end <= len(text)
        assert text[number.start : number.end] == number.text
        assert math.isfinite(number.value)
        previous_end = number.end


# --- Kinds and negation -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "kinds"),
    [
        ("South Korea was among the 41 U.N. member states that co-sponsored the resolution.", ("number",)),
        ("The United States was not among the sponsoring countries.", ("negation",)),
        ("Unemployment fell to 3.5% in May, the lowest rate since 2019.", ("number", "comparison", "time")),
        ("More voters than ever turned out.", ("comparison",)),
        ("It condemns in the strongest terms the violations.", ("comparison",)),
        ("Exports hit a record high.", ("comparison",)),
        ("The spending doubled.", ("comparison",)),
        ("The minister said the talks had ended.", ("attribution",)),
        ("According to the ministry, the talks ended.", ("attribution",)),
        ("Lina Yoon told UPI the move showed leadership.", ("attribution",)),
        ("The talks ended last week.", ("time",)),
        ("The talks ended on Wednesday.", ("time",)),
        ("The talks began in late October.", ("time",)),
        ("South Korea co-sponsored it from 2008 through 2018.", ("time",)),
        ("May they rest in peace.", ()),
        ("He called it a “politically motivated provocation.”", ("quote",)),
        ('He called it "a provocation".', ("quote",)),
        ("The interest rate rose on the latest figures.", ("comparison",)),
        ("The forest was quiet.", ()),
        ("The rights watchdog praised Seoul for its support.", ()),
        ("", ()),
    ],
)
def test_sentence_kinds(text, kinds):
    assert sentence_kinds(text) == kinds


def test_kinds_reuse_numbers_given():
    text = "Turnout was 41% in 2019."
    assert sentence_kinds(text) == sentence_kinds(text, find_numbers(text)) == ("number", "time")
    assert sentence_kinds(text, []) == ()  # the numbers given are the ones used
    only_a_year = [Number("2019", 2019, "year", 0, 4)]
    assert sentence_kinds("2019", only_a_year) == ("time",)


@pytest.mark.parametrize(
    ("text", "cues"),
    [
        ("The United States was not among the sponsors.", ["not"]),
        ("The U.S. failed to co-sponsor the resolution.", ["failed to"]),
        ("Seoul refused to sign and never explained why.", ["refused to", "never"]),
        ("He no longer backs it, and nobody else does either.", ["no longer", "nobody"]),
        ("She didn’t vote; they don't either.", ["didn't", "don't"]),
        ("Neither Seoul nor Tokyo voted.", ["neither", "nor"]),
        ("The ministry denied the report.", ["denied"]),
        ("Japan was absent from the list of sponsors.", ["absent from"]),
        ("It passed without a vote, and none objected.", ["without", "none"]),
        ("No one objected. There were no sponsors.", ["no one", "no"]),
        ("He cannot vote.", ["cannot"]),
        ("It has yet to vote.", ["has yet to"]),
    ],
)
def test_negation_cues(text, cues):
    assert negation_cues(text) == cues


@pytest.mark.parametrize(
    "text",
    [
        "It is not only a resolution but also a message.",
        "There is no doubt the resolution passed.",
        "A notable vote, no matter what.",
        "It was nothing but a formality.",
        "Whether or not it passes, the talks go on.",
        "He is the No. 1 sponsor, no less.",
        "A no-fly zone was declared without doubt.",
        "Nobel laureates, nonetheless, knotted a note.",
    ],
)
def test_what_is_not_negation(text):
    assert negation_cues(text) == []
    assert "negation" not in sentence_kinds(text)


# --- The whole report ---------------------------------------------------------------------------


def test_analyse_the_report():
    sentences = analyse(REPORT)
    assert [(s.start, s.end) for s in sentences] == split_sentences(REPORT)
    for sentence in sentences:
        assert REPORT[sentence.start : sentence.end] == sentence.text
        for number in sentence.numbers:
            assert REPORT[number.start : number.end] == number.text  # offsets into the whole report

    members = sentence_with(sentences, "41 U.N. member states")
    assert members.kinds == ("number",)
    assert [(n.text, n.value, n.unit) for n in members.numbers] == [("41", 41, "u.n. member states")]

    record = sentence_with(sentences, "from 2008 through 2018")
    assert [n.value for n in record.numbers] == [2008, 2018, 2019, 2022]
    assert {n.unit for n in record.numbers} == {"year"}
    assert "number" not in record.kinds
    assert "time" in record.kinds

    letter = sentence_with(sentences, "20 other groups")
    assert [(n.value, n.unit) for n in letter.numbers] == [(20, "groups")]
    assert letter.kinds == ("number", "time")

    assert sentence_with(sentences, "was not among").kinds == ("negation",)
    assert sentence_with(sentences, "In February").kinds == ("time",)
    assert sentence_with(sentences, "A September report").kinds == ("negation", "time", "quote")
    assert sentence_with(sentences, "the ministry said").kinds == ("attribution", "quote")
    assert sentence_with(sentences, "Photo by").kinds == ()


# --- Content words ------------------------------------------------------------------------------


def test_content_words_leave_out_stopwords_numbers_and_negation():
    assert content_words("The United States was not among the 41 countries sponsoring the resolution.") == [
        "usa",
        "countri",
        "sponsor",
        "resolut",
    ]
    assert content_words("The U.S. failed to co-sponsor the resolution") == ["usa", "cosponsor", "resolut"]
    assert content_words("Forty-one countries co-sponsored it") == content_words(
        "41 countries cosponsored it"
    )


def test_content_words_know_a_few_names_written_many_ways():
    assert (
        content_words("the U.N.") == content_words("the UN") == content_words("the United Nations") == ["un"]
    )
    assert (
        content_words("the U.S.") == content_words("the US") == content_words("the United States") == ["usa"]
    )
    assert content_words("they told us") == ["told"]  # "us" the pronoun is not the country
    assert content_words("41 U.N. member states") == ["un", "countri"]


def test_content_words_of_unicode_and_empty_text():
    assert content_words("") == []
    assert content_words("   \n") == []
    assert content_words("Ｆｏｒｔｙ-one ｃｏｕｎｔｒｉｅｓ") == ["countri"]
    assert content_words("Die Länder stimmten für die Resolution") == [
        "die",
        "länder",
        "stimmten",
        "für",
        "die",
        "resolut",
    ]
    assert content_words("北朝鮮の人権決議") == ["北朝鮮の人権決議"]
