"""HTTP endpoints for extractions: read a report into sentences worth checking, make claims of them."""

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from claims.reporting.models import ClaimExtraction, ExtractionStatus
from claims.reporting.schemas import ExtractionClaimsIn, ExtractionClaimsOut, ExtractionIn, ExtractionOut
from claims.reporting.services import ClaimChoice, ExtractionInput, ExtractionService
from claims.services import DuplicateFinder
from service.accounts.models import User
from service.core.urls import absolute
from service.web import context
from service.web.auth import current_user, require_role
from service.web.context import services
from service.web.responses import BEARER, Extended

blp = Blueprint(
    "extractions",
    __name__,
    url_prefix="/api/v1/extractions",
    description="Claims from reporting: the sentences of an article or transcript worth checking.",
)


def extractions() -> ExtractionService:
    return services().extractions


def _caller() -> User:
    user = current_user()
    if user is None:
        raise RuntimeError("A view that needs a user is missing @require_role.")
    return user


@blp.route("")
class Extractions(MethodView):
    max_body = 2 * 1024 * 1024  # 200,000 characters of text, each up to 4 bytes of UTF-8 and escaped

    @require_role("submitter")
    @blp.arguments(ExtractionIn)
    @blp.response(201, ExtractionOut, description="Read at once: every sentence, scored and matched.")
    @blp.alt_response(202, schema=ExtractionOut, description="Pending: the page is being captured.")
    @blp.alt_response(404, description="No such source (`source_id`).")
    @blp.alt_response(
        422,
        description="Invalid fields; empty text; a source with no text, or a URL that could not be captured.",
    )
    @blp.doc(security=BEARER)
    def post(self, data: ExtractionInput) -> tuple[ClaimExtraction, int, dict[str, str]]:
        """Read a piece of reporting (pasted text, a URL to capture, or a source) into sentences."""
        with context.reading():  # the reading and matching run before, not inside, the write lock
            plan = extractions().plan(data)
        extraction = extractions().start(_caller(), data, plan)
        headers = {"Location": absolute(f"/api/v1/extractions/{extraction.id}")}
        return extraction, 201 if extraction.status == ExtractionStatus.DONE else 202, headers


@blp.route("/<extraction_id>")
@require_role("submitter")
@blp.response(200, ExtractionOut)
@blp.alt_response(404, description="No such extraction.")
@blp.doc(security=BEARER)
def get_extraction(extraction_id: str) -> ClaimExtraction:
    """One extraction: `pending` while its page is captured, then `done` or `failed`."""
    return extractions().get(extraction_id)


@blp.route("/<extraction_id>/claims", methods=["POST"])
@require_role("submitter")
@blp.arguments(ExtractionClaimsIn)
@blp.response(201, ExtractionClaimsOut)
@blp.alt_response(404, description="No such extraction.")
@blp.alt_response(
    422,
    description="No such sentence, a text out of bounds, or the extraction is not done (nothing is written).",
)
@blp.doc(security=BEARER)
def make_claims(data: dict[str, Any], extraction_id: str) -> dict[str, Any]:
    """Make claims of chosen sentences, each with its appearance quoting the report."""
    choices: list[ClaimChoice] = data["items"]
    with context.reading():
        wanted = extractions().claim_requests(extractions().get(extraction_id), choices)
        duplicates = [services().claims.possible_duplicates(claim["text"]) for claim in wanted]
    made = extractions().make_claims(_caller(), wanted, duplicates)
    return {
        "claims": [
            Extended(m.claim, possible_duplicates=m.possible_duplicates[: DuplicateFinder.LIMIT])
            for m in made
        ]
    }
