"""Archive reads through the service against the same reads straight from the store, in one run.

For each store (the filesystem, and S3 on moto's standalone server), a 25 MB archived document is
read by 16 concurrent readers, ROUNDS times each:
- through `factdesk serve` (a real process, 2 gunicorn sync workers), GET …/snapshots/…/content;
- straight from the store: the blob file from a plain static file server (`python -m http.server`
  on the blob directory), or boto3 `get_object` from the same moto bucket.
It prints throughput, and the web workers' peak RSS (VmHWM) before and after the reads: serving
streams a chunk at a time, so the peak must stay flat, not grow by the archive's size per reader.

    python -m tests.bench.archive_reads [--rounds 2] [--readers 16]
"""

import argparse
import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import boto3

from tests.bench.intake import HOST, REPO, BenchError, executable, factdesk_env, free_port, serving
from tests.s3 import CREDENTIALS, wait_for_port

SIZE = 25_000_000
WORKERS = 2
MB = 1_000_000


def document() -> bytes:
    """25 MB of plain text (a type the desk archives), the same in every run."""
    line = b"Line %08d of the published public record, kept whole as it was captured.\n"
    lines, size, n = [], 0, 0
    while size < SIZE:
        lines.append(line % n)
        size += len(lines[-1])
        n += 1
    return b"".join(lines)[:SIZE]


def add_reviewer(env: dict[str, str]) -> str:
    done = subprocess.run(
        [executable("factdesk"), "users", "add", "bench", "--role", "reviewer"],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    for word in done.stdout.split():
        if word.startswith("fdk_"):
            return word
    raise BenchError(f"factdesk users add failed:\n{done.stdout}\n{done.stderr}")


def upload(port: int, token: str, body: bytes) -> str:
    """POST the document; the path of its archived content."""
    boundary = uuid.uuid4().hex
    form = (
        (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="record.txt"\r\n'
            f"Content-Type: text/plain\r\n\r\n"
        ).encode()
        + body
        + f"\r\n--{boundary}--\r\n".encode()
    )
    conn = http.client.HTTPConnection(HOST, port, timeout=120)
    conn.request(
        "POST",
        "/api/v1/sources",
        body=form,
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": f"multipart/form-data; boundary={boundary}",
        },
    )
    answer = conn.getresponse()
    data = answer.read()
    if answer.status != 201:
        raise BenchError(f"upload answered {answer.status}: {data[:500]!r}")
    link = json.loads(data)["latest_snapshot"]["links"]["content"]
    return "/" + link.split("/", 3)[3]


@contextmanager
def static_server(root: Path, port: int) -> Iterator[None]:
    """A plain static file server on the blob directory (the filesystem store read directly)."""
    command = [sys.executable, "-m", "http.server", "-b", HOST, "-d", str(root), str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield
    finally:
        server.terminate()
        server.wait(timeout=10)


def http_read(port: int, path: str, headers: dict[str, str]) -> Callable[[], int]:
    def read() -> int:
        conn = http.client.HTTPConnection(HOST, port, timeout=120)
        conn.request("GET", path, headers=headers)
        answer = conn.getresponse()
        if answer.status != 200:
            raise BenchError(f"GET {path} answered {answer.status}")
        size = 0
        while chunk := answer.read(256 * 1024):
            size += len(chunk)
        conn.close()
        return size

    return read


def s3_read(endpoint: str, bucket: str, key: str) -> Callable[[], int]:
    client = boto3.client("s3", endpoint_url=endpoint)

    def read() -> int:
        body = client.get_object(Bucket=bucket, Key=key)["Body"]
        return sum(len(chunk) for chunk in body.iter_chunks(256 * 1024))

    return read


def hammer(read: Callable[[], int], readers: int, rounds: int) -> tuple[float, int]:
    """`readers` threads, each reading `rounds` times; seconds taken and bytes read."""
    sizes: list[int] = []
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(rounds):
                sizes.append(read())
        except BaseException as exc:  # reported after the run
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(readers)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise BenchError(f"{len(errors)} readers failed: {errors[0]!r}")
    if any(size != SIZE for size in sizes):
        raise BenchError(f"short reads: {sorted(set(sizes))}")
    return time.perf_counter() - started, sum(sizes)


def web_workers(master: int) -> list[int]:
    """gunicorn's workers: the master's children, not the job worker it supervises."""
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            cmdline = (stat.parent / "cmdline").read_bytes()
        except (OSError, IndexError, ValueError):
            continue
        if ppid == master and b"service.cli\x00worker" not in cmdline:
            pids.append(int(stat.parent.name))
    return pids


def peak_rss(pids: list[int]) -> float:
    """The largest VmHWM (peak resident memory since start) among `pids`, in MB."""
    peaks = []
    for pid in pids:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                peaks.append(int(line.split()[1]) * 1024 / MB)
    return max(peaks)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--readers", type=int, default=16)
    args = parser.parse_args()
    body = document()
    sha = hashlib.sha256(body).hexdigest()
    rows: list[tuple[str, str, float, float, str]] = []
    with tempfile.TemporaryDirectory(prefix="factdesk-bench-archive-") as tmp:
        root = Path(tmp)
        moto_port = free_port()
        moto = subprocess.Popen(
            [sys.executable, "-m", "moto.server", "-H", HOST, "-p", str(moto_port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, **CREDENTIALS},
        )
        try:
            os.environ.update(CREDENTIALS)
            wait_for_port(moto_port)
            endpoint = f"http://{HOST}:{moto_port}"
            bucket = "factdesk-bench"
            boto3.client("s3", endpoint_url=endpoint).create_bucket(Bucket=bucket)
            for store in ("filesystem", "s3"):
                data_dir = root / store
                data_dir.mkdir()
                env = {**factdesk_env(data_dir), "FACTDESK_CAPTURE_MAX_BYTES": str(SIZE + MB)}
                if store == "s3":
                    env |= {
                        "FACTDESK_BLOB_URL": f"s3://{bucket}/archive",
                        "FACTDESK_S3_ENDPOINT_URL": endpoint,
                    }
                env |= CREDENTIALS
                token = add_reviewer(env)
                port = free_port()
                command = [
                    executable("factdesk"),
                    "serve",
                    "--host",
                    HOST,
                    "--port",
                    str(port),
                    "--workers",
                    str(WORKERS),
                ]
                with serving(f"serve ({store})", command, env, port, root / f"{store}.log") as server:
                    path = upload(port, token, body)
                    read = http_read(port, path, {"Authorization": f"Bearer {token}"})
                    read()  # warm: each worker's first request loads what it imports lazily
                    read()
                    workers = web_workers(server.process.pid)
                    before = peak_rss(workers)
                    seconds, total = hammer(read, args.readers, args.rounds)
                    after = peak_rss(workers)
                    rows.append(
                        (
                            store,
                            "factdesk serve",
                            total / MB / seconds,
                            seconds,
                            f"{before:.0f} → {after:.0f}",
                        )
                    )
                if store == "filesystem":
                    blobs = data_dir / "blobs"
                    static_port = free_port()
                    with static_server(blobs, static_port):
                        direct = http_read(static_port, f"/{sha[:2]}/{sha[2:4]}/{sha}", {})
                        seconds, total = hammer(direct, args.readers, args.rounds)
                    rows.append((store, "static file server", total / MB / seconds, seconds, "–"))
                else:
                    direct = s3_read(endpoint, bucket, f"archive/{sha[:2]}/{sha[2:4]}/{sha}")
                    seconds, total = hammer(direct, args.readers, args.rounds)
                    rows.append((store, "boto3 get_object", total / MB / seconds, seconds, "–"))
        finally:
            moto.terminate()
            moto.wait(timeout=10)
    reads = args.readers * args.rounds
    print(
        f"\n{reads} reads of a {SIZE / MB:.0f} MB archive by {args.readers} concurrent readers "
        f"({WORKERS} gunicorn sync workers), one run:\n"
    )
    print("| store | read through | MB/s | seconds | web worker peak RSS, MB (before → after) |")
    print("|---|---|---:|---:|---|")
    for store, via, rate, seconds, rss in rows:
        print(f"| {store} | {via} | {rate:.0f} | {seconds:.1f} | {rss} |")


if __name__ == "__main__":
    main()
