"""The desk's pages: sign-in, the queue, submitting a claim, a claim with its forms, reporting.

Views are thin: parse the form, call one domain service through `services()`, then redirect (303) or
re-render the page with the rule's error next to the form (4xx, so the request rolls back).
"""

from collections.abc import Mapping
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

from flask import flash, g, redirect, request, session, url_for
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.wrappers import Response as BaseResponse

from claims.services import DuplicateFinder
from service.accounts.models import Role, ensure_role
from service.accounts.signin import AccountLocked, SignInRefused, SignInService
from service.core.database import utcnow
from service.core.errors import DomainError, InvalidInputError, NotFoundError, StaleVersionError
from service.reviewer import csrf, forms, pages, people, reads, sources
from service.reviewer.desk import ACTION_LABELS, bp, me, render, status_of
from service.web import context
from service.web.context import services

# The app registers `bp` from here: importing this module has put every desk page on it, those of
# `people` and `sources` included.
__all__ = ["bp", "people", "sources"]

PAGE_SIZE = 25
QUEUE_TEXT_CHARS = 200  # a claim's text in the queue, cut at a word; the claim page has it whole
STALE = (
    "Someone else changed this claim while you were looking at it: here is the current state; "
    "check it and act again."
)


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
    return render("desk/sign_in.html", next=_next_url())


@bp.post("/sign-in")
def sign_in() -> BaseResponse:
    """Check the name and password; on success start a new session."""
    name = request.form.get("name", "")
    try:
        name, password = forms.sign_in_fields(request.form)
        user = SignInService(context.session()).sign_in(name, password)
    except InvalidInputError as exc:
        return render("desk/sign_in.html", 422, next=_next_url(), name=name, errors=exc.errors)
    except AccountLocked as exc:
        context.commit()  # the failure that locked the account is kept, though the answer is a refusal
        retry = max(1, int((exc.until - utcnow()) / timedelta(seconds=1)))
        headers = {"Retry-After": str(retry)}
        return render("desk/sign_in.html", 429, headers, next=_next_url(), name=name, error=exc.detail)
    except SignInRefused as exc:
        context.commit()  # counts towards the lock-out
        return render("desk/sign_in.html", 401, next=_next_url(), name=name, error=exc.detail)
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
        return render("desk/queue.html", 400, **page, claims=[], names={}, errors=exc.errors)
    offset = (query.page - 1) * query.limit
    claims, total = services().claims.sorted_page(me(), query.filters, query.sort, query.limit, offset)
    args: dict[str, Any] = {k: v for k, v in request.args.items() if k != "page"}
    names = reads.names(context.session(), {c.assignee_id for c in claims})
    return render(
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
    return render("desk/claim.html", status, **pages.claim_page(services(), claim, me()), **extra)


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
        status_of(error),
        failed=form,
        error=error.detail,
        errors=getattr(error, "errors", {}),
        allowed=error.extra.get("allowed_actions"),
        values=values,
    )


def _new_claim_form(status: int = 200, **extra: Any) -> BaseResponse:
    return render("desk/new_claim.html", status, **{"values": {}, "errors": {}, "duplicates": [], **extra})


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
            status_of(exc), values=values, error=exc.detail, errors=getattr(exc, "errors", {})
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
    return render("desk/reporting.html", status, recent=recent, **extra)


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
            status_of(exc), values=values, error=exc.detail, errors=getattr(exc, "errors", {})
        )
    return redirect(url_for(".extraction", extraction_id=extraction.id), 303)


def _extraction_page(extraction_id: str, status: int = 200, **extra: Any) -> BaseResponse:
    extraction = services().extractions.get(extraction_id)
    only = request.args.get("only") == "checkworthy"
    made = reads.claims_by_ids(context.session(), [i for i in request.args.get("made", "").split(",") if i])
    page = pages.extraction_page(extraction, only)
    return render("desk/extraction.html", status, **page, made=made, **extra)


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
            extraction_id, status_of(exc), error=exc.detail, errors=errors, values=values, picked=picked
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
