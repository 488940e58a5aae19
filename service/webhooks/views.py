"""HTTP endpoints for webhooks (admins): endpoints, secrets and the delivery log."""

from flask import Response
from flask.views import MethodView
from flask_smorest import Blueprint

from service.core.urls import absolute
from service.web.auth import require_role, signed_in_user
from service.web.context import services
from service.web.responses import BEARER, Extended
from service.webhooks.models import Webhook
from service.webhooks.schemas import (
    DeliveryListOut,
    NewWebhook,
    WebhookIn,
    WebhookListOut,
    WebhookOut,
    WebhookPatch,
    WebhookSecretOut,
)
from service.webhooks.services import WebhookChanges

blp = Blueprint(
    "webhooks",
    __name__,
    url_prefix="/api/v1/webhooks",
    description="Notifications to publishers when verdicts change (Standard Webhooks).",
)


@blp.route("")
class Webhooks(MethodView):
    @require_role("admin")
    @blp.response(200, WebhookListOut)
    @blp.doc(security=BEARER)
    def get(self) -> dict[str, list[Webhook]]:
        """Every endpoint (secrets are never shown again)."""
        return {"items": services().webhooks.all()}

    @require_role("admin")
    @blp.arguments(WebhookIn)
    @blp.response(201, WebhookSecretOut, description="The endpoint and its secret, shown only now.")
    @blp.doc(security=BEARER)
    def post(self, data: NewWebhook) -> tuple[Webhook, int, dict[str, str]]:
        """Subscribe a URL (public addresses only, like captures) to claim events."""
        webhook = services().webhooks.create(signed_in_user().id, data["url"], data["events"])
        return webhook, 201, {"Location": absolute(f"/api/v1/webhooks/{webhook.id}")}


@blp.route("/<webhook_id>")
class WebhookItem(MethodView):
    @require_role("admin")
    @blp.response(200, WebhookOut)
    @blp.doc(security=BEARER)
    def get(self, webhook_id: str) -> Webhook:
        """One endpoint."""
        return services().webhooks.get(webhook_id)

    @require_role("admin")
    @blp.arguments(WebhookPatch)
    @blp.response(200, WebhookOut)
    @blp.doc(security=BEARER)
    def patch(self, changes: WebhookChanges, webhook_id: str) -> Webhook:
        """Pause or resume, or change the URL or events."""
        return services().webhooks.update(webhook_id, changes)

    @require_role("admin")
    @blp.response(204)
    @blp.doc(security=BEARER)
    def delete(self, webhook_id: str) -> Response:
        """Remove the endpoint and its delivery log."""
        services().webhooks.delete(webhook_id)
        return Response(status=204)


@blp.route("/<webhook_id>/rotate", methods=["POST"])
@require_role("admin")
@blp.response(
    200, WebhookSecretOut, description="The new secret, shown only now; the old one signs too for 24 hours."
)
@blp.doc(security=BEARER)
def rotate(webhook_id: str) -> Webhook:
    """Rotate the signing secret."""
    return services().webhooks.rotate(webhook_id)


@blp.route("/<webhook_id>/deliveries")
@require_role("admin")
@blp.response(200, DeliveryListOut)
@blp.doc(security=BEARER)
def deliveries(webhook_id: str) -> dict[str, list[Extended]]:
    """The newest deliveries, each with every attempt."""
    rows = services().webhooks.deliveries(webhook_id)
    return {"items": [Extended(d, attempt_log=attempts) for d, attempts in rows]}
