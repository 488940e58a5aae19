"""Documents the tests need, built in the test run: plain PDFs, and documents made to cost a
parser dearly (nothing hostile is committed)."""

import zlib


def assemble_pdf(objects: list[bytes]) -> bytes:
    """A PDF file of these objects (numbered from 1, the first the catalog) with a correct xref."""
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def make_pdf(*pages: str) -> bytes:
    """A minimal valid PDF with one line of Helvetica text per page and a correct xref table."""
    count = len(pages)
    page_ids = [4 + 2 * index for index in range(count)]
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [" + b" ".join(b"%d 0 R" % i for i in page_ids) + b"] /Count %d >>" % count,
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>",
    ]
    for index, line in enumerate(pages):
        escaped = line.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)").encode("cp1252")
        stream = b"BT /F1 12 Tf 72 712 Td (" + escaped + b") Tj ET"
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] "
            b"/Resources << /Font << /F1 3 0 R >> >> /Contents %d 0 R >>" % (page_ids[index] + 1)
        )
        objects.append(b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream")
    return assemble_pdf(objects)


def bomb_pdf(pages: int = 200, stream_bytes: int = 4_200_000) -> bytes:
    """A small PDF (about 55 KB) whose pages all share one 4.2 MB content stream: reading its text
    means parsing that stream once per page."""
    line = b"BT /F1 9 Tf 20 700 Td (Seoul co-sponsored the resolution again and again) Tj ET\n"
    packed = zlib.compress(line * (stream_bytes // len(line)), 9)
    kids = " ".join(f"{4 + i} 0 R" for i in range(pages))
    page = (
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 3 0 R /Resources "
        b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>"
    )
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
        b"<< /Length %d /Filter /FlateDecode >>\nstream\n" % len(packed) + packed + b"\nendstream",
        *([page] * pages),
    ]
    return assemble_pdf(objects)


def big_html_table(rows: int = 300_000) -> bytes:
    """A plain 20 MB HTML table: its parse tree takes about 2 GB."""
    cells = "".join(f"<tr><td>cell {i}</td><td>value {i}</td><td>more {i}</td></tr>" for i in range(rows))
    return f"<html><body><table>{cells}</table></body></html>".encode()
