"""Webhook endpoints, the outbox that records events, and delivery with retries.

`WebhookService` manages endpoints; `Outbox.emit` writes one delivery per subscribed endpoint in
the caller's transaction; `DeliveryService.attempt` sends one, signed per Standard Webhooks.
"""

import base64
import hashlib
import hmac
import json
import random
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, TypedDict

import sqlalchemy as sa
from sqlalchemy import CursorResult
from sqlalchemy.orm import Session
from sqlmodel import col, select

from claims.models import Claim
from service.core.database import utcnow
from service.core.effects import Effect, Effects
from service.core.errors import InvalidInputError, NotFoundError
from service.core.urls import absolute
from service.webhooks.models import EVENTS, Attempt, Delivery, DeliveryState, Webhook
from service.webhooks.sender import SendResult, WebhookSender
from sources.errors import CaptureFailed, CaptureRefused
from sources.netpolicy import AddressPolicy

# Standard Webhooks' suggested schedule: after the 1st failure wait ~5 s, then 5 min, … 24 h.
RETRY_DELAYS = (
    timedelta(seconds=5),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
    timedelta(hours=5),
    timedelta(hours=10),
    timedelta(hours=24),
)
OLD_SECRET_VALID_FOR = timedelta(hours=24)


class WebhookChanges(TypedDict, total=False):
    """What may change on an endpoint (`WebhookPatch`): only the keys sent."""

    url: str
    events: list[str]
    paused: bool


class WebhookNotFound(NotFoundError):
    """No such webhook."""


def new_secret() -> str:
    """A Standard Webhooks secret: `whsec_` and 24 random bytes, base64."""
    return "whsec_" + base64.b64encode(secrets.token_bytes(24)).decode()


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256 of id.timestamp.body>` with the key inside `secret`."""
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


class WebhookService:
    """Endpoints: create (the secret is shown once), list, pause, resume, rotate, delete."""

    def __init__(self, session: Session, policy: AddressPolicy) -> None:
        self.session = session
        self.policy = policy

    def create(self, user_id: str, url: str, events: list[str]) -> Webhook:
        """A new endpoint; its URL must pass the same address rule as source captures."""
        self._check_url(url)
        webhook = Webhook(url=url, events=sorted(set(events)), secret=new_secret(), created_by=user_id)
        self.session.add(webhook)
        self.session.flush()
        return webhook

    def get(self, webhook_id: str) -> Webhook:
        webhook = self.session.get(Webhook, webhook_id)
        if webhook is None:
            raise WebhookNotFound(f"No webhook {webhook_id!r}.")
        return webhook

    def all(self) -> list[Webhook]:
        return list(self.session.scalars(select(Webhook).order_by(Webhook.id)))

    def update(self, webhook_id: str, changes: WebhookChanges) -> Webhook:
        """Pause or resume (`paused`), change `events` or `url`; resuming re-enables a disabled one."""
        webhook = self.get(webhook_id)
        if "url" in changes:
            self._check_url(changes["url"])
            webhook.url = changes["url"]
        if "events" in changes:
            webhook.events = sorted(set(changes["events"]))
        if "paused" in changes:
            webhook.paused = changes["paused"]
            if not webhook.paused:
                webhook.disabled_at, webhook.disabled_reason = None, None
        self.session.flush()
        return webhook

    def rotate(self, webhook_id: str, now: datetime | None = None) -> Webhook:
        """A new secret; the old one keeps signing too for 24 hours."""
        webhook = self.get(webhook_id)
        webhook.previous_secret = webhook.secret
        webhook.previous_secret_until = (now or utcnow()) + OLD_SECRET_VALID_FOR
        webhook.secret = new_secret()
        self.session.flush()
        return webhook

    def delete(self, webhook_id: str) -> None:
        webhook = self.get(webhook_id)
        ids = select(Delivery.id).where(Delivery.webhook_id == webhook.id)
        self.session.execute(sa.delete(Attempt).where(col(Attempt.delivery_id).in_(ids)))
        self.session.execute(sa.delete(Delivery).where(col(Delivery.webhook_id) == webhook.id))
        self.session.delete(webhook)
        self.session.flush()

    def deliveries(self, webhook_id: str, limit: int = 100) -> list[tuple[Delivery, list[Attempt]]]:
        """The newest deliveries with their attempts, in two statements."""
        self.get(webhook_id)
        rows = list(
            self.session.scalars(
                select(Delivery)
                .where(Delivery.webhook_id == webhook_id)
                .order_by(col(Delivery.id).desc())
                .limit(limit)
            )
        )
        attempts: dict[str, list[Attempt]] = {d.id: [] for d in rows}
        if rows:
            for attempt in self.session.scalars(
                select(Attempt).where(col(Attempt.delivery_id).in_(attempts)).order_by(col(Attempt.id))
            ):
                attempts[attempt.delivery_id].append(attempt)
        return [(d, attempts[d.id]) for d in rows]

    def _check_url(self, url: str) -> None:
        try:
            _, port, host = self.policy.check_url(url)
            self.policy.resolve(host, port)
        except (CaptureRefused, CaptureFailed) as exc:  # not allowed, or its name does not resolve
            raise InvalidInputError(exc.detail, {"url": [exc.detail]}) from exc


class Outbox:
    """Writes a delivery for every endpoint subscribed to an event, in the caller's transaction."""

    def __init__(self, session: Session, effects: Effects) -> None:
        self.session = session
        self.effects = effects  # each delivery is sent once the transaction has committed

    def emit(self, event: str, claim: Claim) -> None:
        """Record `event` (a WebhookEvent) about `claim` for every subscriber."""
        if event not in EVENTS:
            raise ValueError(f"unknown event {event!r}")
        hooks = [
            w
            for w in self.session.scalars(select(Webhook).where(col(Webhook.disabled_at).is_(None)))
            if event in w.events
        ]
        if not hooks:
            return
        payload = json.dumps(
            {
                "type": event,
                "timestamp": utcnow().strftime("%Y-%m-%dT%H:%M:%SZ"),
                "data": {
                    "claim_id": claim.id,
                    "status": claim.status,
                    "rating": claim.rating,
                    "verdict_version": claim.verdict_version,
                    "needs_review": claim.needs_review,
                    "page_url": absolute(f"/c/{claim.id}"),
                    "badge_url": absolute(f"/badges/{claim.id}.svg"),
                },
            },
            separators=(",", ":"),
            sort_keys=True,
        )
        for webhook in hooks:
            delivery = Delivery(webhook_id=webhook.id, event=event, payload=payload)
            self.session.add(delivery)
            self.effects.add(Effect.DELIVER, delivery.id)
        self.session.flush()


@dataclass
class AttemptOutcome:
    delivery: Delivery
    sent: bool
    result: SendResult | None


@dataclass(frozen=True)
class Send:
    """One attempt, as leased: what to send where. Plain data, for use outside any transaction."""

    delivery_id: str
    url: str
    body: str
    headers: dict[str, str]
    at: datetime


class DeliveryService:
    """Sends due deliveries in three steps, so that no transaction waits on a receiver: `lease` (a
    short write), the `sender` (network only), `record` (a short write). The lease moves the
    delivery's next attempt LEASE ahead, so another worker leaves it alone meanwhile, and a worker
    that dies mid-send is retried once the lease runs out."""

    LEASE = timedelta(seconds=90)  # longer than the sender's whole deadline

    def __init__(
        self,
        session: Session,
        sender: WebhookSender,
        now: Callable[[], datetime] = utcnow,
        jitter: Callable[[], float] = lambda: random.uniform(0.9, 1.1),  # noqa: S311 - spreads retries
    ) -> None:
        self.session = session
        self.sender = sender
        self.now = now
        self.jitter = jitter

    def due(self, limit: int = 100) -> list[str]:
        """Ids of pending deliveries whose time has come, oldest first."""
        stmt = (
            select(Delivery.id)
            .join(Webhook, col(Webhook.id) == col(Delivery.webhook_id))
            .where(
                col(Delivery.state) == DeliveryState.PENDING,
                col(Delivery.next_attempt_at) <= self.now(),
                col(Webhook.paused).is_(False),
                col(Webhook.disabled_at).is_(None),
            )
            .order_by(col(Delivery.next_attempt_at))
            .limit(limit)
        )
        return list(self.session.scalars(stmt))

    def lease(self, delivery_id: str) -> Send | None:
        """Take one due delivery of an active endpoint for this worker, signed and ready to send;
        None when it is not due, done, held by another worker, or its endpoint is paused."""
        now = self.now()
        active = select(Webhook.id).where(col(Webhook.paused).is_(False), col(Webhook.disabled_at).is_(None))
        taken: CursorResult[Any] = self.session.execute(  # type: ignore[assignment]  # an UPDATE's result
            sa.update(Delivery)
            .where(
                col(Delivery.id) == delivery_id,
                col(Delivery.state) == DeliveryState.PENDING,
                col(Delivery.next_attempt_at) <= now,
                col(Delivery.webhook_id).in_(active),
            )
            .values(next_attempt_at=now + self.LEASE)
        )
        if taken.rowcount != 1:
            return None
        delivery = self.session.get(Delivery, delivery_id, populate_existing=True)
        webhook = self.session.get(Webhook, delivery.webhook_id) if delivery else None
        if delivery is None or webhook is None:
            return None
        timestamp = int(now.timestamp())
        signatures = [sign(webhook.secret, delivery.id, timestamp, delivery.payload)]
        if webhook.previous_secret and webhook.previous_secret_until and webhook.previous_secret_until > now:
            signatures.append(sign(webhook.previous_secret, delivery.id, timestamp, delivery.payload))
        headers = {
            "webhook-id": delivery.id,
            "webhook-timestamp": str(timestamp),
            "webhook-signature": " ".join(signatures),
            "content-type": "application/json",
        }
        self.session.flush()
        return Send(delivery.id, webhook.url, delivery.payload, headers, now)

    def send(self, leased: Send) -> SendResult:
        """Deliver it: network only, no database."""
        return self.sender.send(leased.url, leased.body, leased.headers)

    def record(self, leased: Send, result: SendResult) -> AttemptOutcome:
        """Write the attempt and schedule the next one (or mark the delivery done or failed)."""
        delivery = self.session.get(Delivery, leased.delivery_id, populate_existing=True)
        if delivery is None:
            raise WebhookNotFound(f"No delivery {leased.delivery_id!r}.")
        now = leased.at
        self.session.add(
            Attempt(
                delivery_id=delivery.id,
                at=now,
                status_code=result.status_code,
                error=result.error,
                duration_ms=result.duration_ms,
            )
        )
        delivery.attempts += 1
        delivery.last_status_code, delivery.last_error = result.status_code, result.error
        if result.ok:
            delivery.state, delivery.delivered_at = DeliveryState.DELIVERED, now
            delivery.next_attempt_at = None
        elif result.status_code == 410:  # the receiver says: gone for good, stop sending
            delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
            webhook = self.session.get(Webhook, delivery.webhook_id)
            if webhook is not None:
                webhook.disabled_at, webhook.disabled_reason = now, "The endpoint answered 410 Gone."
        elif delivery.attempts > len(RETRY_DELAYS):
            delivery.state, delivery.next_attempt_at = DeliveryState.FAILED, None
        else:
            wait = RETRY_DELAYS[delivery.attempts - 1] * self.jitter()
            if result.retry_after is not None:
                wait = max(wait, min(result.retry_after, RETRY_DELAYS[-1]))
            delivery.next_attempt_at = now + wait
        self.session.flush()
        return AttemptOutcome(delivery, True, result)
