"""Factdesk's web service: `create_app()` composes the domain packages into one Flask app.

The app is imported only when one is created, so the CLI and the worker start without Flask's
routes; the layers inside are listed in CONTRIBUTING.md.
"""

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flask import Flask


def create_app(config: dict[str, Any] | None = None) -> "Flask":
    """Build the Flask application; `config` overrides settings read from the environment."""
    from service.app import create_app as _create_app

    return _create_app(config)
