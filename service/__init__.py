"""Factdesk's web service: the app factory, settings, database, auth, errors and CLI.

`create_app()` composes the domain packages (`claims`, `sources`) into one Flask app. The
flask-free foundations the domains share (`ids`, `text`, `database`) live here too, so this
module imports Flask only when an app is actually created.
"""


def create_app(config: dict | None = None):
    """Build the Flask application; `config` overrides settings read from the environment."""
    from service.app import create_app as _create_app

    return _create_app(config)
