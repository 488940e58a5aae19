"""Tests for sources/fetcher.py against real local servers: captures, redirects, failures and the SSRF rule.

Local servers live on 127.0.0.1 and 127.0.0.2 and are reached only through an allowed network; no test
needs the internet or connects to a public address.
"""

import gzip
import hashlib
import io
import re
import shutil
import socket
import ssl
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from pypdf import PdfWriter
from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from sources.fetcher import FetchResult, SafeFetcher
from sources.netpolicy import AddressPolicy

HTML = b"<!doctype html><title>Budget 2024</title><p>Spending rose by 4.2 per cent.</p>"
MakeFetcher = Callable[..., SafeFetcher]


@pytest.fixture
def tmp_dir(tmp_path: Path) -> Path:
    return tmp_path / "captures"


@pytest.fixture
def make_fetcher(tmp_dir: Path) -> MakeFetcher:
    """A fetcher factory: only `allowed` networks are exempt from the address rule (none by default)."""

    def make(
        allowed: tuple[str, ...] = (), resolver: Callable[[str, int], list[str]] | None = None, **options
    ):
        return SafeFetcher(policy=AddressPolicy(allowed, resolver=resolver), tmp_dir=tmp_dir, **options)

    return make


@pytest.fixture
def local(make_fetcher: MakeFetcher) -> SafeFetcher:
    """A fetcher that may reach the local test servers (127.0.0.0/8) and nothing else private."""
    return make_fetcher(("127.0.0.0/8",))


@pytest.fixture(scope="module")
def _second_server() -> Iterator[HTTPServer]:
    server = HTTPServer(host="127.0.0.2", port=0)
    server.start()
    yield server
    server.clear()
    server.stop()


@pytest.fixture
def second_server(_second_server: HTTPServer) -> HTTPServer:
    """A second real server, on 127.0.0.2, for redirects between hosts (emptied for each test)."""
    _second_server.clear()
    return _second_server


def url(server: HTTPServer, path: str) -> str:
    """The server's URL by address (`url_for` says "localhost", which resolves differently per machine)."""
    host, port = server.server.server_address[:2]
    return f"http://{host}:{port}{path}"


def leftovers(tmp_dir: Path) -> list[Path]:
    return list(tmp_dir.iterdir()) if tmp_dir.exists() else []


def assert_captured(result: FetchResult, body: bytes) -> None:
    assert result.error is None
    assert (result.ok, result.outcome) == (True, "ok")
    assert result.body_path is not None
    assert result.body_path.read_bytes() == body
    assert result.size == len(body)
    assert result.sha256 == hashlib.sha256(body).hexdigest()


def pdf_bytes() -> bytes:
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


# Captures


def test_captures_html_with_its_headers(httpserver: HTTPServer, local: SafeFetcher) -> None:
    httpserver.expect_request("/budget").respond_with_data(
        HTML,
        content_type="text/html; charset=UTF-8",
        headers={"ETag": '"v1"', "Last-Modified": "Tue, 02 Jan 2024 10:00:00 GMT"},
    )
    result = local.fetch(url(httpserver, "/budget"))
    assert_captured(result, HTML)
    assert (result.content_type, result.charset) == ("text/html", "utf-8")
    assert (result.etag, result.last_modified) == ('"v1"', "Tue, 02 Jan 2024 10:00:00 GMT")
    assert (result.status_code, result.final_url, result.address) == (
        200,
        url(httpserver, "/budget"),
        "127.0.0.1",
    )
    assert result.redirects == []
    assert result.permanent_redirect is False
    assert result.body_path.parent == local.tmp_dir
    request, _ = httpserver.log[0]
    assert request.headers["User-Agent"] == "Factdesk/0.1 (+archiving primary sources)"
    assert request.headers["Host"] == f"127.0.0.1:{httpserver.port}"


def test_captures_a_real_pdf(httpserver: HTTPServer, local: SafeFetcher) -> None:
    pdf = pdf_bytes()
    httpserver.expect_request("/report.pdf").respond_with_data(pdf, content_type="application/pdf")
    result = local.fetch(url(httpserver, "/report.pdf"))
    assert_captured(result, pdf)
    assert result.body_path.read_bytes().startswith(b"%PDF-")
    assert (result.content_type, result.charset) == ("application/pdf", None)


def test_captures_plain_text(httpserver: HTTPServer, local: SafeFetcher) -> None:
    text = "Statement: the minister said «nothing changed».\n".encode()
    httpserver.expect_request("/statement.txt").respond_with_data(
        text, content_type="text/plain; charset=utf-8"
    )
    assert_captured(local.fetch(url(httpserver, "/statement.txt")), text)


def test_gzip_body_is_stored_decoded(httpserver: HTTPServer, local: SafeFetcher) -> None:
    httpserver.expect_request("/zipped").respond_with_data(
        gzip.compress(HTML), content_type="text/html", headers={"Content-Encoding": "gzip"}
    )
    assert_captured(local.fetch(url(httpserver, "/zipped")), HTML)
    request, _ = httpserver.log[0]
    assert request.headers["Accept-Encoding"] == "gzip, deflate"


def test_gzip_bomb_is_stopped_at_the_cap(
    httpserver: HTTPServer, make_fetcher: MakeFetcher, tmp_dir: Path
) -> None:
    bomb = gzip.compress(b"\0" * 5_000_000)
    assert len(bomb) < 10_000
    httpserver.expect_request("/bomb").respond_with_data(
        bomb, content_type="text/plain", headers={"Content-Encoding": "gzip"}
    )
    result = make_fetcher(("127.0.0.0/8",), max_bytes=1_000_000).fetch(url(httpserver, "/bomb"))
    assert (result.ok, result.outcome, result.error) == (
        False,
        "error",
        "Refused: the body is larger than 1 MB.",
    )
    assert leftovers(tmp_dir) == []


def test_unsupported_content_encoding_is_an_error(httpserver: HTTPServer, local: SafeFetcher) -> None:
    httpserver.expect_request("/br").respond_with_data(
        b"x", content_type="text/html", headers={"Content-Encoding": "br"}
    )
    result = local.fetch(url(httpserver, "/br"))
    assert result.outcome == "error"
    assert result.error == "Refused: content encoding br is not supported (gzip and deflate are)."


# Redirects


def test_redirect_chain_across_hosts(
    httpserver: HTTPServer, second_server: HTTPServer, local: SafeFetcher
) -> None:
    second_server.expect_request("/old").respond_with_data(
        "", status=301, headers={"Location": url(httpserver, "/moved")}
    )
    httpserver.expect_request("/moved").respond_with_data("", status=302, headers={"Location": "/final?x=1"})
    httpserver.expect_request("/final").respond_with_data(HTML, content_type="text/html")
    result = local.fetch(url(second_server, "/old"))
    assert_captured(result, HTML)
    assert [(hop.url, hop.status_code, hop.location) for hop in result.redirects] == [
        (url(second_server, "/old"), 301, url(httpserver, "/moved")),
        (url(httpserver, "/moved"), 302, url(httpserver, "/final?x=1")),
    ]
    assert result.permanent_redirect is True
    assert (result.final_url, result.address, result.url) == (
        url(httpserver, "/final?x=1"),
        "127.0.0.1",
        url(second_server, "/old"),
    )


def test_temporary_redirects_are_not_permanent(httpserver: HTTPServer, local: SafeFetcher) -> None:
    httpserver.expect_request("/a").respond_with_data("", status=307, headers={"Location": "/b"})
    httpserver.expect_request("/b").respond_with_data(HTML, content_type="text/html")
    result = local.fetch(url(httpserver, "/a"))
    assert_captured(result, HTML)
    assert result.permanent_redirect is False


def chain(server: HTTPServer, redirects: int) -> str:
    for step in range(redirects):
        server.expect_request(f"/r{step}").respond_with_data(
            "", status=301, headers={"Location": f"/r{step + 1}"}
        )
    server.expect_request(f"/r{redirects}").respond_with_data(HTML, content_type="text/html")
    return url(server, "/r0")


def test_five_redirects_are_followed(httpserver: HTTPServer, local: SafeFetcher) -> None:
    result = local.fetch(chain(httpserver, 5))
    assert_captured(result, HTML)
    assert len(result.redirects) == 5


def test_a_sixth_redirect_is_an_error(httpserver: HTTPServer, local: SafeFetcher, tmp_dir: Path) -> None:
    result = local.fetch(chain(httpserver, 6))
    assert (result.ok, result.outcome) == (False, "error")
    assert result.error == "Stopped after more than 5 redirects."
    assert len(result.redirects) == 6
    assert len(httpserver.log) == 6  # /r6 was never asked for
    assert leftovers(tmp_dir) == []


def test_redirect_without_location_is_an_error(httpserver: HTTPServer, local: SafeFetcher) -> None:
    httpserver.expect_request("/nowhere").respond_with_data("", status=302)
    result = local.fetch(url(httpserver, "/nowhere"))
    assert (result.outcome, result.error) == (
        "error",
        "The server answered 302 Found without a Location header.",
    )


def test_redirect_to_a_refused_scheme_is_blocked(httpserver: HTTPServer, local: SafeFetcher) -> None:
    httpserver.expect_request("/file").respond_with_data(
        "", status=302, headers={"Location": "file:///etc/passwd"}
    )
    result = local.fetch(url(httpserver, "/file"))
    assert (result.outcome, result.error) == (
        "blocked",
        "Refused: only http and https URLs are captured, not file:.",
    )


# HTTP failures


@pytest.mark.parametrize(
    ("status", "outcome", "error"),
    [
        (404, "gone", "The server answered 404 Not Found."),
        (410, "gone", "The server answered 410 Gone."),
        (500, "error", "The server answered 500 Internal Server Error."),
        (503, "error", "The server answered 503 Service Unavailable."),
        (403, "error", "The server answered 403 Forbidden."),
    ],
)
def test_error_statuses(
    httpserver: HTTPServer, local: SafeFetcher, tmp_dir: Path, status: int, outcome: str, error: str
) -> None:
    httpserver.expect_request("/doc").respond_with_data("nope", status=status, content_type="text/html")
    result = local.fetch(url(httpserver, "/doc"))
    assert (result.ok, result.outcome, result.status_code, result.error) == (False, outcome, status, error)
    assert result.body_path is None
    assert result.sha256 is None
    assert leftovers(tmp_dir) == []


def test_wrong_content_type_is_refused(httpserver: HTTPServer, local: SafeFetcher, tmp_dir: Path) -> None:
    httpserver.expect_request("/chart.png").respond_with_data(b"\x89PNG\r\n\x1a\n", content_type="image/png")
    result = local.fetch(url(httpserver, "/chart.png"))
    assert (result.ok, result.outcome, result.status_code, result.content_type) == (
        False,
        "error",
        200,
        "image/png",
    )
    assert result.error == (
        "Refused: content type image/png is not archived "
        "(HTML, XHTML, plain text, PDF, JSON, CSV and XML are)."
    )
    assert leftovers(tmp_dir) == []


def test_missing_content_type_is_refused(httpserver: HTTPServer, local: SafeFetcher) -> None:
    def bare(request: Request) -> Response:
        response = Response(HTML)
        del response.headers["Content-Type"]
        return response

    httpserver.expect_request("/bare").respond_with_handler(bare)
    result = local.fetch(url(httpserver, "/bare"))
    assert (result.outcome, result.content_type) == ("error", None)
    assert result.error == "Refused: the server sent no content type, so the body is not archived."


def test_oversized_body_with_content_length_is_refused_before_reading(
    httpserver: HTTPServer, make_fetcher: MakeFetcher, tmp_dir: Path
) -> None:
    httpserver.expect_request("/big").respond_with_data(b"x" * 5000, content_type="text/plain")
    result = make_fetcher(("127.0.0.0/8",), max_bytes=1000).fetch(url(httpserver, "/big"))
    assert (result.ok, result.outcome, result.error) == (
        False,
        "error",
        "Refused: the body is larger than 1 kB.",
    )
    assert result.size == 0  # refused on the header, nothing read
    assert leftovers(tmp_dir) == []


def test_oversized_body_without_content_length_is_stopped_while_streaming(
    httpserver: HTTPServer, make_fetcher: MakeFetcher, tmp_dir: Path
) -> None:
    def stream(request: Request) -> Response:
        return Response((b"x" * 500 for _ in range(10)), content_type="text/plain")

    httpserver.expect_request("/stream").respond_with_handler(stream)
    result = make_fetcher(("127.0.0.0/8",), max_bytes=1000).fetch(url(httpserver, "/stream"))
    assert (result.ok, result.outcome, result.error) == (
        False,
        "error",
        "Refused: the body is larger than 1 kB.",
    )
    assert leftovers(tmp_dir) == []


def test_a_body_exactly_at_the_cap_is_kept(httpserver: HTTPServer, make_fetcher: MakeFetcher) -> None:
    httpserver.expect_request("/exact").respond_with_data(b"x" * 1000, content_type="text/plain")
    assert_captured(
        make_fetcher(("127.0.0.0/8",), max_bytes=1000).fetch(url(httpserver, "/exact")), b"x" * 1000
    )


def test_connection_refused_is_an_error(local: SafeFetcher) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    result = local.fetch(f"http://127.0.0.1:{port}/")
    assert (result.outcome, result.error) == (
        "error",
        "Could not connect to 127.0.0.1: the connection was refused.",
    )


def test_unresolvable_name_is_an_error(make_fetcher: MakeFetcher) -> None:
    def nxdomain(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    result = make_fetcher(resolver=nxdomain).fetch("https://nowhere.example/")
    assert (result.outcome, result.error) == (
        "error",
        "Could not resolve nowhere.example: Name or service not known.",
    )


def test_fetch_never_raises_even_on_unexpected_errors(
    httpserver: HTTPServer, local: SafeFetcher, tmp_dir: Path
) -> None:
    tmp_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir.write_text("a file where the temp directory should be")
    httpserver.expect_request("/doc").respond_with_data(HTML, content_type="text/html")
    result = local.fetch(url(httpserver, "/doc"))
    assert (result.ok, result.outcome) == (False, "error")
    assert result.error == "The capture failed unexpectedly; the worker log has details."


# Time limits, with a raw socket server that answers as slowly as we like


class SlowServer:
    """Answers every connection with `head` at once, then `drip` one byte every `interval` seconds.

    With `tls`, it speaks TLS first (the handshake itself is prompt).
    """

    def __init__(
        self, head: bytes, drip: bytes = b"", interval: float = 0.2, tls: ssl.SSLContext | None = None
    ) -> None:
        self.head, self.drip, self.interval, self.tls = head, drip, interval, tls
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self.port = self._listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while not self._stop.is_set():
            try:
                conn, _ = self._listener.accept()
            except TimeoutError:
                continue
            try:
                with self.tls.wrap_socket(conn, server_side=True) if self.tls else conn as stream:
                    stream.sendall(self.head)
                    for byte in self.drip:
                        if self._stop.wait(self.interval):
                            break
                        stream.sendall(bytes([byte]))
                    self._stop.wait(5)  # then keep the connection open and silent
            except OSError:
                pass  # the client gave up: what the tests want
            finally:
                conn.close()

    def close(self) -> None:
        self._stop.set()
        self._thread.join()
        self._listener.close()


@pytest.fixture
def slow_server() -> Iterator[Callable[..., SlowServer]]:
    servers: list[SlowServer] = []

    def start(
        head: bytes, drip: bytes = b"", interval: float = 0.2, tls: ssl.SSLContext | None = None
    ) -> SlowServer:
        servers.append(SlowServer(head, drip, interval, tls))
        return servers[-1]

    yield start
    for server in servers:
        server.close()


@pytest.mark.parametrize(
    ("head", "drip"),
    [
        # The body trickles in well within every per-read timeout, but not within the deadline.
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n", b"x" * 100),
        # A body that ends at connection close would look complete if the cut were not noticed.
        (b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\n", b"x" * 100),
        # The headers themselves trickle.
        (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nX-Slow: ", b"y" * 100),
        # Nothing at all after the connection is accepted.
        (b"", b""),
    ],
    ids=["body", "close-delimited-body", "headers", "silent"],
)
def test_slow_server_is_cut_off_at_the_deadline(
    make_fetcher: MakeFetcher, slow_server: Callable[..., SlowServer], tmp_dir: Path, head: bytes, drip: bytes
) -> None:
    server = slow_server(head, drip, interval=0.2)
    fetcher = make_fetcher(("127.0.0.0/8",), total_timeout=1.0, connect_timeout=0.5)
    started = time.monotonic()
    result = fetcher.fetch(f"http://127.0.0.1:{server.port}/slow")
    elapsed = time.monotonic() - started
    assert (result.ok, result.outcome, result.error) == (False, "error", "Timed out after 1 s.")
    assert 0.9 < elapsed < 1.6
    assert leftovers(tmp_dir) == []


def test_slow_tls_body_is_cut_off_at_the_deadline(
    make_fetcher: MakeFetcher, slow_server: Callable[..., SlowServer], certificate: tuple[Path, Path]
) -> None:
    server_side = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server_side.load_cert_chain(*certificate)
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 100\r\n\r\n"
    server = slow_server(head, b"x" * 100, interval=0.2, tls=server_side)
    fetcher = make_fetcher(
        ("127.0.0.1/32",),
        resolver=lambda host, port: ["127.0.0.1"],
        ssl_context=ssl.create_default_context(cafile=str(certificate[0])),
        total_timeout=1.0,
    )
    started = time.monotonic()
    result = fetcher.fetch(f"https://news.example:{server.port}/slow")
    assert (result.outcome, result.error) == ("error", "Timed out after 1 s.")
    assert result.status_code == 200  # the headers came, then the body trickled
    assert time.monotonic() - started < 1.6


# The connection goes to the checked address, and TLS still checks the real name


def test_connects_to_the_address_that_was_checked_without_a_second_lookup(
    second_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    answers = [["127.0.0.2"], ["127.0.0.1"]]  # a rebinding resolver: a different answer the second time
    calls: list[str] = []

    def rebinding(host: str, port: int) -> list[str]:
        calls.append(host)
        return answers[min(len(calls), 2) - 1]

    second_server.expect_request("/page").respond_with_data(HTML, content_type="text/html")
    result = make_fetcher(("127.0.0.2/32",), resolver=rebinding).fetch(
        f"http://news.example:{second_server.port}/page"
    )
    assert_captured(result, HTML)
    assert calls == ["news.example"]
    assert result.address == "127.0.0.2"
    request, _ = second_server.log[0]
    assert request.headers["Host"] == f"news.example:{second_server.port}"


def test_next_checked_address_is_tried_when_one_refuses_connections(
    second_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    second_server.expect_request("/page").respond_with_data(HTML, content_type="text/html")
    fetcher = make_fetcher(("127.0.0.0/8",), resolver=lambda host, port: ["127.0.0.3", "127.0.0.2"])
    result = fetcher.fetch(f"http://news.example:{second_server.port}/page")
    assert_captured(result, HTML)
    assert result.address == "127.0.0.2"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for news.example, made with the openssl command."""
    if shutil.which("openssl") is None:
        pytest.skip("needs the openssl command")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "2",
            "-subj",
            "/CN=news.example",
            "-addext",
            "subjectAltName=DNS:news.example",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,digitalSignature,keyCertSign",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture(scope="module")
def _tls_server(certificate: tuple[Path, Path]) -> Iterator[tuple[HTTPServer, list[str]]]:
    cert, key = certificate
    names: list[str] = []
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    context.sni_callback = lambda _socket, name, _context: names.append(name)  # type: ignore[assignment,misc]
    server = HTTPServer(host="127.0.0.2", port=0, ssl_context=context)
    server.start()
    yield server, names
    server.clear()
    server.stop()


@pytest.fixture
def tls_server(_tls_server: tuple[HTTPServer, list[str]]) -> tuple[HTTPServer, list[str]]:
    """An HTTPS server on 127.0.0.2 that records the SNI names clients send (emptied for each test)."""
    server, names = _tls_server
    server.clear()
    names.clear()
    return server, names


def tls_fetcher(make_fetcher: MakeFetcher, certificate: tuple[Path, Path]) -> SafeFetcher:
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    return make_fetcher(("127.0.0.2/32",), resolver=lambda host, port: ["127.0.0.2"], ssl_context=trust)


def test_tls_uses_the_real_name_for_sni_and_the_certificate(
    tls_server: tuple[HTTPServer, list[str]], make_fetcher: MakeFetcher, certificate: tuple[Path, Path]
) -> None:
    server, names = tls_server
    server.expect_request("/secure").respond_with_data(HTML, content_type="text/html")
    result = tls_fetcher(make_fetcher, certificate).fetch(f"https://news.example:{server.port}/secure")
    assert_captured(result, HTML)
    assert names == ["news.example"]
    assert result.address == "127.0.0.2"
    request, _ = server.log[0]
    assert request.headers["Host"] == f"news.example:{server.port}"


def test_tls_refuses_a_certificate_for_another_name(
    tls_server: tuple[HTTPServer, list[str]], make_fetcher: MakeFetcher, certificate: tuple[Path, Path]
) -> None:
    server, names = tls_server
    server.expect_request("/secure").respond_with_data(HTML, content_type="text/html")
    result = tls_fetcher(make_fetcher, certificate).fetch(f"https://other.example:{server.port}/secure")
    assert (result.ok, result.outcome) == (False, "error")
    assert result.error.startswith(
        "Could not connect to other.example (127.0.0.2): its TLS certificate is not valid"
    )
    assert "other.example" in result.error.split("valid", 1)[1]
    assert names == ["other.example"]
    assert server.log == []


# The SSRF battery: no allowed networks, nothing fetched


@pytest.mark.parametrize(
    ("target", "reason"),
    [
        ("http://127.0.0.1/", "127.0.0.1 is a loopback address"),
        ("http://localhost/", "localhost resolves to .* a loopback address"),
        ("http://127.1/", "127.1 resolves to 127.0.0.1, a loopback address"),
        ("http://2130706433/", "2130706433 resolves to 127.0.0.1, a loopback address"),
        ("http://0x7f000001/", "0x7f000001 resolves to 127.0.0.1, a loopback address"),
        ("http://0.0.0.0/", "0.0.0.0 is the unspecified address"),
        ("http://[::]/", ":: is the unspecified address"),
        ("http://[::1]/", "::1 is a loopback address"),
        ("http://[::ffff:127.0.0.1]/", r"an IPv4-mapped form of 127\.0\.0\.1 \(a loopback address\)"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254 is a link-local address"),
        ("http://[fe80::1]/", "fe80::1 is a link-local address"),
        ("http://10.0.0.1/", "10.0.0.1 is a private address"),
        ("http://172.16.5.4/", "172.16.5.4 is a private address"),
        ("http://100.64.0.1/", r"100.64.0.1 is a shared \(CGNAT\) address"),
        ("http://192.168.1.1/", "192.168.1.1 is a private address"),
        ("http://[fc00::1]/", r"fc00::1 is a private \(unique local\) address"),
        ("http://224.0.0.1/", "224.0.0.1 is a multicast address"),
        ("http://255.255.255.255/", "the broadcast address"),
        ("http://192.0.2.10/", "192.0.2.10 is a documentation address"),
        ("http://198.18.0.1/", "198.18.0.1 is a benchmarking address"),
        ("http://[64:ff9b::7f00:1]/", r"a NAT64 form of 127\.0\.0\.1 \(a loopback address\)"),
        ("http://[2002:7f00:1::]/", r"a 6to4 form of 127\.0\.0\.1 \(a loopback address\)"),
        ("http://[2001:0:404:404::f5ff:fffe]/", r"a Teredo form of 10\.0\.0\.1 \(a private address\)"),
        ("http://example.com:8080/", "port 8080 is not allowed"),
        ("file:///etc/passwd", "only http and https URLs are captured, not file:"),
        ("ftp://example.com/", "only http and https URLs are captured, not ftp:"),
        ("gopher://example.com/", "only http and https URLs are captured, not gopher:"),
        ("http://user:pass@example.com/", "user name or password"),
    ],
)
def test_ssrf_battery_is_blocked(make_fetcher: MakeFetcher, tmp_dir: Path, target: str, reason: str) -> None:
    result = make_fetcher().fetch(target)
    assert (result.ok, result.outcome) == (False, "blocked")
    assert result.error.startswith("Refused: ")
    assert re.search(reason, result.error), result.error
    # Nothing was asked of anyone: no response, no address connected to, no body.
    assert (result.status_code, result.address, result.final_url, result.body_path) == (
        None,
        None,
        None,
        None,
    )
    assert leftovers(tmp_dir) == []


def test_public_looking_name_resolving_to_a_private_address_is_blocked(make_fetcher: MakeFetcher) -> None:
    result = make_fetcher(resolver=lambda host, port: ["93.184.216.34", "192.168.0.10"]).fetch(
        "https://news.example/"
    )
    assert (result.outcome, result.error) == (
        "blocked",
        "Refused: news.example resolves to 192.168.0.10, a private address, not a public one.",
    )


def test_redirect_from_an_allowed_server_to_loopback_is_blocked(
    httpserver: HTTPServer, second_server: HTTPServer, make_fetcher: MakeFetcher
) -> None:
    httpserver.expect_request("/secret").respond_with_data("internal", content_type="text/plain")
    second_server.expect_request("/innocent").respond_with_data(
        "", status=302, headers={"Location": url(httpserver, "/secret")}
    )
    result = make_fetcher(("127.0.0.2/32",)).fetch(url(second_server, "/innocent"))
    assert (result.ok, result.outcome) == (False, "blocked")
    assert result.error == "Refused: 127.0.0.1 is a loopback address, not a public one."
    assert [hop.location for hop in result.redirects] == [url(httpserver, "/secret")]
    assert len(second_server.log) == 1
    assert httpserver.log == []


@pytest.mark.parametrize(
    "location",
    [
        b"http:\\\\127.0.0.1:9/final",  # backslashes, as some servers write them
        b"http:\\127.0.0.1:9/final",
        b"http://xn--/",  # an A-label IDNA refuses
        b"javascript:alert(1)",
        b"http://[::1",
        b"http://127.0.0.1:99999/",
        b"\\\\evil.example\\share",
    ],
)
def test_a_malformed_redirect_location_is_a_clear_failure(
    slow_server: Callable[..., SlowServer],
    make_fetcher: MakeFetcher,
    caplog: pytest.LogCaptureFixture,
    location: bytes,
) -> None:
    server = slow_server(b"HTTP/1.1 302 Found\r\nLocation: " + location + b"\r\nContent-Length: 0\r\n\r\n")
    result = make_fetcher(("127.0.0.0/8",), total_timeout=5.0).fetch(f"http://127.0.0.1:{server.port}/start")
    assert result.outcome == "error", result.error  # not refused: the server was asked
    assert not result.ok
    assert result.error
    assert "unexpectedly" not in result.error, result.error
    assert not [r for r in caplog.records if r.levelname == "ERROR"]  # no stack trace in the log
