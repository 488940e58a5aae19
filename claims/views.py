"""HTTP endpoints for claims: thin wrappers that validate, call one service method, and dump."""

from collections.abc import Sequence
from typing import Any

from flask import Response, json
from flask.views import MethodView
from flask_smorest import Blueprint

from claims.citations import NewCitation
from claims.claimreview import claim_review
from claims.models import Claim
from claims.public import PublicClaim
from claims.schemas import (
    AppearanceIn,
    CitationIn,
    ClaimIn,
    ClaimListArgs,
    ClaimOut,
    ClaimPageOut,
    ClaimPatch,
    ClaimSubmitOut,
    HistoryOut,
    RatingOut,
    TransitionIn,
    TransitionOut,
)
from claims.services import (
    AppearanceData,
    ClaimChanges,
    ClaimFilters,
    ClaimService,
    DuplicateFinder,
    NewClaim,
)
from claims.verification import TransitionBody
from claims.workflow import TRANSITIONS, Rating, Transition, active_scale
from service.accounts.models import User
from service.core.pagination import decode_cursor, encode_cursor
from service.core.urls import absolute
from service.web import context
from service.web.arguments import if_match
from service.web.auth import current_user, require_role
from service.web.context import services, settings
from service.web.responses import BEARER, Extended, next_link

blp = Blueprint(
    "claims",
    __name__,
    url_prefix="/api/v1/claims",
    description="Claims as reported, where they appeared, and their history.",
)


def claims() -> ClaimService:
    return services().claims


def _caller() -> User:
    """The user of a view behind `require_role` (which answered 401 already if there was none)."""
    user = current_user()
    if user is None:
        raise RuntimeError("A view that needs a user is missing @require_role.")
    return user


def _headers(claim: Claim | PublicClaim, *, location: bool = False) -> dict[str, str]:
    headers = {"ETag": claim.etag}
    if location:
        headers["Location"] = absolute(f"/api/v1/claims/{claim.id}")
    return headers


@blp.route("")
class Claims(MethodView):
    @blp.arguments(ClaimListArgs, location="query")
    @blp.response(200, ClaimPageOut)
    @blp.doc(security=[{}, *BEARER])
    def get(self, args: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
        """List claims, newest first (without a token: published claims only)."""
        # int(): decode_cursor returns str | int, and has checked that this one is an int.
        after = int(decode_cursor(args["cursor"], int)) if args.get("cursor") else None
        filters = ClaimFilters(**{k: args.get(k) for k in ClaimFilters.__dataclass_fields__})
        user = current_user()
        items: Sequence[Claim | PublicClaim]
        if user is not None:
            items, more = claims().page(user, filters, args["limit"], after)
        else:  # readers: the published record, as each claim's verdict froze it
            items, more = claims().public_page(filters, args["limit"], after)
        last = items[-1].seq if more and items else None  # a stored claim's seq is never None
        cursor = encode_cursor(last) if last is not None else None
        return {"items": items, "next_cursor": cursor}, 200, next_link(cursor)

    @require_role("submitter")
    @blp.arguments(ClaimIn)
    @blp.response(201, ClaimSubmitOut, description="A new claim.")
    @blp.alt_response(
        200,
        schema=ClaimSubmitOut,
        description="The same claim existed: the appearance was added to it.",
    )
    @blp.alt_response(409, description="`Idempotency-Key` in use by a request still running.")
    @blp.doc(
        security=BEARER,
        parameters=[
            {
                "in": "header",
                "name": "Idempotency-Key",
                "schema": {"type": "string", "maxLength": 255},
                "description": "Retries with the same key and body replay the first response.",
            }
        ],
    )
    def post(self, data: NewClaim) -> tuple[Extended, int, dict[str, str]]:
        """Submit a claim (or a new appearance of a claim already on the desk)."""
        with context.reading():  # SQLite: the look-up runs before, not inside, the write lock
            duplicates = claims().possible_duplicates(data["text"])
        result = claims().submit(_caller(), data, duplicates)
        body = Extended(result.claim, possible_duplicates=result.possible_duplicates[: DuplicateFinder.LIMIT])
        return body, 201 if result.created else 200, _headers(result.claim, location=True)


@blp.route("/<claim_id>")
class ClaimItem(MethodView):
    @blp.response(200, ClaimOut)
    @blp.doc(security=[{}, *BEARER])
    def get(self, claim_id: str) -> tuple[Claim | PublicClaim, int, dict[str, str]]:
        """One claim, with its `ETag` (without a token: as its current verdict froze it)."""
        claim = claims().read(claim_id, current_user())
        return claim, 200, _headers(claim)

    @require_role("reviewer")
    @blp.arguments(ClaimPatch)
    @blp.response(200, ClaimOut)
    @blp.alt_response(409, description="Published claims change through `correct`.")
    @blp.alt_response(412, description="`If-Match` names an older version.")
    @blp.alt_response(428, description="`If-Match` is missing.")
    @blp.doc(security=BEARER)
    def patch(self, changes: ClaimChanges, claim_id: str) -> tuple[Claim, int, dict[str, str]]:
        """Edit text, claimant, tags or language (needs `If-Match`)."""
        expected = if_match()
        claim = claims().update(claim_id, _caller(), expected, changes)
        return claim, 200, _headers(claim)


@blp.route("/<claim_id>/appearances", methods=["POST"])
@require_role("submitter")
@blp.arguments(AppearanceIn)
@blp.response(201, ClaimOut)
@blp.doc(security=BEARER)
def add_appearance(data: AppearanceData, claim_id: str) -> tuple[Claim, int, dict[str, str]]:
    """Record another place where the claim was made; answers the claim."""
    claim = claims().add_appearance(claim_id, _caller(), data)
    return claim, 201, _headers(claim)


@blp.route("/<claim_id>/history")
@blp.response(200, HistoryOut)
@blp.doc(security=[{}, *BEARER])
def history(claim_id: str) -> dict[str, Any]:
    """Every event of the claim, oldest first, hash-chained (without a token: up to the approval
    of the current verdict), whether the chain holds, and its head."""
    events, check, (seq, head) = claims().events(claim_id, current_user())
    return {
        "items": events,
        "chain_intact": check.intact,
        "broken_at": check.broken_at,
        "problem": check.problem,
        "head": {"seq": seq, "hash": head},
    }


@blp.route("/<claim_id>/citations", methods=["POST"])
@require_role("reviewer")
@blp.arguments(CitationIn)
@blp.response(201, ClaimOut, description="The claim with its new citation (see `Location`).")
@blp.alt_response(409, description="The claim is published or dismissed.")
@blp.doc(security=BEARER)
def add_citation(data: NewCitation, claim_id: str) -> tuple[Claim, int, dict[str, str]]:
    """Cite a source (known, or a URL added and captured now) with the exact quote."""
    cited = services().citations.add(claim_id, _caller(), data)
    headers = _headers(cited.claim)
    headers["Location"] = absolute(f"/api/v1/claims/{claim_id}/citations/{cited.citation.id}")
    return cited.claim, 201, headers


@blp.route("/<claim_id>/citations/<citation_id>", methods=["DELETE"])
@require_role("reviewer")
@blp.response(200, ClaimOut)
@blp.alt_response(409, description="The claim is published or dismissed.")
@blp.doc(security=BEARER)
def delete_citation(claim_id: str, citation_id: str) -> tuple[Claim, int, dict[str, str]]:
    """Remove a citation (not once the claim is published)."""
    claim = services().citations.delete(claim_id, citation_id, _caller())
    return claim, 200, _headers(claim)


@blp.route("/<claim_id>/transitions", methods=["POST"])
@require_role("submitter")
@blp.arguments(TransitionIn)
@blp.response(200, ClaimOut, description="The claim after the transition, with its new `ETag`.")
@blp.alt_response(403, description="Your role, or a rule (approving your own proposal), forbids it.")
@blp.alt_response(
    409,
    description="Not possible from the claim's status (see `allowed_actions`), or a quote is not found "
    "in its archived source (see `citations`).",
)
@blp.alt_response(412, description="`If-Match` names an older version.")
@blp.alt_response(428, description="`If-Match` is missing.")
@blp.doc(security=BEARER)
def transition(body: TransitionBody, claim_id: str) -> tuple[Claim, int, dict[str, str]]:
    """Move the claim through the verification workflow (see `GET /api/v1/workflow`)."""
    expected = if_match()
    claim = services().verification.apply(claim_id, _caller(), expected, body)
    return claim, 200, _headers(claim)


@blp.route("/<claim_id>/claimreview")
@blp.response(200, description="schema.org ClaimReview (JSON-LD) of the current verdict.")
@blp.alt_response(404, description="Unknown, or nothing published yet.")
@blp.doc(security=[{}, *BEARER])
def claimreview(claim_id: str) -> Response:
    """The claim's ClaimReview, as on its public page."""
    claim = claims().public(claim_id)  # the published record, with a token or without
    review = claim_review(
        claim,
        absolute(f"/c/{claim.id}"),
        settings().publisher_name,
        settings().publisher_url or None,
        active_scale(),
    )
    return Response(json.dumps(review), mimetype="application/ld+json")


meta = Blueprint("workflow", __name__, url_prefix="/api/v1", description="The workflow and rating scale.")


@meta.route("/workflow")
@meta.response(200, TransitionOut(many=True))
def workflow() -> list[Transition]:
    """Every transition: from which statuses, to which, who may, and what it needs."""
    return list(TRANSITIONS)


@meta.route("/ratings")
@meta.response(200, RatingOut(many=True))
def ratings() -> list[Rating]:
    """The rating scale verdicts use, best first."""
    return list(services().scale.ratings)
