"""Content-addressed stores for archived bytes: a directory (the default) or an S3-compatible bucket.

`open_store(settings.blob_url, settings)` picks one; callers use the `BlobStore` protocol only, so a
snapshot captured on one node is served by every node sharing the bucket.
"""

from pathlib import Path
from urllib.parse import unquote, urlsplit

from service.core.config import Settings
from sources.blobs.files import FileStore
from sources.blobs.store import BlobMissing, BlobStore, StoreUnavailable, check_hash

__all__ = ["BlobMissing", "BlobStore", "FileStore", "StoreUnavailable", "check_hash", "open_store"]


def open_store(url: str, settings: Settings) -> BlobStore:
    """The store `url` names: `file:///path` or `s3://bucket/prefix` (FACTDESK_BLOB_URL)."""
    parts = urlsplit(url)
    if parts.scheme == "file":
        return FileStore(Path(unquote(parts.path)))
    if parts.scheme == "s3":
        from sources.blobs.s3 import S3Store  # boto3 loads only for a deployment that uses it

        return S3Store(
            parts.netloc,
            parts.path.strip("/"),
            endpoint_url=settings.s3_endpoint_url or None,
            spool=settings.data_dir / "tmp",
        )
    raise ValueError(f"not a blob store URL: {url!r}")
