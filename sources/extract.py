"""Text from archived bytes: decide an uploaded document's type from its first bytes (`sniff_type`), and
extract the text that quotes are anchored in (`extract_text`, which reports failures instead of raising).
"""

import codecs
import json
import logging
import re
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import lxml.html
import trafilatura
from lxml.etree import ParserError
from pypdf import PasswordType, PdfReader
from pypdf.errors import DependencyError, PdfReadError

logger = logging.getLogger(__name__)

ARCHIVED_TYPES = {
    "text/html",
    "application/xhtml+xml",
    "text/plain",
    "application/pdf",
    "application/json",
    "text/csv",
    "application/xml",
    "text/xml",
}
HTML_TYPES = {"text/html", "application/xhtml+xml"}
XML_TYPES = {"application/xml", "text/xml", "application/xhtml+xml"}

# How many leading bytes of a file sniff_type needs to decide.
SNIFF_BYTES = 8192

# WHATWG MIME Sniffing's "binary data bytes": control characters that never occur in text.
_BINARY_BYTES = re.compile(rb"[\x00-\x08\x0b\x0e-\x1a\x1c-\x1f]")
_XHTML_NAMESPACE = b"http://www.w3.org/1999/xhtml"
_BOMS = ((codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"))
_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([a-zA-Z0-9_.:-]+)""", re.IGNORECASE)
_XML_ENCODING = re.compile(rb"""^<\?xml[^>]*?encoding\s*=\s*["']([a-zA-Z0-9_.:-]+)["']""")

# Elements that end a line in the plain whole-document fallback, and those that hold no reader text.
_BLOCK_TAGS = {
    "address", "article", "aside", "blockquote", "br", "caption", "dd", "div", "dl", "dt", "fieldset",
    "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li",
    "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul",
}  # fmt: skip
_CELL_TAGS = {"td", "th"}
_HIDDEN_TAGS = ("head", "script", "style", "noscript", "template", "svg")


@dataclass(frozen=True)
class Extraction:
    """The extracted text, or a reason a reviewer can read for why there is none; `stopped` when
    reading it overran its time or memory limit (the document is then not usable at all)."""

    text: str | None
    error: str | None
    stopped: bool = False
    # What an HTML page says of itself: "title", "publisher", "published_at" (YYYY-MM-DD).
    meta: dict[str, str] | None = None


def sniff_type(head: bytes, declared: str | None = None) -> str | None:
    """The content type the first bytes of a file show, or None for binary data that is refused."""
    if head.startswith(b"%PDF-"):
        return "application/pdf"
    if _BINARY_BYTES.search(head):
        return None
    body = head.removeprefix(codecs.BOM_UTF8).lstrip()
    # Comments before the doctype are common in pages saved from CMSs.
    while body.startswith(b"<!--") and b"-->" in body:
        body = body[body.index(b"-->") + 3 :].lstrip()
    start = body[:32].lower()
    if start.startswith(b"<!doctype html") or re.match(rb"<html[\s>/]", start) or start == b"<html":
        return "text/html"
    if start.startswith(b"<?xml"):
        return "application/xhtml+xml" if _XHTML_NAMESPACE in body else "application/xml"
    text = _utf8_prefix(body)
    if text is None:
        return None
    if text[:1] in ("{", "[") and _is_json_prefix(text):
        return "application/json"
    return "text/csv" if declared and "csv" in declared.lower() else "text/plain"


def _utf8_prefix(data: bytes) -> str | None:
    """data decoded as UTF-8, allowing a character cut off at the end; None if it is not UTF-8."""
    try:
        return codecs.getincrementaldecoder("utf-8")().decode(data, final=False)
    except UnicodeDecodeError:
        return None


def _is_json_prefix(text: str) -> bool:
    """Whether text is JSON, or the start of a JSON document whose head was cut off."""
    try:
        json.loads(text)
    except json.JSONDecodeError as err:
        # A head cut from a longer document fails only at its end: inside an unterminated string, or
        # expecting more input where the text stops. Any earlier error means it is not JSON.
        return err.msg.startswith("Unterminated string") or err.pos >= len(text.rstrip())
    return True


def extract_text(path: Path, content_type: str, charset: str | None = None) -> Extraction:
    """The text of an archived document; failures come back as Extraction(None, reason), never raised."""
    media_type, _, parameters = content_type.partition(";")
    media_type = media_type.strip().lower()
    if charset is None:
        found = re.search(r"charset\s*=\s*\"?([^\";\s]+)", parameters, re.IGNORECASE)
        charset = found.group(1) if found else None
    if media_type not in ARCHIVED_TYPES:
        return Extraction(None, f"Text cannot be extracted from {media_type or 'untyped'} documents.")
    try:
        if media_type == "application/pdf":
            text = _pdf_text(path)
        elif media_type in HTML_TYPES:
            data = path.read_bytes()
            text = _html_text(data, charset)
            return Extraction(text.replace("\x00", ""), None, meta=_html_meta(data, charset))
        else:
            text = _decode(path.read_bytes(), charset, xml=media_type in XML_TYPES)
    except _ExtractionFailed as failure:
        return Extraction(None, str(failure))
    except OSError as err:
        return Extraction(None, f"The archived file could not be read: {err.strerror or err}.")
    except MemoryError:  # the contained process reports it (sources/sandbox.py)
        raise
    except Exception as err:  # a parser bug on a hostile file must not take the worker down
        logger.exception("text extraction failed for %s (%s)", path, media_type)
        return Extraction(None, f"Text extraction failed unexpectedly ({type(err).__name__}).")
    # PostgreSQL text columns cannot hold NUL, and no reader needs one.
    return Extraction(text.replace("\x00", ""), None)


class _ExtractionFailed(Exception):
    """A document whose text cannot be extracted, with the reason for the reviewer."""


def _pdf_text(path: Path) -> str:
    """All pages' text joined by blank lines."""
    try:
        reader = PdfReader(path)
        if reader.is_encrypted and reader.decrypt("") == PasswordType.NOT_DECRYPTED:
            raise _ExtractionFailed("The PDF is protected by a password; its text cannot be read.")
        pages = reader.pages
        count = len(pages)
    except DependencyError as err:
        raise _ExtractionFailed("The PDF uses encryption this server cannot decrypt.") from err
    except (_ExtractionFailed, OSError):
        raise
    except Exception as err:  # pypdf reports damaged files with many exception types
        detail = f" ({err})" if isinstance(err, PdfReadError) else ""
        raise _ExtractionFailed(f"The file is not a readable PDF{detail}.") from err
    texts = []
    unreadable = 0
    for number in range(count):
        try:
            texts.append(pages[number].extract_text())
        except Exception:  # one damaged page should not lose the others
            logger.warning("PDF %s: page %d has no readable text", path, number + 1, exc_info=True)
            unreadable += 1
    if count and unreadable == count:
        raise _ExtractionFailed("The PDF's pages could not be read.")
    text = "\n\n".join(page.strip() for page in texts)
    if not text.strip():
        raise _ExtractionFailed(
            "The PDF has no text layer (it may be a scanned image); nothing to quote from."
        )
    return text


def _html_text(data: bytes, charset: str | None) -> str:
    """The main text of a page, or the whole document's text when trafilatura finds no main text."""
    html = data.decode(_html_encoding(data, charset), errors="replace").removeprefix("\ufeff")
    if not html.strip():
        raise _ExtractionFailed("The page is empty.")
    text = trafilatura.extract(html, include_comments=False, include_tables=True)
    if not text or not text.strip():
        # Primary sources (U.N. documents, ministry statements) are often bare pages whose text sits
        # where trafilatura expects boilerplate; their whole text is what a quote comes from.
        text = _document_text(html)
    if not text.strip():
        raise _ExtractionFailed("No readable text was found in the page.")
    return text


def _html_meta(data: bytes, charset: str | None) -> dict[str, str] | None:
    """Title, publisher and publication date from a page's metadata (trafilatura reads OpenGraph,
    JSON-LD, Dublin Core and the usual meta tags); None when the page says none of them."""
    html = data.decode(_html_encoding(data, charset), errors="replace").removeprefix("\ufeff")
    try:
        found = trafilatura.extract_metadata(html)
    except Exception:  # metadata is a bonus: a parser hiccup must not lose the text
        logger.warning("reading a page's metadata failed", exc_info=True)
        return None
    meta = {
        "title": found.title,
        "publisher": found.sitename,
        "published_at": found.date,
    }
    kept = {key: " ".join(str(value).split())[:300] for key, value in meta.items() if value}
    return kept or None


def _html_encoding(data: bytes, charset: str | None) -> str:
    """The encoding of an HTML document: BOM, then the HTTP charset, then the document's own declaration."""
    for bom, bom_encoding in _BOMS:
        if data.startswith(bom):
            return bom_encoding
    encoding = _known_encoding(charset)
    if encoding:
        return encoding
    head = data[:1024]
    declared = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    encoding = _known_encoding(declared.group(1).decode("ascii")) if declared else None
    if encoding:
        # WHATWG: a page that declares UTF-16 in bytes readable as ASCII is in fact UTF-8.
        return "utf-8" if encoding.startswith("utf-16") else encoding
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return "cp1252"  # the web's legacy default for undeclared pages
    return "utf-8"


def _known_encoding(name: str | None) -> str | None:
    """The codec name Python knows for name, or None."""
    if not name:
        return None
    try:
        return codecs.lookup(name.strip()).name
    except LookupError:
        return None


def _document_text(html: str) -> str:
    """The visible text of a whole HTML document, one line per block element."""
    # Parsed as UTF-8 bytes: lxml refuses str input that carries an XML encoding declaration.
    parser = lxml.html.HTMLParser(encoding="utf-8", remove_comments=True, remove_pis=True)
    try:
        root = lxml.html.document_fromstring(html.encode("utf-8"), parser=parser)
    except ParserError:
        return ""
    for element in list(root.iter(*_HIDDEN_TAGS)):
        element.drop_tree()
    for element in root.iter():
        if not isinstance(element.tag, str):
            continue
        if element.tag in _BLOCK_TAGS:
            element.text = "\n" + (element.text or "")
            element.tail = "\n" + (element.tail or "")
        elif element.tag in _CELL_TAGS:
            element.tail = " " + (element.tail or "")
    # lxml ships no types; text_content() documents a str.
    lines = (" ".join(line.split()) for line in cast(str, root.text_content()).splitlines())
    return "\n".join(line for line in lines if line)


def _decode(data: bytes, charset: str | None, *, xml: bool = False) -> str:
    """Plain text, CSV, JSON or XML as text: BOM, then charset, then an XML declaration, else UTF-8."""
    for bom, bom_encoding in _BOMS:
        if data.startswith(bom):
            return data[len(bom) :].decode(bom_encoding, errors="replace")
    encoding = _known_encoding(charset)
    if encoding is None and xml:
        declared = _XML_ENCODING.search(data[:1024])
        encoding = _known_encoding(declared.group(1).decode("ascii")) if declared else None
    return data.decode(encoding or "utf-8", errors="replace")
