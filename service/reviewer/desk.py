"""The desk's frame: its blueprint, the signed-in user, CSRF, headers and error pages, and how a
page is rendered. The pages themselves are in `views` (sign-in, queue, claims, reporting),
`sources` and `people`, all on this one blueprint.
"""

from collections.abc import Mapping
from typing import Any

from flask import Blueprint, Response, g, redirect, render_template, request, session, url_for
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from claims.schemas import rating_label
from service.accounts.models import User
from service.accounts.signin import SignInService
from service.core.errors import DomainError, ForbiddenError, NotFoundError
from service.reviewer import csrf, pages
from service.web import context
from service.web.context import settings
from service.web.problems import domain_problem
from service.web.responses import PAGE_HEADERS

bp = Blueprint("reviewer", __name__, url_prefix="/desk", static_folder="static", template_folder="templates")

# The public pages' headers, except that the desk's forms post to the desk itself and its pages
# are private: never framed, never cached.
DESK_HEADERS = {
    **PAGE_HEADERS,
    "Content-Security-Policy": PAGE_HEADERS["Content-Security-Policy"].replace(
        "form-action 'none'", "form-action 'self'"
    )
    + "; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
    "Cache-Control": "no-store",
}
UPLOAD_FORM_ROOM = 64 * 1024  # an upload's body: the document, and the form fields around it
OPEN_ENDPOINTS = frozenset({"reviewer.sign_in_form", "reviewer.sign_in", "reviewer.static"})
ACTION_LABELS = {
    "start_research": "Start research",
    "propose": "Propose a verdict",
    "approve": "Approve",
    "request_changes": "Request changes",
    "correct": "Correct the published verdict",
    "dismiss": "Dismiss",
    "reopen": "Reopen",
}


# -- the signed-in user, CSRF and headers ------------------------------------------------------


def me() -> User:
    """The signed-in user (views behind `_guard` always have one)."""
    user: User = g.desk_user
    return user


def _signed_in_user() -> User | None:
    secret = session.get("sid")
    if not isinstance(secret, str):
        return None
    # The session is looked up on the server: one ended by signing out, a new password or a
    # disabled account is gone however the cookie was kept.
    user = SignInService(context.session()).session_user(secret)
    if user is None:
        session.pop("sid", None)
    return user


@bp.before_request
def _guard() -> BaseResponse | None:
    g.desk_user = _signed_in_user()
    if request.endpoint == "reviewer.upload_source":  # the capture cap, as the API's upload has
        request.max_content_length = settings().capture_max_bytes + UPLOAD_FORM_ROOM
    if request.method == "POST" and not csrf.check():
        return render(
            "desk/error.html",
            403,
            heading="This form has expired",
            message="The page you sent it from is too old, or it did not come from this desk. "
            "Reload the page and try again.",
            reload_url=_page_of_request(),
        )
    if g.desk_user is None and request.endpoint not in OPEN_ENDPOINTS:
        target = request.full_path.rstrip("?") if request.method == "GET" else None
        return redirect(url_for(".sign_in_form", next=target), 303)
    return None


@bp.after_request
def _headers(response: Response) -> Response:
    for name, value in DESK_HEADERS.items():
        response.headers.setdefault(name, value)  # archived content keeps its own sandbox policy
    return response


@bp.context_processor
def _template_globals() -> dict[str, Any]:
    return {
        "me": g.get("desk_user"),
        "csrf_token": csrf.csrf_token,
        "rating_label": rating_label,
        "action_label": lambda action: ACTION_LABELS.get(action, action),
        "source_name": pages.source_name,
        "relation_labels": pages.RELATION_LABELS,
        "kind_labels": pages.KIND_LABELS,
    }


@bp.errorhandler(NotFoundError)
def _not_found(error: NotFoundError) -> BaseResponse:
    return render("desk/not_found.html", 404, message=error.detail)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> BaseResponse:
    limit = request.max_content_length or 0
    return render(
        "desk/error.html",
        413,
        heading="Too large",
        message=f"What you sent is larger than the desk takes ({limit:,} bytes). Nothing was saved.",
        reload_url=_page_of_request()
        if request.endpoint != "reviewer.upload_source"
        else url_for(".sources"),
        link_text="Back",
    )


@bp.errorhandler(ForbiddenError)
def _forbidden(error: ForbiddenError) -> BaseResponse:
    return render(
        "desk/error.html",
        403,
        heading="Not for your role",
        message=error.detail,
        reload_url=url_for(".queue"),
        link_text="Back to the queue",
    )


def render(
    template: str, status: int = 200, headers: Mapping[str, str] | None = None, **values: Any
) -> BaseResponse:
    html = render_template(template, **values)
    return Response(html, status=status, mimetype="text/html", headers=headers)


def _page_of_request() -> str:
    """The page a refused form was on, to reload."""
    args = request.view_args or {}
    if "claim_id" in args:
        return url_for(".claim", claim_id=args["claim_id"])
    if "source_id" in args:
        return url_for(".source", source_id=args["source_id"])
    if request.endpoint in OPEN_ENDPOINTS:
        return url_for(".sign_in_form")
    return url_for(".queue")


def status_of(error: DomainError) -> int:
    # The API's mapping of each domain error family to its status, so both answer alike.
    return domain_problem(error).status_code
