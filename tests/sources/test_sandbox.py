"""Reading a document's text in a contained process: a hostile one is stopped, and says why."""

import time
from pathlib import Path

import pytest

from sources.sandbox import Limits, extract_contained
from tests.sources.documents import big_html_table, bomb_pdf


def test_an_ordinary_document_is_read_as_in_process(tmp_path: Path) -> None:
    path = tmp_path / "doc.txt"
    path.write_text("The ministry confirmed the co-sponsorship. 한국어도 읽는다.")
    result = extract_contained(path, "text/plain; charset=utf-8")
    assert result.text == "The ministry confirmed the co-sponsorship. 한국어도 읽는다."
    assert result.error is None
    assert not result.stopped


@pytest.mark.slow
def test_a_pdf_that_would_take_minutes_is_stopped_at_its_time_limit(tmp_path: Path) -> None:
    path = tmp_path / "bomb.pdf"
    path.write_bytes(bomb_pdf())
    started = time.monotonic()
    result = extract_contained(path, "application/pdf", limits=Limits(seconds=2))
    assert time.monotonic() - started < 10
    assert result.stopped
    assert result.text is None
    assert result.error == "Reading this document took longer than 2 s: it was stopped."


@pytest.mark.slow
def test_a_document_that_needs_too_much_memory_is_stopped(tmp_path: Path) -> None:
    path = tmp_path / "table.html"
    path.write_bytes(big_html_table())
    result = extract_contained(path, "text/html", limits=Limits(seconds=60, memory_bytes=300_000_000))
    assert result.stopped
    assert result.error == "Reading this document needed more than 300 MB of memory: it was stopped."


def test_a_parser_failure_is_reported_not_raised(tmp_path: Path) -> None:
    path = tmp_path / "broken.pdf"
    path.write_bytes(b"%PDF-1.7\nnot a pdf at all")
    result = extract_contained(path, "application/pdf")
    assert result.text is None
    assert not result.stopped
    assert "not a readable PDF" in (result.error or "")
