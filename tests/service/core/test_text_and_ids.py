"""The small foundations: text cleaning and claim keys, and time-sortable ids."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.core.ids import looks_like, new_id
from service.core.text import ControlCharacterError, claim_key, clean


def test_ids_are_prefixed_unique_and_sortable_by_creation() -> None:
    ids = [new_id("clm") for _ in range(5000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == 5000
    assert all(looks_like("clm", i) for i in ids)
    with pytest.raises(ValueError, match="unknown id prefix"):
        new_id("xyz")


@given(st.text())
def test_clean_is_idempotent_or_refuses(text: str) -> None:
    try:
        once = clean(text)
    except ControlCharacterError:
        return
    assert clean(once) == once


def test_claim_key_ignores_case_spacing_quotes_and_final_punctuation() -> None:
    assert claim_key("Seoul’s “vote”  was  FINAL.") == claim_key('seoul\'s "vote" was final')
    assert claim_key("41 states") != claim_key("42 states")
