"""The app factory: settings, database, API blueprints, error layer and request lifecycle."""

import logging
from pathlib import Path
from typing import Any

import flask_swagger_ui
from flask import Flask, Response, request, send_from_directory
from flask_smorest import Api
from werkzeug.exceptions import HTTPException

from claims.library.views import blp as factchecks_blp
from claims.matching.views import blp as matching_blp
from claims.reporting.views import blp as extractions_blp
from claims.views import blp as claims_blp
from claims.views import meta as workflow_blp
from claims.workflow import activate_scale
from service import reviewer
from service.core.config import Settings
from service.core.database import make_engine, sqlite_write_intent
from service.core.effects import Effect
from service.core.urls import use_base
from service.ops import jobs, metrics
from service.public.fastpath import BadgeFastPath
from service.public.states import badge_states
from service.public.views import bp as public_bp
from service.reviewer.views import bp as reviewer_bp
from service.web import WRITE_METHODS, access, auth, context, idempotency, ratelimit
from service.web.health import bp as health_bp
from service.web.people import blp as people_blp
from service.web.problems import ProblemSchema, http_exception_problem, problem, register_error_handlers
from service.webhooks.views import blp as webhooks_blp
from sources.views import blp as sources_blp

log = logging.getLogger(__name__)

SWAGGER_UI_DIR = Path(flask_swagger_ui.__file__).parent / "dist"
JSON_TYPES = frozenset({"application/json"})


class FactdeskApi(Api):
    """flask-smorest's Api with problem+json as the error shape, in the document and the wire."""

    ERROR_SCHEMA = ProblemSchema

    def handle_http_exception(self, error: HTTPException) -> Response:
        """Problem details for every HTTP error flask-smorest raises."""
        return http_exception_problem(error)


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. `config` keys are setting names (`database_url`, …) or Flask keys."""
    config = dict(config or {})
    settings = Settings.from_env(**{k: v for k, v in config.items() if k.islower()})
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    activate_scale(settings.rating_scale)  # a broken scale file stops the start, with its reason

    app = Flask(__name__, static_folder=None)
    app.config.update(
        SECRET_KEY=settings.secret_key or None,
        MAX_CONTENT_LENGTH=settings.max_body_bytes,
        PROPAGATE_EXCEPTIONS=False,
        TRAP_HTTP_EXCEPTIONS=False,
        JSON_SORT_KEYS=False,
        API_TITLE="Factdesk API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.1.0",
        OPENAPI_URL_PREFIX="/api",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="docs",
        OPENAPI_SWAGGER_UI_URL="/api/docs/assets/",
        ETAG_DISABLED=True,
    )
    app.config.update({k: v for k, v in config.items() if k.isupper()})

    # Once a request's work is committed: captures and webhook deliveries go to the queue, and
    # this process forgets the cached badge states of the claims it changed.
    after_commit = {**jobs.AFTER_COMMIT, Effect.CLAIM_CHANGED: badge_states.forget_one}
    context.init_app(app, settings, make_engine(settings.sqlalchemy_url), after_commit)
    jobs.configure(settings, immediate=bool(app.config.get("JOBS_IMMEDIATE")))
    register_error_handlers(app)
    access.init_app(app, settings)
    metrics.init_app(app, queue_depth=jobs.queue_depth)
    _register_lifecycle(app, settings)
    ratelimit.init_app(app, settings)  # after the lifecycle: it limits by the authenticated user
    reviewer.init_app(app, settings)  # the desk's session cookie, and a secret key if none is set

    api = FactdeskApi(
        app,
        spec_kwargs={
            "info": {"description": "Claims, sources, verification workflow and verdicts."},
        },
    )
    api.spec.components.security_scheme(
        "bearerAuth", {"type": "http", "scheme": "bearer", "bearerFormat": "fdk_…"}
    )
    _register_blueprints(app, api)
    app.wsgi_app = BadgeFastPath(app, app.wsgi_app)  # type: ignore[method-assign]  # plain badges below Flask
    return app


def _register_blueprints(app: Flask, api: Api) -> None:
    api.register_blueprint(claims_blp)
    api.register_blueprint(factchecks_blp)
    api.register_blueprint(matching_blp)
    api.register_blueprint(extractions_blp)
    api.register_blueprint(sources_blp)
    api.register_blueprint(workflow_blp)
    api.register_blueprint(webhooks_blp)
    api.register_blueprint(people_blp)
    api.register_blueprint(public_bp)
    app.register_blueprint(health_bp)
    app.register_blueprint(reviewer_bp)

    @app.get("/api/docs/assets/<path:filename>")
    def swagger_ui_assets(filename: str) -> Response:
        return send_from_directory(SWAGGER_UI_DIR, filename, max_age=86_400)


def _register_lifecycle(app: Flask, settings: Settings) -> None:
    @app.before_request
    def prepare() -> Response | None:
        use_base(settings.public_base)
        try:  # werkzeug reads the query string as UTF-8 and fails on other bytes: say so, no 500
            request.query_string.decode()
        except UnicodeDecodeError:
            return problem(400, "The query string is not UTF-8; percent-encode other bytes.")
        writes = request.method in WRITE_METHODS
        if writes and request.path.startswith("/api/"):
            refused = _check_body(app, settings)
            if refused is not None:
                return refused
        # Authenticate in a read transaction and end it, so that on SQLite the request's
        # writing transaction (and the idempotency key's) begin afresh and take the lock. On
        # PostgreSQL the request goes on in it: ending it would cost three round trips (COMMIT,
        # the pool's ping, BEGIN), a tenth of a match's time.
        sqlite_write_intent.set(False)
        refused = auth.authenticate()
        if context.engine().dialect.name == "sqlite":
            context.commit()
        sqlite_write_intent.set(writes)
        if refused is not None:
            return refused
        return idempotency.begin()

    @app.after_request
    def finish(response: Response) -> Response:
        _cache_rules(response)
        if response.status_code >= 400:
            idempotency.finish(response)
            context.rollback()
            return response
        try:
            idempotency.finish(response)
            context.commit()  # then the effects its services recorded are dispatched
        except Exception as exc:  # the work is not stored: say so, never pretend success
            context.rollback()
            idempotency.abandon()
            log.exception("commit failed on %s %s", request.method, request.path, exc_info=exc)
            handler = app._find_error_handler(exc, request.blueprints)
            return handler(exc) if handler else problem(500, "Something went wrong on our side.")  # type: ignore[return-value]  # our handlers answer Responses
        return response

    @app.teardown_request
    def forget(_exc: BaseException | None) -> None:
        idempotency.forget()
        use_base(None)  # what the thread builds next, outside a request, uses the process's base


def _cache_rules(response: Response) -> None:
    """What a cache may keep. An answer made for a token holder is theirs alone, whatever the view
    said (it may show unpublished work); answers that differ with a token say so (Vary)."""
    if auth.current_user() is not None:
        response.headers["Cache-Control"] = "private, no-store"
    elif request.path.startswith("/api/"):
        response.vary.add("Authorization")


def _check_body(app: Flask, settings: Settings) -> Response | None:
    """413 for a body over the limit, 415 for a body in a type the endpoint does not take."""
    view = app.view_functions.get(request.endpoint or "")
    view = getattr(view, "view_class", view)  # MethodView classes carry the attributes
    limit = settings.max_body_bytes
    max_body = getattr(view, "max_body", None)
    if max_body == "capture" and request.mimetype == "multipart/form-data":
        # Document uploads: the capture cap, plus room for the form around the file.
        limit = settings.capture_max_bytes + 64 * 1024
        request.max_content_length = limit
    elif isinstance(max_body, int) and max_body > limit:  # a route made for big bodies (imports)
        limit = max_body
        request.max_content_length = limit
    length = request.content_length
    if length is not None and length > limit:
        return problem(413, f"The request body is larger than {limit} bytes.")
    has_body = bool(length) or "chunked" in request.headers.get("Transfer-Encoding", "")
    if not has_body:
        return None
    accepted = getattr(view, "accepts", JSON_TYPES)
    mimetype = request.mimetype
    if mimetype in accepted or (mimetype.endswith("+json") and "application/json" in accepted):
        return None
    return problem(
        415,
        f"Send the body as {' or '.join(sorted(accepted))}, not {mimetype or 'an unnamed type'}.",
    )
