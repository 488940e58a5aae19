"""The verification workflow: applies the transitions of `claims.workflow.TRANSITIONS`.

`VerificationService.apply(claim_id, user, if_match, body)` checks the table (status, role,
fields), then the action's own rule, changes the claim and writes one history event, all in
the caller's transaction.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Required, TypedDict

import sqlalchemy as sa
from sqlalchemy.orm import Session
from sqlmodel import col, select

from claims.errors import ClaimNotFound, InvalidTransition, StaleClaim
from claims.history import History, verdict_digest
from claims.models import (
    AnchorStatus,
    Approval,
    Claim,
    ClaimStatus,
    Proposal,
    ProposalState,
    PublicSnapshot,
    Relation,
    Verdict,
)
from claims.public import freeze
from claims.services import ClaimService
from claims.workflow import BY_ACTION, RatingScale, allowed_actions
from service.accounts.models import Role, User
from service.core.database import utcnow
from service.core.errors import ConflictError, ForbiddenError, InvalidInputError
from service.core.etags import etag_matches
from sources.models import Snapshot

SUPPORTING = (Relation.SUPPORTS, Relation.REFUTES)


class TransitionFields(TypedDict, total=False):
    """The fields a transition may take; the workflow table says which ones each action needs."""

    assignee: str
    rating: str
    summary: str
    note: str
    correction_note: str
    reason: str
    duplicate_of: str


class TransitionBody(TransitionFields, total=False):
    """A transition as `TransitionIn` loads it: the action and its fields."""

    action: Required[str]


@dataclass
class Outcome:
    """What a handler did, for the history event (and the event subscribers hear of)."""

    to_status: ClaimStatus
    note: str | None = None
    verdict_version: int | None = None
    event: str | None = None
    content_hash: str | None = None  # what the history event attests (a published verdict)


def _ignore(event: str, claim: Claim) -> None:
    """The default event sink: nobody listens."""


class VerificationService:
    def __init__(
        self,
        session: Session,
        claims: ClaimService,
        history: History,
        scale: RatingScale,
        approvals_required: int = 1,
        notify: Callable[[str, Claim], None] = _ignore,
    ) -> None:
        self.session = session
        self.claims = claims
        self.history = history
        self.scale = scale
        self.approvals_required = approvals_required
        self.notify = notify  # e.g. the webhook outbox: called in the same transaction

    def apply(self, claim_id: str, user: User, expected: list[str], body: TransitionBody) -> Claim:
        """Apply `body["action"]` to the claim at the version the caller read."""
        rule = BY_ACTION[body["action"]]
        claim = self.claims.get(claim_id, user, lock=True)
        if not etag_matches(claim.etag, expected):
            raise StaleClaim("The claim has changed since you read it; fetch it and try again.")
        if claim.status not in rule.from_statuses:
            raise InvalidTransition(
                f"`{rule.action}` is not possible while the claim is {claim.status}.",
                allowed_actions=allowed_actions(claim.status, user.role),
            )
        if not user.has_role(rule.role):
            raise ForbiddenError(f"`{rule.action}` needs the {rule.role} role; you are a {user.role}.")
        errors = {f: ["Required for this action."] for f in rule.required if not body.get(f)}
        errors |= {
            f: [f"Not used by `{rule.action}`."]
            for f in body
            if f != "action" and f not in rule.required + rule.optional
        }
        if errors:
            raise InvalidInputError(f"The fields do not fit `{rule.action}`.", errors)
        from_status = claim.status
        handler: Callable[[Claim, User, TransitionBody], Outcome] = getattr(self, f"_{rule.action}")
        outcome = handler(claim, user, body)
        claim.status = outcome.to_status
        note = outcome.note if outcome.note is not None else body.get("note")
        event = self.history.record(
            claim,
            user.id,
            rule.action,
            from_status=from_status,
            to_status=claim.status,
            note=note,
            verdict_version=outcome.verdict_version,
            content_hash=outcome.content_hash,
        )
        if outcome.content_hash is not None and claim.verdict is not None:  # a verdict was published
            claim.verdict.history_seq, claim.verdict.history_hash = event.seq, event.hash
        self.claims.touch(claim)
        if outcome.event:
            self.notify(outcome.event, claim)
        return claim

    # -- one handler per action ---------------------------------------------------------------

    def _start_research(self, claim: Claim, user: User, body: TransitionBody) -> Outcome:
        assignee = self.session.get(User, body.get("assignee") or user.id)
        if assignee is None or assignee.disabled_at is not None or not assignee.has_role(Role.REVIEWER):
            raise InvalidInputError("The assignee must be a reviewer.", {"assignee": ["Not a reviewer."]})
        claim.assignee_id = assignee.id
        return Outcome(ClaimStatus.RESEARCHING, body.get("note") or f"Assigned to {assignee.name}.")

    def _propose(self, claim: Claim, user: User, body: TransitionBody) -> Outcome:
        rating = body["rating"]
        if rating not in self.scale:
            keys = ", ".join(r.key for r in self.scale.ratings)
            raise InvalidInputError("Unknown rating.", {"rating": [f"One of {keys}."]})
        _every_quote_found(claim, "propose")
        archived = [c for c in claim.citations if c.source.good_snapshot_id is not None]
        if not archived:
            raise ConflictError(
                "A verdict needs at least one citation of a source with a successful snapshot."
            )
        if rating != "unverifiable" and not any(
            c.relation in SUPPORTING and c.anchor_status == AnchorStatus.FOUND for c in archived
        ):
            raise ConflictError(
                "A rating other than `unverifiable` needs a `supports` or `refutes` citation whose "
                "quote was found in its archived source."
            )
        proposal = Proposal(claim_id=claim.id, rating=rating, summary=body["summary"], proposer_id=user.id)
        self.session.add(proposal)
        self.session.flush()
        claim.pending_proposal_id = proposal.id
        claim.proposal = proposal
        label = self.scale[rating].label
        return Outcome(ClaimStatus.IN_REVIEW, body.get("note") or f"Proposed: {label}.")

    def _approve(self, claim: Claim, user: User, body: TransitionBody) -> Outcome:
        proposal = self._pending(claim)
        if proposal.proposer_id == user.id:
            raise ForbiddenError("You proposed this verdict; another reviewer must approve it.")
        approvers = [a.approver_id for a in proposal.approvals]
        if user.id in approvers:
            raise ConflictError("You have approved this proposal already.")
        _every_quote_found(claim, "approve")  # a quote may have gone from its source since
        correcting = claim.verdict_version > 0
        publishes = len(approvers) + 1 >= self.approvals_required
        if publishes and correcting and not body.get("correction_note"):
            raise InvalidInputError(
                "This approval publishes a correction: say what changed, for readers.",
                {"correction_note": ["Required when a correction is published."]},
            )
        approval = Approval(proposal_id=proposal.id, approver_id=user.id)
        self.session.add(approval)
        proposal.approvals.append(approval)
        if not publishes:
            return Outcome(
                ClaimStatus.IN_REVIEW, f"Approval {len(approvers) + 1} of {self.approvals_required}."
            )
        verdict = Verdict(
            claim_id=claim.id,
            version=claim.verdict_version + 1,
            rating=proposal.rating,
            summary=proposal.summary,
            proposer_id=proposal.proposer_id,
            approvers=[*approvers, user.id],
            proposed_at=proposal.created_at,
            published_at=utcnow(),
            correction_note=body.get("correction_note") if correcting else None,
        )
        verdict.evidence, verdict.record = freeze(claim, self._snapshots(claim))
        self.session.add(verdict)
        self._make_archives_public(claim)
        claim.verdicts.append(verdict)
        claim.verdict_version, claim.rating = verdict.version, verdict.rating
        claim.needs_review = False
        claim.pending_proposal_id, claim.proposal = None, None
        proposal.state = ProposalState.PUBLISHED
        note = (
            body.get("correction_note")
            or body.get("note")
            or f"Published: {self.scale[verdict.rating].label}."
        )
        event = "claim.published" if verdict.version == 1 else "claim.corrected"
        return Outcome(ClaimStatus.PUBLISHED, note, verdict.version, event, verdict_digest(verdict))

    def _request_changes(self, claim: Claim, user: User, body: TransitionBody) -> Outcome:
        self._set_aside(claim, ProposalState.CHANGES_REQUESTED)
        return Outcome(ClaimStatus.RESEARCHING)

    def _correct(self, claim: Claim, user: User, body: TransitionBody) -> Outcome:
        return Outcome(ClaimStatus.RESEARCHING)

    def _dismiss(self, claim: Claim, user: User, body: TransitionBody) -> Outcome:
        if claim.verdict_version > 0:
            raise ConflictError("This claim has a published verdict: correct it rather than dismiss it.")
        note = body.get("note") or f"Dismissed: {body['reason'].replace('_', ' ')}."
        if body["reason"] == "duplicate":
            kept = self._duplicate_target(claim, user, body.get("duplicate_of"))
            moved = self.claims.move_appearances(claim, kept)
            claim.duplicate_of = kept.id
            self.history.record(
                kept,
                user.id,
                "duplicate_merged",
                note=f"{claim.id} was dismissed as a duplicate of this claim; "
                f"{moved} appearance(s) moved here.",
            )
            self.claims.touch(kept)
            note = (
                f"Duplicate of {kept.id}; {moved} appearance(s) moved there. {body.get('note') or ''}".strip()
            )
        elif body.get("duplicate_of"):
            raise InvalidInputError(
                "Only a duplicate has `duplicate_of`.", {"duplicate_of": ["Only with reason `duplicate`."]}
            )
        self._set_aside(claim, ProposalState.DISMISSED)
        return Outcome(ClaimStatus.DISMISSED, note)

    def _reopen(self, claim: Claim, user: User, body: TransitionBody) -> Outcome:
        claim.duplicate_of = None
        return Outcome(ClaimStatus.SUBMITTED)

    # -- helpers ------------------------------------------------------------------------------

    def _snapshots(self, claim: Claim) -> dict[str, Snapshot]:
        """The archived copies the claim's quotes were found in, by id (one statement)."""
        ids = {c.anchor_snapshot_id for c in claim.citations if c.anchor_snapshot_id}
        if not ids:
            return {}
        return {s.id: s for s in self.session.scalars(select(Snapshot).where(col(Snapshot.id).in_(ids)))}

    def _make_archives_public(self, claim: Claim) -> None:
        """The copies the new verdict's evidence cites become public; those it no longer does, not."""
        self.session.execute(sa.delete(PublicSnapshot).where(col(PublicSnapshot.claim_id) == claim.id))
        cited = {(c.anchor_snapshot_id, c.source_id) for c in claim.citations if c.anchor_snapshot_id}
        for snapshot_id, source_id in sorted(cited):
            self.session.add(PublicSnapshot(snapshot_id=snapshot_id, claim_id=claim.id, source_id=source_id))

    def _pending(self, claim: Claim) -> Proposal:
        if claim.proposal is None:  # in_review always has one; a defect if not
            raise ConflictError("There is no pending proposal to act on.")
        return claim.proposal

    def _set_aside(self, claim: Claim, state: ProposalState) -> None:
        if claim.proposal is not None:
            claim.proposal.state = state
        claim.pending_proposal_id, claim.proposal = None, None

    def _duplicate_target(self, claim: Claim, user: User, target_id: str | None) -> Claim:
        if not target_id:
            raise InvalidInputError(
                "Name the claim this one duplicates.",
                {"duplicate_of": ["Required when the reason is `duplicate`."]},
            )
        if target_id == claim.id:
            raise InvalidInputError("A claim cannot duplicate itself.", {"duplicate_of": ["Itself."]})
        try:
            target = self.claims.get(target_id, user, lock=True)
        except ClaimNotFound as exc:
            raise InvalidInputError("No such claim.", {"duplicate_of": ["Unknown claim."]}) from exc
        if target.status == ClaimStatus.DISMISSED:
            raise InvalidInputError(
                "That claim is dismissed itself.", {"duplicate_of": ["Point at the claim that is kept."]}
            )
        return target


def _every_quote_found(claim: Claim, action: str) -> None:
    """409 naming each citation whose quote is not found in its archived source: readers are only
    ever shown evidence that was (remove such a citation, or fix its quote, first)."""
    unfound = [c for c in claim.citations if c.anchor_status != AnchorStatus.FOUND]
    if unfound:
        listed = "; ".join(f"{c.id} ({c.anchor_status.replace('_', ' ')}): “{c.exact[:80]}”" for c in unfound)
        raise ConflictError(
            f"`{action}` needs every quote found in its archived source; not found: {listed}. "
            "Remove these citations or correct their quotes first.",
            citations=[{"id": c.id, "anchor_status": c.anchor_status, "exact": c.exact} for c in unfound],
        )
