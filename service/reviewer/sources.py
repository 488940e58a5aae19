"""The desk's sources: the list (searched, filtered, in pages), uploads, a source's page with its
captures and marked quotes, and the archived copies."""

from typing import Any

from flask import Response, flash, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.accounts.models import ensure_role
from service.core.errors import DomainError, InvalidInputError
from service.reviewer import csrf, forms, pages, reads
from service.reviewer.desk import bp, me, render, status_of
from service.web import context
from service.web.context import services, settings
from service.web.responses import send_snapshot
from sources.models import SourceHealth, SourceKind
from sources.services import CAPTURE_ROLE

SOURCES_PAGE_SIZE = 50


def _sources_page(status: int = 200, **extra: Any) -> BaseResponse:
    page: dict[str, Any] = {
        "sources": [],
        "total": 0,
        "errors": {},
        "values": {},
        "upload_errors": {},
        "health_options": [(h, h) for h in SourceHealth],
        "kind_options": [(k, k.replace("_", " ")) for k in SourceKind],
        "may_upload": me().has_role(CAPTURE_ROLE),
    }
    try:
        args = forms.source_list_args(request.args)
    except InvalidInputError as exc:
        return render("desk/sources.html", 400, **{**page, "errors": exc.errors, **extra})
    offset = (args["page"] - 1) * SOURCES_PAGE_SIZE
    found, total = reads.sources_page(
        context.session(), args.get("q"), args.get("health"), SOURCES_PAGE_SIZE, offset
    )
    others: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page"}
    page |= {
        "sources": found,
        "total": total,
        "first": offset + 1,
        "last": offset + len(found),
        "page_number": args["page"],
        "pages": -(-total // SOURCES_PAGE_SIZE),
        "previous_url": url_for(".sources", **others, page=args["page"] - 1) if args["page"] > 1 else None,
        "next_url": url_for(".sources", **others, page=args["page"] + 1)
        if offset + len(found) < total
        else None,
    }
    return render("desk/sources.html", status, **{**page, **extra})


@bp.get("/sources")
def sources() -> BaseResponse:
    """Sources newest first, searched by title, URL and publisher, filtered by health, in pages."""
    return _sources_page()


@bp.post("/sources")
def upload_source() -> BaseResponse:
    """Archive a document that is not on the web (the API's multipart upload, with its rules)."""
    values = {k: v for k, v in request.form.items() if k != csrf.FIELD}
    try:
        ensure_role(me(), CAPTURE_ROLE)
        data = forms.upload_fields(request.form)
        file = request.files.get("file")
        if file is None or not file.filename:
            raise InvalidInputError(forms.CHECK_FIELDS, {"file": ["Choose the document to upload."]})
        source, created = services().sources.add_upload(
            me().id, data, file.stream, file.filename, settings().capture_max_bytes
        )
    except DomainError as exc:
        context.rollback()
        errors = getattr(exc, "errors", {})
        return _sources_page(status_of(exc), values=values, upload_errors=errors, upload_error=exc.detail)
    if created:
        flash("Document archived. Its text is being read; quotes cited from it are anchored once it is.")
    else:
        flash("This document is on the desk already: here it is.")
    return redirect(url_for(".source", source_id=source.id), 303)


@bp.get("/sources/<source_id>")
def source(source_id: str) -> BaseResponse:
    """A source: its health, every capture, the extracted text, and the claims citing it."""
    found = services().sources.get(source_id)
    return render(
        "desk/source.html", **pages.source_page(services(), found, me(), request.args.get("snapshot"))
    )


@bp.post("/sources/<source_id>/captures")
def recapture(source_id: str) -> BaseResponse:
    """Capture the source again now (in the background)."""
    found = services().sources.get(source_id)
    try:
        services().sources.request_capture(source_id, me())
    except DomainError as exc:
        page = pages.source_page(services(), found, me(), None)
        return render("desk/source.html", status_of(exc), **page, error=exc.detail)
    flash("A new capture is queued; reload in a moment to see it.")
    return redirect(url_for(".source", source_id=found.id), 303)


@bp.get("/sources/<source_id>/snapshots/<snapshot_id>/content")
def snapshot_content(source_id: str, snapshot_id: str) -> BaseResponse:
    """The archived bytes, sandboxed so they cannot run as this site."""
    sources = services().sources
    return send_snapshot(sources, sources.snapshot(source_id, snapshot_id))


@bp.get("/sources/<source_id>/snapshots/<snapshot_id>/text")
def snapshot_text(source_id: str, snapshot_id: str) -> BaseResponse:
    """The whole text extracted from a snapshot."""
    sources = services().sources
    text = sources.text(sources.snapshot(source_id, snapshot_id))
    return Response(text, mimetype="text/plain", headers={"Content-Security-Policy": "sandbox"})
