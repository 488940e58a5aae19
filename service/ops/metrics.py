"""Prometheus metrics: HTTP requests and latency, captures, webhook deliveries, job queue depth.

`count_capture` / `count_delivery` are safe to call from any process (web, worker); under
`factdesk serve` every process writes to PROMETHEUS_MULTIPROC_DIR and `/metrics` adds them up.
"""

import logging
import os
import time
from collections.abc import Callable, Iterator

from flask import Flask, Response, g, request
from prometheus_client import (
    REGISTRY,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.core import GaugeMetricFamily

log = logging.getLogger(__name__)

# prometheus_client picks file-backed values at import when PROMETHEUS_MULTIPROC_DIR is set; what
# /metrics reads must follow that choice, not the environment at scrape time.
MULTIPROCESS = values.ValueClass is not values.MutexValue
KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"  # the text format generate_latest writes
UNMATCHED = "<unmatched>"  # one label for every path no route knows, so scanners add no series

HTTP_REQUESTS = Counter(
    "factdesk_http_requests",
    "HTTP requests answered, by route, method and status.",
    ["endpoint", "method", "status"],
)
HTTP_DURATION = Histogram(
    "factdesk_http_request_duration_seconds", "Time to answer an HTTP request, by route.", ["endpoint"]
)
CAPTURES = Counter("factdesk_captures", "Source captures, by outcome.", ["outcome"])
DELIVERIES = Counter("factdesk_webhook_deliveries", "Webhook delivery attempts, by outcome.", ["outcome"])


def count_capture(outcome: str) -> None:
    """Count one source capture (`ok`, `blocked`, `gone`, `error`, …)."""
    _count(CAPTURES, outcome)


def count_delivery(outcome: str) -> None:
    """Count one webhook delivery attempt (`delivered`, `failed`, `retrying`, …)."""
    _count(DELIVERIES, outcome)


def _count(counter: Counter, outcome: str) -> None:
    try:
        counter.labels(outcome=str(outcome)[:32] or "unknown").inc()
    except Exception:  # a metric must never fail the job it describes
        log.warning("could not count %s", counter._name, exc_info=True)


class QueueDepthCollector:
    """Reads the job queue's length when scraped, so no process has to keep a gauge current."""

    NAME = "factdesk_job_queue_depth"
    HELP = "Jobs waiting in the queue."

    def __init__(self) -> None:
        self.depth: Callable[[], int] | None = None  # the queue's count, once the app names it

    def describe(self) -> list[GaugeMetricFamily]:
        """What `collect` yields, without reading the queue (the registry asks at registration)."""
        return [GaugeMetricFamily(self.NAME, self.HELP)]

    def collect(self) -> Iterator[GaugeMetricFamily]:
        """The pending job count; nothing when the queue cannot be read (its store is down)."""
        if self.depth is None:
            return
        try:
            depth = self.depth()
        except Exception as exc:  # Redis or the queue file unreachable: the scrape still answers
            log.warning("job queue depth unavailable: %s", exc.__class__.__name__)
            return
        gauge = GaugeMetricFamily(self.NAME, self.HELP)
        gauge.add_metric([], depth)
        yield gauge


_QUEUE_DEPTH = QueueDepthCollector()
_queue_depth_registered = False


def init_app(app: Flask, queue_depth: Callable[[], int]) -> None:
    """Time and count every request, and serve `/metrics` (no token, no rate limit); the job queue's
    length is read with `queue_depth` when scraped."""
    global _queue_depth_registered
    _QUEUE_DEPTH.depth = queue_depth
    if not MULTIPROCESS and not _queue_depth_registered:  # once per process, however many apps
        REGISTRY.register(_QUEUE_DEPTH)
        _queue_depth_registered = True
    # First in line, so requests refused early (401, 413, 429) are timed and counted too.
    app.before_request_funcs.setdefault(None, []).insert(0, _start_timer)
    app.after_request_funcs.setdefault(None, []).insert(0, _observe)
    app.add_url_rule("/metrics", "metrics", _metrics, methods=["GET"])


def _start_timer() -> None:
    g.metrics_started = time.perf_counter()


def _observe(response: Response) -> Response:
    started = g.get("metrics_started")
    rule = request.url_rule
    endpoint = rule.rule if rule is not None else UNMATCHED
    observe(endpoint, request.method, response.status_code, started)
    return response


# The labelled children by label values: resolving them costs more than counting.
_requests: dict[tuple[str, str, int], Counter] = {}
_durations: dict[str, Histogram] = {}


def observe(endpoint: str, method: str, status: int, started: float | None) -> None:
    """Count one answered request of a route and time it from `started` (perf_counter)."""
    method = method if method in KNOWN_METHODS else "OTHER"
    counter = _requests.get((endpoint, method, status))
    if counter is None:
        counter = HTTP_REQUESTS.labels(endpoint=endpoint, method=method, status=str(status))
        _requests[(endpoint, method, status)] = counter
    counter.inc()
    if started is not None:
        histogram = _durations.get(endpoint)
        if histogram is None:
            histogram = _durations[endpoint] = HTTP_DURATION.labels(endpoint=endpoint)
        histogram.observe(time.perf_counter() - started)


def _metrics() -> Response:
    if MULTIPROCESS and os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # untyped upstream
        registry.register(_QUEUE_DEPTH)
    else:
        registry = REGISTRY
    return Response(generate_latest(registry), content_type=CONTENT_TYPE)
