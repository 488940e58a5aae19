"""People and their API tokens over the API: who am I, the admin's user list and roles, and
everyone's own tokens (shown by prefix, never whole, but once at creation)."""

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import Schema, fields, validate, validates_schema
from marshmallow.exceptions import ValidationError

from service.accounts.models import ROLES, Role, Token, User
from service.accounts.services import Person, UserService
from service.core.errors import ForbiddenError, NotFoundError
from service.core.fields import Text, UTCDateTime
from service.core.urls import absolute
from service.web import context
from service.web.auth import require_role, signed_in_user
from service.web.responses import BEARER, Extended

blp = Blueprint(
    "people",
    __name__,
    url_prefix="/api/v1",
    description="People (admins manage them) and API tokens (each person their own).",
)


class UserOut(Schema):
    id = fields.String()
    name = fields.String()
    role = fields.String(metadata={"enum": list(ROLES)})
    created_at = UTCDateTime()
    disabled = fields.Boolean()
    disabled_at = UTCDateTime(allow_none=True)
    last_active_at = UTCDateTime(
        allow_none=True, metadata={"description": "The last token use or desk sign-in (to the minute)."}
    )
    has_password = fields.Boolean(metadata={"description": "Whether they can sign in to the desk."})


class UserListOut(Schema):
    items = fields.List(fields.Nested(UserOut))


class UserIn(Schema):
    name = Text(required=True, min=1, max=80, metadata={"example": "alice"})
    role = fields.String(required=True, validate=validate.OneOf(ROLES))


class UserPatch(Schema):
    role = fields.String(validate=validate.OneOf(ROLES))
    disabled = fields.Boolean(
        metadata={"description": "true stops their tokens and desk sessions at once; false lets them back."}
    )

    @validates_schema
    def _something(self, data: dict[str, object], **_: object) -> None:
        if not data:
            raise ValidationError("Give `role`, `disabled` or both.")


class TokenOut(Schema):
    prefix = fields.String(metadata={"description": "The token's first 12 characters: revoke it by this."})
    user = fields.Function(lambda t: t.user_name)
    created_at = UTCDateTime()
    last_used_at = UTCDateTime(allow_none=True, metadata={"description": "To the minute."})
    revoked_at = UTCDateTime(allow_none=True)


class TokenListOut(Schema):
    items = fields.List(fields.Nested(TokenOut))


class NewTokenOut(TokenOut):
    token = fields.String(metadata={"description": "The whole token, shown only now: keep it secret."})


class NewUserOut(UserOut):
    token = fields.String(metadata={"description": "Their first API token, shown only now."})


class TokenIn(Schema):
    user = Text(max=80, metadata={"description": "Admins only: whose token (name or id); default yours."})


class OwnerArgs(Schema):
    user = Text(max=80, metadata={"description": "Admins only: whose tokens (name or id); default yours."})


def _people() -> UserService:
    return UserService(context.session())


def _shown(person: Person) -> Extended:
    user = person.user
    return Extended(
        user,
        disabled=user.disabled_at is not None,
        last_active_at=person.last_active_at,
        has_password=user.password_hash is not None,
    )


def _owner(name: str | None) -> User:
    """Whose tokens a request means: the caller's own, or (admins only) the one it names."""
    me = signed_in_user()
    if not name or name in (me.name, me.id):
        return me
    if not me.has_role(Role.ADMIN):
        raise ForbiddenError("Only admins may name another user's tokens.")
    return _people().find(name)


def _token_out(token: Token, owner: User) -> Extended:
    return Extended(token, user_name=owner.name)


@blp.route("/users/me")
@require_role(Role.SUBMITTER)
@blp.response(200, UserOut)
@blp.doc(security=BEARER)
def me() -> Extended:
    """Who this token belongs to, and their role."""
    people = _people()
    return _shown(people.person(signed_in_user()))


@blp.route("/users")
class Users(MethodView):
    @require_role(Role.ADMIN)
    @blp.response(200, UserListOut)
    @blp.doc(security=BEARER)
    def get(self) -> dict[str, list[Extended]]:
        """Everyone, by name, with role, status and last activity."""
        return {"items": [_shown(person) for person in _people().people()]}

    @require_role(Role.ADMIN)
    @blp.arguments(UserIn)
    @blp.response(201, NewUserOut, description="The user and their first token, shown only now.")
    @blp.alt_response(409, description="A user with this name exists already.")
    @blp.doc(security=BEARER)
    def post(self, data: dict[str, str]) -> tuple[Extended, int, dict[str, str]]:
        """Add a user; answers their first API token, once."""
        people = _people()
        user = people.add(data["name"], data["role"])
        token = people.issue_token(user)
        shown = Extended(_shown(Person(user, None)), token=token)
        return shown, 201, {"Location": absolute(f"/api/v1/users/{user.id}")}


@blp.route("/users/<user_id>")
class UserItem(MethodView):
    @require_role(Role.ADMIN)
    @blp.response(200, UserOut)
    @blp.doc(security=BEARER)
    def get(self, user_id: str) -> Extended:
        """One user."""
        people = _people()
        return _shown(people.person(_by_id(people, user_id)))

    @require_role(Role.ADMIN)
    @blp.arguments(UserPatch)
    @blp.response(200, UserOut)
    @blp.alt_response(409, description="This would leave no active admin.")
    @blp.doc(security=BEARER)
    def patch(self, changes: dict[str, object], user_id: str) -> Extended:
        """Change a role, or disable (and enable again) a user: a disabled user's tokens and desk
        sessions stop at once. The last active admin can be neither demoted nor disabled."""
        people = _people()
        user = _by_id(people, user_id)
        if "role" in changes:
            people.set_role(user, str(changes["role"]))
        if "disabled" in changes:
            people.set_disabled(user, bool(changes["disabled"]))
        return _shown(people.person(user))


def _by_id(people: UserService, user_id: str) -> User:
    user = context.session().get(User, user_id)
    if user is None:
        raise NotFoundError(f"No user {user_id!r}.")
    return user


@blp.route("/tokens")
class Tokens(MethodView):
    @require_role(Role.SUBMITTER)
    @blp.arguments(OwnerArgs, location="query")
    @blp.response(200, TokenListOut)
    @blp.doc(security=BEARER)
    def get(self, args: dict[str, str]) -> dict[str, list[Extended]]:
        """Your tokens, newest first, by prefix (admins: `?user=` for someone else's)."""
        owner = _owner(args.get("user"))
        return {"items": [_token_out(token, owner) for token in _people().tokens(owner)]}

    @require_role(Role.SUBMITTER)
    @blp.arguments(TokenIn)
    @blp.response(201, NewTokenOut, description="The new token, shown only now.")
    @blp.doc(security=BEARER)
    def post(self, data: dict[str, str]) -> tuple[Extended, int]:
        """A new token for you (admins: for the `user` named)."""
        owner = _owner(data.get("user"))
        people = _people()
        secret = people.issue_token(owner)
        token = next(t for t in people.tokens(owner) if t.prefix == secret[: len(t.prefix)])
        return Extended(_token_out(token, owner), token=secret), 201


@blp.route("/tokens/<prefix>", methods=["DELETE"])
@require_role(Role.SUBMITTER)
@blp.arguments(OwnerArgs, location="query")
@blp.response(204)
@blp.alt_response(404, description="None of your live tokens starts with this prefix.")
@blp.doc(security=BEARER)
def revoke(args: dict[str, str], prefix: str) -> Response:
    """Revoke one of your tokens by its prefix (admins: `?user=` for someone else's); it stops at once."""
    owner = _owner(args.get("user"))
    if _people().revoke(prefix, owner) == 0:
        raise NotFoundError("None of the live tokens starts with this prefix.")
    return Response(status=204)
