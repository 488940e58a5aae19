"""Liveness and readiness probes for load balancers and the Docker HEALTHCHECK."""

from flask import Blueprint, Response, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from service.web import context
from service.web.problems import problem

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Response:
    """The process answers."""
    return jsonify(status="ok")


@bp.get("/readyz")
def readyz() -> Response:
    """The database answers too."""
    try:
        with context.engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError:
        return problem(503, "The database is not reachable.", headers={"Retry-After": "5"})
    return jsonify(status="ready")
