"""People and tokens on the desk: the admins' people page, and everyone's own API tokens."""

from typing import Any

from flask import flash, redirect, request, url_for
from werkzeug.wrappers import Response as BaseResponse

from service.accounts.models import ROLES, Role, User, ensure_role
from service.accounts.services import UserService
from service.core.errors import DomainError, NotFoundError
from service.reviewer import csrf, forms
from service.reviewer.desk import bp, me, render, status_of
from service.web import context


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
    return render("desk/people.html", status, **{**page, **extra})


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
        return _people_page(status_of(exc), values=values, errors=errors, error=exc.detail)
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
        return _people_page(status_of(exc), error=exc.detail, failed=user_id)
    flash(message)
    return redirect(url_for(".people"), 303)


def _tokens_page(status: int = 200, **extra: Any) -> BaseResponse:
    tokens = UserService(context.session()).tokens(me())
    return render("desk/tokens.html", status, tokens=tokens, **extra)


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
        return _tokens_page(status_of(exc), error=exc.detail)
    if not revoked:
        return _tokens_page(404, error=f"You have no live token {prefix[:40]!r}.")
    flash(f"Token {prefix} revoked: it no longer works.")
    return redirect(url_for(".tokens"), 303)
