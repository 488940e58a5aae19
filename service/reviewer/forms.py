"""Form parsing for the desk: HTML form fields become the bodies the JSON API's own schemas load.

The desk validates with the same marshmallow schemas as the API (`claims.schemas`), so each rule
on a field is written once; errors come back keyed by the form's field names.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from marshmallow import Schema, ValidationError, fields, validate

from claims.citations import NewCitation
from claims.reporting.schemas import ExtractionClaimsIn, ExtractionIn
from claims.reporting.services import ClaimChoice, ExtractionInput
from claims.schemas import AppearanceIn, CitationIn, ClaimIn, ClaimListArgs, ClaimPatch, TransitionIn
from claims.services import AppearanceData, ClaimChanges, ClaimFilters, NewClaim
from claims.verification import TransitionBody
from claims.workflow import BY_ACTION
from service.accounts.models import ROLES, User
from service.accounts.services import UserService
from service.core.errors import InvalidInputError
from service.core.fields import Text
from service.web.problems import flatten_messages
from sources.models import SourceHealth
from sources.schemas import SourceUploadIn
from sources.services import NewUpload

CHECK_FIELDS = "Check the fields marked below."
# Nested API names → the flat names of the citation form's controls.
_CITATION_NAMES = {"quote.exact": "exact", "quote.prefix": "prefix", "quote.suffix": "suffix", "body": "form"}


def _filled(form: Mapping[str, str], names: Iterable[str]) -> dict[str, str]:
    # An empty control means "not given", as a JSON client would leave the field out.
    return {name: form[name] for name in names if form.get(name, "").strip()}


def _load(schema: Schema, data: Mapping[str, object], names: Mapping[str, str] | None = None) -> Any:
    try:
        return schema.load(data)
    except ValidationError as exc:
        errors = flatten_messages(exc.messages)
        names = names or {"body": "form"}
        named: dict[str, list[str]] = {}
        for key, messages in errors.items():
            # One control holds every tag: `tags.3` is the tags field's error.
            field = names.get(key, "tags" if key.startswith("tags.") else key)
            named.setdefault(field, []).extend(messages)
        raise InvalidInputError(CHECK_FIELDS, named) from exc


def sign_in_fields(form: Mapping[str, str]) -> tuple[str, str]:
    """The name and password typed into the sign-in form."""
    name, password = form.get("name", "").strip(), form.get("password", "")
    errors = {}
    if not name:
        errors["name"] = ["Type your username."]
    if not password:
        errors["password"] = ["Type your password."]
    if errors:
        raise InvalidInputError(CHECK_FIELDS, errors)
    return name, password


def transition_body(form: Mapping[str, str]) -> TransitionBody:
    """The body of a workflow transition, as `POST /api/v1/claims/{id}/transitions` takes it."""
    rule = BY_ACTION.get(form.get("action", ""))
    if rule is None:
        raise InvalidInputError("This form names no action the workflow knows.", {"action": ["Unknown."]})
    body: TransitionBody = _load(
        TransitionIn(), {"action": rule.action, **_filled(form, rule.required + rule.optional)}
    )
    return body


def form_etag(form: Mapping[str, str]) -> list[str]:
    """The version of the claim the form was rendered from (its hidden `etag` field)."""
    etag = form.get("etag", "").strip()
    if not etag:
        raise InvalidInputError("This form lost its claim version: reload the page.", {"form": ["No etag."]})
    return [etag]


def citation_body(form: Mapping[str, str]) -> NewCitation:
    """The body of a citation, as `POST /api/v1/claims/{id}/citations` takes it."""
    data: dict[str, object] = {
        **_filled(form, ("source_id", "url", "relation", "locator", "note")),
        "quote": _filled(form, ("exact", "prefix", "suffix")),
    }
    citation: NewCitation = _load(CitationIn(), data, _CITATION_NAMES)
    return citation


APPEARANCE_FIELDS = ("url", "title", "publisher", "published_at", "quote")


def _tag_list(value: str) -> list[str]:
    return [t.strip() for t in value.split(",") if t.strip()]


def _appearance_names(prefix: str) -> dict[str, str]:
    # The appearance's API names → the form's (`appearance.url` → `appearance_url`, say).
    names = {f"{prefix}{n}": f"appearance_{n}" for n in APPEARANCE_FIELDS}
    return {**names, "body": "form"}


def new_claim(form: Mapping[str, str]) -> NewClaim:
    """A claim as `POST /api/v1/claims` takes it: text, claimant, tags (comma-separated) and,
    when any of its fields is filled, one appearance."""
    data: dict[str, object] = {**_filled(form, ("text", "claimant", "language"))}
    tags = _tag_list(form.get("tags", ""))
    if tags:
        data["tags"] = tags
    appearance = _filled({n: form.get(f"appearance_{n}", "") for n in APPEARANCE_FIELDS}, APPEARANCE_FIELDS)
    if appearance:
        data["appearance"] = appearance
    claim: NewClaim = _load(ClaimIn(), data, _appearance_names("appearance."))
    return claim


def appearance(form: Mapping[str, str]) -> AppearanceData:
    """An appearance as `POST /api/v1/claims/{id}/appearances` takes it."""
    data = _filled({n: form.get(f"appearance_{n}", "") for n in APPEARANCE_FIELDS}, APPEARANCE_FIELDS)
    loaded: AppearanceData = _load(AppearanceIn(), data, _appearance_names(""))
    return loaded


def claim_changes(form: Mapping[str, str]) -> ClaimChanges:
    """An edit as `PATCH /api/v1/claims/{id}` takes it: the text, and the claimant and tags as
    the form has them now (an emptied field clears them)."""
    data = {
        "text": form.get("text", "").strip(),
        "claimant": form.get("claimant", "").strip() or None,
        "tags": _tag_list(form.get("tags", "")),
    }
    changes: ClaimChanges = _load(ClaimPatch(), data)
    return changes


QUEUE_ORDERS = {
    "newest": "Newest first",
    "oldest": "Oldest first",
    "changed": "Recently changed",
    "review": "Needs review first",
}


class QueueArgs(ClaimListArgs):
    """The queue's query string: the API's filters, with an order and a numbered page."""

    class Meta:
        exclude = ("cursor",)

    sort = fields.String(load_default="newest", validate=validate.OneOf(QUEUE_ORDERS))
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))


@dataclass
class QueueQuery:
    filters: ClaimFilters
    sort: str
    limit: int
    page: int


def queue_filters(args: Mapping[str, str], me: User, page_size: int) -> QueueQuery:
    """Filters, order, page size and page of the queue, from its query string (`mine` = assigned
    to me)."""
    names = [n for n in QueueArgs().fields if n != "limit"]
    loaded = _load(QueueArgs(), {**_filled(args, names), "limit": args.get("limit") or page_size})
    filters = ClaimFilters(**{k: loaded.get(k) for k in ClaimFilters.__dataclass_fields__})
    if args.get("mine"):
        filters.assignee = me.id
    return QueueQuery(filters, loaded["sort"], loaded["limit"], loaded["page"])


class SourceListArgs(Schema):
    """The sources list's query string: words in title, URL or publisher, health, a page."""

    q = Text(max=200)
    health = fields.String(validate=validate.OneOf(tuple(SourceHealth)))
    page = fields.Integer(load_default=1, validate=validate.Range(1, 1_000_000))


def source_list_args(args: Mapping[str, str]) -> dict[str, Any]:
    """`q`, `health` (absent when not given) and `page` of the sources list."""
    loaded: dict[str, Any] = _load(SourceListArgs(), _filled(args, ("q", "health", "page")))
    return loaded


def upload_fields(form: Mapping[str, str]) -> NewUpload:
    """The fields beside an uploaded document, as the API's multipart upload takes them."""
    loaded: NewUpload = _load(SourceUploadIn(), _filled(form, ("url", "title", "publisher", "kind")))
    return loaded


def extraction_body(form: Mapping[str, str]) -> ExtractionInput:
    """A report pasted or named by its URL, as `POST /api/v1/extractions` takes it."""
    fields = (
        ("url",)
        if not form.get("text", "").strip()
        else ("text", "url", "title", "publisher", "published_at")
    )
    data = _filled(form, fields)
    if not data:
        raise InvalidInputError(CHECK_FIELDS, {"text": ["Paste the report, or give its URL."]})
    body: ExtractionInput = _load(ExtractionIn(), data)
    return body


def claim_choices(form: Any) -> list[ClaimChoice]:
    """The ticked sentences (`pick`), each with its edited wording (`text-<index>`), and the
    claimant and tags given for all of them."""
    items: list[dict[str, Any]] = []
    for value in form.getlist("pick"):
        item: dict[str, Any] = {"index": value}
        wording = form.get(f"text-{value}", "").strip()
        if wording:
            item["text"] = wording
        if form.get("claimant", "").strip():
            item["claimant"] = form["claimant"]
        tags = [t.strip() for t in form.get("tags", "").split(",") if t.strip()]
        if tags:
            item["tags"] = tags
        items.append(item)
    if not items:
        raise InvalidInputError(CHECK_FIELDS, {"pick": ["Tick at least one sentence."]})
    loaded: dict[str, list[ClaimChoice]] = _load(ExtractionClaimsIn(), {"items": items})
    return loaded["items"]


def new_user_fields(form: Mapping[str, str]) -> tuple[str, str]:
    """The name and role of a user to add, as `POST /api/v1/users` takes them."""
    name, role = form.get("name", "").strip(), form.get("role", "")
    errors = {}
    if not name or len(name) > 80:
        errors["name"] = ["A user name has 1 to 80 characters."]
    if role not in ROLES:
        errors["role"] = [f"One of {', '.join(ROLES)}."]
    if errors:
        raise InvalidInputError(CHECK_FIELDS, errors)
    return name, role


def apply_person_change(users: UserService, user: User, form: Mapping[str, str]) -> str:
    """Apply the one change a people-page form asks for (`role`, or `disabled` = 1 or 0); what
    was done, in words."""
    if "role" in form:
        role = form["role"]
        if role not in ROLES:
            raise InvalidInputError(f"Unknown role {role[:40]!r}.", {"role": [f"One of {', '.join(ROLES)}."]})
        users.set_role(user, role)
        return f"{user.name} is now {'an' if role[0] in 'aeiou' else 'a'} {role}."
    disabled = form.get("disabled")
    if disabled not in ("0", "1"):
        raise InvalidInputError("This form asks for no change.", {"form": ["Give a role or disabled."]})
    users.set_disabled(user, disabled == "1")
    if disabled == "1":
        return f"{user.name} is disabled: their tokens and desk sessions stopped working."
    return f"{user.name} is enabled again: their tokens work; they sign in to the desk afresh."
