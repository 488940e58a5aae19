"""The sources API contract: sources, uploads and snapshots (marshmallow)."""

from datetime import UTC
from typing import Any, Required, TypedDict

from marshmallow import Schema, fields, validate

from service.core.fields import Text, UTCDateTime, WebURL
from service.core.urls import absolute
from sources.models import SnapshotOutcome, SourceHealth, SourceKind


class SourceFieldsIn(Schema):
    title = Text(max=500, allow_none=True)
    publisher = Text(max=300, allow_none=True)
    kind = fields.String(validate=validate.OneOf(tuple(SourceKind)), allow_none=True)


class SourceIn(SourceFieldsIn):
    url = WebURL(required=True, metadata={"example": "https://www.un.org/en/ga/third/80/docs.shtml"})


class SourceUploadIn(SourceFieldsIn):
    """Form fields beside the uploaded `file`."""

    url = WebURL(allow_none=True, metadata={"description": "Where the document lives, if anywhere."})


class SourceUploadForm(SourceUploadIn):
    """The multipart form, for the API document: the fields and the `file` itself."""

    file = fields.Raw(required=True, metadata={"type": "string", "format": "binary"})


class HopOut(Schema):
    url = fields.String()
    status_code = fields.Integer()
    location = fields.String()


class SnapshotOut(Schema):
    id = fields.String()
    source_id = fields.String()
    fetched_at = UTCDateTime()
    ok = fields.Boolean()
    outcome = fields.String(metadata={"enum": list(SnapshotOutcome)})
    status_code = fields.Integer(allow_none=True)
    final_url = fields.String(allow_none=True)
    redirects = fields.List(fields.Nested(HopOut))
    address = fields.String(allow_none=True, metadata={"description": "The address connected to."})
    content_type = fields.String(allow_none=True)
    size = fields.Integer()
    sha256 = fields.String(allow_none=True)
    etag = fields.String(allow_none=True)
    last_modified = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    text_error = fields.String(allow_none=True)
    links = fields.Function(
        lambda s: {
            "content": absolute(f"/api/v1/sources/{s.source_id}/snapshots/{s.id}/content") if s.ok else None,
            "text": absolute(f"/api/v1/sources/{s.source_id}/snapshots/{s.id}/text")
            if s.text_sha256
            else None,
        }
    )


class SourceOut(Schema):
    id = fields.String()
    url = fields.String(allow_none=True)
    canonical_url = fields.String(allow_none=True)
    title = fields.String(allow_none=True)
    publisher = fields.String(allow_none=True)
    kind = fields.String()
    health = fields.String(metadata={"enum": list(SourceHealth)})
    upload_filename = fields.String(allow_none=True)
    last_checked_at = UTCDateTime(allow_none=True)
    created_by = fields.String()
    created_at = UTCDateTime()
    capture = fields.Method("_capture")
    latest_snapshot = fields.Method("_latest")

    def _latest(self, source: object) -> dict[str, Any] | None:
        snapshot = getattr(source, "latest_snapshot", None)
        return SnapshotOut().dump(snapshot) if snapshot is not None else None

    def _capture(self, source: object) -> dict[str, str | None]:
        """Where the newest capture stands: `pending` while one is owed (even right after the last
        one finished), else `done` or `failed` with that capture's snapshot and error."""
        snapshot = getattr(source, "latest_snapshot", None)
        requested = getattr(source, "capture_requested_at", None)
        if requested is not None or snapshot is None:
            answer: dict[str, str | None] = {"status": "pending"}
            if requested is not None:
                answer["requested_at"] = requested.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
            return answer
        if snapshot.ok:
            return {"status": "done", "snapshot_id": snapshot.id}
        return {"status": "failed", "snapshot_id": snapshot.id, "error": snapshot.error}


class SourceListArgs(Schema):
    health = fields.String(validate=validate.OneOf(tuple(SourceHealth)))
    limit = fields.Integer(load_default=50, validate=validate.Range(1, 200))
    cursor = fields.String(validate=validate.Length(max=200))


class SourceListQuery(TypedDict, total=False):
    """What SourceListArgs loads: `limit` always (it has a default), the others when given."""

    health: str
    limit: Required[int]
    cursor: str


class SourcePageOut(Schema):
    items = fields.List(fields.Nested(SourceOut))
    next_cursor = fields.String(allow_none=True)


class SnapshotListOut(Schema):
    items = fields.List(fields.Nested(SnapshotOut))
