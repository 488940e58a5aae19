"""The reviewer desk: server-rendered pages under /desk where journalists work the workflow.

`init_app(app, settings)` sets up the signed session cookie the desk signs in with; the pages
are the `reviewer` blueprint in `service.reviewer.views`. The JSON API never reads this cookie.
"""

import os
import secrets
from pathlib import Path

from flask import Flask, Request, request
from flask.sessions import SecureCookieSession, SecureCookieSessionInterface

from service.accounts.signin import SESSION_LIFETIME
from service.core.config import Settings, SettingsError

SECRET_KEY_FILE = "secret_key"  # noqa: S105 - a file name; the key is generated into it


class DeskSessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie session, marked Secure whenever the request came over https."""

    def get_cookie_secure(self, app: Flask) -> bool:
        """Secure when configured (an https base URL) or when this request is https."""
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.scheme == "https"

    def open_session(self, app: Flask, request: Request) -> SecureCookieSession | None:
        """The signed session under /desk; elsewhere (the API, badges, pages) no cookie work."""
        if not request.path.startswith("/desk"):
            return self.null_session_class()
        return super().open_session(app, request)


def init_app(app: Flask, settings: Settings) -> None:
    """Give the app a secret key and the desk's cookie settings."""
    if not app.secret_key:
        app.secret_key = persisted_secret_key(settings.data_dir)
    app.config.update(
        SESSION_COOKIE_NAME="factdesk_desk",
        # Only the desk's pages receive the cookie: the API, badges and public pages never see it,
        # so they are neither authenticated by it nor made `Vary: Cookie` / Set-Cookie by it.
        SESSION_COOKIE_PATH="/desk",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.base_url.startswith("https://"),
        PERMANENT_SESSION_LIFETIME=SESSION_LIFETIME,
    )
    app.session_interface = DeskSessionInterface()


def persisted_secret_key(data_dir: Path) -> str:
    """The key in `data_dir/secret_key`, made (mode 0600) by whichever worker starts first."""
    path = data_dir / SECRET_KEY_FILE
    if not path.exists():
        # Write a private temporary file, then link it into place: linking fails if another
        # worker got there first, so every worker ends up reading the same complete key.
        tmp = data_dir / f".{SECRET_KEY_FILE}.{os.getpid()}.{secrets.token_hex(4)}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "w") as out:
                out.write(secrets.token_hex(32))
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink(missing_ok=True)
    key = path.read_text().strip()
    if len(key) < 32:
        raise SettingsError(f"{path} holds no usable secret key; delete it to make a new one.")
    return key
