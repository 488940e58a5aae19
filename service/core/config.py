"""Settings from `FACTDESK_*` environment variables, validated once at start-up."""

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy.engine import make_url

from service.core.urls import DEFAULT_BASE

IN_MEMORY = (None, "", ":memory:")  # SQLite database names that mean a database in memory


class SettingsError(ValueError):
    """A setting has a value the service cannot run with; the message says which and why."""


@dataclass(frozen=True)
class Settings:
    data_dir: Path = Path("./instance")
    database_url: str = ""  # default: SQLite file in data_dir
    redis_url: str = ""
    secret_key: str = ""
    base_url: str = ""  # default: where `factdesk serve` listens (never a request's Host header)
    publisher_name: str = "Factdesk"
    publisher_url: str = ""
    max_body_bytes: int = 1_000_000
    approvals_required: int = 1
    rating_scale: str = ""
    badge_max_age: int = 300
    capture_max_bytes: int = 25_000_000
    extract_seconds: int = 20  # reading one document's text, in a contained process
    extract_memory_mb: int = 1500  # the memory that process may take
    fetch_allowed_networks: tuple[str, ...] = field(default_factory=tuple)
    recheck_hours: int = 24
    log_level: str = "INFO"
    log_format: str = "json"  # one JSON object a line; "text" for reading by eye
    rate_limit_writes: str = "60/minute"  # API writes per user (per address without a token); "off"
    rate_limit_public: str = "600/minute"  # badges, pages, oEmbed, feed per client address; "off"
    trusted_proxies: tuple[str, ...] = field(default_factory=tuple)  # networks whose X-Forwarded-For counts
    blob_url: str = ""  # where archives live: file:///path (default DATA_DIR/blobs) or s3://bucket/prefix
    s3_endpoint_url: str = ""  # an S3-compatible service other than AWS (credentials: the AWS_* variables)

    def __post_init__(self) -> None:
        # Absolute from the start: Flask resolves relative file paths against the package, not the
        # working directory, so a relative data dir broke every archived copy's download.
        object.__setattr__(self, "data_dir", Path(self.data_dir).resolve())
        if not self.blob_url:
            object.__setattr__(self, "blob_url", (self.data_dir / "blobs").as_uri())

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides: object) -> "Settings":
        """Read every `FACTDESK_<NAME>`; `overrides` (lower-case names) win over the environment."""
        source: Mapping[str, str] = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for f in fields(cls):
            raw = overrides.get(f.name, source.get("FACTDESK_" + f.name.upper()))
            if raw is None or raw == "":
                continue
            values[f.name] = _convert(f.name, f.type, raw)
        settings = cls(**values)
        settings.validate()
        return settings

    @property
    def public_base(self) -> str:
        """Where links point: FACTDESK_BASE_URL, or where `factdesk serve` listens by default."""
        return (self.base_url or DEFAULT_BASE).rstrip("/")

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'factdesk.db').resolve()}"

    def validate(self) -> None:
        if self.max_body_bytes < 1024:
            raise SettingsError("FACTDESK_MAX_BODY_BYTES must be at least 1024.")
        if self.approvals_required < 1:
            raise SettingsError("FACTDESK_APPROVALS_REQUIRED must be 1 or more.")
        if self.database_url.startswith("sqlite") and make_url(self.database_url).database in IN_MEMORY:
            raise SettingsError(
                "FACTDESK_DATABASE_URL must name a database file or server: an in-memory SQLite "
                "database would be a different, empty one in every worker and connection."
            )
        if self.extract_seconds < 1 or self.extract_memory_mb < 100:
            raise SettingsError(
                "FACTDESK_EXTRACT_SECONDS must be at least 1 and FACTDESK_EXTRACT_MEMORY_MB at least 100."
            )
        if self.badge_max_age < 0:
            raise SettingsError("FACTDESK_BADGE_MAX_AGE must not be negative.")
        if self.base_url and not self.base_url.startswith(("http://", "https://")):
            raise SettingsError("FACTDESK_BASE_URL must start with http:// or https://.")
        blobs = urlsplit(self.blob_url)
        if blobs.scheme not in ("file", "s3") or (blobs.scheme == "s3" and not blobs.netloc):
            raise SettingsError("FACTDESK_BLOB_URL must be file:///path or s3://bucket/prefix.")
        if self.s3_endpoint_url and not self.s3_endpoint_url.startswith(("http://", "https://")):
            raise SettingsError("FACTDESK_S3_ENDPOINT_URL must start with http:// or https://.")


def _convert(name: str, kind: object, raw: object) -> object:
    if not isinstance(raw, str):
        return raw
    kind = str(kind)
    try:
        if kind in ("int", "<class 'int'>"):
            return int(raw)
        if "Path" in kind:
            return Path(raw)
        if kind.startswith("tuple"):
            return tuple(part.strip() for part in raw.split(",") if part.strip())
    except ValueError as exc:
        raise SettingsError(f"FACTDESK_{name.upper()} must be a whole number, not {raw!r}.") from exc
    return raw
