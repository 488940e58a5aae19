"""HTTP endpoints of the fact-check library: import ClaimReview (editors), list and read (the desk)."""

from typing import Any

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint

from claims.library.claimreview import MAX_ITEMS
from claims.library.models import FactCheck
from claims.library.schemas import (
    IMPORT_BODY,
    FactCheckDetailOut,
    FactCheckListArgs,
    FactCheckPageOut,
    ImportReportOut,
)
from claims.library.services import FactCheckLibrary, ImportReport
from service.core.pagination import decode_cursor, encode_cursor
from service.web.auth import require_role, signed_in_user
from service.web.context import services
from service.web.responses import BEARER, next_link

# A DataFeed of 30,000 ClaimReviews is 20–30 MB: this route alone takes bodies up to this size
# (`service.app._check_body` reads `max_body`); others keep FACTDESK_MAX_BODY_BYTES.
IMPORT_MAX_BYTES = 64_000_000

blp = Blueprint(
    "factchecks",
    __name__,
    url_prefix="/api/v1/factchecks",
    description="Fact-checks published elsewhere (ClaimReview), imported so that matching finds them. "
    "Their ratings are their publishers', never the desk's verdicts.",
)


def library() -> FactCheckLibrary:
    return services().library


@blp.route("")
class FactChecks(MethodView):
    accepts = frozenset({"application/json", "application/ld+json"})
    max_body = IMPORT_MAX_BYTES

    @require_role("submitter")
    @blp.arguments(FactCheckListArgs, location="query")
    @blp.response(200, FactCheckPageOut)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """List imported fact-checks, newest import first; search them with `q`."""
        after = decode_cursor(args["cursor"], int) if args.get("cursor") else None
        items, more = library().page(args.get("q"), args.get("publisher"), args["limit"], after)
        last = items[-1].seq if more and items else None
        cursor = encode_cursor(last) if last is not None else None
        return {"items": items, "next_cursor": cursor}, 200, next_link(cursor)

    @require_role("editor")
    @blp.response(200, ImportReportOut, description="What was imported, updated and skipped; broken items.")
    @blp.alt_response(400, description="The body is not JSON.")
    @blp.alt_response(413, description=f"Over {IMPORT_MAX_BYTES:,} bytes, or over {MAX_ITEMS:,} items.")
    @blp.alt_response(415, description="The body is not JSON (`application/json` or `application/ld+json`).")
    @blp.alt_response(422, description="No shape of ClaimReview, or every item is broken (see `errors`).")
    @blp.doc(security=BEARER, requestBody=IMPORT_BODY)
    def post(self) -> ImportReport:
        """Import ClaimReview: one, a list, a DataFeed, a page's `@graph` (the review's url is its
        identity: importing it again updates it, or skips it when nothing changed)."""
        body = request.get_json()  # 400 when malformed, 415 when not JSON
        return library().import_payload(body, signed_in_user())


@blp.route("/<factcheck_id>")
@require_role("submitter")
@blp.response(200, FactCheckDetailOut)
@blp.alt_response(404, description="No such fact-check.")
@blp.doc(security=BEARER)
def get_factcheck(factcheck_id: str) -> FactCheck:
    """One imported fact-check, with the ClaimReview as it was imported (`raw`)."""
    return library().get(factcheck_id)
