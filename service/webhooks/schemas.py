"""The webhooks API contract (marshmallow)."""

from typing import TypedDict

from marshmallow import Schema, fields, validate

from service.core.fields import UTCDateTime, WebURL
from service.webhooks.models import EVENTS, DeliveryState


class WebhookIn(Schema):
    url = WebURL(required=True, metadata={"example": "https://publisher.example/hooks/factdesk"})
    events = fields.List(
        fields.String(validate=validate.OneOf(EVENTS)),
        required=True,
        validate=validate.Length(min=1),
        metadata={"example": list(EVENTS)},
    )


class NewWebhook(TypedDict):
    """What WebhookIn loads."""

    url: str
    events: list[str]


class WebhookPatch(Schema):
    url = WebURL()
    events = fields.List(fields.String(validate=validate.OneOf(EVENTS)), validate=validate.Length(min=1))
    paused = fields.Boolean(metadata={"description": "Hold deliveries; false resumes (and re-enables)."})


class WebhookOut(Schema):
    id = fields.String()
    url = fields.String()
    events = fields.List(fields.String())
    paused = fields.Boolean()
    disabled_at = UTCDateTime(allow_none=True)
    disabled_reason = fields.String(allow_none=True)
    previous_secret_until = UTCDateTime(allow_none=True)
    created_at = UTCDateTime()


class WebhookSecretOut(WebhookOut):
    secret = fields.String(metadata={"description": "Shown once: sign-check deliveries with it."})


class AttemptOut(Schema):
    at = UTCDateTime()
    status_code = fields.Integer(allow_none=True)
    error = fields.String(allow_none=True)
    duration_ms = fields.Integer()


class DeliveryOut(Schema):
    id = fields.String(metadata={"description": "Also the `webhook-id` header: deduplicate on it."})
    event = fields.String()
    state = fields.String(metadata={"enum": list(DeliveryState)})
    attempts = fields.Integer()
    next_attempt_at = UTCDateTime(allow_none=True)
    last_status_code = fields.Integer(allow_none=True)
    last_error = fields.String(allow_none=True)
    created_at = UTCDateTime()
    delivered_at = UTCDateTime(allow_none=True)
    attempt_log = fields.List(fields.Nested(AttemptOut))


class DeliveryListOut(Schema):
    items = fields.List(fields.Nested(DeliveryOut))


class WebhookListOut(Schema):
    items = fields.List(fields.Nested(WebhookOut))
