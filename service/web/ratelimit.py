"""Rate limits: API writes per user, public pages and badges per client address.

Fixed-window counters from the `limits` library, in Redis when `FACTDESK_REDIS_URL` is set (every
web process shares one budget) or in this process's memory. A Redis that stops answering costs
nothing but its budget: counting moves to memory and goes back to Redis when it answers again.

One check serves both ways in: a `before_request` hook for everything Flask answers, and
`check_public` for the badge fast path (service/fastpath.py), which answers below Flask. The hook
must run after the request lifecycle, so that it sees the authenticated user.
"""

import ipaddress
import logging
import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass

from flask import Flask, current_app, g, request
from limits import RateLimitItem, parse_many
from limits.storage import MemoryStorage, Storage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from service.core.config import Settings, SettingsError
from service.core.errors import RateLimited
from service.web import READ_METHODS, WRITE_METHODS
from service.web.auth import current_user

log = logging.getLogger(__name__)

PUBLIC_PREFIXES = ("/badges/", "/c/", "/oembed", "/claimreview.json")
OFF = "off"
KEY_PREFIX = "factdesk"
# A Redis that does not answer must cost a request at most this long before counting moves to memory.
REDIS_TIMEOUT_SECONDS = 0.5
RETRY_REDIS_SECONDS = (1, 2, 4, 8, 16, 30)  # then every 30 s while it stays away
# The fast path sets this in the WSGI environ when it has counted a request it then hands to Flask.
COUNTED = "factdesk.rate_limit_counted"

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class Counters:
    """Fixed-window hit counters in one storage, falling back to memory while it does not answer."""

    def __init__(self, storage_uri: str, **options: float) -> None:
        storage = storage_from_string(storage_uri, **options)
        if not isinstance(storage, Storage):  # an asyncio storage: not for a WSGI service
            raise SettingsError(f"{storage_uri!r} is not a storage this service can count in.")
        self.storage: Storage = storage
        self.memory = self.storage if isinstance(self.storage, MemoryStorage) else MemoryStorage()
        self._main, self._fallback = FixedWindowRateLimiter(self.storage), FixedWindowRateLimiter(self.memory)
        self._failures = 0  # consecutive failures of the main storage
        self._retry_at = 0.0  # monotonic time at which the main storage is tried again
        self._lock = threading.Lock()

    def hit(self, item: RateLimitItem, *identifiers: str) -> int | None:
        """Count one hit; None if within the limit, else the seconds until its window resets."""
        if self._failures and not self._claim_retry():
            return self._hit(self._fallback, item, identifiers)
        try:
            answer = self._hit(self._main, item, identifiers)
        except Exception as exc:  # Redis down or timing out: never a 500 because of a counter
            with self._lock:
                self._failures += 1
                delay = RETRY_REDIS_SECONDS[min(self._failures, len(RETRY_REDIS_SECONDS)) - 1]
                self._retry_at = time.monotonic() + delay
            if self._failures == 1:
                log.warning("rate limit storage unreachable (%s): counting in memory", exc.__class__.__name__)
            return self._hit(self._fallback, item, identifiers)
        if self._failures:
            log.info("rate limit storage answers again")
            self._failures = 0
        return answer

    def _claim_retry(self) -> bool:
        """Whether this request tries the main storage again: one request per back-off, not every
        thread at once (each would wait out the timeout)."""
        with self._lock:
            now = time.monotonic()
            if now < self._retry_at:
                return False
            # The others count in memory meanwhile: long enough for the try and redis-py's retries.
            self._retry_at = now + REDIS_TIMEOUT_SECONDS * 4
            return True

    def reset(self) -> None:
        """Forget every count (tests; an operator after changing a limit)."""
        for storage in {id(s): s for s in (self.storage, self.memory)}.values():
            storage.reset()

    @staticmethod
    def _hit(
        limiter: FixedWindowRateLimiter, item: RateLimitItem, identifiers: tuple[str, ...]
    ) -> int | None:
        if limiter.hit(item, *identifiers):
            return None
        reset_at = limiter.get_window_stats(item, *identifiers).reset_time
        return max(1, math.ceil(reset_at - time.time()))


@dataclass(frozen=True)
class Limits:
    """The two limited groups and where their counts live."""

    counters: Counters
    writes: tuple[RateLimitItem, ...]  # empty when off
    public: tuple[RateLimitItem, ...]
    trusted_proxies: tuple[Network, ...]

    def check(self, scope: str, items: tuple[RateLimitItem, ...], key: str) -> None:
        """Count a hit against every limit of a group; raise RateLimited at the first one spent."""
        for item in items:
            wait = self.counters.hit(item, KEY_PREFIX, scope, key)
            if wait is not None:
                raise RateLimited(item, wait)

    def check_public(self, address: str) -> None:
        """Count a public read by a client address (badges, pages, oEmbed, the feed)."""
        if self.public:
            self.check("public", self.public, f"addr:{address}")

    def reset(self) -> None:
        """Forget every count."""
        self.counters.reset()


def limiter() -> Limits:
    """The running app's limits (tests reset them with `limiter().reset()`)."""
    limits: Limits = current_app.extensions["factdesk.limits"]
    return limits


def init_app(app: Flask, settings: Settings) -> None:
    """Limit API writes and public reads; a RateLimited becomes a 429 with Retry-After (errors.py)."""
    redis = bool(settings.redis_url)
    options = {"socket_connect_timeout": REDIS_TIMEOUT_SECONDS, "socket_timeout": REDIS_TIMEOUT_SECONDS}
    limits = Limits(
        counters=Counters(settings.redis_url, **options) if redis else Counters("memory://"),
        writes=_parse("RATE_LIMIT_WRITES", settings.rate_limit_writes),
        public=_parse("RATE_LIMIT_PUBLIC", settings.rate_limit_public),
        trusted_proxies=_networks(settings.trusted_proxies),
    )
    app.extensions["factdesk.limits"] = limits
    app.extensions["factdesk.trusted_proxies"] = limits.trusted_proxies

    @app.before_request
    def count() -> None:
        method, path = request.method, request.path
        if limits.writes and method in WRITE_METHODS and path.startswith("/api/") and not _reads_only():
            user = current_user()
            key = f"user:{user.id}" if user is not None else f"addr:{client_address()}"
            limits.check("api-writes", limits.writes, key)
        elif method in READ_METHODS and path.startswith(PUBLIC_PREFIXES) and not request.environ.get(COUNTED):
            limits.check_public(client_address())


def _reads_only() -> bool:
    """Whether the endpoint only reads though it takes a POST (a search with a body, as
    POST /api/v1/match): its view class says so with `reads_only = True`."""
    view = current_app.view_functions.get(request.endpoint or "")
    return bool(getattr(getattr(view, "view_class", view), "reads_only", False))


def client_address() -> str:
    """The client's address: the peer, or the nearest untrusted hop of X-Forwarded-For behind a
    proxy listed in FACTDESK_TRUSTED_PROXIES."""
    if "client_address" not in g:
        g.client_address = address_of(
            request.environ, current_app.extensions.get("factdesk.trusted_proxies", ())
        )
    address: str = g.client_address
    return address


def address_of(environ: Mapping[str, object], trusted: tuple[Network, ...]) -> str:
    """`client_address` for a bare WSGI environ."""
    peer = str(environ.get("REMOTE_ADDR") or "unknown")
    if not trusted or not _within(peer, trusted):
        return peer
    forwarded = str(environ.get("HTTP_X_FORWARDED_FOR", ""))
    hops = [hop.strip() for hop in forwarded.split(",") if hop.strip()]
    # Walk back from the hop our proxy saw; the first address it does not vouch for is the client.
    for hop in reversed(hops):
        if not _within(hop, trusted):
            return hop
    return hops[0] if hops else peer


def _parse(name: str, value: str) -> tuple[RateLimitItem, ...]:
    if value == OFF:
        return ()
    try:
        return tuple(parse_many(value))
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
