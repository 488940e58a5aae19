"""How two claims relate: the same claim, the same with a different number, its negation, or only
related; numbers compared by value whether written in words or digits."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from claims.matching.relations import SAME_CLAIM, Relation, relation, similarity

FORTY = "40 U.N. member states co-sponsored the resolution"
FORTY_ONE = "41 U.N. member states co-sponsored the resolution"
FORTY_ONE_IN_WORDS = "Forty-one countries co-sponsored the UN resolution on North Korea's human rights"
AMONG = "The United States was among the countries sponsoring the resolution."
NOT_AMONG = "The United States was not among the countries sponsoring the resolution."


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        # The examples.
        (FORTY, FORTY_ONE, Relation.NUMBER_CONFLICT),
        (AMONG, NOT_AMONG, Relation.NEGATION),
        (FORTY_ONE_IN_WORDS, FORTY_ONE, Relation.SAME),
        (FORTY_ONE_IN_WORDS, FORTY, Relation.NUMBER_CONFLICT),
        ("Unemployment fell to 3.5% in May", "Unemployment fell to 3.5 percent in May", Relation.SAME),
        (
            "The U.S. failed to co-sponsor the resolution",
            "The U.S. co-sponsored the resolution",
            Relation.NEGATION,
        ),
        (FORTY_ONE, "The mayor opened a new bridge over the river in Lisbon.", Relation.RELATED),
        # Rewordings, names written many ways, the same number in other words.
        (
            "The U.S. co-sponsored the resolution",
            "The United States co-sponsored the resolution",
            Relation.SAME,
        ),
        ("The US co-sponsored the resolution", "The United States cosponsored the resolution", Relation.SAME),
        (
            "South Korea will again co-sponsor a United Nations resolution condemning North Korea’s human rights violations",
            "South Korea co-sponsored the UN resolution on North Korea's human rights",
            Relation.SAME,
        ),
        ("The aid package was $3.5 billion", "The aid package was 3.5 billion dollars", Relation.SAME),
        ("About 1.2 million people fled", "1,190,000 people fled", Relation.SAME),
        (
            "More than 40 countries co-sponsored the resolution",
            "41 countries co-sponsored the resolution",
            Relation.SAME,
        ),
        (
            FORTY_ONE,
            "41 U.N. member states co-sponsored the resolution in 2024",
            Relation.SAME,
        ),  # more detail
        (
            "Ｆｏｒｔｙ-one countries co-sponsored the resolution",
            "41 countries co-sponsored the resolution",
            Relation.SAME,
        ),
        # Different numbers: by value, whatever their unit words, but not across kinds of quantity.
        ("The aid package was $3.5 billion", "The aid package was $4 billion", Relation.NUMBER_CONFLICT),
        ("The aid package was $3.5 billion", "The aid package was €3.5 billion", Relation.NUMBER_CONFLICT),
        (
            "Unemployment fell to 3.5% in May",
            "Unemployment fell to four percent in May",
            Relation.NUMBER_CONFLICT,
        ),
        (
            "More than 40 countries co-sponsored the resolution",
            "39 countries co-sponsored the resolution",
            Relation.NUMBER_CONFLICT,
        ),
        (
            "South Korea co-sponsored the resolution from 2008 through 2018",
            "South Korea co-sponsored the resolution from 2008 through 2016",
            Relation.NUMBER_CONFLICT,
        ),
        (
            "Die Regierung hat 41 Länder überzeugt",
            "Die Regierung hat 40 Länder überzeugt",
            Relation.NUMBER_CONFLICT,
        ),
        # Negation and its kin; phrases that only look negative are not.
        ("The minister never visited the camp", "The minister visited the camp", Relation.NEGATION),
        ("The minister no longer supports the plan", "The minister supports the plan", Relation.NEGATION),
        ("The minister refused to sign the letter", "The minister signed the letter", Relation.NEGATION),
        ("The minister didn’t visit the camp", "The minister visited the camp", Relation.NEGATION),
        (
            "Japan was absent from the list of sponsors",
            "Japan was on the list of sponsors",
            Relation.NEGATION,
        ),
        (
            "The ministry denied that troops crossed the border",
            "Troops crossed the border",
            Relation.NEGATION,
        ),
        ("The minister did not visit the camp", "The minister never visited the camp", Relation.SAME),
        (
            "The plan not only cut taxes but raised spending",
            "The plan cut taxes and raised spending",
            Relation.SAME,
        ),
        (FORTY, "40 U.N. member states did not co-sponsor the resolution", Relation.NEGATION),
        (FORTY, "41 U.N. member states did not co-sponsor the resolution", Relation.NUMBER_CONFLICT),
        # Other actors or acts: related, not the same claim.
        ("The U.S. co-sponsored the resolution", "The U.K. co-sponsored the resolution", Relation.RELATED),
        (
            "South Korea co-sponsored the resolution in 2008",
            "North Korea rejected the resolution in 2008",
            Relation.RELATED,
        ),
        (
            "The United States was not among the sponsoring countries.",
            "South Korea was among the 41 U.N. member states that co-sponsored the resolution",
            Relation.RELATED,
        ),
        # Nothing to compare.
        ("", "", Relation.RELATED),
        ("", FORTY_ONE, Relation.RELATED),
        ("   \n", "  ", Relation.RELATED),
        ("41", "40", Relation.RELATED),
        ("the of and", "the of and", Relation.RELATED),
    ],
)
def test_relation(a, b, expected):
    assert relation(a, b) is expected
    assert relation(b, a) is expected  # symmetric


def test_numbers_in_words_or_digits_do_not_change_similarity():
    assert similarity("Forty-one countries co-sponsored it", "41 countries co-sponsored it") == 1.0
    assert similarity(FORTY, FORTY_ONE) == 1.0
    assert similarity(AMONG, NOT_AMONG) == 1.0  # negation is left out too


def test_similarity_separates_rewordings_from_other_claims():
    assert similarity(FORTY_ONE_IN_WORDS, FORTY_ONE) >= SAME_CLAIM
    assert (
        similarity("The U.S. co-sponsored the resolution", "The U.K. co-sponsored the resolution")
        < SAME_CLAIM
    )
    assert similarity(FORTY_ONE, "The mayor opened a new bridge") == 0.0
    assert similarity("", "") == 0.0


def test_relation_is_a_str_enum_for_the_api():
    assert [relation.value for relation in Relation] == ["same", "number_conflict", "negation", "related"]
    assert Relation("negation") is Relation.NEGATION


def test_long_texts_are_compared_too():
    article = " ".join([FORTY_ONE] * 500)  # longer than the texts remembered between calls
    assert relation(article, FORTY_ONE) is Relation.SAME
    assert relation(article, FORTY) is Relation.NUMBER_CONFLICT


CLAIM_WORDS = st.sampled_from(
    ["41", "forty-one", "40", "not", "never", "U.N.", "UN", "U.S.", "member", "states", "countries", "resolution",
     "co-sponsored", "the", "was", "among", "3.5%", "percent", "$3.5bn", "Korea", "한국", "ünïcode", "", "\n", "."]
)  # fmt: skip


@settings(max_examples=200, deadline=None)
@given(st.lists(CLAIM_WORDS, max_size=12).map(" ".join), st.lists(CLAIM_WORDS, max_size=12).map(" ".join))
def test_relation_is_symmetric_and_similarity_bounded(a, b):
    assert 0.0 <= similarity(a, b) <= 1.0
    assert similarity(a, b) == pytest.approx(similarity(b, a))
    assert relation(a, b) is relation(b, a)
    assert relation(a, a) in (Relation.SAME, Relation.RELATED)  # a text never conflicts with itself
