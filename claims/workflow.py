"""The verification workflow as data: one table of transitions, and the rating scale.

`TRANSITIONS` is read by the service (`claims.verification`), the API's problem details
(`allowed_actions`), `GET /api/v1/workflow`, the docs and the tests alike.
"""

import json
import re
import tomllib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from claims.models import ClaimStatus
from service.accounts.models import Role

DISMISS_REASONS = ("duplicate", "not_checkable", "opinion", "out_of_scope")


@dataclass(frozen=True)
class Transition:
    action: str
    from_statuses: tuple[ClaimStatus, ...]
    to_status: ClaimStatus
    role: Role  # the minimum role
    required: tuple[str, ...]  # body fields the action needs
    optional: tuple[str, ...]  # body fields it may take
    guard: str  # the rule beyond status and role, in words (the service enforces it)


TRANSITIONS: tuple[Transition, ...] = (
    Transition(
        "start_research",
        (ClaimStatus.SUBMITTED,),
        ClaimStatus.RESEARCHING,
        Role.REVIEWER,
        (),
        ("assignee", "note"),
        "The assignee (default: the caller) is a reviewer or above.",
    ),
    Transition(
        "propose",
        (ClaimStatus.RESEARCHING,),
        ClaimStatus.IN_REVIEW,
        Role.REVIEWER,
        ("rating", "summary"),
        ("note",),
        "At least one citation whose source has a successful snapshot; unless the rating is "
        "`unverifiable`, at least one `supports` or `refutes` citation whose quote was found.",
    ),
    Transition(
        "approve",
        (ClaimStatus.IN_REVIEW,),
        ClaimStatus.PUBLISHED,
        Role.REVIEWER,
        (),
        ("correction_note", "note"),
        "Not the proposer, not twice by one person; publishes once FACTDESK_APPROVALS_REQUIRED "
        "people have approved. A correction needs `correction_note`, shown publicly.",
    ),
    Transition(
        "request_changes",
        (ClaimStatus.IN_REVIEW,),
        ClaimStatus.RESEARCHING,
        Role.REVIEWER,
        ("note",),
        (),
        "The pending proposal is set aside.",
    ),
    Transition(
        "correct",
        (ClaimStatus.PUBLISHED,),
        ClaimStatus.RESEARCHING,
        Role.EDITOR,
        ("note",),
        (),
        "The published verdict stays public until the corrected one is approved.",
    ),
    Transition(
        "dismiss",
        (ClaimStatus.SUBMITTED, ClaimStatus.RESEARCHING, ClaimStatus.IN_REVIEW),
        ClaimStatus.DISMISSED,
        Role.EDITOR,
        ("reason",),
        ("duplicate_of", "note"),
        "Not a claim with a published verdict. `duplicate` needs `duplicate_of`, another claim "
        "that is not dismissed; this claim's appearances move to it.",
    ),
    Transition(
        "reopen", (ClaimStatus.DISMISSED,), ClaimStatus.SUBMITTED, Role.EDITOR, ("note",), (), "None."
    ),
)
BY_ACTION = {t.action: t for t in TRANSITIONS}


def allowed_actions(status: str, role: str | None) -> list[str]:
    """The actions the table allows from `status` to someone with `role`."""
    return [
        t.action
        for t in TRANSITIONS
        if status in t.from_statuses and role is not None and Role(role).includes(t.role)
    ]


@dataclass(frozen=True)
class Rating:
    key: str
    label: str
    value: int | None  # ClaimReview ratingValue, worst 1 .. best 5; None: alternateName only
    color: str  # badge colour, hex


DEFAULT_SCALE: tuple[Rating, ...] = (
    Rating("true", "True", 5, "#2e7d32"),
    Rating("mostly_true", "Mostly true", 4, "#7cb342"),
    Rating("mixed", "Mixed", 3, "#f9a825"),
    Rating("mostly_false", "Mostly false", 2, "#ef6c00"),
    Rating("false", "False", 1, "#c62828"),
    Rating("misleading", "Misleading", 2, "#ef6c00"),
    Rating("unverifiable", "Unverifiable", None, "#757575"),
)


class RatingScaleError(ValueError):
    """The rating scale file cannot be used; the message says why."""


class RatingScale:
    """The ratings a verdict may carry, by key, in display order."""

    def __init__(self, ratings: tuple[Rating, ...] = DEFAULT_SCALE) -> None:
        self.ratings = ratings
        self.by_key = {r.key: r for r in ratings}

    def __contains__(self, key: object) -> bool:
        return key in self.by_key

    def __getitem__(self, key: str) -> Rating:
        return self.by_key[key]

    def get(self, key: str) -> Rating | None:
        """The rating with this key, or None when the scale has none (it was removed from it)."""
        return self.by_key.get(key)

    @classmethod
    def from_file(cls, path: str | Path) -> "RatingScale":
        """A scale from a JSON or TOML file: a list `ratings` of {key, label, value, color}."""
        path = Path(path)
        try:
            raw = path.read_bytes()
            data = tomllib.loads(raw.decode()) if path.suffix == ".toml" else json.loads(raw)
        except (OSError, ValueError) as exc:
            raise RatingScaleError(f"FACTDESK_RATING_SCALE: cannot read {path}: {exc}") from exc
        items = data.get("ratings") if isinstance(data, dict) else data
        if not isinstance(items, list) or not items:
            raise RatingScaleError(f"FACTDESK_RATING_SCALE: {path} needs a non-empty list `ratings`.")
        ratings = []
        for i, item in enumerate(items):
            if not isinstance(item, dict) or set(item) - {"key", "label", "value", "color"}:
                raise RatingScaleError(f"FACTDESK_RATING_SCALE: rating {i} needs key, label, value, color.")
            key, label = item.get("key"), item.get("label")
            value, color = item.get("value"), item.get("color", "#757575")
            if not (isinstance(key, str) and key.isidentifier() and isinstance(label, str) and label):
                raise RatingScaleError(f"FACTDESK_RATING_SCALE: rating {i} needs a key (a-z, _) and a label.")
            if value is not None and (not isinstance(value, int) or not 1 <= value <= 5):
                raise RatingScaleError(f"FACTDESK_RATING_SCALE: {key}: value must be 1 to 5 or null.")
            if not (isinstance(color, str) and re.fullmatch(r"#[0-9a-fA-F]{6}", color)):
                raise RatingScaleError(f"FACTDESK_RATING_SCALE: {key}: color must look like #1a2b3c.")
            ratings.append(Rating(key, label, value, color))
        if len({r.key for r in ratings}) != len(ratings):
            raise RatingScaleError("FACTDESK_RATING_SCALE: rating keys must be unique.")
        return cls(tuple(ratings))


@lru_cache(maxsize=4)
def load_scale(path: str = "") -> RatingScale:
    """The scale in FACTDESK_RATING_SCALE (`path`), or the default one; read once per process."""
    return RatingScale.from_file(path) if path else RatingScale()


_active: list[RatingScale] = [RatingScale()]


def activate_scale(path: str = "") -> RatingScale:
    """Load the configured scale (a bad file raises RatingScaleError) and make it the one labels use."""
    _active[0] = load_scale(path)
    return _active[0]


def active_scale() -> RatingScale:
    """The scale the running service was started with."""
    return _active[0]
