"""Property: any sequence of workflow actions by several people keeps the invariants.

Hypothesis drives the service (not HTTP) on the real test database: after every step, a
published claim has a verdict approved by someone other than its proposer, the history only
grows (earlier events unchanged, hash chain whole), and the status is one of the table's.
"""

import io

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlmodel import Session

from claims.models import STATUSES
from claims.workflow import BY_ACTION, DEFAULT_SCALE, DISMISS_REASONS, TRANSITIONS
from service.composition import Services
from service.core.config import Settings
from service.core.effects import Effect, dispatch
from service.core.errors import DomainError
from service.ops import jobs

SUMMARY = "A summary long enough for the rules of the desk."


@pytest.mark.slow  # 20 runs of up to 20 steps each, on the real database
@pytest.mark.parametrize("approvals_required", [1, 2])
def test_any_sequence_keeps_the_invariants(engine, make_user, tmp_path, approvals_required: int) -> None:
    people = [make_user(role) for role in ("submitter", "reviewer", "reviewer", "reviewer", "editor")]
    config = Settings(data_dir=tmp_path, approvals_required=approvals_required)

    class Workflow(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.session = Session(engine, expire_on_commit=False)
            self.desk = Services(self.session, config)
            author = people[1].user
            source, _ = self.desk.sources.add_upload(
                author.id, {}, io.BytesIO(b"The ministry confirmed the co-sponsorship."), "s.txt", 10_000
            )
            claim = self.desk.claims.submit(author, {"text": f"A claim for run {id(self)}"}).claim
            self.desk.citations.add(
                claim.id,
                author,
                {"source_id": source.id, "relation": "supports", "quote": {"exact": "confirmed the"}},
            )
            other = self.desk.claims.submit(author, {"text": f"Another claim for run {id(self)}"}).claim
            self.session.commit()
            # What the worker does once the upload is committed: read its text, anchor the quote.
            dispatch(self.desk.effects, {Effect.EXTRACT: jobs.run_text})
            self.claim_id, self.other_id = claim.id, other.id
            self.seen: list[tuple[str, str]] = self._events()

        def teardown(self) -> None:
            self.session.close()

        def _claim(self):
            self.session.expire_all()
            return self.desk.claims.get(self.claim_id, people[0].user)

        def _events(self) -> list[tuple[str, str]]:
            return [(e.id, e.hash) for e in self.desk.history.events(self.claim_id)]

        @rule(
            who=st.sampled_from(range(len(people))),
            action=st.sampled_from([t.action for t in TRANSITIONS]),
            rating=st.sampled_from([r.key for r in DEFAULT_SCALE]),
            reason=st.sampled_from(DISMISS_REASONS),
            with_note=st.booleans(),
            stale=st.booleans(),
        )
        def act(self, who: int, action: str, rating: str, reason: str, with_note: bool, stale: bool) -> None:
            claim = self._claim()
            before = claim.status
            rule_ = BY_ACTION[action]
            body = {"action": action}
            fields = {
                "rating": rating,
                "summary": SUMMARY,
                "note": "Because.",
                "reason": reason,
                "correction_note": "What changed.",
                "duplicate_of": self.other_id,
            }
            for name in rule_.required + rule_.optional:
                if name in ("note", "correction_note") and not with_note:
                    continue
                if name == "duplicate_of" and reason != "duplicate":
                    continue
                if name != "assignee":
                    body[name] = fields[name]
            etag = '"stale"' if stale else claim.etag
            try:
                after = self.desk.verification.apply(self.claim_id, people[who].user, [etag], body)
            except DomainError:
                self.session.rollback()
                return
            self.session.commit()
            assert not stale
            assert before in rule_.from_statuses
            assert after.status == rule_.to_status or (action == "approve" and after.status == "in_review")

        @invariant()
        def status_is_known(self) -> None:
            assert self._claim().status in STATUSES

        @invariant()
        def published_means_approved_by_others(self) -> None:
            claim = self._claim()
            for verdict in claim.verdicts:
                assert verdict.proposer_id not in verdict.approvers
                assert len(set(verdict.approvers)) == len(verdict.approvers) >= approvals_required
            if claim.status == "published":
                assert claim.verdict is not None
                assert claim.verdict.version == claim.verdict_version
                assert claim.rating == claim.verdict.rating
                assert claim.proposal is None
            if claim.status == "in_review":
                assert claim.proposal is not None

        @invariant()
        def history_only_grows(self) -> None:
            events = self._events()
            assert events[: len(self.seen)] == self.seen
            assert self.desk.history.check(self._claim()).intact  # links, hashes, head and verdicts
            self.seen = events

    run_state_machine_as_test(
        Workflow,
        settings=settings(
            max_examples=20,
            stateful_step_count=20,
            deadline=None,
            suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
        ),
    )
