"""The matcher's first stage and its model: index look-ups by the rarest words, remembered word
counts, the shipped re-ranker and its word vectors (offline)."""

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import event
from sqlmodel import Session

from claims.matching import retrieval
from claims.matching.retrieval import (
    FEATURES,
    WORD_FEATURES,
    IndexSearch,
    Reranker,
    choose_terms,
    index_terms,
)
from claims.matching.vectors import encode_documents

TUNNEL_REVIEW = {
    "@type": "ClaimReview",
    "url": "https://checks.example.org/tunnel",
    "claimReviewed": "The harbour tunnel cost 400 million euros.",
    "author": {"@type": "Organization", "name": "Example Checks"},
    "reviewRating": {"@type": "Rating", "alternateName": "False"},
}


def look_up(engine, text: str, limit: int = 10, exclude: tuple[str, ...] = ()) -> list[str]:
    with Session(engine) as session:
        return [c.id for c in IndexSearch(session).candidates(text, limit, exclude).candidates]


def test_documents_sharing_the_rarer_words_come_first_and_ties_oldest_first(submit, engine) -> None:
    two = submit("Alpha bravo charlie delta.").get_json()["id"]
    one = submit("Alpha echo foxtrot golf.").get_json()["id"]
    other = submit("Alpha echo hotel india.").get_json()["id"]
    unrelated = submit("Kilo lima mike november.").get_json()["id"]
    found = look_up(engine, "Alpha bravo kilo oscar.")
    assert found[0] == two  # alpha and bravo; then the claims holding one word each
    assert set(found) == {two, one, other, unrelated}
    assert found.index(one) < found.index(other)  # the same words: the older first
    assert look_up(engine, "Alpha bravo kilo oscar.", exclude=(two,))[0] != two
    assert look_up(engine, "Alpha bravo kilo oscar.", limit=1) == [two]
    assert look_up(engine, "Papa quebec romeo.") == []
    assert look_up(engine, "the of and") == []


def test_imported_fact_checks_are_looked_up_with_the_claims(client, submit, make_user, engine) -> None:
    claim = submit("The harbour tunnel cost 40 million euros.").get_json()["id"]
    editor = make_user("editor")
    assert client.post("/api/v1/factchecks", json=TUNNEL_REVIEW, headers=editor.headers).status_code == 200
    with Session(engine) as session:
        found = IndexSearch(session).candidates("How much did the harbour tunnel cost?", 10)
    kinds = {c.kind: c for c in found.candidates}
    assert kinds["claim"].id == claim
    checked = kinds["factcheck"]
    assert (checked.rating, checked.verdict, checked.url) == ("False", "false", TUNNEL_REVIEW["url"])
    assert found.documents >= 2  # about: the highest seq of each table
    assert found.holding["harbour"] == 2


@contextlib.contextmanager
def statements(engine) -> Iterator[list[str]]:
    """The statements sent to the database within the block (a transaction's BEGIN aside)."""
    seen: list[str] = []

    def note(_conn, _cursor, statement: str, *_args: object) -> None:
        if not statement.upper().startswith("BEGIN"):
            seen.append(statement)

    event.listen(engine, "before_cursor_execute", note)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", note)


def test_a_look_up_takes_two_statements_and_a_fetch_one(client, submit, make_user, engine) -> None:
    submit("The harbour tunnel cost 40 million euros.")
    submit("The harbour bridge was finished in 1932.")
    assert (
        client.post("/api/v1/factchecks", json=TUNNEL_REVIEW, headers=make_user("editor").headers).status_code
        == 200
    )
    with Session(engine) as session:
        IndexSearch(session).candidates("harbour", 1)  # PostgreSQL reads its word statistics now and then
    with Session(engine) as session, statements(engine) as seen:
        search = IndexSearch(session)
        found = search.candidates("Did the harbour tunnel cost 40 million euros?", 10).candidates
        assert len(seen) == 2  # the sizes and the words' counts, then the documents holding them
        assert {c.kind for c in found} == {"claim", "factcheck"}
        seen.clear()
        keys = [(c.kind, c.seq) for c in reversed(found)]
        fetched = search.fetch([*keys, ("claim", 10**9), ("factcheck", 10**9)])
        assert len(seen) == 1  # both tables at once
        assert fetched == list(reversed(found))  # in the order asked, read as the look-up reads them
        assert search.fetch([]) == []
        assert len(seen) == 1


def test_the_rarest_words_are_chosen_within_the_budget(monkeypatch) -> None:
    holding = {"pyongyang": 40, "resolution": 900, "said": 9_000, "x": 1, "41": 3}
    monkeypatch.setattr(retrieval, "POSTINGS_BUDGET", 10_000)
    assert choose_terms(["said", "resolution", "pyongyang", "x", "41", "absent"], holding) == [
        "41",
        "pyongyang",
        "resolution",
        "said",
    ]
    monkeypatch.setattr(retrieval, "POSTINGS_BUDGET", 1_000)
    assert choose_terms(["said", "resolution", "pyongyang", "41"], holding) == [
        "41",
        "pyongyang",
        "resolution",
    ]
    assert choose_terms(["said"], holding) == ["said"]  # at least one, however common
    # Intake's smaller budget: the rarest words only.
    assert choose_terms(["said", "resolution", "pyongyang", "41"], holding, budget=50) == ["41", "pyongyang"]
    assert choose_terms(["said", "resolution"], holding, budget=50) == ["resolution"]


def test_a_smaller_budget_still_finds_the_near_duplicate(submit, engine) -> None:
    for serial in range(30):  # "harbour" and "tunnel" common; "zanzibar" rare
        submit(f"The harbour tunnel cost {serial} million euros in year {serial}.")
    twin = submit("The Zanzibar harbour tunnel cost 41 million euros.").get_json()["id"]
    with Session(engine) as session:
        found = IndexSearch(session).candidates("The Zanzibar harbour tunnel cost 41 million", 3, budget=5)
    assert [c.id for c in found.candidates] == [twin]  # read through the rare words' postings alone
    assert found.holding["harbour"] == 31  # every word is still weighed


@given(st.text(max_size=40), st.text(max_size=40))
def test_grams_of_two_texts_read_as_one_are_their_own_and_the_seams(first: str, second: str) -> None:
    one, two = retrieval._Side.of(first), retrieval._Side.of(second)
    assert retrieval._joined_grams(one, two) == retrieval._grams(" ".join(one.tokens + two.tokens))


def test_index_terms_follow_each_engine(monkeypatch) -> None:
    assert index_terms("Café in Zürich: the U.N. co-sponsored it", "sqlite") == [
        "cafe",
        "zurich",
        "u",
        "n",
        "co",
        "sponsored",
    ]
    assert index_terms("Café in Zürich", "postgresql") == ["café", "zürich"]  # `simple` keeps accents
    assert len(index_terms(" ".join(f"word{n}" for n in range(500)), "sqlite")) == retrieval.MAX_COUNTED


def test_counts_are_remembered_in_large_tables_only(submit, engine, monkeypatch) -> None:
    submit("Pyongyang rejected the resolution.")
    with Session(engine) as session:
        assert IndexSearch(session).candidates("Pyongyang", 5).holding["pyongyang"] == 1
    submit("Pyongyang answered within the hour.")
    with Session(engine) as session:  # a small table: counted afresh each time
        assert IndexSearch(session).candidates("Pyongyang", 5).holding["pyongyang"] == 2
    monkeypatch.setattr(retrieval, "REMEMBER_FROM", 1)
    try:
        with Session(engine) as session:
            assert IndexSearch(session).candidates("Pyongyang", 5).holding["pyongyang"] == 2
        submit("Pyongyang fired a missile.")
        with Session(engine) as session:  # remembered for a while, as in a large table
            found = IndexSearch(session).candidates("Pyongyang", 5)
            assert found.holding["pyongyang"] == 2
            assert len(found.candidates) == 3  # the look-up itself is never stale
        retrieval.forget_counts()
        with Session(engine) as session:
            assert IndexSearch(session).candidates("Pyongyang", 5).holding["pyongyang"] == 3
    finally:
        retrieval.forget_counts()  # the next test's tables are small: nothing of this one stays


def test_the_shipped_model_matches_the_features() -> None:
    data = json.loads(retrieval.MODEL_PATH.read_text())
    model = Reranker.from_json(data)
    assert len(model.weights) == len(model.mean) == len(model.scale) == len(FEATURES)
    assert model.candidates >= 10
    assert retrieval.MODEL_PATH.stat().st_size < 20_000
    with pytest.raises(ValueError, match="other features"):
        Reranker.from_json({**data, "features": data["features"][:-1]})
    words = Reranker.from_json(data, "words")
    assert len(words.weights) == len(WORD_FEATURES)
    assert (model.sentences, words.sentences) == (True, False)
    assert model.nearest >= 5
    assert words.nearest == 0


def test_the_same_claim_outranks_a_reworded_other_one() -> None:
    model = retrieval.reranker()
    documents = [
        ("Seoul co-sponsored the resolution on North Korea's human rights.", None),
        ("Seoul rejected the resolution on North Korea's missile launches.", None),
        ("The harbour tunnel cost 40 million euros.", "Did the tunnel cost 40 million?"),
    ]
    query = "South Korea co-sponsored the UN resolution on North Korean human rights"
    vectors = encode_documents([(query, None), *documents])
    scores = model.rank(query, documents, lambda w: 3.0, vectors[0], vectors[1:])
    assert scores[0] > scores[1] > scores[2]
    assert all(0 <= s <= 1 for s in scores)
    assert model.rank("anything", [], lambda w: 1.0, vectors[0], vectors[:0]).shape == (0,)
    with pytest.raises(ValueError, match="sentence vectors"):
        model.rank(query, documents, lambda w: 3.0)
    # The words part ranks them the same way without any.
    words = retrieval.word_reranker().rank(query, documents, lambda w: 3.0)
    assert words[0] > words[1] > words[2]


@pytest.mark.parametrize(
    ("load", "expected"),
    [
        (
            "from claims.matching.retrieval import word_vectors\nv = word_vectors().units(['north', 'korea'])",
            "(2, 256) 2.0",
        ),
        (
            "from claims.matching.encoder import encoder\nv = encoder().encode(['north', 'korea'])",
            "(2, 384) 2.0",
        ),
    ],
    ids=["word vectors", "sentence encoder"],
)
def test_models_load_from_their_wheels_without_the_network(load: str, expected: str) -> None:
    script = (
        "import socket\n"
        "def refuse(*a, **k): raise OSError('no network in this test')\n"
        "socket.socket.connect = refuse\n"
        "socket.create_connection = refuse\n"
        "socket.getaddrinfo = refuse\n"
        f"{load}\n"
        "print(v.shape, round(float((v * v).sum()), 3))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == expected


def test_scores_of_features_far_from_any_trained_on_are_probabilities_without_overflow() -> None:
    model = retrieval.word_reranker()
    far = np.array([model.mean + 1e6 * model.scale, model.mean - 1e6 * model.scale])
    scores = model.scores(far)  # warnings are errors here: an overflow in exp would fail this
    assert ((scores >= 0) & (scores <= 1)).all()
    assert sorted(scores.round(6).tolist()) == [0.0, 1.0]
