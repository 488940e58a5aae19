"""Text extraction that a hostile document cannot stall: a child process with a wall-clock limit,
a CPU limit and a memory limit, killed when it overruns.

`extract_contained(path, content_type, charset)` answers like `extract.extract_text`, and turns
an overrun into an `Extraction` whose error says so. A fork of the calling process runs the
parser, so it starts in milliseconds with the libraries already loaded. Never call it inside a
database transaction: it may take up to its time limit.
"""

import json
import os
import resource
import select
import signal
import time
from dataclasses import dataclass
from pathlib import Path

from sources.extract import Extraction, extract_text

DEFAULT_SECONDS = 20.0
DEFAULT_MEMORY_BYTES = 1_500_000_000  # address space of the child, parser and text included
MEMORY_TELL = 0.5  # a failure with more than this share of the memory limit in use ran out of it
MAX_TEXT_BYTES = 200_000_000  # what the child may send back (far more than any real document's text)


@dataclass(frozen=True)
class Limits:
    """How much a single document may take to read."""

    seconds: float = DEFAULT_SECONDS
    memory_bytes: int = DEFAULT_MEMORY_BYTES


def extract_contained(
    path: Path, content_type: str, charset: str | None = None, limits: Limits = Limits()
) -> Extraction:
    """The document's text, read in a child process held to `limits`; never raises."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: limit itself, parse, send the answer, leave without cleanup
        os.close(read_end)
        _child(write_end, path, content_type, charset, limits)
    os.close(write_end)
    try:
        data, overran = _collect(read_end, limits.seconds)
    finally:
        os.close(read_end)
    if overran:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    if overran or (os.WIFSIGNALED(status) and os.WTERMSIG(status) in (signal.SIGKILL, signal.SIGXCPU)):
        return Extraction(
            None,
            f"Reading this document took longer than {limits.seconds:g} s: it was stopped.",
            stopped=True,
        )
    try:
        answer = json.loads(data)
        if not answer.get("memory"):
            return Extraction(answer["text"], answer["error"], meta=answer.get("meta"))
    except (ValueError, KeyError, TypeError, AttributeError):
        pass  # no answer: the child died, out of memory
    megabytes = limits.memory_bytes / 1e6
    return Extraction(
        None,
        f"Reading this document needed more than {megabytes:,.0f} MB of memory: it was stopped.",
        stopped=True,
    )


def _collect(fd: int, seconds: float) -> tuple[bytes, bool]:
    """What the child writes until it closes the pipe; (data, True) if the time ran out first."""
    chunks: list[bytes] = []
    size, ends = 0, time.monotonic() + seconds
    while True:
        left = ends - time.monotonic()
        if left <= 0:
            return b"", True
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            return b"", True
        chunk = os.read(fd, 1 << 16)
        if not chunk:
            return b"".join(chunks), False
        size += len(chunk)
        if size > MAX_TEXT_BYTES:
            return b"", True
        chunks.append(chunk)


def _child(fd: int, path: Path, content_type: str, charset: str | None, limits: Limits) -> None:
    code = 0
    try:
        cpu = max(1, int(limits.seconds))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
        resource.setrlimit(resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes))
        result = extract_text(path, content_type, charset)
        # The parsers report an allocation that failed at the limit as a syntax or XPath error
        # ("unknown error"): a failure after most of the memory was taken is the limit's doing.
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
        memory = result.text is None and peak > limits.memory_bytes * MEMORY_TELL
        payload = json.dumps(
            {"text": result.text, "error": result.error, "meta": result.meta, "memory": memory}
        ).encode()
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
    except BaseException:  # MemoryError above all: the parent reads no answer and says why
        code = 1
    finally:
        os._exit(code)  # no atexit, no flushing of the parent's buffers, no cleanup of its state
