"""Tests for sources/extract.py: type sniffing of uploads and text extraction from archived files."""

import codecs
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from pypdf import PdfReader, PdfWriter

from sources.extract import ARCHIVED_TYPES, Extraction, extract_text, sniff_type
from tests.sources.documents import make_pdf

Archive = Callable[[bytes], Path]


@pytest.fixture
def archive(tmp_path: Path) -> Archive:
    """Write bytes to a file in the test's directory and answer its path."""

    def write(data: bytes) -> Path:
        path = tmp_path / "snapshot"
        path.write_bytes(data)
        return path

    return write


NEWS_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Ministry: unemployment fell to 4.1 percent | The Daily Record</title>
  <script>window.analytics = {track: function () {}};</script>
  <style>body { font-family: serif; }</style>
</head>
<body>
  <div class="cookie-banner">We use cookies to improve your experience. <button>Accept all</button></div>
  <header>
    <a href="/" class="logo">The Daily Record</a>
    <nav>
      <ul>
        <li><a href="/politics">Politics</a></li><li><a href="/economy">Economy</a></li>
        <li><a href="/world">World</a></li><li><a href="/sport">Sport</a></li>
        <li><a href="/opinion">Opinion</a></li><li><a href="/subscribe">Subscribe today</a></li>
      </ul>
    </nav>
  </header>
  <main>
    <article>
      <h1>Ministry says unemployment fell to 4.1 percent</h1>
      <p class="byline">By Ana Pereira, Economics correspondent</p>
      <p>The Ministry of Labour said on Tuesday that unemployment fell to 4.1 percent in March,
         down from 4.6 percent a year earlier, the lowest level since records began in 1991.</p>
      <p>“These figures show that the labour market is recovering faster than expected,” the minister
         told reporters in the capital, adding that youth unemployment remained a concern.</p>
      <p>Independent economists cautioned that the survey's sample had changed in January, making
         comparisons with earlier months less reliable than the headline suggests.</p>
      <table>
        <tr><th>Month</th><th>Rate</th></tr>
        <tr><td>January</td><td>4.4%</td></tr>
        <tr><td>March</td><td>4.1%</td></tr>
      </table>
      <p>The ministry will publish regional figures next month, a spokesperson confirmed.</p>
    </article>
    <aside class="related">
      <h2>Related stories</h2>
      <ul><li><a href="/a">Inflation eases again</a></li>
      <li><a href="/b">Central bank holds rates</a></li></ul>
    </aside>
  </main>
  <footer>
    <p>Sign up for our newsletter and never miss a story.</p>
    <p>© 2024 The Daily Record. All rights reserved. <a href="/privacy">Privacy policy</a></p>
  </footer>
</body>
</html>
"""


def test_news_page_main_text_without_boilerplate(archive: Archive) -> None:
    result = extract_text(archive(NEWS_PAGE.encode()), "text/html; charset=utf-8")
    assert result.error is None
    assert result.text is not None
    assert "unemployment fell to 4.1 percent in March" in result.text
    assert "labour market is recovering faster than expected" in result.text
    assert "4.1%" in result.text  # tables are kept
    for boilerplate in (
        "Subscribe today",
        "All rights reserved",
        "Sign up for our newsletter",
        "window.analytics",
    ):
        assert boilerplate not in result.text


def test_minimal_page(archive: Archive) -> None:
    result = extract_text(archive(b"<html><body><p>One sentence.</p></body></html>"), "text/html")
    assert result == Extraction("One sentence.", None)


def test_bare_statement_page_falls_back_to_the_whole_document(archive: Archive) -> None:
    # trafilatura treats <footer> as boilerplate and finds no main text here; the statement is the page.
    page = (
        "<html><head><title>Statement</title><style>p {color: red}</style></head><body>"
        "<footer><p>The Ministry of Foreign Affairs rejects the report as unfounded.</p>"
        "<p>Press Office, 12 March</p></footer></body></html>"
    )
    result = extract_text(archive(page.encode()), "text/html")
    assert result == Extraction(
        "The Ministry of Foreign Affairs rejects the report as unfounded.\nPress Office, 12 March",
        None,
        meta={"title": "Statement"},  # what the page says of itself
    )


def test_xhtml_with_xml_declaration(archive: Archive) -> None:
    page = (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<html xmlns="http://www.w3.org/1999/xhtml"><head><title>Resolution</title></head>'
        "<body><p>The Security Council decides to extend the mandate until 31 December.</p></body></html>"
    )
    result = extract_text(archive(page.encode()), "application/xhtml+xml")
    assert result.text is not None
    assert "decides to extend the mandate until 31 December" in result.text


def test_page_metadata_title_publisher_and_date(archive: Archive) -> None:
    page = (
        '<html><head><title>Ignored | Site</title><meta property="og:title" content="Seoul co-sponsors">'
        '<meta property="og:site_name" content="Korea Today">'
        '<meta property="article:published_time" content="2025-11-19T08:00:00+09:00">'
        "</head><body><article><p>Seoul co-sponsored the resolution, the ministry said on Wednesday "
        "in a statement sent to reporters in the capital.</p></article></body></html>"
    )
    result = extract_text(archive(page.encode()), "text/html")
    assert result.meta == {
        "title": "Seoul co-sponsors",
        "publisher": "Korea Today",
        "published_at": "2025-11-19",
    }
    bare = extract_text(archive(b"<html><body><p>No metadata at all here.</p></body></html>"), "text/html")
    assert bare.meta is None


def test_html_charset_from_meta_and_from_header(archive: Archive) -> None:
    page = "<html><head><meta charset='iso-8859-1'></head><body><p>Le ministère a démenti.</p></body></html>"
    assert extract_text(archive(page.encode("latin-1")), "text/html").text == "Le ministère a démenti."
    bare = "<html><body><p>Der Bürgermeister widersprach.</p></body></html>".encode("latin-1")
    assert (
        extract_text(archive(bare), "text/html", charset="latin-1").text == "Der Bürgermeister widersprach."
    )
    assert (
        extract_text(archive(bare), "text/html; charset=ISO-8859-1").text == "Der Bürgermeister widersprach."
    )
    # The HTTP charset outranks the page's own declaration (the WHATWG order).
    assert extract_text(archive(page.encode()), "text/html; charset=utf-8").text == "Le ministère a démenti."


def test_empty_page_is_an_error(archive: Archive) -> None:
    result = extract_text(archive(b"<html><head><title>x</title></head><body></body></html>"), "text/html")
    assert result.text is None
    assert result.error == "No readable text was found in the page."


def test_pdf_pages_joined_by_blank_lines(archive: Archive) -> None:
    result = extract_text(archive(make_pdf("Hello PDF world", "Second (page) text")), "application/pdf")
    assert result == Extraction("Hello PDF world\n\nSecond (page) text", None)


def test_made_pdf_is_valid_for_pypdf_in_strict_mode() -> None:
    # Guards the helper itself: a sloppy xref would be silently repaired in non-strict mode.
    reader = PdfReader(io.BytesIO(make_pdf("Hello PDF world")), strict=True)
    assert reader.pages[0].extract_text() == "Hello PDF world"


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"%PDF-1.4\nthis is not a PDF at all\n%%EOF",
        b"<html><body>An HTML page served as PDF</body></html>",
        make_pdf("Hello PDF world")[:60],
    ],
    ids=["empty", "garbage", "html", "truncated"],
)
def test_broken_pdf_is_an_error_not_an_exception(archive: Archive, data: bytes) -> None:
    result = extract_text(archive(data), "application/pdf")
    assert result.text is None
    assert result.error is not None
    assert "PDF" in result.error


def encrypted(user_password: str) -> bytes:
    """make_pdf's document encrypted with RC4 (which pypdf does without extra packages)."""
    writer = PdfWriter(clone_from=io.BytesIO(make_pdf("Confidential memo")))
    writer.encrypt(user_password, owner_password="owner", algorithm="RC4-128")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def test_password_protected_pdf_is_an_error(archive: Archive) -> None:
    result = extract_text(archive(encrypted("secret")), "application/pdf")
    assert result == Extraction(None, "The PDF is protected by a password; its text cannot be read.")


def test_pdf_encrypted_without_user_password_is_read(archive: Archive) -> None:
    assert extract_text(archive(encrypted("")), "application/pdf").text == "Confidential memo"


def test_pdf_without_text_layer_is_an_error(archive: Archive) -> None:
    result = extract_text(archive(make_pdf("")), "application/pdf")
    assert result.text is None
    assert result.error is not None
    assert "no text layer" in result.error


@pytest.mark.parametrize(
    ("content_type", "data"),
    [
        ("application/json", b'{"rate": 4.1, "note": "fell \\u2014 slightly"}'),
        ("text/csv", b"month,rate\nJanuary,4.4\nMarch,4.1\n"),
        ("application/xml", b'<?xml version="1.0"?><report><rate month="March">4.1</rate></report>'),
        ("text/xml", b"<report><rate>4.1</rate></report>"),
        ("text/plain", "Unemployment fell to 4.1 percent — the ministry.\r\n".encode()),
    ],
)
def test_text_formats_are_decoded_as_they_are(archive: Archive, content_type: str, data: bytes) -> None:
    assert extract_text(archive(data), content_type) == Extraction(data.decode(), None)


def test_latin1_charset(archive: Archive) -> None:
    data = "Le ministère a démenti à 18 h.".encode("latin-1")
    assert (
        extract_text(archive(data), "text/plain", charset="iso-8859-1").text
        == "Le ministère a démenti à 18 h."
    )
    assert extract_text(archive(data), "text/plain; charset=latin-1").text == "Le ministère a démenti à 18 h."
    # Without a charset the bytes are read as UTF-8; undecodable ones are replaced, not fatal.
    assert extract_text(archive(data), "text/plain").text == "Le minist\ufffdre a d\ufffdmenti \ufffd 18 h."


def test_xml_encoding_declaration_is_honoured(archive: Archive) -> None:
    data = '<?xml version="1.0" encoding="ISO-8859-1"?><r>Genève</r>'.encode("latin-1")
    assert (
        extract_text(archive(data), "application/xml").text
        == '<?xml version="1.0" encoding="ISO-8859-1"?><r>Genève</r>'
    )


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (codecs.BOM_UTF8 + "Zürich".encode(), "Zürich"),
        (codecs.BOM_UTF16_LE + "Zürich".encode("utf-16-le"), "Zürich"),
        (codecs.BOM_UTF16_BE + "Zürich".encode("utf-16-be"), "Zürich"),
    ],
)
def test_byte_order_marks(archive: Archive, data: bytes, expected: str) -> None:
    # A byte order mark outranks a charset that contradicts it.
    assert extract_text(archive(data), "text/plain", charset="latin-1").text == expected


def test_nul_characters_are_dropped(archive: Archive) -> None:
    assert extract_text(archive(b"rate\x00 4.1"), "text/plain").text == "rate 4.1"


def test_unsupported_type_and_missing_file_are_errors(tmp_path: Path) -> None:
    assert extract_text(tmp_path / "x", "image/png") == Extraction(
        None, "Text cannot be extracted from image/png documents."
    )
    for content_type in ("text/plain", "text/html", "application/pdf"):
        missing = extract_text(tmp_path / "missing", content_type)
        assert missing.text is None
        assert missing.error is not None
        assert "could not be read" in missing.error


@pytest.mark.parametrize(
    ("head", "declared", "expected"),
    [
        (make_pdf("Hello"), None, "application/pdf"),
        (b"<!DOCTYPE html><html><body>x</body></html>", None, "text/html"),
        (b"\xef\xbb\xbf \n\t<!doctype HTML>\n<html>", "notes.txt", "text/html"),
        (b"<HTML lang=en><body>x", None, "text/html"),
        (b"<!-- saved from url=(0014)about:internet -->\n<html>", None, "text/html"),
        (
            b'<?xml version="1.0"?>\n<html xmlns="http://www.w3.org/1999/xhtml"><body/></html>',
            None,
            "application/xhtml+xml",
        ),
        (b'<?xml version="1.0" encoding="utf-8"?><report><rate>4.1</rate></report>', None, "application/xml"),
        (b'{"rate": 4.1, "month": "March"}', None, "application/json"),
        (b'  [1, 2, {"a": "b"}]\n', "data.csv", "application/json"),
        (b'[{"month": "January", "rate": 4.4}, {"month": "Mar', None, "application/json"),
        (b"month,rate\nMarch,4.1\n", "rates.csv", "text/csv"),
        (b"month,rate\nMarch,4.1\n", "text/csv", "text/csv"),
        (b"month,rate\nMarch,4.1\n", None, "text/plain"),
        (b"[Transcript] The minister said...", None, "text/plain"),
        (b"{not json}", None, "text/plain"),
        ("Déclaration du ministère".encode()[:-1] + "é".encode()[:1], None, "text/plain"),
        ("정부 발표: 물가 상승률 3.2%".encode(), "statement.txt", "text/plain"),
    ],
)
def test_sniff_type_of_text_documents(head: bytes, declared: str | None, expected: str) -> None:
    assert sniff_type(head, declared) == expected
    assert expected in ARCHIVED_TYPES


@pytest.mark.parametrize(
    "head",
    [
        b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR",
        b"PK\x03\x04\x14\x00\x06\x00\x08\x00",
        b"\x7fELF\x02\x01\x01\x00\x00\x00",
        b"MZ\x90\x00\x03\x00\x00\x00",
        b"\xff\xd8\xff\xe0\x00\x10JFIF",
        b"plain text with a NUL\x00 inside",
        codecs.BOM_UTF16_LE + "<html>".encode("utf-16-le"),
        "Le ministère".encode("latin-1"),
    ],
    ids=["png", "zip", "elf", "exe", "jpeg", "nul", "utf16", "latin1"],
)
def test_sniff_type_refuses_binary(head: bytes) -> None:
    assert sniff_type(head, "statement.txt") is None
