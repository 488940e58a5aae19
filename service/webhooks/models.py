"""Webhook tables: endpoints, the delivery outbox, and every attempt to deliver."""

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from sqlmodel import Field, SQLModel

from service.core.database import UTCDateTime, utcnow
from service.core.ids import new_id


class WebhookEvent(StrEnum):
    """The claim events a publisher can subscribe to."""

    CLAIM_PUBLISHED = "claim.published"
    CLAIM_CORRECTED = "claim.corrected"
    CLAIM_SOURCE_CHANGED = "claim.source_changed"


EVENTS = tuple(WebhookEvent)  # for `in` tests on plain strings (on Python 3.11 `in WebhookEvent` raises)


class DeliveryState(StrEnum):
    """Where a delivery stands: waiting for its next attempt, or done either way."""

    PENDING = "pending"
    DELIVERED = "delivered"
    FAILED = "failed"


class Webhook(SQLModel, table=True):
    __tablename__ = "webhook"

    id: str = Field(default_factory=lambda: new_id("whk"), primary_key=True, max_length=40)
    url: str = Field(max_length=2048)
    events: list[str] = Field(default_factory=list, sa_type=sa.JSON)
    # The signing secret must be readable to sign with; it is never shown again after creation.
    secret: str = Field(max_length=100)
    # After a rotation the old secret signs too, for 24 hours, so receivers can switch over.
    previous_secret: str | None = Field(default=None, max_length=100)
    previous_secret_until: datetime | None = Field(default=None, sa_type=UTCDateTime)
    paused: bool = False
    disabled_at: datetime | None = Field(default=None, sa_type=UTCDateTime)
    disabled_reason: str | None = Field(default=None, max_length=500)
    created_by: str = Field(foreign_key="user.id", max_length=40)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)


class Delivery(SQLModel, table=True):
    """One event for one endpoint: the outbox row, kept with its outcome."""

    __tablename__ = "webhook_delivery"

    id: str = Field(default_factory=lambda: new_id("dlv"), primary_key=True, max_length=40)
    webhook_id: str = Field(foreign_key="webhook.id", index=True, max_length=40)
    event: str = Field(max_length=40)
    payload: str = Field(sa_type=sa.Text)  # the exact JSON body that is signed and sent
    state: str = Field(default=DeliveryState.PENDING, max_length=20, index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = Field(default_factory=utcnow, sa_type=UTCDateTime, index=True)
    last_status_code: int | None = None
    last_error: str | None = Field(default=None, sa_type=sa.Text)
    created_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    delivered_at: datetime | None = Field(default=None, sa_type=UTCDateTime)


class Attempt(SQLModel, table=True):
    __tablename__ = "webhook_attempt"

    id: int | None = Field(default=None, primary_key=True)
    delivery_id: str = Field(foreign_key="webhook_delivery.id", index=True, max_length=40)
    at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime)
    status_code: int | None = None
    error: str | None = Field(default=None, sa_type=sa.Text)
    duration_ms: int = 0
