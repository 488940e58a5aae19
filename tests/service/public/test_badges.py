"""The SVG badge renderer: well-formed, accessible, escaped, sized to its text in every script."""

import re
import xml.dom.minidom
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given
from hypothesis import strategies as st

from service.public.badges import (
    DEFAULT_LABEL,
    MAX_LABEL,
    STYLES,
    Badge,
    clean_label,
    render_svg,
    text_width,
)

SVG = "{http://www.w3.org/2000/svg}"
RED = "#c62828"
MESSAGES = {
    "latin": "Mostly false",
    "status": "under review",
    "short": "True",
    "arabic": "غير صحيح",
    "hebrew": "לא נכון",
    "cjk": "大部分错误",
    "japanese": "ほとんど誤り",
    "korean": "대체로 거짓",
    "emoji": "❤️ 👨\u200d👩\u200d👧 🇫🇷 ✅",
    "combining": "Zoe\u0308 e\u0301\u0301\u0301",
    "devanagari": "ज़्यादातर झूठ",
    "mixed rtl": "صحيح 100% (AFP)",
}
# Everything a badge may contain: shapes, paint servers, text. No script, foreignObject, image, use or a.
ALLOWED_ELEMENTS = {"svg", "title", "linearGradient", "stop", "clipPath", "g", "rect", "text"}


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == f"{SVG}svg"
    return root


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def texts(root: ET.Element) -> list[ET.Element]:
    """The visible <text> elements (not the shadows), label first."""
    return [t for t in root.iter(f"{SVG}text") if t.get("aria-hidden") != "true"]


@pytest.mark.parametrize("style", STYLES)
@pytest.mark.parametrize("message", MESSAGES.values(), ids=MESSAGES.keys())
def test_every_style_and_script_is_well_formed_and_accessible(style: str, message: str) -> None:
    svg = render_svg(Badge("fact-check", message, RED), style)
    root = parse(svg)
    xml.dom.minidom.parseString(svg)  # a second, stricter parser agrees

    assert root.get("role") == "img"
    assert root.get("aria-label") == f"fact-check: {message}"
    assert root.find(f"{SVG}title").text == f"fact-check: {message}"
    assert root.get("height") == ("28" if style == "for-the-badge" else "20")
    width = int(root.get("width"))
    label, shown = texts(root)
    assert width >= int(label.get("textLength")) + int(shown.get("textLength")) + 20
    assert int(shown.get("textLength")) >= text_width(message, style)


@pytest.mark.parametrize("style", STYLES)
def test_nothing_but_shapes_and_text(style: str) -> None:
    svg = render_svg(Badge("<a href='x'>", "javascript:alert(1)", RED), style)
    for element in parse(svg).iter():
        assert local(element.tag) in ALLOWED_ELEMENTS
        for name, value in element.attrib.items():
            assert not name.lower().startswith("on")
            assert "href" not in name
            for reference in re.findall(r"url\(([^)]*)\)", value):
                assert reference.startswith("#")


@pytest.mark.parametrize("style", STYLES)
def test_the_badge_grows_with_its_text(style: str) -> None:
    widths = [int(parse(render_svg(Badge("fact-check", "x" * n, RED), style)).get("width")) for n in range(8)]
    assert widths == sorted(widths)
    assert len(set(widths)) == len(widths)
    labels = [int(parse(render_svg(Badge("l" * n, "False", RED), style)).get("width")) for n in (1, 5, 20)]
    assert labels[0] < labels[1] < labels[2]
    assert text_width("Mostly false", style) > text_width("Mostly", style) > text_width("M", style) > 0


def test_styles_look_like_shields() -> None:
    flat = parse(render_svg(Badge("fact-check", "False", RED), "flat"))
    assert flat.find(f".//{SVG}clipPath/{SVG}rect").get("rx") == "3"
    assert flat.find(f".//{SVG}linearGradient") is not None
    assert len(list(flat.iter(f"{SVG}text"))) == 4  # label and message, each over its shadow

    square = render_svg(Badge("fact-check", "False", RED), "flat-square")
    assert "rx=" not in square
    assert "linearGradient" not in square
    assert len(list(parse(square).iter(f"{SVG}text"))) == 2

    loud = parse(render_svg(Badge("fact-check", "Mostly false", RED), "for-the-badge"))
    label, message = texts(loud)
    assert (label.text, message.text) == ("FACT-CHECK", "MOSTLY FALSE")
    assert message.get("font-weight") == "bold"
    assert loud.get("aria-label") == "fact-check: Mostly false"  # read as written, not spelled out


def test_for_the_badge_measures_capitals_and_letter_spacing() -> None:
    assert text_width("mostly false", "for-the-badge") == text_width("MOSTLY FALSE", "for-the-badge")
    regular_11px = (text_width("I" * 11) - text_width("I")) / 10
    loud = (text_width("I" * 11, "for-the-badge") - text_width("I", "for-the-badge")) / 10
    assert loud >= regular_11px * 10 / 11 + 1.25  # a bold 10 px I is no narrower, plus the letter-spacing


def test_widths_from_the_table_and_the_fallbacks() -> None:
    assert text_width(" ") == pytest.approx(651 / 2048 * 11)  # DejaVu Sans space
    assert text_width("é") == text_width("e\u0301") == text_width("e\u0301\u0301")  # marks add nothing
    assert text_width("ő") == text_width("o")  # outside the table: base letter of the decomposition
    assert text_width("中") == text_width("한") == text_width("Ａ") == pytest.approx(11)  # one em
    assert text_width("🙂") == pytest.approx(13.2)
    assert text_width("©\ufe0f") == pytest.approx(13.2)  # emoji presentation of a Latin-1 sign
    assert text_width("\u200d\u200f\u2066") == 0
    assert text_width("ו") < text_width("ש") <= 0.71 * 11  # Hebrew letters have their own table
    assert text_width("Ж") >= 0.85 * 11
    for point in [*range(0x20, 0x7F), *range(0xA0, 0x100)]:
        assert text_width(chr(point)) > 0


def test_same_badge_same_bytes_and_ids_of_its_own() -> None:
    badge = Badge("fact-check", "Mostly false", "#EF6C00")
    assert render_svg(badge) == render_svg(Badge("fact-check", "Mostly false", "#EF6C00"))
    assert 'fill="#ef6c00"' in render_svg(badge)
    # Two badges inlined in one page must not clip each other through a shared id.
    ids = [set(re.findall(r'id="([^"]+)"', render_svg(Badge("fact-check", m, RED)))) for m in ("a", "b")]
    assert ids[0]
    assert ids[1]
    assert not ids[0] & ids[1]


def test_text_colour_contrasts_with_its_background() -> None:
    dark = texts(parse(render_svg(Badge("fact-check", "False", RED), "flat-square")))
    light = texts(parse(render_svg(Badge("fact-check", "Mixed", "#f9f9a8"), "flat-square")))
    assert dark[1].get("fill") == "#fff"
    assert light[1].get("fill") == "#333"
    assert dark[0].get("fill") == light[0].get("fill") == "#fff"  # on the grey label


def test_bad_colour_and_style_are_refused() -> None:
    with pytest.raises(ValueError, match="colour must be #rrggbb"):
        render_svg(Badge("fact-check", "False", "red"))
    with pytest.raises(ValueError, match="colour must be #rrggbb"):
        render_svg(Badge("fact-check", "False", '#fff" onload="x'))
    with pytest.raises(ValueError, match="Unknown badge style 'plastic'"):
        render_svg(Badge("fact-check", "False", RED), "plastic")
    with pytest.raises(ValueError, match="Unknown badge style 'social'"):
        text_width("x", "social")


@pytest.mark.parametrize("style", STYLES)
def test_a_script_tag_label_is_only_ever_text(style: str) -> None:
    label = clean_label("<script>alert(1)</script>")
    svg = render_svg(Badge(label, "False", RED), style)
    assert "<script" not in svg
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in svg
    root = parse(svg)
    assert not [e for e in root.iter() if local(e.tag).lower() == "script"]
    assert root.get("aria-label") == "<script>alert(1)</script>: False"


@pytest.mark.parametrize("style", STYLES)
def test_quotes_and_ampersands_are_escaped(style: str) -> None:
    label = clean_label("""Tom & "Jerry" 's <fact>""")
    svg = render_svg(Badge(label, "A&B 'c' \"d\"", RED), style)
    assert "&amp;" in svg
    assert "&quot;" in svg
    assert "&apos;" in svg
    root = parse(svg)
    assert root.get("aria-label") == """Tom & "Jerry" 's <fact>: A&B 'c' "d\""""
    assert root.find(f"{SVG}title").text == root.get("aria-label")


def test_clean_label_defaults_trims_and_normalises() -> None:
    assert clean_label(None) == clean_label("") == clean_label("   ") == DEFAULT_LABEL
    assert clean_label("  verified by AFP ") == "verified by AFP"
    assert clean_label("ve\u0301rifie\u0301") == "vérifié"
    assert clean_label("تحقق") == "تحقق"


def test_clean_label_refuses_long_labels() -> None:
    with pytest.raises(ValueError, match="longer"):
        clean_label("x" * 1000)
    with pytest.raises(ValueError, match="longer than 40"):
        clean_label("x" * (MAX_LABEL + 1))
    longest = clean_label("w" * MAX_LABEL)
    root = parse(render_svg(Badge(longest, "Mostly false", RED)))
    assert root.get("aria-label") == f"{'w' * MAX_LABEL}: Mostly false"
    assert int(root.get("width")) > MAX_LABEL * 11


@pytest.mark.parametrize(
    "label",
    [
        "a\x00b",
        "a\x1bb",
        "a\nb",
        "tab\t",
        "\rcr",
        "del\x7f",
        "nel\x85",
        "line\u2028",
        "rlo\u202eevil",
        "x\ufffe",
    ],
)
def test_clean_label_refuses_control_characters(label: str) -> None:
    with pytest.raises(ValueError, match="may not contain the"):
        clean_label(label)


@pytest.mark.parametrize("message", [MESSAGES["arabic"], MESSAGES["hebrew"], MESSAGES["mixed rtl"]])
def test_right_to_left_text_gets_a_right_to_left_base_direction(message: str) -> None:
    _, shown = texts(parse(render_svg(Badge("fact-check", message, RED))))
    assert shown.get("direction") == "rtl"
    label, latin = texts(parse(render_svg(Badge("fact-check", "False (تحقق)", RED))))
    assert label.get("direction") is None
    assert latin.get("direction") is None


@pytest.mark.parametrize("message", [MESSAGES["arabic"], MESSAGES["devanagari"], "ពិតភាគច្រើន"])
def test_joined_scripts_are_scaled_not_spaced(message: str) -> None:
    # Spreading letters apart breaks Arabic joining and Indic conjuncts in Chromium.
    _, shown = texts(parse(render_svg(Badge("fact-check", message, RED), "for-the-badge")))
    assert shown.get("lengthAdjust") == "spacingAndGlyphs"
    label, latin = texts(parse(render_svg(Badge("fact-check", "לא נכון", RED))))
    assert label.get("lengthAdjust") is None
    assert latin.get("lengthAdjust") is None


def test_characters_xml_cannot_carry_become_replacement_characters() -> None:
    root = parse(render_svg(Badge("fact-check", "a\x00b\x1bc\ufffe", RED)))
    assert root.get("aria-label") == "fact-check: a\ufffdb\ufffdc\ufffd"


def xml_expected(text: str) -> str:
    """What survives of `text` in XML 1.0: characters it cannot hold become U+FFFD."""
    return "".join(
        "\ufffd" if (ord(c) < 0x20 and c not in "\t\n\r") or c in "\ufffe\uffff" else c for c in text
    )


@given(message=st.text(st.characters(exclude_categories=("Cs",))), style=st.sampled_from(STYLES))
def test_any_message_renders_well_formed_and_reads_back(message: str, style: str) -> None:
    svg = render_svg(Badge("fact-check", message, RED), style)
    root = parse(svg)
    expected = f"fact-check: {xml_expected(message)}"
    assert root.get("aria-label") == expected
    assert (root.find(f"{SVG}title").text or "") == expected
    assert int(root.get("width")) >= 20 + text_width(message, style)


@given(value=st.text(st.characters(exclude_categories=("Cs",)), max_size=60))
def test_any_label_is_refused_or_renders(value: str) -> None:
    try:
        label = clean_label(value)
    except ValueError:
        return
    assert 0 < len(label) <= MAX_LABEL
    assert parse(render_svg(Badge(label, "False", RED))).get("aria-label") == f"{label}: False"
