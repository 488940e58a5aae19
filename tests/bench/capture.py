"""Capture benchmark: the SafeFetcher against curl on a 25 MB PDF from a local server, plus its peak memory.

    python -m tests.bench.capture [--runs 3]

Goals: the capturing process's peak RSS at most 50 MB above its baseline; capture wall time within 2x of
curl saving the same file (a capture archives the body; curl to /dev/null is shown for context).
"""

import argparse
import hashlib
import io
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

PDF_SIZE = 25_000_000  # the default FACTDESK_CAPTURE_MAX_BYTES: the largest body a capture keeps
MEMORY_GOAL_MB = 50.0
TIME_GOAL_RATIO = 2.0
ALLOWED_NETWORKS = "127.0.0.0/8"


def make_pdf(size: int) -> bytes:
    """A valid one-page PDF of exactly `size` bytes, padded by a long (harmless) content stream."""
    from pypdf import PdfWriter
    from pypdf.generic import NameObject, StreamObject

    def build(padding: int) -> bytes:
        writer = PdfWriter()
        page = writer.add_blank_page(width=595, height=842)
        content = StreamObject()
        # "q Q" saves and restores the graphics state: valid operators that draw nothing.
        content.set_data(b"q Q\n" * (padding // 4) + b" " * (padding % 4))
        page[NameObject("/Contents")] = writer._add_object(content)
        buffer = io.BytesIO()
        writer.write(buffer)
        return buffer.getvalue()

    padding = size
    for _ in range(5):
        pdf = build(padding)
        if len(pdf) == size:
            return pdf
        padding += size - len(pdf)
    raise RuntimeError(f"could not make a PDF of exactly {size} bytes (got {len(pdf)})")


@contextmanager
def serve(body: bytes) -> Iterator[str]:
    """Serve `body` as application/pdf from a threaded stdlib server on 127.0.0.1; yield its URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("Content-Type", "application/pdf")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass  # keep the table readable

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/report.pdf"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def time_curl(url: str, output: str = "/dev/null") -> float:
    """Seconds for one `curl -s -o OUTPUT URL`, process start to exit."""
    started = time.perf_counter()
    subprocess.run(["curl", "-s", "-f", "-o", output, url], check=True)
    return time.perf_counter() - started


def time_capture(url: str, tmp_dir: Path, mode: str = "--child") -> tuple[dict, float]:
    """Run one capture in a fresh interpreter; its own report plus the whole process's wall time."""
    env = dict(os.environ, FACTDESK_FETCH_ALLOWED_NETWORKS=ALLOWED_NETWORKS)
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "tests.bench.capture", mode, url, str(tmp_dir)],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    return json.loads(done.stdout), time.perf_counter() - started


def _status_kb(field: str) -> int:
    """A field of /proc/self/status in kB (VmHWM is the peak resident set so far)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    raise RuntimeError(f"{field} not in /proc/self/status")


def child(url: str, tmp_dir: str) -> None:
    """The measured process: import, build the fetcher, take the baseline, capture once, report JSON."""
    from sources.fetcher import SafeFetcher
    from sources.netpolicy import AddressPolicy

    networks = os.environ.get("FACTDESK_FETCH_ALLOWED_NETWORKS", "").split(",")
    fetcher = SafeFetcher(policy=AddressPolicy(networks), tmp_dir=Path(tmp_dir))
    baseline = _status_kb("VmHWM")
    started = time.perf_counter()
    result = fetcher.fetch(url)
    seconds = time.perf_counter() - started
    peak = _status_kb("VmHWM")
    # For context: the same capture again in this now-warm process, as a long-lived worker runs it.
    again = fetcher.fetch(url)
    warm_started = time.perf_counter()
    warm = fetcher.fetch(url)
    warm_seconds = time.perf_counter() - warm_started
    for extra in (again, warm):
        if extra.body_path is not None:
            extra.body_path.unlink()
    report = {
        "ok": result.ok,
        "error": result.error,
        "size": result.size,
        "sha256": result.sha256,
        "body_path": str(result.body_path) if result.body_path else None,
        "seconds": seconds,
        "warm_seconds": warm_seconds,
        "baseline_kb": baseline,
        "peak_kb": peak,
    }
    print(json.dumps(report))


def floor(url: str, tmp_dir: str) -> None:
    """For context only: a bare httpx stream of the same URL, bytes thrown away (no rules, hash or file)."""
    import httpcore  # noqa: F401 (loaded up front, as sources.fetcher does)
    import httpx

    with httpx.Client(trust_env=False) as client:  # the CA bundle loads here, outside the clock
        started = time.perf_counter()
        with client.stream("GET", url) as response:
            size = sum(len(chunk) for chunk in response.iter_raw())
        seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "size": size}))


def main(runs: int) -> int:
    """Run the benchmark, print the table, and return 0 when every goal passes."""
    if shutil.which("curl") is None:
        print("curl is not installed; the time goal needs it.")
        return 2
    print(f"making a {PDF_SIZE:,}-byte PDF ...", flush=True)
    pdf = make_pdf(PDF_SIZE)
    expected = hashlib.sha256(pdf).hexdigest()
    curl_times: list[float] = []
    captures: list[dict] = []
    process_times: list[float] = []
    floor_times: list[float] = []
    curl_file_times: list[float] = []
    with serve(pdf) as url, tempfile.TemporaryDirectory(prefix="factdesk-bench-") as tmp:
        time_curl(url)  # warm-up: page cache, server thread pool
        for _ in range(runs):
            curl_times.append(time_curl(url))
            report, process_seconds = time_capture(url, Path(tmp))
            if not report["ok"] or report["sha256"] != expected or report["size"] != len(pdf):
                print(f"capture did not archive the PDF intact: {report}")
                return 1
            Path(report["body_path"]).unlink()
            captures.append(report)
            process_times.append(process_seconds)
            floor_times.append(time_capture(url, Path(tmp), "--floor")[0]["seconds"])
            # curl doing the same disk work as a capture (it does not hash): the goal's reference.
            curl_file_times.append(time_curl(url, str(Path(tmp) / "curl.body")))

    curl_devnull = statistics.median(curl_times)
    # The goal compares like with like: a capture archives the body, so curl saves it to a file too.
    curl = statistics.median(curl_file_times)
    capture = statistics.median(r["seconds"] for r in captures)
    process = statistics.median(process_times)
    warm = statistics.median(r["warm_seconds"] for r in captures)
    httpx_floor = statistics.median(floor_times)
    baseline_mb = statistics.median(r["baseline_kb"] for r in captures) / 1024
    peak_mb = statistics.median(r["peak_kb"] for r in captures) / 1024
    growth_mb = max(r["peak_kb"] - r["baseline_kb"] for r in captures) / 1024
    memory_ok = growth_mb <= MEMORY_GOAL_MB
    time_ok = capture <= TIME_GOAL_RATIO * curl

    print(f"\n25 MB PDF ({len(pdf):,} bytes) from 127.0.0.1, {runs} runs each, medians")
    print(f"{'measure':<50} {'value':>10}  goal")
    print("-" * 84)
    _row("curl -s -o a file in the capture dir", f"{curl * 1000:.1f} ms")
    _row("  curl -s -o /dev/null (info)", f"{curl_devnull * 1000:.1f} ms")
    _row("SafeFetcher.fetch() in a fresh process", f"{capture * 1000:.1f} ms")
    _row("  that process, start to exit (info)", f"{process * 1000:.1f} ms")
    _row("  a later fetch() in that warm process (info)", f"{warm * 1000:.1f} ms")
    _row("  bare httpx stream, bytes discarded (info)", f"{httpx_floor * 1000:.1f} ms")
    _row(
        "  fetch / curl to a file", f"{capture / curl:.2f}x", f"<= {TIME_GOAL_RATIO:g}x  {_verdict(time_ok)}"
    )
    _row("  fetch / curl to /dev/null (info)", f"{capture / curl_devnull:.2f}x")
    _row("capturing process baseline RSS (VmHWM)", f"{baseline_mb:.1f} MB")
    _row("capturing process peak RSS (VmHWM)", f"{peak_mb:.1f} MB")
    _row(
        "  peak above baseline (worst run)",
        f"{growth_mb:.1f} MB",
        f"<= {MEMORY_GOAL_MB:g} MB  {_verdict(memory_ok)}",
    )
    print(f"\nruns: curl {_ms(curl_times)}; fetch {_ms(r['seconds'] for r in captures)}")
    print(f"      warm fetch {_ms(r['warm_seconds'] for r in captures)}; bare httpx {_ms(floor_times)}")
    return 0 if memory_ok and time_ok else 1


def _row(label: str, value: str, goal: str = "") -> None:
    print(f"{label:<50} {value:>10}  {goal}".rstrip())


def _verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def _ms(values: object) -> str:
    return ", ".join(f"{value * 1000:.1f}" for value in values) + " ms"  # type: ignore[attr-defined]


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--child", nargs=2, metavar=("URL", "TMP_DIR"), help=argparse.SUPPRESS)
    parser.add_argument("--floor", nargs=2, metavar=("URL", "TMP_DIR"), help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(*options.child)
    elif options.floor:
        floor(*options.floor)
    else:
        sys.exit(main(options.runs))
