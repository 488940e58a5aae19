"""The example desk `factdesk demo` loads: claims restated from a real UPI report (Nov. 2025)."""

import json
from dataclasses import dataclass
from datetime import date
from importlib import resources

from sqlalchemy.orm import Session

from claims.search import ClaimSearch
from claims.services import ClaimService, DuplicateFinder, History
from service.tokens import UserService

DEMO_USER = "demo-newsroom"


@dataclass
class DemoResult:
    created: int
    existing: int


def load_demo(session: Session) -> DemoResult:
    """Submit the example claims (again: nothing is duplicated) as the `demo-newsroom` user."""
    data = json.loads(resources.files("claims.demo").joinpath("korea-un-resolution.json").read_text())
    users = UserService(session)
    user = users.by_name(DEMO_USER) or users.add(DEMO_USER, "submitter")
    search = ClaimSearch(session)
    service = ClaimService(session, History(session), DuplicateFinder(search), search)
    story = {**data["story"], "published_at": date.fromisoformat(data["story"]["published_at"])}
    result = DemoResult(0, 0)
    for item in data["claims"]:
        submission = service.submit(
            user,
            {
                "text": item["text"],
                "claimant": item["claimant"],
                "tags": item["tags"],
                "language": "en",
                "appearance": {**story, "quote": item["quote"], "url": None},
            },
        )
        if submission.created:
            result.created += 1
        else:
            result.existing += 1
    return result
