"""Sends one webhook request to a checked public address (the capture rule), 15 s at most in all.

Like the source fetcher, it connects to the address it checked (no DNS rebinding) while TLS
verifies the real host name, follows no redirects, and never raises for network failures.
"""

import time
from dataclasses import dataclass
from datetime import timedelta
from email.utils import parsedate_to_datetime

import httpx

from service.core.database import utcnow
from sources.deadline import Deadline
from sources.errors import CaptureFailed, CaptureRefused
from sources.netpolicy import AddressPolicy

TIMEOUT_SECONDS = 15.0  # the whole attempt, however slowly the receiver answers
CONNECT_SECONDS = 5.0
ANSWER_EXCERPT_BYTES = 1024  # of the receiver's answer, kept for the delivery log

RETRY_AFTER_CAP = timedelta(days=365)  # the longest wait a receiver's Retry-After is taken at


@dataclass
class SendResult:
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int
    retry_after: timedelta | None = None


class WebhookSender:
    def __init__(
        self,
        policy: AddressPolicy,
        timeout: float = TIMEOUT_SECONDS,
        user_agent: str = "Factdesk-Webhooks/0.1",
    ) -> None:
        self.policy = policy
        self.timeout = timeout
        self.user_agent = user_agent

    def send(self, url: str, body: str, headers: dict[str, str]) -> SendResult:
        """POST `body`; a 2xx is success, anything else (or no answer) a failure to retry.

        The whole exchange (connect, send, the answer) has one deadline, however slowly the
        receiver trickles; of the answer only its status, headers and first bytes are read,
        never decompressed.
        """
        started = time.monotonic()
        try:
            _, port, host = self.policy.check_url(url)
            address = self.policy.resolve(host, port)[0]
        except (CaptureRefused, CaptureFailed) as exc:
            return SendResult(False, None, exc.detail, 0)
        target = httpx.URL(url)
        deadline = Deadline(self.timeout)
        try:
            with httpx.Client(
                trust_env=False,
                follow_redirects=False,
                timeout=httpx.Timeout(self.timeout, connect=min(CONNECT_SECONDS, self.timeout)),
            ) as client:
                request = client.build_request(
                    "POST",
                    target.copy_with(host=address),
                    content=body.encode(),
                    headers={
                        **headers,
                        "Host": target.netloc.decode("ascii"),
                        "User-Agent": self.user_agent,
                        "Accept-Encoding": "identity",
                    },
                    extensions={"sni_hostname": host, "trace": deadline.trace},
                )
                response = client.send(request, stream=True)
                try:
                    excerpt = _excerpt(response)
                finally:
                    response.close()
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeError, OSError) as exc:
            if deadline.expired or isinstance(exc, httpx.TimeoutException):
                return SendResult(False, None, f"No answer within {self.timeout:g} s.", _ms(started))
            return SendResult(
                False, None, f"Could not deliver: {type(exc).__name__}: {exc}"[:500], _ms(started)
            )
        finally:
            deadline.cancel()
        ok = 200 <= response.status_code < 300
        error = None if ok else f"The endpoint answered {response.status_code}{excerpt}."
        return SendResult(ok, response.status_code, error, _ms(started), _retry_after(response))


def _excerpt(response: httpx.Response) -> str:
    """The first bytes of the answer as sent (not decompressed), for the delivery log; the rest
    is never read."""
    read = b""
    for chunk in response.iter_raw(ANSWER_EXCERPT_BYTES):
        read += chunk
        if len(read) >= ANSWER_EXCERPT_BYTES:
            break
    if response.headers.get("content-encoding", "identity") != "identity" or not read:
        return ""
    text = " ".join(read[:ANSWER_EXCERPT_BYTES].decode("utf-8", "replace").split())
    return f": {text[:200]}"


def _ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _retry_after(response: httpx.Response) -> timedelta | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():  # a receiver may ask for any number: at most a year, never an overflow
        return timedelta(seconds=min(int(value.strip()), int(RETRY_AFTER_CAP.total_seconds())))
    try:
        return min(max(parsedate_to_datetime(value) - utcnow(), timedelta(0)), RETRY_AFTER_CAP)
    except (TypeError, ValueError, OverflowError):
        return None
