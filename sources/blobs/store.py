"""What every blob store offers: content-addressed bytes, named by their SHA-256.

A blob is written once, never changed, and stored once however often the same content is captured;
so readers may cache it for ever and copies between stores are checked by hash alone.
"""

from collections.abc import Iterator
from contextlib import AbstractContextManager
from pathlib import Path
from typing import BinaryIO, Protocol

from service.core.errors import NotFoundError, UnavailableError

CHUNK = 1024 * 1024  # what a stream reads or sends at once: a few of these per reader in memory
HEX = frozenset("0123456789abcdef")


class BlobMissing(NotFoundError):
    """No blob with this hash in the store."""


class StoreUnavailable(UnavailableError):
    """The store did not answer (or answered with an error of its own): try again later."""

    retry_after = 10


class BlobStore(Protocol):
    """Where archived bytes and extracted texts live: a directory, or an S3-compatible bucket."""

    def exists(self, sha256: str) -> bool: ...

    def put_file(self, source: Path, sha256: str) -> None:
        """Store `source` (a spooled file whose hash the caller computed) and remove it."""

    def put_bytes(self, data: bytes) -> str:
        """Store `data`; its SHA-256."""

    def open(self, sha256: str) -> AbstractContextManager[BinaryIO]:
        """A streaming reader of the blob (never the whole blob in memory); BlobMissing if none."""

    def size(self, sha256: str) -> int:
        """The blob's length in bytes; BlobMissing if none."""

    def read_text(self, sha256: str) -> str:
        """A (small) text blob, decoded from UTF-8."""

    def local_path(self, sha256: str) -> AbstractContextManager[Path]:
        """The blob as a file on local disk while the context lasts (for the contained reader)."""

    def temp_dir(self) -> Path:
        """A local directory for bodies being spooled before they are stored."""

    def hashes(self) -> Iterator[str]:
        """The hash of every stored blob (for copying or verifying a store)."""


def check_hash(sha256: str) -> str:
    """`sha256` if it is a lower-case SHA-256 hex digest; never a path or key of anything else."""
    if len(sha256) != 64 or not HEX.issuperset(sha256):
        raise ValueError("not a sha256 hex digest")
    return sha256


def fan_out(sha256: str) -> str:
    """`ab/cd/abcd…`: the blob's name below the store's root, two levels keeping directories small."""
    check_hash(sha256)
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"
