"""HTTP endpoints for sources and their snapshots: thin wrappers over the source services."""

from flask import Response, request
from flask.views import MethodView
from flask_smorest import Blueprint

from service.core.errors import InvalidInputError
from service.core.pagination import decode_cursor, encode_cursor
from service.core.urls import absolute
from service.web.arguments import load
from service.web.auth import current_user, require_role, signed_in_user
from service.web.context import services, settings
from service.web.responses import BEARER, next_link, send_snapshot
from sources.errors import SourceNotFound
from sources.models import Snapshot, Source
from sources.schemas import (
    SnapshotListOut,
    SourceIn,
    SourceListArgs,
    SourceListQuery,
    SourceOut,
    SourcePageOut,
    SourceUploadForm,
    SourceUploadIn,
)
from sources.services import NewSource, NewUpload, SourceService

blp = Blueprint(
    "sources", __name__, url_prefix="/api/v1/sources", description="Primary sources, captured and archived."
)


def _readable_sources(source_id: str, snapshot_id: str) -> SourceService:
    """An archived copy is public while a current published record cites it; else the desk's only
    (404 to readers, as for any id they may not see)."""
    if current_user() is None and not services().claims.archive_is_public(source_id, snapshot_id):
        raise SourceNotFound(f"No source {source_id!r}.")
    return services().sources


@blp.route("")
class Sources(MethodView):
    accepts = frozenset({"application/json", "multipart/form-data"})
    max_body = "capture"  # for uploads only: JSON bodies keep FACTDESK_MAX_BODY_BYTES

    @require_role("submitter")
    @blp.arguments(SourceListArgs, location="query")
    @blp.response(200, SourcePageOut)
    @blp.doc(security=BEARER)
    def get(self, args: SourceListQuery) -> tuple[dict[str, object], int, dict[str, str]]:
        """List sources, newest first, optionally by health."""
        after = decode_cursor(args["cursor"]) if args.get("cursor") else None
        items, more = services().sources.page(args["limit"], after, args.get("health"))
        cursor = encode_cursor(items[-1].id) if more else None
        return {"items": items, "next_cursor": cursor}, 200, next_link(cursor)

    @require_role("reviewer")
    @blp.response(201, SourceOut, description="A new source: a URL's capture is queued, a file is archived.")
    @blp.alt_response(200, schema=SourceOut, description="The source with the same canonical URL (or file).")
    @blp.alt_response(413, description="The file is larger than FACTDESK_CAPTURE_MAX_BYTES.")
    @blp.alt_response(422, description="Invalid fields, or a file of a type that is not archived.")
    @blp.doc(
        security=BEARER,
        requestBody={
            "required": True,
            "content": {
                "application/json": {"schema": SourceIn},
                "multipart/form-data": {"schema": SourceUploadForm},
            },
        },
    )
    def post(self) -> tuple[Source, int, dict[str, str]]:
        """Add a source: JSON with its URL, or a document that is not on the web as multipart `file`."""
        if request.mimetype == "multipart/form-data":
            data: NewUpload = load(SourceUploadIn(), request.form.to_dict())
            file = request.files.get("file")
            if file is None:
                raise InvalidInputError("Send the document as `file`.", {"file": ["Missing file."]})
            source, created = services().sources.add_upload(
                signed_in_user().id, data, file.stream, file.filename, settings().capture_max_bytes
            )
        else:
            new: NewSource = load(SourceIn(), request.get_json())
            source, created = services().sources.add_url(signed_in_user().id, new)
        return source, 201 if created else 200, {"Location": absolute(f"/api/v1/sources/{source.id}")}


@blp.route("/<source_id>")
@require_role("submitter")
@blp.response(200, SourceOut)
@blp.doc(security=BEARER)
def get_source(source_id: str) -> Source:
    """One source with its health and latest snapshot."""
    return services().sources.get(source_id)


@blp.route("/<source_id>/captures", methods=["POST"])
@require_role("reviewer")
@blp.response(202, SourceOut, description="A capture is queued.")
@blp.alt_response(409, description="An uploaded document has no URL to capture again.")
@blp.doc(security=BEARER)
def recapture(source_id: str) -> Source:
    """Capture the source again now."""
    return services().sources.request_capture(source_id, signed_in_user())


@blp.route("/<source_id>/snapshots")
@require_role("submitter")
@blp.response(200, SnapshotListOut)
@blp.doc(security=BEARER)
def snapshots(source_id: str) -> dict[str, list[Snapshot]]:
    """Every capture of the source, newest first."""
    return {"items": services().sources.snapshots(source_id)}


@blp.route("/<source_id>/snapshots/<snapshot_id>/content")
@blp.response(200, description="The archived bytes, sandboxed.")
@blp.doc(security=[{}, *BEARER])
def snapshot_content(source_id: str, snapshot_id: str) -> Response:
    """The archived bytes, as captured, sandboxed so they cannot run as this site."""
    sources = _readable_sources(source_id, snapshot_id)
    return send_snapshot(sources, sources.snapshot(source_id, snapshot_id), max_age=86_400)


@blp.route("/<source_id>/snapshots/<snapshot_id>/text")
@blp.response(200, description="The text extracted from the snapshot (text/plain).")
@blp.doc(security=[{}, *BEARER])
def snapshot_text(source_id: str, snapshot_id: str) -> Response:
    """The text extracted from the snapshot, which citations anchor in."""
    sources = _readable_sources(source_id, snapshot_id)
    text = sources.text(sources.snapshot(source_id, snapshot_id))
    response = Response(text, mimetype="text/plain")
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "sandbox"
    return response
