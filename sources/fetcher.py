"""The safe fetcher: captures one source URL into a temp file under the capture rules of the API contract.

`SafeFetcher(policy=AddressPolicy(), tmp_dir=path).fetch(url)` never raises; read the `FetchResult`.
"""

import hashlib
import logging
import ssl
import tempfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path

import certifi
import httpx

from sources.deadline import Deadline
from sources.errors import CaptureFailed, CaptureRefused
from sources.extract import ARCHIVED_TYPES
from sources.models import SnapshotOutcome
from sources.netpolicy import AddressPolicy

log = logging.getLogger(__name__)

REDIRECT_CODES = frozenset({301, 302, 303, 307, 308})
PERMANENT_REDIRECT_CODES = frozenset({301, 308})
GONE_CODES = frozenset({404, 410})
ACCEPT = (
    "text/html,application/xhtml+xml,application/pdf,text/plain,application/json,text/csv,"
    "application/xml;q=0.9,text/xml;q=0.9,*/*;q=0.1"
)
# The decoder below bounds how much one compressed chunk may expand; brotli and zstd have no such
# knob in the standard library, so only these are asked for (and accepted).
ACCEPT_ENCODING = "gzip, deflate"
_CHUNK = 64 * 1024


@dataclass
class Hop:
    """One redirect answer: the URL asked, its status and the absolute URL it pointed to."""

    url: str
    status_code: int
    location: str


@dataclass
class FetchResult:
    """What one capture produced; `body_path` (only when ok) is a temp file the caller moves or deletes.

    `outcome` is ok, blocked (address/scheme/port rule), gone (404/410) or error.
    `final_url`, `status_code` and `address` describe the last response received.
    """

    ok: bool
    url: str
    final_url: str | None = None
    status_code: int | None = None
    redirects: list[Hop] = field(default_factory=list)
    address: str | None = None
    content_type: str | None = None
    charset: str | None = None
    size: int = 0
    sha256: str | None = None
    body_path: Path | None = None
    etag: str | None = None
    last_modified: str | None = None
    error: str | None = None
    outcome: SnapshotOutcome = SnapshotOutcome.ERROR
    permanent_redirect: bool = False


class SafeFetcher:
    """Fetches a URL by hand: each hop checked and resolved once, the body streamed with a cap.

    Thread-safe: every fetch has its own clients and state.
    """

    ALLOWED_TYPES = frozenset(ARCHIVED_TYPES)  # what a snapshot can be made of, and nothing else

    def __init__(
        self,
        *,
        policy: AddressPolicy,
        tmp_dir: Path,
        max_bytes: int = 25_000_000,
        connect_timeout: float = 5.0,
        total_timeout: float = 30.0,
        max_redirects: int = 5,
        user_agent: str = "Factdesk/0.1 (+archiving primary sources)",
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.policy = policy
        self.tmp_dir = Path(tmp_dir)
        self.max_bytes = max_bytes
        self.connect_timeout = connect_timeout
        self.total_timeout = total_timeout
        self.max_redirects = max_redirects
        self.user_agent = user_agent
        # Built once: loading the CA bundle costs more than a local capture does.
        self._ssl_context = ssl_context or ssl.create_default_context(cafile=certifi.where())

    def fetch(self, url: str) -> FetchResult:
        """Capture `url`; every refusal or failure comes back as ok=False with a reviewer-readable error."""
        result = FetchResult(ok=False, url=url)
        deadline = Deadline(self.total_timeout)
        try:
            self._capture(url, result, deadline)
        except CaptureRefused as exc:
            result.outcome, result.error = SnapshotOutcome.BLOCKED, exc.detail
        except CaptureFailed as exc:
            gone = exc.extra.get("outcome") == SnapshotOutcome.GONE
            result.outcome = SnapshotOutcome.GONE if gone else SnapshotOutcome.ERROR
            result.error = exc.detail
        except Exception:
            # The contract: a capture never raises out of the worker. The details go to the log.
            log.exception("capture of %r failed unexpectedly", url)
            result.outcome, result.error = (
                SnapshotOutcome.ERROR,
                "The capture failed unexpectedly; the worker log has details.",
            )
        finally:
            deadline.cancel()
        return result

    def _capture(self, url: str, result: FetchResult, deadline: Deadline) -> None:
        current = url
        while True:
            _scheme, port, host = self.policy.check_url(current)
            addresses = self.policy.resolve(host, port)
            # The system resolver cannot be interrupted, so the deadline is checked once it answers.
            deadline.check()
            location = self._hop(current, host, addresses, result, deadline)
            if location is None:
                return
            status = result.status_code or 0
            result.redirects.append(Hop(url=current, status_code=status, location=location))
            if status in PERMANENT_REDIRECT_CODES and location != current:
                result.permanent_redirect = True
            if len(result.redirects) > self.max_redirects:
                raise CaptureFailed(f"Stopped after more than {self.max_redirects} redirects.")
            current = location

    def _hop(
        self, url: str, host: str, addresses: list[str], result: FetchResult, deadline: Deadline
    ) -> str | None:
        """Ask one URL; return where it redirects to, or None once its answer is captured or refused."""
        client, response, address = self._send(httpx.URL(url), host, addresses, deadline)
        try:
            result.address, result.final_url, result.status_code = address, url, response.status_code
            location = self._location(url, response)
            if location is None:
                self._take_body(response, result, deadline)
            return location
        except httpx.HTTPError as exc:
            raise _transport_failure(exc, host, address, deadline) from exc
        finally:
            response.close()
            client.close()
            deadline.release()

    def _send(
        self, url: httpx.URL, host: str, addresses: list[str], deadline: Deadline
    ) -> tuple[httpx.Client, httpx.Response, str]:
        """Send the GET to the first checked address that takes it; the caller closes client and response."""
        failures: list[str] = []
        for address in addresses:
            remaining = deadline.remaining()
            if remaining <= 0:
                raise deadline.failure()
            # One client per hop: a pooled connection is keyed by IP, and must not carry one host's
            # verified TLS session over to another host behind the same address.
            client = httpx.Client(
                trust_env=False,
                follow_redirects=False,
                verify=self._ssl_context,
                # The read timeout is only a backstop; the deadline's timer bounds the whole exchange.
                timeout=httpx.Timeout(remaining, connect=min(self.connect_timeout, remaining)),
            )
            try:
                request = client.build_request(
                    "GET",
                    # To the checked address, so no second lookup can be steered elsewhere (DNS
                    # rebinding); Host and SNI keep the real name, and TLS verifies the certificate for it.
                    url.copy_with(host=address),
                    headers={
                        "Host": url.netloc.decode("ascii"),
                        "User-Agent": self.user_agent,
                        "Accept": ACCEPT,
                        "Accept-Encoding": ACCEPT_ENCODING,
                    },
                    extensions={"sni_hostname": host, "trace": deadline.trace},
                )
                return client, client.send(request, stream=True), address
            except BaseException as exc:
                client.close()
                deadline.release()
                if isinstance(exc, httpx.InvalidURL | UnicodeError):
                    # httpx reads a redirect's Location as it receives the answer, and raises this
                    # (not an HTTPError) when it is not a URL at all: `javascript:`, or `http://xn--/` (IDNA).
                    raise CaptureFailed(
                        f"{_where(host, address)} redirected to a Location that is not a usable URL."
                    ) from exc
                if isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout) and not deadline.expired:
                    # Another checked address may work (often IPv6 first, on a host with no IPv6 route).
                    failures.append(f"{_where(host, address)}: {_describe(exc, self.connect_timeout)}")
                elif isinstance(exc, httpx.HTTPError):
                    raise _transport_failure(exc, host, address, deadline) from exc
                else:
                    raise
        raise CaptureFailed(f"Could not connect to {'; '.join(failures)}.")

    def _location(self, url: str, response: httpx.Response) -> str | None:
        """The absolute URL a redirect points to, or None when the answer is not a followable redirect."""
        location = response.headers.get("location")
        if response.status_code not in REDIRECT_CODES or not location:
            return None
        try:
            return str(httpx.URL(url).join(location).copy_with(fragment=None))
        except (httpx.InvalidURL, ValueError) as exc:
            raise CaptureFailed(f"The server redirected to an invalid URL: {location!r}.") from exc

    def _take_body(self, response: httpx.Response, result: FetchResult, deadline: Deadline) -> None:
        """Check status, type and size, then stream the body to a temp file, hashing as it goes."""
        status = response.status_code
        if status in GONE_CODES:
            raise CaptureFailed(
                f"The server answered {_status_text(response)}.", outcome=SnapshotOutcome.GONE
            )
        if not 200 <= status < 300:
            missing = " without a Location header" if status in REDIRECT_CODES else ""
            raise CaptureFailed(f"The server answered {_status_text(response)}{missing}.")
        result.etag = response.headers.get("etag")
        result.last_modified = response.headers.get("last-modified")
        result.content_type, result.charset = _parse_content_type(response.headers.get("content-type"))
        if result.content_type is None:
            raise CaptureFailed("Refused: the server sent no content type, so the body is not archived.")
        if result.content_type not in self.ALLOWED_TYPES:
            raise CaptureFailed(
                f"Refused: content type {result.content_type} is not archived "
                "(HTML, XHTML, plain text, PDF, JSON, CSV and XML are)."
            )
        length = response.headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > self.max_bytes:
            raise CaptureFailed(self._too_large())
        decoder = _decoder_for(response.headers.get("content-encoding"))

        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha256()
        size = 0
        handle = tempfile.NamedTemporaryFile(  # noqa: SIM115 - closed below, kept on success
            dir=self.tmp_dir, prefix="capture-", suffix=".body", delete=False
        )
        path = Path(handle.name)
        try:
            with handle:
                for piece in _body_pieces(response, decoder, deadline):
                    size += len(piece)
                    if size > self.max_bytes:
                        raise CaptureFailed(self._too_large())
                    digest.update(piece)
                    handle.write(piece)
            # A body that ends at connection close looks complete when the timer cut it short.
            deadline.check()
        except zlib.error as exc:
            path.unlink(missing_ok=True)
            raise CaptureFailed(f"The body could not be decompressed: {exc}.") from exc
        except BaseException:
            path.unlink(missing_ok=True)
            raise
        result.size, result.sha256, result.body_path = size, digest.hexdigest(), path
        result.ok, result.outcome = True, SnapshotOutcome.OK

    def _too_large(self) -> str:
        return f"Refused: the body is larger than {_human_size(self.max_bytes)}."


class _Identity:
    """A body sent as is."""

    def feed(self, data: bytes) -> Iterator[bytes]:
        yield data

    def finish(self) -> Iterator[bytes]:
        yield from ()


class _Inflater:
    """Undoes gzip or deflate a bounded piece at a time, so a small compressed body cannot balloon."""

    def __init__(self) -> None:
        # MAX_WBITS | 32 accepts both the gzip and the zlib header.
        self._zlib = zlib.decompressobj(wbits=zlib.MAX_WBITS | 32)

    def feed(self, data: bytes) -> Iterator[bytes]:
        piece = self._zlib.decompress(data, _CHUNK)
        yield piece
        # A full piece may leave output pending inside zlib even when no input is left over.
        while self._zlib.unconsumed_tail or len(piece) == _CHUNK:
            piece = self._zlib.decompress(self._zlib.unconsumed_tail, _CHUNK)
            if not piece and not self._zlib.unconsumed_tail:
                break
            yield piece

    def finish(self) -> Iterator[bytes]:
        yield self._zlib.flush()


def _body_pieces(
    response: httpx.Response, decoder: _Identity | _Inflater, deadline: Deadline
) -> Iterator[bytes]:
    """The decoded body, a bounded piece at a time, checking the deadline between reads."""
    for raw in response.iter_raw():
        # A trickle of small chunks must not outlast the deadline between reads either.
        deadline.check()
        yield from decoder.feed(raw)
    yield from decoder.finish()


def _decoder_for(content_encoding: str | None) -> _Identity | _Inflater:
    encoding = (content_encoding or "identity").strip().lower()
    if encoding in ("", "identity"):
        return _Identity()
    if encoding in ("gzip", "x-gzip", "deflate"):
        return _Inflater()
    raise CaptureFailed(f"Refused: content encoding {encoding} is not supported (gzip and deflate are).")


def _parse_content_type(value: str | None) -> tuple[str | None, str | None]:
    """Split a Content-Type header into its lower-case mimetype and its charset parameter."""
    if not value or not value.split(";")[0].strip():
        return None, None
    mimetype, *params = value.split(";")
    charset = None
    for param in params:
        name, _, param_value = param.partition("=")
        if name.strip().lower() == "charset" and param_value.strip():
            charset = param_value.strip().strip('"').lower()
    return mimetype.strip().lower(), charset


def _status_text(response: httpx.Response) -> str:
    try:
        phrase = HTTPStatus(response.status_code).phrase
    except ValueError:
        phrase = response.reason_phrase
    return f"{response.status_code} {phrase}".strip()


def _human_size(size: int) -> str:
    if size >= 1_000_000:
        return f"{size / 1_000_000:g} MB"
    if size >= 1_000:
        return f"{size / 1_000:g} kB"
    return f"{size} bytes"


def _where(host: str, address: str) -> str:
    return address if host == address else f"{host} ({address})"


def _describe(exc: BaseException, connect_timeout: float) -> str:
    """A short reviewer-readable reason for a transport error, from the OS or TLS error beneath it."""
    if isinstance(exc, httpx.ConnectTimeout):
        return f"no answer within {connect_timeout:g} s"
    cause: BaseException | None = exc
    while cause is not None:
        if isinstance(cause, ssl.SSLCertVerificationError):
            return f"its TLS certificate is not valid ({cause.verify_message})"
        if isinstance(cause, ssl.SSLError):
            return f"the TLS handshake failed ({cause.reason or cause})"
        if isinstance(cause, ConnectionRefusedError):
            return "the connection was refused"
        if isinstance(cause, ConnectionResetError):
            return "the connection was reset"
        # httpx re-raises httpcore's error, which wraps the OS one; the chain is not always __cause__.
        cause = cause.__cause__ or cause.__context__
    if isinstance(exc, httpx.RemoteProtocolError):
        return f"the server broke off or broke the HTTP protocol ({exc})"
    return str(exc) or type(exc).__name__


def _transport_failure(exc: httpx.HTTPError, host: str, address: str, deadline: Deadline) -> CaptureFailed:
    if deadline.expired or isinstance(exc, httpx.TimeoutException):
        return deadline.failure()
    return CaptureFailed(f"The connection to {_where(host, address)} failed: {_describe(exc, 0)}.")
