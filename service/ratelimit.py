"""Rate limits (Flask-Limiter): API writes per user, public pages and badges per client address.

Counters live in memory, or in Redis when `FACTDESK_REDIS_URL` is set; `init_app` must run after
the request lifecycle is registered, so the limiter sees the authenticated user.
"""

import ipaddress
import logging
import math
import time

from flask import Flask, Response, current_app, request
from flask_limiter import ApplicationLimit, Limiter
from flask_limiter.errors import RateLimitExceeded
from limits import parse_many

from service.auth import current_user
from service.config import Settings, SettingsError
from service.errors import problem

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
PUBLIC_PREFIXES = ("/badges/", "/c/", "/oembed", "/claimreview.json")
OFF = "off"
# A Redis that does not answer must cost a request at most this long before the limiter falls back.
REDIS_TIMEOUT_SECONDS = 0.5

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def client_address() -> str:
    """The client's address: the peer, or the nearest untrusted hop of X-Forwarded-For behind a
    proxy listed in FACTDESK_TRUSTED_PROXIES."""
    peer = request.remote_addr or "unknown"
    trusted: tuple[Network, ...] = current_app.extensions.get("factdesk.trusted_proxies", ())
    if not trusted or not _within(peer, trusted):
        return peer
    hops = [hop.strip() for hop in request.headers.get("X-Forwarded-For", "").split(",") if hop.strip()]
    # Walk back from the hop our proxy saw; the first address it does not vouch for is the client.
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop
    return hops[0] if hops else peer


def limiter() -> Limiter:
    """The running app's limiter (tests reset it with `limiter().reset()`)."""
    return current_app.extensions["factdesk.limiter"]


def init_app(app: Flask, settings: Settings) -> None:
    """Limit API writes and public reads, and answer 429 as problem+json with Retry-After."""
    _check_limit("RATE_LIMIT_WRITES", settings.rate_limit_writes)
    _check_limit("RATE_LIMIT_PUBLIC", settings.rate_limit_public)
    app.extensions["factdesk.trusted_proxies"] = _networks(settings.trusted_proxies)
    limits = [
        ApplicationLimit(
            settings.rate_limit_writes,
            key_function=_user_or_address,
            scope="api-writes",
            exempt_when=lambda: not _is_api_write(),
        ),
        ApplicationLimit(
            settings.rate_limit_public,
            key_function=_address,
            scope="public",
            exempt_when=lambda: not _is_public_read(),
        ),
    ]
    redis = bool(settings.redis_url)
    extension = Limiter(
        _address,
        application_limits=[limit for limit in limits if limit.limit_provider != OFF],
        storage_uri=settings.redis_url if redis else "memory://",
        storage_options=(
            {"socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_timeout": REDIS_TIMEOUT_SECONDS}
            if redis
            else {}
        ),
        key_prefix="factdesk",
        strategy="fixed-window",
        # Redis down: count in this process's memory instead (limits still hold, per worker) and
        # try Redis again with backoff; any other limiter failure lets the request through.
        in_memory_fallback_enabled=True,
        swallow_errors=True,
        headers_enabled=False,  # no per-response window lookups on the badge path
    )
    # Most requests are in no limited group: skip the limiter's per-route resolution for them.
    writes_on, public_on = settings.rate_limit_writes != OFF, settings.rate_limit_public != OFF
    extension.request_filter(
        lambda: not ((writes_on and _is_api_write()) or (public_on and _is_public_read()))
    )
    extension.init_app(app)
    # Each 429 is already an access line; the limiter's own note per breach would double a flood.
    logging.getLogger("flask-limiter").setLevel(logging.WARNING)
    app.extensions["factdesk.limiter"] = extension
    app.register_error_handler(RateLimitExceeded, _too_many_requests)


def _too_many_requests(error: RateLimitExceeded) -> Response:
    wait = _retry_after(error)
    return problem(
        429,
        f"Too many requests: the limit is {error.limit.limit}. Retry in {wait} s.",
        title="Too many requests",
        headers={"Retry-After": str(wait)},
    )


def _retry_after(error: RateLimitExceeded) -> int:
    breached = current_app.extensions["factdesk.limiter"].current_limit
    try:
        return max(1, math.ceil(breached.reset_at - time.time()))
    except Exception:  # the storage went away since the check: the whole window is a safe answer
        return max(1, error.limit.limit.get_expiry())


def _is_api_write() -> bool:
    return request.method in WRITE_METHODS and request.path.startswith("/api/")


def _is_public_read() -> bool:
    return request.method in ("GET", "HEAD") and request.path.startswith(PUBLIC_PREFIXES)


def _user_or_address() -> str:
    user = current_user()
    return f"user:{user.id}" if user is not None else f"addr:{client_address()}"


def _address() -> str:
    return f"addr:{client_address()}"


def _check_limit(name: str, value: str) -> None:
    if value == OFF:
        return
    try:
        parse_many(value)
    except ValueError as exc:
        raise SettingsError(
            f"FACTDESK_{name} must be a rate like 60/minute (or {OFF}), not {value!r}."
        ) from exc


def _networks(values: tuple[str, ...]) -> tuple[Network, ...]:
    try:
        return tuple(ipaddress.ip_network(value, strict=False) for value in values)
    except ValueError as exc:
        raise SettingsError(f"FACTDESK_TRUSTED_PROXIES must be addresses or networks: {exc}") from exc


def _within(address: str, networks: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in network for network in networks)
