"""What `factdesk serve` needs around gunicorn: a port check before anything else, and a background
worker that is started again whenever it dies.
"""

import errno
import logging
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Sequence

log = logging.getLogger(__name__)

BACKOFF_SECONDS = (1, 2, 4, 8, 16, 30)  # between restarts of a worker that keeps dying
HEALTHY_AFTER_SECONDS = 60.0  # a worker that ran this long is restarted at once the next time


class PortTaken(Exception):
    """Another process listens on the address `serve` was asked to use."""


def check_port(host: str, port: int) -> None:
    """PortTaken when `host:port` cannot be bound (another server has it); nothing is left open."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as gunicorn binds
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                raise PortTaken(f"{host}:{port} is already in use") from exc
            raise


class WorkerSupervisor(threading.Thread):
    """Runs the background worker as a child process and starts it again when it dies.

    Each death is logged with its cause; a worker that dies at once is restarted after a growing
    pause (1 s up to 30 s), one that ran a while immediately. Only `stop` ends it for good: the
    exit status cannot tell, because gunicorn's arbiter (this same process) reaps every child it
    sees die, ours included, and then `wait` reports a lost status as 0.
    """

    def __init__(self, command: Sequence[str]) -> None:
        super().__init__(name="factdesk-worker-supervisor", daemon=True)
        self.command = list(command)
        self.process: subprocess.Popen[bytes] | None = None
        self.restarts = 0
        self._stopping = threading.Event()
        self._lock = threading.Lock()

    def run(self) -> None:
        """Start the worker, wait for it, start it again, until `stop`."""
        failures = 0
        while not self._stopping.is_set():
            with self._lock:
                if self._stopping.is_set():
                    return
                self.process = subprocess.Popen(self.command)  # noqa: S603 - our own interpreter and module
            started = time.monotonic()
            code = self.process.wait()
            if self._stopping.is_set():
                return
            failures = 0 if time.monotonic() - started >= HEALTHY_AFTER_SECONDS else failures + 1
            pause = BACKOFF_SECONDS[min(failures, len(BACKOFF_SECONDS)) - 1] if failures else 0
            log.warning(
                "the background worker (pid %d) %s; starting a new one%s",
                self.process.pid,
                _exit_reason(code),
                f" in {pause} s" if pause else "",
            )
            self.restarts += 1
            self._stopping.wait(pause)

    def stop(self, timeout: float = 20.0) -> None:
        """Stop the worker (terminate, then kill after `timeout`) and do not start another."""
        with self._lock:
            self._stopping.set()
            process = self.process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"was killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"was killed by signal {-code}"
    if code == 0:  # a clean exit, or one the arbiter reaped first (its status lost)
        return "exited"
    return f"exited with status {code}"
