"""The example desk `factdesk demo` loads: claims restated from a real UPI report (Nov. 2025).

Every state shows: published verdicts (one corrected), a proposal in review, a claim in
research, a dismissed duplicate, and claims just submitted, with their sources archived; and the
whole report, restated (`report.txt`), read into sentences worth checking.
"""

import io
import json
from dataclasses import dataclass
from datetime import date
from importlib import resources
from typing import Unpack

from sqlalchemy.orm import Session

from claims.models import Claim
from claims.reporting.services import ExtractionInput
from claims.services import AppearanceData
from claims.verification import TransitionFields
from service.accounts.models import Role, User
from service.accounts.services import UserService
from service.composition import Services
from service.core.config import Settings
from service.core.effects import Effect

DEMO_USER = "demo-newsroom"
PEOPLE = {
    "demo-newsroom": Role.SUBMITTER,
    "demo-reviewer-ana": Role.REVIEWER,
    "demo-reviewer-ben": Role.REVIEWER,
    "demo-editor": Role.EDITOR,
}


@dataclass
class DemoResult:
    created: int
    existing: int


def _file(name: str) -> bytes:
    return resources.files("service.ops.demo").joinpath(name).read_bytes()


def load_demo(session: Session, settings: Settings) -> DemoResult:
    """Load the example desk (committing as it goes); running it again adds nothing."""
    data = json.loads(_file("korea-un-resolution.json"))
    users = UserService(session)
    people = {name: users.by_name(name) or users.add(name, role) for name, role in PEOPLE.items()}
    services = Services(session, settings)
    story: AppearanceData = {
        "title": data["story"]["title"],
        "publisher": data["story"]["publisher"],
        "published_at": date.fromisoformat(data["story"]["published_at"]),
    }
    result = DemoResult(0, 0)
    claims = []
    for item in data["claims"]:
        submission = services.claims.submit(
            people[DEMO_USER],
            {
                "text": item["text"],
                "claimant": item["claimant"],
                "tags": item["tags"],
                "language": "en",
                "appearance": {**story, "quote": item["quote"], "url": None},
            },
        )
        claims.append(submission.claim)
        result.created += submission.created
        result.existing += not submission.created
    session.flush()
    if result.created:
        _work_on(services, claims, people)
        _extract_report(services, people[DEMO_USER], data["story"])
    return result


def _extract_report(services: Services, newsroom: User, story: dict[str, str]) -> None:
    """The whole report (restated), read into sentences as a newsroom pasting it would see it:
    the check-worthy ones marked and matched against the claims above."""
    services.session.commit()
    body: ExtractionInput = {
        "text": _file("report.txt").decode("utf-8").strip(),
        "title": story["title"],
        "publisher": story["publisher"],
        "published_at": date.fromisoformat(story["published_at"]),
    }
    plan = services.extractions.plan(body)
    services.session.commit()
    services.extractions.start(newsroom, body, plan)


def _work_on(services: Services, claims: list[Claim], people: dict[str, User]) -> None:
    ana, ben, editor = people["demo-reviewer-ana"], people["demo-reviewer-ben"], people["demo-editor"]
    statement, _ = services.sources.add_upload(
        ana.id,
        {
            "title": "Statement of the Foreign Ministry to UPI",
            "publisher": "Republic of Korea, MOFA",
            "kind": "statement",
        },
        _stream("ministry-statement.txt"),
        "ministry-statement.txt",
        1_000_000,
    )
    report, _ = services.sources.add_upload(
        ana.id,
        {
            "title": "South Korea to co-sponsor U.N. resolution on North Korean human rights (excerpt)",
            "publisher": "UPI",
            "kind": "news",
        },
        _stream("upi-excerpt.txt"),
        "upi-excerpt.txt",
        1_000_000,
    )
    _read_texts(services)

    def step(claim: Claim, who: User, action: str, **fields: Unpack[TransitionFields]) -> None:
        services.verification.apply(claim.id, who, [claim.etag], {"action": action, **fields})

    def cite(claim: Claim, source_id: str, relation: str, exact: str) -> None:
        services.citations.add(
            claim.id, ana, {"source_id": source_id, "relation": relation, "quote": {"exact": exact}}
        )

    seoul, forty_one, united_states = claims[0], claims[1], claims[2]
    # Published: the ministry's own statement settles it.
    cite(seoul, statement.id, "supports", "has participated as a co-sponsor of this resolution")
    step(seoul, ana, "start_research")
    step(
        seoul,
        ana,
        "propose",
        rating="true",
        summary="The Foreign Ministry's statement to UPI says the "
        "government has participated as a co-sponsor of the resolution.",
    )
    step(seoul, ben, "approve")
    # Published, then corrected: first rated on the report alone, then marked unverifiable until
    # the U.N. sponsor list is archived.
    cite(united_states, report.id, "supports", "The United States was not among the sponsoring countries.")
    step(united_states, ana, "start_research")
    step(
        united_states,
        ana,
        "propose",
        rating="mostly_true",
        summary="UPI reports that the United States was not among the sponsoring countries.",
    )
    step(united_states, ben, "approve")
    step(
        united_states, editor, "correct", note="A news report is not the primary source: the sponsor list is."
    )
    step(
        united_states,
        ana,
        "propose",
        rating="unverifiable",
        summary="Only the U.N. sponsor list (document "
        "A/C.3/80/L) settles this; until it is archived here, the report alone is not enough.",
    )
    step(
        united_states,
        ben,
        "approve",
        correction_note="Rated mostly true on a news report alone; now "
        "unverifiable until the primary source, the U.N. sponsor list, is archived.",
    )
    # In review: proposed by one reviewer, waiting for another.
    cite(forty_one, report.id, "context", "South Korea was among the 41 U.N. member states")
    step(forty_one, ana, "start_research")
    step(
        forty_one,
        ana,
        "propose",
        rating="unverifiable",
        summary="The count of 41 co-sponsors comes from the "
        "report; the U.N. document listing the sponsors is needed to confirm it.",
    )
    # In research, and a dismissed duplicate of an earlier claim.
    step(claims[6], ben, "start_research")
    step(
        claims[7],
        editor,
        "dismiss",
        reason="not_checkable",
        note="Restates the previous claim; kept for its appearance.",
    )


def _read_texts(services: Services) -> None:
    """Read the uploaded documents' texts as the worker would, outside any write transaction (the
    steps of read_work_write, on this session): what is stored so far is committed first."""
    services.session.commit()
    for effect, snapshot_id in services.effects.drain():
        if effect != Effect.EXTRACT:
            continue
        plan = services.captures.plan_text(snapshot_id)
        services.session.commit()
        if plan is not None:
            services.captures.record_text(plan, services.captures.read_text(plan))
            services.session.commit()


def _stream(name: str) -> io.BytesIO:
    return io.BytesIO(_file(name))
