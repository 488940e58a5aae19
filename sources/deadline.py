"""A wall-clock deadline for an HTTP exchange through httpx, for captures and webhook deliveries."""

import contextlib
import socket
import threading
import time
from typing import Any

import httpcore

from sources.errors import CaptureFailed


class Deadline:
    """A wall-clock limit on one HTTP exchange, enforced even inside a blocking read.

    httpx timeouts apply per read, so a server sending a byte every few seconds would never trip them.
    A timer shuts the connection's socket down at the limit, which wakes any read (headers, TLS
    handshake or body) at once; the caller then reports the time-out. Pass `trace` as the request's
    `trace` extension so the deadline gets hold of each connection's socket.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._at = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._fired = False
        # A duplicate of the connection's descriptor: it stays valid whatever httpcore does with the
        # original (TLS wrapping detaches it), so shutting it down can never hit a reused descriptor.
        self._socket: socket.socket | None = None

    def remaining(self) -> float:
        """Seconds left before the limit."""
        return self._at - time.monotonic()

    @property
    def expired(self) -> bool:
        """True once the limit has passed."""
        return self._fired or self.remaining() <= 0

    def check(self) -> None:
        """Raise the time-out failure if the limit has passed."""
        if self.expired:
            raise self.failure()

    def failure(self) -> CaptureFailed:
        """The failure to report for a capture that ran out of time."""
        return CaptureFailed(f"Timed out after {self.seconds:g} s.")

    def trace(self, event: str, info: dict[str, Any]) -> None:
        """httpcore's trace hook: take hold of each new connection's socket so the timer can shut it."""
        if event != "connection.connect_tcp.complete":
            return
        stream: httpcore.NetworkStream = info["return_value"]
        sock = stream.get_extra_info("socket")
        if sock is None:
            return
        with self._lock:
            self._close_socket()
            self._socket = sock.dup()
            if self._timer is None:
                self._timer = threading.Timer(max(self.remaining(), 0.0), self._fire)
                self._timer.daemon = True
                self._timer.start()
            if self._fired:
                self._shutdown()

    def release(self) -> None:
        """Let go of the current connection's socket (the hop is over)."""
        with self._lock:
            self._close_socket()

    def cancel(self) -> None:
        """Stop the timer and let go of any socket; call once the capture is over."""
        with self._lock:
            self._close_socket()
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
            timer.join()

    def _fire(self) -> None:
        with self._lock:
            self._fired = True
            self._shutdown()

    def _shutdown(self) -> None:
        if self._socket is not None:
            with contextlib.suppress(OSError):  # already closed by the peer: nothing to interrupt
                self._socket.shutdown(socket.SHUT_RDWR)

    def _close_socket(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None
