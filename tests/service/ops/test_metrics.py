"""`/metrics`: Prometheus text that prometheus_client's own parser reads, requests counted by route
(not raw path), latency histograms, captures and deliveries, and counts summed across gunicorn
workers under `factdesk serve`."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from service.ops import metrics

BADGE_ROUTE = "/badges/<claim_id>.svg"


def scrape(get) -> dict[str, list]:
    """Every sample of /metrics, by metric family name."""
    response = get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.get_data(as_text=True)
    return {family.name: family for family in text_string_to_metric_families(text)}


def value(families: dict, family: str, sample: str, **labels: str) -> float:
    """The sum of `sample` over series whose labels include `labels` (0 when there is none)."""
    if family not in families:
        return 0.0
    return sum(
        s.value
        for s in families[family].samples
        if s.name == sample and all(s.labels.get(k) == v for k, v in labels.items())
    )


def test_requests_are_counted_and_timed_by_route(client) -> None:
    before = scrape(client.get)
    for claim_id in ("clm_one", "clm_two", "clm_three"):
        assert client.get(f"/badges/{claim_id}.svg").status_code == 404
    assert client.get("/healthz").status_code == 200
    assert client.get("/no/such/page/1").status_code == 404
    assert client.get("/no/such/page/2").status_code == 404
    after = scrape(client.get)

    def made(sample: str, family: str = "factdesk_http_requests", **labels: str) -> float:
        return value(after, family, sample, **labels) - value(before, family, sample, **labels)

    total = "factdesk_http_requests_total"
    assert made(total, endpoint=BADGE_ROUTE, method="GET", status="404") == 3
    assert made(total, endpoint="/healthz", method="GET", status="200") == 1
    assert made(total, endpoint="<unmatched>", status="404") == 2  # one series, however many paths
    assert after["factdesk_http_requests"].type == "counter"
    series = {s.labels["endpoint"] for s in after["factdesk_http_requests"].samples}
    assert not any("clm_" in endpoint or "/no/such" in endpoint for endpoint in series)

    duration = "factdesk_http_request_duration_seconds"
    assert after[duration].type == "histogram"
    assert made(f"{duration}_count", duration, endpoint=BADGE_ROUTE) == 3
    assert made(f"{duration}_bucket", duration, endpoint=BADGE_ROUTE, le="+Inf") == 3
    assert value(after, duration, f"{duration}_sum", endpoint=BADGE_ROUTE) > 0


def test_captures_deliveries_and_queue_depth(client) -> None:
    before = scrape(client.get)
    metrics.count_capture("ok")
    metrics.count_capture("blocked")
    metrics.count_delivery("delivered")
    after = scrape(client.get)
    captures, deliveries = "factdesk_captures", "factdesk_webhook_deliveries"
    assert value(after, captures, f"{captures}_total", outcome="ok") == (
        value(before, captures, f"{captures}_total", outcome="ok") + 1
    )
    assert value(after, captures, f"{captures}_total", outcome="blocked") >= 1
    assert value(after, deliveries, f"{deliveries}_total", outcome="delivered") >= 1
    assert after["factdesk_job_queue_depth"].type == "gauge"
    assert value(after, "factdesk_job_queue_depth", "factdesk_job_queue_depth") >= 0


def test_metrics_needs_no_token_and_is_never_rate_limited(make_app) -> None:
    client = make_app(rate_limit_public="1/minute", rate_limit_writes="1/minute").test_client()
    for _ in range(3):
        assert "factdesk_http_requests" in scrape(client.get)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class _Http:
    """Just enough of a test client's interface for `scrape`, over a real socket."""

    def __init__(self, base: str) -> None:
        self.base = base

    def __call__(self, path: str, timeout: float = 5):
        with urllib.request.urlopen(self.base + path, timeout=timeout) as response:
            body = response.read()

        class Answer:
            status_code = response.status
            headers = response.headers

            @staticmethod
            def get_data(as_text: bool = False) -> str | bytes:
                return body.decode() if as_text else body

        return Answer()


def _web_workers_counting(metrics_dir: Path) -> set[int]:
    """The gunicorn workers (not the job worker) that have counted something, by their files."""
    workers = set()
    for counts in metrics_dir.glob("counter_*.db"):
        pid = int(counts.stem.rsplit("_", 1)[1])
        try:
            if b"serve" in Path(f"/proc/{pid}/cmdline").read_bytes():
                workers.add(pid)
        except OSError:  # that process is gone
            pass
    return workers


@pytest.mark.slow  # starts `factdesk serve` with two workers
@pytest.mark.usefixtures("engine")  # the test database, migrated
def test_serve_sums_the_counts_of_every_worker(database_url: str, tmp_path) -> None:
    """The real thing: `factdesk serve --workers 2`, requests spread over both, one scrape sums them."""
    port, data_dir = _free_port(), tmp_path / "serve"
    stale = data_dir / "metrics" / str(port) / "counter_1.db"  # this instance's folder
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left by a previous run")
    env = {
        **os.environ,
        "FACTDESK_DATABASE_URL": database_url,
        "FACTDESK_DATA_DIR": str(data_dir),
        "FACTDESK_LOG_LEVEL": "WARNING",
        "XDG_RUNTIME_DIR": str(tmp_path),  # gunicorn's control socket: ours, not the user's
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    command = [sys.executable, "-m", "service.cli", "serve", "--port", str(port), "--workers", "2"]
    with open(tmp_path / "serve.log", "wb") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=log, start_new_session=True)
    get = _Http(f"http://127.0.0.1:{port}")
    try:
        served, ready = 0, False
        deadline = time.monotonic() + 20
        # Wait on another route: a request that times out here while a worker boots is still
        # answered and counted by the server, and must not unbalance the /healthz count below.
        while not ready:
            assert server.poll() is None, (tmp_path / "serve.log").read_text()
            assert time.monotonic() < deadline, "factdesk serve did not answer"
            try:
                ready = get("/readyz").status_code == 200
            except OSError:
                time.sleep(0.1)
        with ThreadPoolExecutor(8) as pool:
            # Concurrent requests keep both sync workers busy; go on until each has counted some.
            while len(_web_workers_counting(stale.parent)) < 2:
                assert time.monotonic() < deadline, "requests never reached a second worker"
                served += sum(r.status_code == 200 for r in pool.map(get, ["/healthz"] * 16))
        assert not stale.exists()  # a previous run's counts were cleared at the start
        families = scrape(get)
        assert (
            value(
                families,
                "factdesk_http_requests",
                "factdesk_http_requests_total",
                endpoint="/healthz",
                status="200",
            )
            == served
        )
    finally:
        # The test is about counting, not shutting down: end the server, its workers and its job
        # worker at once (a graceful stop takes seconds), then reap the server.
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
