"""A content-addressed store for archived bytes under the data directory.

Each blob is named by its SHA-256 (`ab/cd/abcd…`), written atomically, and stored once however
often the same content is captured.
"""

import hashlib
import os
import shutil
import tempfile
from pathlib import Path


class BlobStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, sha256: str) -> Path:
        """Where the blob with this hash lives (whether or not it exists)."""
        if len(sha256) != 64 or any(c not in "0123456789abcdef" for c in sha256):
            raise ValueError("not a sha256 hex digest")
        return self.root / sha256[:2] / sha256[2:4] / sha256

    def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    def put_file(self, source: Path, sha256: str) -> Path:
        """Move `source` (whose hash the caller computed while writing it) into the store."""
        target = self.path(sha256)
        if target.is_file():
            source.unlink(missing_ok=True)
            return target
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
        return target

    def put_bytes(self, data: bytes) -> str:
        """Store `data`; its SHA-256."""
        sha256 = hashlib.sha256(data).hexdigest()
        target = self.path(sha256)
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            with tempfile.NamedTemporaryFile(dir=target.parent, delete=False) as tmp:
                tmp.write(data)
            os.replace(tmp.name, target)
        return sha256

    def read_text(self, sha256: str) -> str:
        return self.path(sha256).read_text(encoding="utf-8")

    def temp_dir(self) -> Path:
        """A directory on the store's filesystem for bodies being written (so moves are atomic)."""
        tmp = self.root / "tmp"
        tmp.mkdir(parents=True, exist_ok=True)
        return tmp
