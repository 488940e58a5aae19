"""The filesystem blob store: the default, a directory under the data dir.

Each blob is written beside its target and renamed into place, so a reader never sees half of one.
"""

import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from sources.blobs.store import BlobMissing, check_hash, fan_out


class FileStore:
    """Blobs as files under `root` (`root/ab/cd/abcd…`)."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the blob with this hash lives (whether or not it exists)."""
        return self.root / fan_out(sha256)

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put_file(self, source: Path, sha256: str) -> None:
        """Move `source` (whose hash the caller computed while writing it) into the store."""
        target = self.path(sha256)
        if target.is_file():
            source.unlink(missing_ok=True)
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        try:
            os.replace(source, target)  # atomic on one filesystem
        except OSError:  # another filesystem: copy to a temp file beside the target, then rename
            with (
                tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp,
                open(source, "rb") as src,
            ):
                shutil.copyfileobj(src, tmp)
            os.replace(tmp.name, target)
            source.unlink(missing_ok=True)

    def put_bytes(self, data: bytes) -> str:
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
                tmp.write(data)
            os.replace(tmp.name, target)
        return sha256

    @contextmanager
    def open(self, sha256: str) -> Iterator[BinaryIO]:
        try:
            reader = open(self.path(sha256), "rb")  # noqa: SIM115  # closed as the context ends
        except FileNotFoundError as exc:
            raise BlobMissing(f"No blob {sha256}.") from exc
        with reader:
            yield reader

    def size(self, sha256: str) -> int:
        try:
            return self.path(sha256).stat().st_size
        except FileNotFoundError as exc:
            raise BlobMissing(f"No blob {sha256}.") from exc

    def read_text(self, sha256: str) -> str:
        try:
            return self.path(sha256).read_text(encoding="utf-8")
        except FileNotFoundError as exc:
            raise BlobMissing(f"No blob {sha256}.") from exc

    @contextmanager
    def local_path(self, sha256: str) -> Iterator[Path]:
        """The blob's own file: nothing to copy."""
        path = self.path(sha256)
        if not path.is_file():
            raise BlobMissing(f"No blob {sha256}.")
        yield path

    def temp_dir(self) -> Path:
        """A directory on the store's filesystem for bodies being written (so moves are atomic)."""
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp

    def hashes(self) -> Iterator[str]:
        for path in sorted(self.root.glob("??/??/*")):
            name = path.name
            if path.is_file() and name.startswith(path.parent.parent.name + path.parent.name):
                try:
                    yield check_hash(name)
                except ValueError:  # a stray file (an interrupted copy's temp file): not a blob
                    continue
