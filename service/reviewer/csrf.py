"""CSRF protection for the desk's forms: a random token per session, checked on every POST.

Templates put `csrf_token()` in a hidden field; `check()` compares it in constant time.
"""

import hmac
import secrets

from flask import request, session

FIELD = "csrf_token"
_KEY = "csrf"


def csrf_token() -> str:
    """This session's token, made on first use."""
    token = session.get(_KEY)
    if not token:
        token = session[_KEY] = secrets.token_urlsafe(32)
    return token


def renew() -> None:
    """A new token, after signing in or out, so a token seen before cannot be replayed."""
    session[_KEY] = secrets.token_urlsafe(32)


def check() -> bool:
    """Whether this request's form carries the session's token."""
    expected = session.get(_KEY)
    sent = request.form.get(FIELD, "")
    return (
        isinstance(expected, str) and bool(expected) and hmac.compare_digest(sent.encode(), expected.encode())
    )
