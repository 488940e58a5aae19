"""The reviewer desk in a real browser (Debian's chromium): a claim of the example desk goes from the
API to a published verdict, its public page and badge; each step is kept as a screenshot."""

import html
import json
import re
from importlib import resources
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa
from sqlmodel import Session

from service.accounts.models import User
from service.accounts.signin import SignInService
from tests.browser import BROWSER_MARKS
from tests.conftest import STATEMENT, cite_statement, set_status

pytest.importorskip("playwright")
from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

pytestmark = BROWSER_MARKS
PASSWORD = "a long passphrase for the desk"
QUOTE = "immediately close the political prison camps and release all political prisoners unconditionally"
SUMMARY = (
    "The draft resolution itself urges Pyongyang to immediately close the political prison camps and "
    "release all political prisoners unconditionally."
)
# The primary source, served locally: the draft resolution's operative paragraphs as UPI quotes them.
UN_DRAFT = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<title>A/C.3/80/L.30: Situation of human rights in the Democratic People's Republic of Korea</title></head>
<body><header><nav><a href="/">United Nations</a> · <a href="/documents">Documents</a></nav></header>
<main><article>
<h1>Situation of human rights in the Democratic People's Republic of Korea</h1>
<p>Third Committee, eightieth session. Agenda item 71 (c): Promotion and protection of human rights:
human rights situations and reports of special rapporteurs and representatives. Draft resolution.</p>
<p>The General Assembly, guided by the Charter of the United Nations, the Universal Declaration of
Human Rights, the International Covenant on Civil and Political Rights and other instruments,</p>
<p>1. Condemns in the strongest terms the long-standing and ongoing systematic, widespread and gross
violations of human rights in and by the Democratic People's Republic of Korea, including those that
may amount to crimes against humanity;</p>
<p>2. Strongly urges the Government of the Democratic People's Republic of Korea to respect, protect
and fulfil all human rights and fundamental freedoms, to {QUOTE}, and to end the practice of
enforced disappearance;</p>
<p>3. Decides to continue its examination of the situation at its eighty-first session.</p>
</article></main><footer>Test fixture for Factdesk.</footer></body></html>"""


class Screenshots:
    """Numbered full-page screenshots in `directory` (desk/ under the run's artifacts directory)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        directory.mkdir(parents=True, exist_ok=True)
        for old in directory.glob("*.png"):
            old.unlink()
        self.taken: list[Path] = []

    def __call__(self, target: Page | Locator, step: str) -> None:
        path = self.directory / f"{len(self.taken) + 1:02d}-{step}.png"
        if isinstance(target, Page):
            target.screenshot(path=str(path), full_page=True)
        else:  # one element, e.g. the badge: a whole-page shot of a bare SVG document never settles
            target.screenshot(path=str(path))
        self.taken.append(path)


def set_password(engine: sa.Engine, user_id: str) -> None:
    with Session(engine) as session:
        SignInService(session).set_password(session.get(User, user_id), PASSWORD)
        session.commit()


def submit_demo_claims(base: str, headers: dict[str, str]) -> dict[str, str]:
    """Every claim `factdesk demo` ships, submitted through the API; their ids by text."""
    demo = json.loads(resources.files("service.ops.demo").joinpath("korea-un-resolution.json").read_text())
    ids = {}
    with httpx.Client(base_url=base, headers=headers) as api:
        for item in demo["claims"]:
            body = {
                "text": item["text"],
                "claimant": item["claimant"],
                "tags": item["tags"],
                "language": "en",
                "appearance": {**demo["story"], "quote": item["quote"]},
            }
            response = api.post("/api/v1/claims", json=body)
            assert response.status_code == 201, response.text
            ids[item["text"]] = response.json()["id"]
    return ids


def watch(page: Page, base: str, problems: list[str]) -> None:
    """Record any request that leaves the service, any script error and any CSP violation."""
    page.on("request", lambda r: r.url.startswith(base) or problems.append(f"external request {r.url}"))
    page.on("pageerror", lambda e: problems.append(f"page error {e}"))
    page.on(
        "console",
        lambda m: "Content Security Policy" in m.text and problems.append(f"CSP: {m.text}"),
    )


def sign_in(page: Page, base: str, name: str, path: str = "/desk") -> None:
    page.goto(base + path)
    expect(page).to_have_url(re.compile(r"/desk/sign-in\?next="))
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_label("Password").press("Enter")  # the keyboard submits the form
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()


def posting(page: Page):
    return page.expect_response(lambda r: r.request.method == "POST")


@pytest.mark.slow  # a whole desk session in chromium
def test_a_demo_claim_goes_from_the_api_to_a_published_verdict(
    browser, live, make_user, engine, httpserver, artifacts
) -> None:
    base, shot, problems = live, Screenshots(artifacts / "desk"), []
    newsroom = make_user("submitter", "newsroom")
    for name in ("ana", "ben"):
        set_password(engine, make_user("reviewer", name).id)
    httpserver.expect_request("/documents/A-C.3-80-L.30").respond_with_data(
        UN_DRAFT, content_type="text/html; charset=utf-8"
    )
    source_url = httpserver.url_for("/documents/A-C.3-80-L.30")
    ids = submit_demo_claims(base, newsroom.headers)
    claim_text = "The resolution calls on North Korea to immediately close its political prison camps"
    claim_id = next(i for text, i in ids.items() if text.startswith(claim_text))

    # Ana signs in: the desk sends her to the sign-in page first; the keyboard reaches every field.
    contexts: list[BrowserContext] = []
    ana_context = browser.new_context(viewport={"width": 1280, "height": 900})
    contexts.append(ana_context)
    page = ana_context.new_page()
    watch(page, base, problems)
    page.goto(base + "/desk")
    expect(page).to_have_url(re.compile(r"/desk/sign-in\?next=%2Fdesk$|/desk/sign-in\?next=/desk$"))
    for _ in range(3):  # skip link, brand, then the username field
        page.keyboard.press("Tab")
    focused = page.evaluate(
        "() => [document.activeElement.id, getComputedStyle(document.activeElement).outlineWidth]"
    )
    assert focused == ["signin-name", "3px"]
    page.keyboard.type("ana")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    shot(page, "sign-in")
    page.keyboard.press("Enter")

    # The queue: all twelve claims of the example desk, newest first; search finds ours.
    expect(page.get_by_role("heading", name="Queue")).to_be_visible()
    expect(page.locator("ol.claims > li")).to_have_count(12)
    expect(page.get_by_role("link", name=re.compile(r"Submitted\s+12"))).to_be_visible()
    shot(page, "queue")
    page.get_by_label("Search text, claimant and quotes").fill('"prison camps"')
    page.get_by_role("button", name="Filter").click()
    expect(page.locator("ol.claims > li")).to_have_count(1)
    shot(page, "queue-search")
    page.get_by_role("link", name=re.compile(claim_text)).click()

    # Research: start, then cite the draft resolution by its URL; it is archived and the quote found.
    expect(page.get_by_role("heading", level=1)).to_contain_text(claim_text)
    shot(page, "claim-submitted")
    page.get_by_role("button", name="Start research").click()
    expect(page.locator(".flash")).to_contain_text("The claim is now researching.")
    shot(page, "researching")
    page.get_by_label("Or the URL of a new source").fill(source_url)
    page.get_by_label("What the quote does to the claim").select_option("supports")
    page.get_by_label("Exact quote from the source").fill(QUOTE)
    page.get_by_label("Where in the source").fill("operative para. 2")
    page.get_by_role("button", name="Add citation").click()
    citation = page.locator("article.citation")
    expect(citation.locator(".anchor")).to_have_text("Quote found in the archived text")
    expect(citation.locator("mark")).to_have_text(QUOTE)
    expect(citation.locator(".health")).to_have_text("source ok")
    shot(page, "cited")

    # The source: its capture, health and extracted text.
    citation.get_by_role("link", name=re.compile("Situation of human rights|documents")).first.click()
    expect(page.locator("pre.text")).to_contain_text("Strongly urges the Government")
    expect(page.locator("table tbody tr")).to_have_count(1)
    shot(page, "source")
    page.get_by_role("link", name=re.compile(claim_text)).click()

    # Ana proposes a verdict, then tries to approve it herself: refused, and told why.
    page.get_by_label("Rating").select_option("true")
    page.get_by_label("Summary for readers").fill(SUMMARY)
    page.get_by_role("button", name="Propose a verdict").click()
    expect(page.locator(".claim-head .status")).to_have_text("in review")
    expect(page.locator(".proposal")).to_contain_text("Proposed: True")
    shot(page, "proposed")
    with posting(page) as refused:
        page.get_by_role("button", name="Approve").click()
    assert refused.value.status == 403
    expect(page.locator("#act-approve .error")).to_have_text(
        "You proposed this verdict; another reviewer must approve it."
    )
    expect(page.locator(".claim-head .status")).to_have_text("in review")
    shot(page, "own-approval-refused")

    # Ben, a second reviewer, approves it from his own browser.
    ben_context = browser.new_context(viewport={"width": 1280, "height": 900})
    contexts.append(ben_context)
    ben_page = ben_context.new_page()
    watch(ben_page, base, problems)
    sign_in(ben_page, base, "ben", f"/desk/claims/{claim_id}")
    with posting(ben_page) as approved:
        ben_page.get_by_role("button", name="Approve").click()
    assert approved.value.status == 303
    expect(ben_page.locator(".claim-head .status")).to_have_text("published")
    expect(ben_page.locator(".verdict")).to_contain_text("Published: True (version 1)")
    shot(ben_page, "approved")

    # Readers see it: the public page with its ClaimReview, and the badge.
    ben_page.get_by_role("link", name="Public page").click()
    expect(ben_page.get_by_role("heading", level=1)).to_have_text(re.compile(claim_text))
    expect(ben_page.locator(".rating .label")).to_have_text("True")
    expect(ben_page.locator(".evidence blockquote")).to_have_text(QUOTE)
    review = json.loads(ben_page.locator('script[type="application/ld+json"]').text_content())
    assert review["reviewRating"]["alternateName"] == "True"
    shot(ben_page, "public-page")
    badge = ben_page.goto(f"{base}/badges/{claim_id}.svg?style=for-the-badge")
    assert badge.status == 200
    assert 'aria-label="fact-check: True"' in badge.text()
    shot(ben_page.locator("svg"), "badge")

    # On a phone: the claim page and the queue fit the screen, nothing scrolls sideways.
    phone = browser.new_context(
        storage_state=ben_context.storage_state(),
        viewport={"width": 390, "height": 844},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
    )
    contexts.append(phone)
    phone_page = phone.new_page()
    watch(phone_page, base, problems)
    for path, step in ((f"/desk/claims/{claim_id}", "phone-claim"), ("/desk", "phone-queue")):
        phone_page.goto(base + path)
        assert phone_page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"), path
        shot(phone_page, step)

    for context in contexts:
        context.close()
    assert problems == []
    steps = "sign-in queue queue-search claim-submitted researching cited source proposed"
    steps += " own-approval-refused approved public-page badge phone-claim phone-queue"
    assert [p.name for p in shot.taken] == [f"{n:02d}-{step}.png" for n, step in enumerate(steps.split(), 1)]
    assert all(p.stat().st_size > 5_000 for p in shot.taken if "badge" not in p.name)


def report_page() -> str:
    """The example desk's restated report as a news page, with the metadata a page carries."""
    report = resources.files("service.ops.demo").joinpath("report.txt").read_text(encoding="utf-8")
    headline, *paragraphs = [line for line in report.splitlines() if line.strip()]
    body = "\n".join(f"<p>{html.escape(p)}</p>" for p in paragraphs)
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8">
<title>{html.escape(headline)} - Example News</title>
<meta property="og:title" content="{html.escape(headline, quote=True)}">
<meta property="og:site_name" content="Example News">
<meta property="article:published_time" content="2025-11-19T09:00:00Z">
</head><body><nav><a href="/">Home</a> · <a href="/world">World</a></nav>
<article><h1>{html.escape(headline)}</h1>
{body}
</article><footer>Test fixture for Factdesk.</footer></body></html>"""


@pytest.mark.slow  # a desk session in chromium
def test_claims_from_a_report_in_the_desk_without_javascript(
    browser, live, make_user, engine, httpserver, artifacts, submit
) -> None:
    base, shot, problems = live, Screenshots(artifacts / "reporting"), []
    set_password(engine, make_user("reviewer", "ana").id)
    published = submit("South Korea was one of 40 U.N. member states co-sponsoring the resolution.")
    set_status(engine, published.get_json()["id"], "published")
    httpserver.expect_request("/world/korea-un").respond_with_data(
        report_page(), content_type="text/html; charset=utf-8"
    )
    url = httpserver.url_for("/world/korea-un")

    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    watch(page, base, problems)
    sign_in(page, base, "ana", "/desk/reporting")

    # Ana gives the article's URL: it is captured, archived and read into sentences.
    expect(page.get_by_role("heading", name="Claims from reporting")).to_be_visible()
    page.get_by_label("Its URL").fill(url)
    shot(page, "reporting-form")
    page.get_by_role("button", name="Read the report").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("South Korea to back U.N. resolution")
    expect(page.locator(".meta").first).to_contain_text("Example News")
    worthy = page.locator("li.sentence.worthy")
    expect(worthy.first).to_be_visible()
    forty_one = page.locator("li.sentence", has=page.locator("mark.number", has_text="41")).first
    expect(forty_one.locator(".flag")).to_have_text("worth checking")
    expect(forty_one.locator(".matches")).to_contain_text("Same claim, different number")
    expect(forty_one.locator(".matches .rating")).to_contain_text("false")
    shot(page, "extraction")

    # She ticks two sentences, rewords one, and makes them claims in one step.
    not_among = page.locator("li.sentence", has_text="not one of the countries").first
    forty_one.locator("input[name=pick]").check()
    not_among.locator("input[name=pick]").check()
    not_among.get_by_text("Edit the claim’s wording").click()
    not_among.locator("textarea").fill("The United States did not co-sponsor the 2025 resolution.")
    page.get_by_label("Claimant of the claims made").fill("Example News")
    with posting(page) as made:
        page.get_by_role("button", name="Make claims of the ticked sentences").click()
    assert made.value.status == 303
    expect(page.locator("#made-h")).to_be_visible()
    expect(page.locator(".flash").first).to_contain_text("2 new claims made")
    shot(page, "claims-made")

    # The new claim quotes the archived article, and knows what is close to it.
    page.get_by_role("link", name="The United States did not co-sponsor the 2025 resolution.").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("did not co-sponsor")
    expect(page.get_by_role("link", name="Quoted from the archived copy")).to_be_visible()
    expect(page.locator("#matches-h")).to_be_visible()
    shot(page, "claim-from-report")
    page.get_by_role("link", name="Quoted from the archived copy").click()
    expect(page.locator("pre.text")).to_contain_text("not one of the countries")

    context.close()
    assert problems == []


def desk_page(browser: Browser, base: str, problems: list[str]) -> Page:
    """A new browser (its own cookies) without JavaScript, watched for requests leaving the service."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    page = context.new_page()
    watch(page, base, problems)
    return page


@pytest.mark.slow  # two desk sessions in chromium
def test_an_admin_manages_people_and_everyone_their_tokens(
    browser, live, make_user, engine, artifacts
) -> None:
    base, shot, problems = live, Screenshots(artifacts / "people"), []
    ada, ben = make_user("admin", "ada"), make_user("reviewer", "ben")
    for person in (ada, ben):
        set_password(engine, person.id)
    admin, reviewer = desk_page(browser, base, problems), desk_page(browser, base, problems)
    sign_in(admin, base, "ada", "/desk/people")
    sign_in(reviewer, base, "ben", "/desk/tokens")

    # Ben is no admin: the people page is refused, and his menu does not offer it.
    expect(reviewer.get_by_role("link", name="People")).to_have_count(0)
    assert reviewer.goto(base + "/desk/people").status == 403
    expect(reviewer.get_by_role("heading", level=1)).to_have_text("Not for your role")

    # Ada adds Cleo; her first token is shown once, and works.
    expect(admin.get_by_role("heading", name="People")).to_be_visible()
    admin.get_by_label("Username").fill("cleo")
    admin.get_by_label("Role", exact=True).select_option("submitter")
    admin.get_by_role("button", name="Add person").click()
    expect(admin.locator(".shown-once")).to_contain_text("cleo is added as a submitter")
    token = admin.locator("code.secret").text_content()
    assert (
        httpx.get(f"{base}/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    )
    shot(admin, "person-added")

    # She makes Ben an editor; demoting herself, the last admin, is refused and changes nothing.
    admin.get_by_label("Role of ben", exact=True).select_option("editor")
    admin.get_by_role("button", name="Change the role of ben").click()
    expect(admin.locator(".flash")).to_have_text("ben is now an editor.")
    admin.get_by_label("Role of ada", exact=True).select_option("reviewer")
    with posting(admin) as refused:
        admin.get_by_role("button", name="Change the role of ada").click()
    assert refused.value.status == 409
    expect(admin.locator(".error")).to_contain_text("ada is the last admin")
    expect(admin.get_by_label("Role of ada", exact=True)).to_have_value("admin")
    shot(admin, "last-admin-kept")

    # Ben makes a token of his own and revokes his first one.
    reviewer.goto(base + "/desk/tokens")
    reviewer.get_by_role("button", name="Create a new token").click()
    expect(reviewer.locator(".shown-once")).to_contain_text("shown only this once")
    reviewer.get_by_role("button", name=f"Revoke {ben.token[:12]}").click()
    expect(reviewer.locator(".flash")).to_contain_text(f"Token {ben.token[:12]} revoked")
    expect(reviewer.locator("table.tokens tbody tr")).to_have_count(2)
    shot(reviewer, "tokens")

    # Ada disables Ben: his next page load goes to sign-in, and signing in again is refused.
    admin.get_by_role("button", name="Disable ben").click()
    expect(admin.locator(".flash")).to_contain_text("ben is disabled")
    reviewer.goto(base + "/desk")
    expect(reviewer).to_have_url(re.compile(r"/desk/sign-in\?next="))
    reviewer.get_by_label("Username").fill("ben")
    reviewer.get_by_label("Password").fill(PASSWORD)
    reviewer.get_by_label("Password").press("Enter")
    expect(reviewer.locator(".error")).to_be_visible()
    shot(reviewer, "disabled-signed-out")
    admin.get_by_role("button", name="Enable ben").click()
    expect(admin.locator(".flash")).to_contain_text("ben is enabled again")
    sign_in(reviewer, base, "ben")

    for page in (admin, reviewer):
        page.context.close()
    assert problems == []


@pytest.mark.slow  # a desk session in chromium
def test_a_claim_is_submitted_edited_and_its_evidence_changed_without_javascript(
    browser, live, make_user, engine, client, submit, artifacts
) -> None:
    base, shot, problems = live, Screenshots(artifacts / "submit"), []
    ana = make_user("reviewer", "ana")
    set_password(engine, ana.id)
    first = submit(
        "South Korea co-sponsored the 2025 U.N. resolution on North Korean human rights."
    ).get_json()
    page = desk_page(browser, base, problems)
    sign_in(page, base, "ana", "/desk/claims/new")

    # A claim close to one on the desk: the desk shows it first, then creates hers when asked.
    text = "South Korea co-sponsored the 2025 U.N. resolution on human rights in North Korea."
    page.get_by_label("Claim text").fill(text)
    page.get_by_label("Claimant").fill("Yonhap")
    page.get_by_label("Tags").fill("un, south-korea")
    page.get_by_label("URL where it appeared").fill("https://news.example/korea-un")
    page.get_by_label("Publisher").fill("Example News")
    page.get_by_label("Date published").fill("2025-11-19")
    page.get_by_label("The sentence as it appeared").fill("Seoul joined as a co-sponsor.")
    page.get_by_role("button", name="Submit claim").click()
    expect(page.get_by_role("heading", name="Already on the desk?")).to_be_visible()
    expect(page.locator(".duplicates").get_by_role("link", name=first["text"])).to_be_visible()
    shot(page, "possible-duplicates")
    page.get_by_role("button", name="Create anyway").click()
    expect(page.locator(".flash")).to_have_text("Claim submitted.")
    expect(page.get_by_role("heading", level=1)).to_have_text(text)
    expect(page.locator("ul.appearances")).to_contain_text("Example News")
    claim_id = page.url.rsplit("/", 1)[1]

    # Someone edits it through the API while her edit form is open: hers is refused and kept.
    page.get_by_text("Edit the claim's text, claimant and tags").click()
    edited = "South Korea was among the co-sponsors of the 2025 U.N. resolution."
    page.get_by_label("Claim text").fill(edited)
    etag = client.get(f"/api/v1/claims/{claim_id}", headers=ana.headers).get_json()["etag"]
    patched = client.patch(
        f"/api/v1/claims/{claim_id}", json={"claimant": "KBS"}, headers={**ana.headers, "If-Match": etag}
    )
    assert patched.status_code == 200
    with posting(page) as stale:
        page.get_by_role("button", name="Save changes").click()
    assert stale.value.status == 412
    expect(page.locator(".stale").first).to_contain_text("Someone else changed this claim")
    expect(page.get_by_label("Claim text")).to_have_value(edited)
    expect(page.locator(".facts")).to_contain_text("KBS")
    shot(page, "stale-edit-kept")
    page.get_by_role("button", name="Save changes").click()
    expect(page.locator(".flash")).to_have_text("Claim edited.")
    expect(page.get_by_role("heading", level=1)).to_have_text(edited)

    # Another appearance; then a citation made through the API is removed while researching.
    page.get_by_text("Add where else it appeared").click()
    page.locator("#appearance").get_by_label("URL where it appeared").fill("https://tv.example/clip")
    page.get_by_role("button", name="Add appearance").click()
    expect(page.locator(".flash")).to_have_text("Appearance added.")
    expect(page.locator("ul.appearances > li")).to_have_count(2)
    cite_statement(client, claim_id, ana.headers)
    page.reload()
    expect(page.locator("article.citation")).to_have_count(1)
    page.get_by_role("button", name=re.compile("Remove the citation")).click()
    expect(page.locator(".flash")).to_have_text("Citation removed.")
    expect(page.locator("article.citation")).to_have_count(0)
    shot(page, "citation-removed")

    page.context.close()
    assert problems == []


@pytest.mark.slow  # a desk session in chromium
def test_the_queue_sorts_and_pages_without_javascript(
    browser, live, make_user, engine, submit, artifacts
) -> None:
    base, shot, problems = live, Screenshots(artifacts / "queue"), []
    set_password(engine, make_user("reviewer", "ana").id)
    long_text = "The resolution names " + ", ".join(f"co-sponsor number {n}" for n in range(1, 30)) + "."
    texts = [long_text] + [f"Claim number {n} about the U.N. resolution." for n in range(1, 27)]
    ids = [submit(text).get_json()["id"] for text in texts]
    page = desk_page(browser, base, problems)
    sign_in(page, base, "ana")

    expect(page.locator(".pager").first).to_contain_text("1–25 of 27 claims · page 1 of 2")
    page.get_by_label("Sort").select_option("oldest")
    page.get_by_role("button", name="Filter").click()
    claims = page.locator("ol.claims > li a.claim-link")
    expect(claims).to_have_count(25)
    shown = claims.first.text_content()
    assert shown.endswith("…")
    assert long_text.startswith(shown[:-1])
    shot(page, "oldest-first")
    page.get_by_role("link", name="Next →").first.click()
    expect(page.locator(".pager").first).to_contain_text("26–27 of 27 claims · page 2 of 2")
    expect(page.get_by_label("Sort")).to_have_value("oldest")
    expect(claims).to_have_count(2)
    shot(page, "second-page")
    page.get_by_role("link", name="← Previous").first.click()
    claims.first.click()
    expect(page.get_by_role("heading", level=1)).to_have_text(long_text)
    assert page.url.endswith(ids[0])

    page.context.close()
    assert problems == []


@pytest.mark.slow  # a desk session in chromium
def test_a_document_is_uploaded_found_and_its_quotes_marked_without_javascript(
    browser, live, make_user, engine, client, submit, tmp_path, artifacts
) -> None:
    base, shot, problems = live, Screenshots(artifacts / "sources"), []
    ana = make_user("reviewer", "ana")
    set_password(engine, ana.id)
    document = tmp_path / "statement.txt"
    document.write_bytes(STATEMENT)
    page = desk_page(browser, base, problems)
    sign_in(page, base, "ana", "/desk/sources")

    # Ana uploads the ministry's statement; it is archived and its text read.
    expect(page.get_by_role("heading", name="Upload a document")).to_be_visible()
    form = page.locator("#upload")
    form.get_by_label("The document").set_input_files(str(document))
    form.get_by_label("Title").fill("Foreign Ministry statement on the resolution")
    form.get_by_label("Publisher").fill("Ministry of Foreign Affairs")
    page.get_by_role("button", name="Upload").click()
    expect(page.locator(".flash")).to_contain_text("Document archived.")
    expect(page.locator("pre.text")).to_contain_text("has participated as a co-sponsor")
    source_id = page.url.rsplit("/", 1)[1]

    # Two claims cite it; its page marks both quotes in the text.
    for text, quote in (
        ("Seoul co-sponsored the resolution.", "has participated as a co-sponsor of this resolution"),
        ("The ministry told UPI of its co-sponsorship.", "sent to UPI"),
    ):
        claim = submit(text).get_json()
        cited = client.post(
            f"/api/v1/claims/{claim['id']}/citations",
            headers=ana.headers,
            json={"source_id": source_id, "relation": "supports", "quote": {"exact": quote}},
        )
        assert cited.status_code == 201
    page.reload()
    expect(page.locator("pre.text mark")).to_have_text(
        ["has participated as a co-sponsor of this resolution", "sent to UPI"]
    )
    shot(page, "quotes-marked")

    # The sources list finds it by publisher, and not among the unhealthy ones.
    page.get_by_role("link", name="Sources", exact=True).click()
    page.get_by_label("Title, URL or publisher contains").fill("foreign affairs")
    page.get_by_role("button", name="Search").click()
    expect(page.locator("ul.claims > li")).to_have_count(1)
    expect(page.locator(".pager").first).to_contain_text("1–1 of 1 sources")
    shot(page, "sources-found")
    page.get_by_label("Health").select_option("gone")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_text("No sources match.")).to_be_visible()

    page.context.close()
    assert problems == []
