"""The public claim page and front page in a real Chromium: they fit a phone's width, links keep
the page's colours, and on paper the site's chrome goes and link addresses are written out."""

import pytest

pytest.importorskip("playwright")
from playwright.sync_api import Browser

from tests.browser import BROWSER_MARKS
from tests.conftest import publish

pytestmark = BROWSER_MARKS
PHONE = {"width": 360, "height": 740}


def test_public_pages_read_on_a_phone_and_in_print(browser: Browser, live: str, act, desk, artifacts) -> None:
    publish(act, desk, "mostly_false")
    context = browser.new_context(viewport=PHONE, java_script_enabled=False, device_scale_factor=2)
    page = context.new_page()
    for path in ("/", f"/c/{desk['claim_id']}"):
        page.goto(live + path)
        widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
        assert widths[0] <= widths[1], (path, widths)  # nothing wider than the phone: no sideways scroll
        page.screenshot(path=str(artifacts / f"public-phone{path.replace('/', '-')}.png"), full_page=True)

    accent = page.evaluate(
        "() => getComputedStyle(document.documentElement).getPropertyValue('--accent').trim()"
    )
    link_colours = page.evaluate(
        "() => [...document.querySelectorAll('main a')].map(a => getComputedStyle(a).color)"
    )
    assert link_colours
    assert "rgb(0, 0, 238)" not in link_colours  # the browser's own link blue: the page's colours instead
    assert accent == "#0b5cad"

    page.emulate_media(media="print")
    assert page.locator("header.site").is_hidden()
    assert page.locator("section.embed").is_hidden()
    archived = page.locator("main a[href^='http']").first
    after = archived.evaluate("a => getComputedStyle(a, '::after').content")
    assert archived.get_attribute("href") in after
    context.close()
