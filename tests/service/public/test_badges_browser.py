"""Badges drawn by a real Chromium: every text stays inside its own half of the badge, in every script."""

import html
import os
from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import Browser, Page, sync_playwright

from service.public.badges import MAX_LABEL, STYLES, Badge, clean_label, render_svg

CHROMIUM = "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not os.path.exists(CHROMIUM), reason=f"Debian chromium is not installed at {CHROMIUM}"
    ),
]

TOLERANCE = 0.5  # px: anti-aliasing and sub-pixel glyph overhang
CASES = {
    "latin": ("fact-check", "Mostly false", "#ef6c00"),
    "light": ("fact-check", "Mixed", "#f9a825"),
    "cjk": ("fact-check", "大部分错误", "#c62828"),
    "korean": ("fact-check", "대체로 거짓", "#c62828"),
    "arabic": ("fact-check", "غير صحيح", "#c62828"),
    "arabic label": ("تحقق", "صحيح 100%", "#2e7d32"),
    "hebrew": ("fact-check", "לא נכון", "#c62828"),
    "emoji": ("fact-check", "❤️ 👨\u200d👩\u200d👧 🇫🇷 ✅", "#2e7d32"),
    "devanagari": ("fact-check", "ज़्यादातर झूठ", "#c62828"),
    "combining": ("fact-check", "Zoe\u0308 e\u0301\u0301 ỡ", "#757575"),
    "long label": ("Faktencheck der Redaktion, Süddeutsche W", "under review", "#1e88e5"),
    "widest label": ("W" * MAX_LABEL, "not rated", "#757575"),
    "script label": ("<script>alert(1)</script>", "not found", "#9e9e9e"),
}
LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# Per badge: the SVG's box, where its right half starts, and the box of every <text> (shadows included).
MEASURE = """async () => {
    await document.fonts.ready;
    return Object.fromEntries([...document.querySelectorAll("svg")].map(svg => {
        const box = svg.getBoundingClientRect();
        const split = box.left + Number(svg.querySelector("rect[x]").getAttribute("x"));
        const texts = [...svg.querySelectorAll("text")].map(text => {
            const r = text.getBoundingClientRect();
            return {text: text.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom};
        });
        return [svg.parentElement.id, {
            left: box.left, right: box.right, top: box.top, bottom: box.bottom, split,
            label: texts.slice(0, texts.length / 2), message: texts.slice(texts.length / 2),
        }];
    }));
}"""


def case_id(style: str, case: str) -> str:
    return f"{style}--{case.replace(' ', '-')}"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def page(browser: Browser) -> Iterator[Page]:
    """One page holding every style × case, inline, as a publisher's page would embed them."""
    rows = []
    for style in STYLES:
        for case, (label, message, color) in CASES.items():
            svg = render_svg(Badge(clean_label(label), message, color), style)
            rows.append(
                f'<div class="row"><span>{html.escape(style)} · {html.escape(case)}</span>'
                f'<div id="{case_id(style, case)}">{svg}</div></div>'
            )
    page = browser.new_page(device_scale_factor=2, viewport={"width": 900, "height": 600})
    page.set_content(
        '<!doctype html><html><head><meta charset="utf-8"><style>'
        "body{margin:12px;font:12px sans-serif;color:#444} .row{display:flex;align-items:center;margin:6px 0}"
        ".row span{width:190px} .row div{line-height:0}"
        "</style></head><body>" + "".join(rows) + "</body></html>"
    )
    yield page
    page.close()


@pytest.fixture(scope="module")
def measured(page: Page) -> dict:
    return page.evaluate(MEASURE)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.parametrize("style", STYLES)
def test_texts_stay_inside_their_own_half(measured: dict, style: str, case: str) -> None:
    badge = measured[case_id(style, case)]
    assert badge["label"]
    assert badge["message"]
    for half, lower, upper in (
        ("label", badge["left"], badge["split"]),
        ("message", badge["split"], badge["right"]),
    ):
        for text in badge[half]:
            assert text["right"] - text["left"] > 1, f"{half} {text['text']!r} drew nothing"
            assert text["left"] >= lower - TOLERANCE, f"{half} {text['text']!r} starts left of its half"
            assert text["right"] <= upper + TOLERANCE, f"{half} {text['text']!r} runs past its half"
            assert text["top"] >= badge["top"] - TOLERANCE
            assert text["bottom"] <= badge["bottom"] + TOLERANCE


def test_nothing_runs_and_the_page_is_saved_for_a_look(page: Page, measured: dict, artifacts: Path) -> None:
    assert page.evaluate("document.querySelectorAll('script').length") == 0
    assert "<script>alert(1)</script>" in page.text_content(f"#{case_id('flat', 'script label')} title")
    artifacts.mkdir(exist_ok=True)
    page.screenshot(path=str(artifacts / "badges.png"), full_page=True)
    assert (artifacts / "badges.png").stat().st_size > 10_000
