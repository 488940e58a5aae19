"""The check-worthiness scorer: the shipped weights, the demo report's ranking, and the edges."""

import importlib.resources
import socket

import pytest

from claims.language import split_sentences
from claims.reporting import checkworthiness
from claims.reporting.checkworthiness import RULES, Scorer, damping_rule, load_scorer, read_weights

REPORT = importlib.resources.files("service.ops.demo").joinpath("report.txt").read_text(encoding="utf-8")

# What a fact-checker would pick from the report, and what they would not: one fragment per sentence.
PICKS = (
    "one of 41 U.N. member states co-sponsoring",
    "The United States was not one of the countries sponsoring the resolution.",
    "from 2008 through 2018, but it pulled out between 2019 and 2022",
    "Human Rights Watch and 20 other organizations sent an open letter",
    "In February, President Trump signed an executive order",
    "A report released in September by the U.N. Human Rights Office",
)
NOT_PICKS = (
    "Photo by Peter Foley/UPI",  # the photo credit
    "pictured speaking at the U.N. General Assembly",  # the photo caption
    "The rights watchdog commended Seoul",  # praise
    "official name is the Democratic People's Republic of Korea",  # a definition
    "showcases leadership as a democracy",  # an opinion
    "Seoul should sustain it",  # an opinion
)


def report_sentences() -> list[str]:
    return [REPORT[start:end] for start, end in split_sentences(REPORT)]


def the_sentence(sentences: list[str], fragment: str) -> str:
    found = [s for s in sentences if fragment in s]
    assert len(found) == 1, f"{fragment!r} is in {len(found)} sentences of the report"
    return found[0]


def test_the_sentences_a_fact_checker_would_pick_outrank_the_others() -> None:
    sentences = report_sentences()
    scores = dict(zip(sentences, load_scorer().score(sentences), strict=True))
    picks = {f: scores[the_sentence(sentences, f)] for f in PICKS}
    others = {f: scores[the_sentence(sentences, f)] for f in NOT_PICKS}
    assert min(picks.values()) > max(others.values()), (picks, others)


def test_the_picks_are_checkworthy_and_the_photo_credit_is_not() -> None:
    sentences = report_sentences()
    scorer = load_scorer()
    scores = dict(zip(sentences, scorer.score(sentences), strict=True))
    assert all(scores[the_sentence(sentences, f)] >= scorer.threshold for f in PICKS)
    assert scores[the_sentence(sentences, "Photo by Peter Foley/UPI")] < 0.05
    assert 0 < sum(s >= scorer.threshold for s in scores.values()) < len(sentences)


HOSTILE = [
    "",
    " ",
    "\n\t",
    "?",
    "41",
    "a",
    "Ünïcödé façade — naïve café, 41 % of résumés.",
    "북한은 41개국이 공동 제안한 결의안을 거부했다.",
    "الولايات المتحدة لم تكن من بين الدول الراعية",
    "Emoji 🇰🇷🇺🇳 and a lone surrogate \ud800 and a NUL \x00 inside.",
    "x" * 50_000,
    " ".join(["forty-one"] * 5_000),
    "$$$ %%% ??? €€€",
    "\u200b\u200d\ufeff",
]


def test_scores_are_between_0_and_1_whatever_the_text() -> None:
    scores = load_scorer().score(HOSTILE)
    assert len(scores) == len(HOSTILE)
    assert all(isinstance(s, float) and 0.0 <= s <= 1.0 for s in scores)
    assert scores[0] == scores[1] == scores[2] == 0.0  # nothing to claim


def test_no_sentences_no_scores() -> None:
    assert load_scorer().score([]) == []


def test_a_sentence_scores_the_same_alone_or_among_others() -> None:
    sentences = report_sentences()
    scorer = load_scorer()
    together = scorer.score([*HOSTILE, *sentences])
    alone = [scorer.score([s])[0] for s in [*HOSTILE, *sentences]]
    assert together == pytest.approx(alone, abs=1e-6)


def test_scoring_is_deterministic_across_loads() -> None:
    sentences = report_sentences()
    data = importlib.resources.files("claims.reporting").joinpath(checkworthiness.WEIGHTS_FILE).read_bytes()
    fresh = Scorer(read_weights(data))
    assert fresh.score(sentences) == load_scorer().score(sentences) == load_scorer().score(sentences)
    assert fresh.threshold == load_scorer().threshold


def test_typographic_and_plain_quotes_score_alike() -> None:
    scorer = load_scorer()
    typographic, plain = scorer.score(
        ["North Korea’s “politically motivated provocation” claim was rejected by 41 states.",
         "North Korea's \"politically motivated provocation\" claim was rejected by 41 states."]
    )  # fmt: skip
    assert typographic == plain


def test_a_number_makes_a_sentence_more_checkworthy() -> None:
    scorer = load_scorer()
    vague, precise = scorer.score(
        ["Many states co-sponsored the resolution.", "41 states co-sponsored the resolution in 2008."]
    )
    assert precise > vague


def test_ten_thousand_sentences_in_one_call() -> None:
    sentences = report_sentences()
    many = [f"{sentences[i % len(sentences)]} ({i})" for i in range(10_000)]
    scores = load_scorer().score(many)
    assert len(scores) == 10_000
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[:50] == load_scorer().score(many[:50])


@pytest.mark.parametrize(
    ("sentence", "rule"),
    [
        ("", "empty"),
        ("— * —", "empty"),
        ("Photo by Peter Foley/UPI | License Photo", "photo_credit"),
        ("File photo", "photo_credit"),
        ("Image courtesy of the U.N.", "photo_credit"),
        ("By Jane Doe", "byline"),
        ("SEOUL, Nov. 19, 2025 (UPI)", "dateline"),
        ("Related coverage", "heading"),
        ("Did 41 countries co-sponsor the resolution?", "question"),
        ("South Korea was among the 41 U.N. member states that co-sponsored the resolution.", None),
        ("By 2018, 41 countries had co-sponsored the resolution every year since 2008.", None),
        ("Seoul", "heading"),
    ],
)
def test_the_rules_for_what_is_obviously_not_a_claim(sentence: str, rule: str | None) -> None:
    assert damping_rule(sentence) == rule
    if rule is not None:
        raw = load_scorer().raw_scores([sentence])[0]
        assert load_scorer().score([sentence])[0] == pytest.approx(raw * RULES[rule], abs=1e-6)


def test_the_weights_load_with_no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("the scorer tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    load_scorer.cache_clear()
    scorer = load_scorer()
    assert 0.0 < scorer.threshold < 1.0
    assert len(scorer.score(["South Korea was among the 41 co-sponsors."])) == 1


def test_the_weights_file_is_small() -> None:
    data = importlib.resources.files("claims.reporting").joinpath(checkworthiness.WEIGHTS_FILE).read_bytes()
    assert len(data) < 2_000_000
    assert read_weights(data)["format"] == checkworthiness.FORMAT


def test_weights_of_another_format_are_refused() -> None:
    data = importlib.resources.files("claims.reporting").joinpath(checkworthiness.WEIGHTS_FILE).read_bytes()
    weights = read_weights(data) | {"format": 99}
    with pytest.raises(ValueError, match="format"):
        Scorer(weights)
