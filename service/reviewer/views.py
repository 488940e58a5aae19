"""The desk's pages: sign-in, the queue, a claim with its workflow forms, a source and its captures.

Views are thin: parse the form, call one domain service through `services()`, then redirect (303) or
re-render the page with the rule's error next to the form (4xx, so the request rolls back).
"""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import (
    Blueprint,
    Response,
    flash,
    g,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.wrappers import Response as BaseResponse

from claims.schemas import rating_label
from claims.services import DuplicateFinder
from service.accounts.models import ROLES, Role, User, ensure_role
from service.accounts.services import UserService
from service.accounts.signin import AccountLocked, SignInRefused, SignInService
from service.core.database import utcnow
from service.core.errors import (
    DomainError,
    ForbiddenError,
    InvalidInputError,
    NotFoundError,
    StaleVersionError,
)
from service.reviewer import csrf, forms, pages, reads
from service.web import context
from service.web.context import services, settings
from service.web.problems import domain_problem
from service.web.responses import PAGE_HEADERS, send_snapshot
from sources.models import SourceHealth, SourceKind
from sources.services import CAPTURE_ROLE

bp = Blueprint("reviewer", __name__, url_prefix="/desk", static_folder="static", template_folder="templates")

PAGE_SIZE = 25
SOURCES_PAGE_SIZE = 50
UPLOAD_FORM_ROOM = 64 * 1024  # an upload's body: the document, and the form fields around it
QUEUE_TEXT_CHARS = 200  # a claim's text in the queue, cut at a word; the claim page has it whole
STALE = (
    "Someone else changed this claim while you were looking at it: here is the current state; "
    "check it and act again."
)
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
        return _page(
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
    return _page("desk/not_found.html", 404, message=error.detail)


@bp.errorhandler(RequestEntityTooLarge)
def _too_large(_error: RequestEntityTooLarge) -> BaseResponse:
    limit = request.max_content_length or 0
    return _page(
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
    return _page(
        "desk/error.html",
        403,
        heading="Not for your role",
        message=error.detail,
        reload_url=url_for(".queue"),
        link_text="Back to the queue",
    )


def _page(
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


def _status(error: DomainError) -> int:
    # The API's mapping of each domain error family to its status, so both answer alike.
    return domain_problem(error).status_code


def _next_url() -> str:
    # Only pages of the desk itself: never an open redirect to another site.
    target = request.values.get("next", "")
    if not target.isprintable():  # CR/LF would split the Location header
        return url_for(".queue")
    try:
        parts = urlsplit(target)
    except ValueError:  # not a URL at all ("http://[x")
        return url_for(".queue")
    if parts.scheme or parts.netloc or not parts.path.startswith("/desk") or "\\" in target:
        return url_for(".queue")
    return target


# -- sign-in ------------------------------------------------------------------------------------


@bp.get("/sign-in")
def sign_in_form() -> BaseResponse:
    """The sign-in form (the desk's pages send signed-out visitors here)."""
    if g.desk_user is not None:
        return redirect(_next_url(), 303)
    return _page("desk/sign_in.html", next=_next_url())


@bp.post("/sign-in")
def sign_in() -> BaseResponse:
    """Check the name and password; on success start a new session."""
    name = request.form.get("name", "")
    try:
        name, password = forms.sign_in_fields(request.form)
        user = SignInService(context.session()).sign_in(name, password)
    except InvalidInputError as exc:
        return _page("desk/sign_in.html", 422, next=_next_url(), name=name, errors=exc.errors)
    except AccountLocked as exc:
        context.commit()  # the failure that locked the account is kept, though the answer is a refusal
        retry = max(1, int((exc.until - utcnow()) / timedelta(seconds=1)))
        headers = {"Retry-After": str(retry)}
        return _page("desk/sign_in.html", 429, headers, next=_next_url(), name=name, error=exc.detail)
    except SignInRefused as exc:
        context.commit()  # counts towards the lock-out
        return _page("desk/sign_in.html", 401, next=_next_url(), name=name, error=exc.detail)
    secret = SignInService(context.session()).start_session(user)
    session.clear()  # a new session: nothing from before signing in carries over
    session.permanent = True
    session["sid"] = secret
    csrf.renew()
    return redirect(_next_url(), 303)


@bp.post("/sign-out")
def sign_out() -> BaseResponse:
    """End the session, on the server: a copy of the cookie stops working too."""
    secret = session.get("sid")
    if isinstance(secret, str):
        SignInService(context.session()).end_session(secret)
    session.clear()
    csrf.renew()
    flash("You are signed out.")
    return redirect(url_for(".sign_in_form"), 303)


# -- the queue ----------------------------------------------------------------------------------


@bp.get("/")
@bp.get("")  # registered first: url_for gives /desk
def queue() -> BaseResponse:
    """Claims by status, rating, tag, needs_review, assignee and search, sorted, in numbered pages."""
    counts = reads.status_counts(context.session())
    page: dict[str, Any] = {
        "counts": counts,
        "mine": reads.assigned_count(context.session(), me().id),
        "status_options": [(s, s.replace("_", " ")) for s in counts],
        "rating_options": [(r.key, r.label) for r in services().scale.ratings],
        "sort_options": list(forms.QUEUE_ORDERS.items()),
    }
    try:
        query = forms.queue_filters(request.args, me(), PAGE_SIZE)
    except InvalidInputError as exc:
        return _page("desk/queue.html", 400, **page, claims=[], names={}, errors=exc.errors)
    offset = (query.page - 1) * query.limit
    claims, total = services().claims.sorted_page(me(), query.filters, query.sort, query.limit, offset)
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page"}
    names = reads.names(context.session(), {c.assignee_id for c in claims})
    return _page(
        "desk/queue.html",
        **page,
        claims=claims,
        names=names,
        total=total,
        first=offset + 1,
        last=offset + len(claims),
        previous_url=url_for(".queue", **args, page=query.page - 1) if query.page > 1 else None,
        next_url=url_for(".queue", **args, page=query.page + 1) if offset + len(claims) < total else None,
        pages=-(-total // query.limit),
        first_url=url_for(".queue", **args),
        short_text=QUEUE_TEXT_CHARS,
        page_number=query.page,
        errors={},
    )


# -- a claim ------------------------------------------------------------------------------------


def _claim_page(claim_id: str, status: int = 200, **extra: Any) -> BaseResponse:
    claim = services().claims.get(claim_id, me())
    return _page("desk/claim.html", status, **pages.claim_page(services(), claim, me()), **extra)


def _refused(claim_id: str, form: str, error: DomainError) -> BaseResponse:
    """The claim as it is now, with the refusal shown next to the form that was sent."""
    context.rollback()
    values = request.form.to_dict()
    values.pop(csrf.FIELD, None)
    if isinstance(error, StaleVersionError):
        return _claim_page(claim_id, 412, stale=STALE, failed=form, values=values)
    if isinstance(error, NotFoundError):
        raise error  # the claim itself is gone: the desk's 404 page
    return _claim_page(
        claim_id,
        _status(error),
        failed=form,
        error=error.detail,
        errors=getattr(error, "errors", {}),
        allowed=error.extra.get("allowed_actions"),
        values=values,
    )


def _new_claim_form(status: int = 200, **extra: Any) -> BaseResponse:
    return _page("desk/new_claim.html", status, **{"values": {}, "errors": {}, "duplicates": [], **extra})


@bp.get("/claims/new")
def new_claim() -> BaseResponse:
    """The form to submit a claim, with where it appeared."""
    return _new_claim_form()


@bp.post("/claims")
def submit_claim() -> BaseResponse:
    """Submit a claim. Possible duplicates are shown first, with a "Create anyway" to confirm; the
    same text (as the API finds it) adds the appearance to the claim on the desk."""
    values = {k: v for k, v in request.form.items() if k != csrf.FIELD}
    try:
        data = forms.new_claim(request.form)
        with context.reading():
            duplicates = services().claims.possible_duplicates(data["text"])
        if duplicates and not request.form.get("confirm"):
            return _new_claim_form(values=values, duplicates=duplicates[: DuplicateFinder.LIMIT])
        result = services().claims.submit(me(), data, duplicates)
    except DomainError as exc:
        context.rollback()
        return _new_claim_form(
            _status(exc), values=values, error=exc.detail, errors=getattr(exc, "errors", {})
        )
    if result.created:
        flash("Claim submitted.")
    else:
        flash("This claim was on the desk already: its appearance is added to it.")
    return redirect(url_for(".claim", claim_id=result.claim.id), 303)


@bp.get("/claims/<claim_id>")
def claim(claim_id: str) -> BaseResponse:
    """One claim: its evidence, proposal, verdicts, history, and the forms for what is allowed now."""
    return _claim_page(claim_id)


@bp.post("/claims/<claim_id>/transitions")
def transition(claim_id: str) -> BaseResponse:
    """Apply one workflow action at the version of the claim the form was rendered from."""
    action = request.form.get("action", "")
    try:
        body = forms.transition_body(request.form)
        claim = services().verification.apply(claim_id, me(), forms.form_etag(request.form), body)
    except StaleDataError:  # another request changed the row between our read and our write
        return _refused(claim_id, action, StaleVersionError(STALE))
    except DomainError as exc:
        return _refused(claim_id, action, exc)
    flash(f"{ACTION_LABELS[action]}: done. The claim is now {claim.status.replace('_', ' ')}.")
    return redirect(url_for(".claim", claim_id=claim.id), 303)


@bp.post("/claims/<claim_id>/citations")
def cite(claim_id: str) -> BaseResponse:
    """Cite a source already on the desk, or a new URL (archived in the background)."""
    try:
        cited = services().citations.add(claim_id, me(), forms.citation_body(request.form))
    except StaleDataError:
        return _refused(claim_id, "cite", StaleVersionError(STALE))
    except DomainError as exc:
        return _refused(claim_id, "cite", exc)
    if cited.source_created:
        flash("Citation added. The new source is being archived; its quote is anchored once it is.")
    else:
        flash("Citation added.")
    return redirect(url_for(".claim", claim_id=claim_id), 303)


@bp.post("/claims/<claim_id>/edit")
def edit_claim(claim_id: str) -> BaseResponse:
    """Edit text, claimant and tags at the version the form was rendered from (the API's If-Match)."""
    try:
        ensure_role(me(), Role.REVIEWER)  # as PATCH /api/v1/claims/{id} requires
        expected = forms.form_etag(request.form)
        changes = forms.claim_changes(request.form)
        services().claims.update(claim_id, me(), expected, changes)
    except StaleDataError:
        return _refused(claim_id, "edit", StaleVersionError(STALE))
    except DomainError as exc:
        return _refused(claim_id, "edit", exc)
    flash("Claim edited.")
    return redirect(url_for(".claim", claim_id=claim_id), 303)


@bp.post("/claims/<claim_id>/appearances")
def add_appearance(claim_id: str) -> BaseResponse:
    """Record another place where the claim was made."""
    try:
        services().claims.add_appearance(claim_id, me(), forms.appearance(request.form))
    except StaleDataError:
        return _refused(claim_id, "appearance", StaleVersionError(STALE))
    except DomainError as exc:
        return _refused(claim_id, "appearance", exc)
    flash("Appearance added.")
    return redirect(url_for(".claim", claim_id=claim_id), 303)


@bp.post("/claims/<claim_id>/citations/<citation_id>/remove")
def remove_citation(claim_id: str, citation_id: str) -> BaseResponse:
    """Remove a citation, while the claim is neither published nor dismissed."""
    try:
        services().citations.delete(claim_id, citation_id, me())
    except StaleDataError:
        return _refused(claim_id, "remove", StaleVersionError(STALE))
    except DomainError as exc:
        return _refused(claim_id, "remove", exc)
    flash("Citation removed.")
    return redirect(url_for(".claim", claim_id=claim_id), 303)


# -- claims from reporting ----------------------------------------------------------------------


def _reporting_form(status: int = 200, **extra: Any) -> BaseResponse:
    recent = reads.recent_extractions(context.session())
    return _page("desk/reporting.html", status, recent=recent, **extra)


@bp.get("/reporting")
def reporting() -> BaseResponse:
    """Paste a report or give its URL; the desk's recent extractions."""
    return _reporting_form(values={}, errors={})


@bp.post("/reporting")
def start_extraction() -> BaseResponse:
    """Read a report into sentences (a URL is captured first, in the background)."""
    values = {k: v for k, v in request.form.items() if k != csrf.FIELD}
    try:
        body = forms.extraction_body(request.form)
        with context.reading():
            plan = services().extractions.plan(body)
        extraction = services().extractions.start(me(), body, plan)
    except DomainError as exc:
        context.rollback()
        return _reporting_form(
            _status(exc), values=values, error=exc.detail, errors=getattr(exc, "errors", {})
        )
    return redirect(url_for(".extraction", extraction_id=extraction.id), 303)


def _extraction_page(extraction_id: str, status: int = 200, **extra: Any) -> BaseResponse:
    extraction = services().extractions.get(extraction_id)
    only = request.args.get("only") == "checkworthy"
    made = reads.claims_by_ids(context.session(), [i for i in request.args.get("made", "").split(",") if i])
    page = pages.extraction_page(extraction, only)
    return _page("desk/extraction.html", status, **page, made=made, **extra)


@bp.get("/reporting/<extraction_id>")
def extraction(extraction_id: str) -> BaseResponse:
    """The sentences of a report, the check-worthy ones marked, to choose claims from."""
    return _extraction_page(extraction_id, values={}, errors={})


@bp.post("/reporting/<extraction_id>/claims")
def make_claims(extraction_id: str) -> BaseResponse:
    """Make claims of the ticked sentences, each with its appearance quoting the report."""
    picked = request.form.getlist("pick")
    values = {k: v for k, v in request.form.items() if k != csrf.FIELD}
    try:
        choices = forms.claim_choices(request.form)
        extractions = services().extractions
        with context.reading():
            wanted = extractions.claim_requests(extractions.get(extraction_id), choices)
            duplicates = [services().claims.possible_duplicates(c["text"]) for c in wanted]
        made = extractions.make_claims(me(), wanted, duplicates)
    except NotFoundError:
        raise
    except DomainError as exc:
        context.rollback()
        errors = _choice_errors(getattr(exc, "errors", {}), picked)
        return _extraction_page(
            extraction_id, _status(exc), error=exc.detail, errors=errors, values=values, picked=picked
        )
    new = sum(1 for m in made if m.created)
    message = f"{new} new claims made."
    if new < len(made):
        message += f" {len(made) - new} were on the desk already: this report is now among their appearances."
    flash(message)
    ids = ",".join(m.claim.id for m in made)
    return redirect(url_for(".extraction", extraction_id=extraction_id, made=ids), 303)


def _choice_errors(errors: Mapping[str, list[str]], picked: list[str]) -> dict[str, list[str]]:
    """API error names (`items.1.text`) as the desk form's (`text-<index>`)."""
    named: dict[str, list[str]] = {}
    for name, messages in errors.items():
        parts = name.split(".")
        if len(parts) == 3 and parts[0] == "items" and parts[1].isdigit() and int(parts[1]) < len(picked):
            index = picked[int(parts[1])]
            named.setdefault(f"text-{index}" if parts[2] == "text" else f"pick-{index}", []).extend(messages)
        else:
            named.setdefault(name, []).extend(messages)
    return named


# -- sources ------------------------------------------------------------------------------------


def _sources_page(status: int = 200, **extra: Any) -> BaseResponse:
    page: dict[str, Any] = {
        "sources": [],
        "total": 0,
        "errors": {},
        "values": {},
        "upload_errors": {},
        "health_options": [(h, h) for h in SourceHealth],
        "kind_options": [(k, k.replace("_", " ")) for k in SourceKind],
        "may_upload": me().has_role(Role.REVIEWER),
    }
    try:
        args = forms.source_list_args(request.args)
    except InvalidInputError as exc:
        return _page("desk/sources.html", 400, **{**page, "errors": exc.errors, **extra})
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
    return _page("desk/sources.html", status, **{**page, **extra})


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
        return _sources_page(_status(exc), values=values, upload_errors=errors, upload_error=exc.detail)
    if created:
        flash("Document archived. Its text is being read; quotes cited from it are anchored once it is.")
    else:
        flash("This document is on the desk already: here it is.")
    return redirect(url_for(".source", source_id=source.id), 303)


@bp.get("/sources/<source_id>")
def source(source_id: str) -> BaseResponse:
    """A source: its health, every capture, the extracted text, and the claims citing it."""
    found = services().sources.get(source_id)
    return _page(
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
        return _page("desk/source.html", _status(exc), **page, error=exc.detail)
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


# -- people and tokens --------------------------------------------------------------------------


def _people_page(status: int = 200, **extra: Any) -> BaseResponse:
    ensure_role(me(), Role.ADMIN)
    people = UserService(context.session()).people()
    page = {
        "people": people,
        "roles": ROLES,
        "role_options": [(r, r) for r in ROLES],
        "values": {},
        "errors": {},
    }
    return _page("desk/people.html", status, **{**page, **extra})


@bp.get("/people")
def people() -> BaseResponse:
    """Admins: everyone, with role, status and last activity, and the forms to change them."""
    return _people_page()


@bp.post("/people")
def add_person() -> BaseResponse:
    """Admins: add a user; the answer shows their first token, once (as `factdesk users add`)."""
    ensure_role(me(), Role.ADMIN)
    values = {k: v for k, v in request.form.items() if k != csrf.FIELD}
    try:
        name, role = forms.new_user_fields(request.form)
        users = UserService(context.session())
        user = users.add(name, role)
        token = users.issue_token(user)
    except DomainError as exc:
        context.rollback()
        errors = getattr(exc, "errors", {}) or {"name": [exc.detail]}
        return _people_page(_status(exc), values=values, errors=errors, error=exc.detail)
    return _people_page(201, added=user, token=token)


@bp.post("/people/<user_id>")
def change_person(user_id: str) -> BaseResponse:
    """Admins: change a role, or disable and enable again; the last active admin is kept."""
    ensure_role(me(), Role.ADMIN)
    users = UserService(context.session())
    user = context.session().get(User, user_id)
    if user is None:
        raise NotFoundError(f"No user {user_id!r}.")
    try:
        message = forms.apply_person_change(users, user, request.form)
    except DomainError as exc:
        context.rollback()
        return _people_page(_status(exc), error=exc.detail, failed=user_id)
    flash(message)
    return redirect(url_for(".people"), 303)


def _tokens_page(status: int = 200, **extra: Any) -> BaseResponse:
    tokens = UserService(context.session()).tokens(me())
    return _page("desk/tokens.html", status, tokens=tokens, **extra)


@bp.get("/tokens")
def tokens() -> BaseResponse:
    """Your own API tokens, by prefix: when made, last used, revoked."""
    return _tokens_page()


@bp.post("/tokens")
def new_token() -> BaseResponse:
    """A new API token for you, shown on the answer page only."""
    token = UserService(context.session()).issue_token(me())
    return _tokens_page(201, token=token)


@bp.post("/tokens/revoke")
def revoke_token() -> BaseResponse:
    """Revoke one of your own tokens by its prefix (another's prefix revokes nothing)."""
    prefix = request.form.get("prefix", "").strip()
    try:
        revoked = UserService(context.session()).revoke(prefix, owner=me())
    except DomainError as exc:
        return _tokens_page(_status(exc), error=exc.detail)
    if not revoked:
        return _tokens_page(404, error=f"You have no live token {prefix[:40]!r}.")
    flash(f"Token {prefix} revoked: it no longer works.")
    return redirect(url_for(".tokens"), 303)
