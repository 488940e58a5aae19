"""The reviewer desk through Flask's test client: sign-in and lock-out, CSRF, stale forms, the queue,
and every workflow form driven through the real services."""

import html
import os
import re
import stat
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from click.testing import CliRunner
from markupsafe import escape

from service import create_app
from service.accounts import signin
from service.accounts.models import User
from service.accounts.signin import AccountLocked, SignInRefused, SignInService
from service.cli import main
from service.core.errors import InvalidInputError
from tests.conftest import SUMMARY, Act, set_status
from tests.service.reviewer.conftest import PASSWORD, Desk, set_password, text_of, user_row

STALE = "Someone else changed this claim while you were looking at it"
EXPIRED = "This form has expired"
DOC = """Press release of the Foreign Ministry.

Our government, recognizing the importance of substantially improving the human rights of
North Korean citizens, has participated as a co-sponsor of this resolution.
"""


def status_of(client, person, claim_id: str) -> str:
    return client.get(f"/api/v1/claims/{claim_id}", headers=person.headers).get_json()["status"]


# -- sign-in ------------------------------------------------------------------------------------


def test_signed_out_visitors_are_sent_to_sign_in_and_back(app, engine, reviewer, submit) -> None:
    claim = submit("Seoul co-sponsored the resolution.").get_json()
    desk = Desk(app, reviewer.user.name)
    response = desk.get(f"/desk/claims/{claim['id']}")
    assert response.status_code == 303
    assert response.headers["Location"] == f"/desk/sign-in?next=/desk/claims/{claim['id']}"
    page = desk.get(response.headers["Location"])
    assert page.status_code == 200
    assert 'name="next"' in page.get_data(as_text=True)
    set_password(engine, reviewer.id)
    desk.get("/desk/sign-in")
    target = f"/desk/claims/{claim['id']}"
    signed = desk.post("/desk/sign-in", name=reviewer.user.name, password=PASSWORD, next=target)
    assert signed.status_code == 303
    assert signed.headers["Location"] == target
    assert claim["text"] in text_of(desk.get(target))


def test_next_never_leads_off_the_desk(app, engine, reviewer) -> None:
    set_password(engine, reviewer.id)
    for target in ("https://evil.example/desk", "//evil.example/desk", "/api/v1/claims", "/desk\\@evil"):
        desk = Desk(app, reviewer.user.name)
        desk.get("/desk/sign-in")
        response = desk.post("/desk/sign-in", name=reviewer.user.name, password=PASSWORD, next=target)
        assert response.headers["Location"] == "/desk", target


def test_session_cookie_is_httponly_lax_and_kept_to_the_desk(make_app, engine, reviewer) -> None:
    set_password(engine, reviewer.id)
    desk = Desk(make_app(), reviewer.user.name)
    cookie = desk.sign_in().headers["Set-Cookie"]
    assert cookie.startswith("factdesk_desk=")
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/desk" in cookie
    assert "Secure" not in cookie
    # Served over https: behind a configured https base URL, or when the request itself is https.
    secure = Desk(make_app(base_url="https://factdesk.example"), reviewer.user.name)
    assert "Secure" in secure.sign_in().headers["Set-Cookie"]
    over_https = make_app().test_client()
    assert "Secure" in over_https.get("/desk/sign-in", base_url="https://localhost").headers["Set-Cookie"]


def test_wrong_name_or_password_says_neither(app, engine, reviewer) -> None:
    set_password(engine, reviewer.id)
    desk = Desk(app, reviewer.user.name)
    wrong_password = desk.sign_in(password="not the password at all")
    unknown_name = desk.sign_in(name="nobody-at-all")
    for response in (wrong_password, unknown_name):
        assert response.status_code == 401
        assert "Wrong username or password." in text_of(response)
    # The name typed is kept in the form; the password never is.
    assert 'value="nobody-at-all"' in unknown_name.get_data(as_text=True)
    assert "not the password" not in wrong_password.get_data(as_text=True)
    assert desk.get("/desk").status_code == 303  # still signed out


def test_five_failures_in_a_minute_lock_the_account(app, engine, reviewer) -> None:
    set_password(engine, reviewer.id)
    desk = Desk(app, reviewer.user.name)
    for _ in range(4):
        assert desk.sign_in(password="wrong password, again").status_code == 401
    fifth = desk.sign_in(password="wrong password, again")
    locked_until = user_row(engine, reviewer.id).locked_until
    assert fifth.status_code == 429
    message = f"Too many failed attempts: this account is locked until {locked_until:%H:%M} UTC."
    assert message in text_of(fifth)
    assert timedelta(minutes=14) < locked_until - datetime.now(UTC) <= timedelta(minutes=15)
    assert 800 < int(fifth.headers["Retry-After"]) <= 900
    # The right password does not open a locked account, and says so.
    right = desk.sign_in()
    assert right.status_code == 429
    assert message in text_of(right)
    assert desk.get("/desk").status_code == 303
    # Fifteen minutes later (the lock moved into the past), the right password works and resets it.
    with engine.begin() as conn:
        past = datetime.now(UTC) - timedelta(seconds=1)
        conn.execute(sa.update(User).where(User.id == reviewer.id).values(locked_until=past))
    assert desk.sign_in().status_code == 303
    assert desk.get("/desk").status_code == 200
    row = user_row(engine, reviewer.id)
    assert (row.failed_logins, row.locked_until) == (0, None)


def test_failures_count_within_one_minute_only(db_session, make_user) -> None:
    person = make_user("reviewer")
    now = [datetime(2026, 11, 19, 8, 0, tzinfo=UTC)]
    service = SignInService(db_session, clock=lambda: now[0])
    user = db_session.get(User, person.id)
    service.set_password(user, PASSWORD)
    for _ in range(4):
        with pytest.raises(SignInRefused) as refused:
            service.sign_in(user.name, "wrong password here")
        assert not isinstance(refused.value, AccountLocked)
    now[0] += timedelta(seconds=61)  # the first window closed: these start a new count
    for _ in range(4):
        with pytest.raises(SignInRefused) as refused:
            service.sign_in(user.name, "wrong password here")
        assert not isinstance(refused.value, AccountLocked)
    with pytest.raises(AccountLocked) as locked:
        service.sign_in(user.name, "wrong password here")
    assert locked.value.until == now[0] + timedelta(minutes=15)
    assert "locked until 08:16 UTC" in locked.value.detail
    with pytest.raises(AccountLocked):  # the right password too, while locked
        service.sign_in(user.name, PASSWORD)
    now[0] += timedelta(minutes=15, seconds=1)
    assert service.sign_in(user.name, PASSWORD).id == user.id
    # Locked again, a new password set by an administrator (`factdesk users passwd`) opens it at once.
    for _ in range(5):
        with pytest.raises(SignInRefused):
            service.sign_in(user.name, "wrong password here")
    service.set_password(user, "a new long password")
    assert service.sign_in(user.name, "a new long password").id == user.id
    db_session.rollback()


def test_passwords_are_argon2id_hashes(db_session, make_user, monkeypatch) -> None:
    monkeypatch.setattr(signin, "DEFAULT_HASHER", PasswordHasher())
    user = db_session.get(User, make_user("reviewer").id)
    SignInService(db_session).set_password(user, PASSWORD)
    assert user.password_hash.startswith("$argon2id$")
    assert PASSWORD not in user.password_hash
    with pytest.raises(InvalidInputError, match="10 to 1024 characters"):
        SignInService(db_session).set_password(user, "short")
    db_session.rollback()


def test_sign_out_and_password_change_end_the_session(app, engine, reviewer, signed_in) -> None:
    desk = signed_in(reviewer)
    assert desk.get("/desk").status_code == 200
    out = desk.post("/desk/sign-out")
    assert out.status_code == 303
    assert out.headers["Location"] == "/desk/sign-in"
    assert "You are signed out." in text_of(desk.get("/desk/sign-in"))
    assert desk.get("/desk").status_code == 303
    # A new password signs out every session that signed in with the old one.
    desk.sign_in()
    assert desk.get("/desk").status_code == 200
    set_password(engine, reviewer.id, "another long password")
    assert desk.get("/desk").status_code == 303


def test_signing_out_ends_the_session_on_the_server(app, reviewer, signed_in) -> None:
    desk = signed_in(reviewer)
    copied = desk.http.get_cookie("factdesk_desk", path="/desk")  # taken before signing out
    assert copied is not None
    assert desk.post("/desk/sign-out").status_code == 303
    thief = app.test_client()
    thief.set_cookie("factdesk_desk", copied.value, path="/desk")
    again = thief.get("/desk")
    assert again.status_code == 303  # to the sign-in form: the copy no longer works
    assert again.headers["Location"].startswith("/desk/sign-in")


@pytest.mark.parametrize(
    "target", ["/desk%0d%0aSet-Cookie:%20x=1", "/desk%0aX-Evil:%201", "/desk\t", "/desk%00"]
)
def test_a_next_with_control_characters_goes_to_the_queue(reviewer, signed_in, target: str) -> None:
    desk = signed_in(reviewer)
    desk.post("/desk/sign-out")
    desk.get("/desk/sign-in")
    response = desk.http.post(
        f"/desk/sign-in?next={target}",
        data={"name": reviewer.user.name, "password": PASSWORD, "csrf_token": desk.token},
    )
    assert response.status_code == 303
    assert response.headers["Location"] == "/desk"
    assert "Set-Cookie: x" not in str(response.headers)


def test_users_add_password_comes_from_stdin_never_argv(app, database_url, tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("FACTDESK_DATABASE_URL", database_url)
    monkeypatch.setenv("FACTDESK_DATA_DIR", str(tmp_path / "cli"))
    runner = CliRunner()
    add = ["users", "add", "ada", "--role", "reviewer", "--password"]
    added = runner.invoke(main, add, input=PASSWORD + "\n")
    assert added.exit_code == 0, added.output
    assert "can sign in to the reviewer desk" in added.output
    assert PASSWORD not in added.output
    assert Desk(app, "ada").sign_in().status_code == 303
    in_argv = runner.invoke(main, ["users", "add", "bea", "--role", "reviewer", "--password", PASSWORD])
    assert in_argv.exit_code != 0
    short = runner.invoke(main, ["users", "add", "cy", "--role", "reviewer", "--password"], input="short\n")
    assert short.exit_code != 0
    assert "10 to 1024 characters" in short.output
    changed = runner.invoke(main, ["users", "passwd", "ada"], input="a brand new passphrase\n")
    assert changed.exit_code == 0, changed.output
    assert Desk(app, "ada").sign_in().status_code == 401
    assert Desk(app, "ada").sign_in(password="a brand new passphrase").status_code == 303


# -- CSRF, headers, the API's own auth ----------------------------------------------------------


def test_forms_without_the_csrf_token_are_refused(client, submitter, reviewer, signed_in, submit) -> None:
    claim = submit("Seoul co-sponsored the resolution.").get_json()
    desk = signed_in(reviewer)
    etag = desk.etag(claim["id"])
    path = f"/desk/claims/{claim['id']}/transitions"
    for token in ("", "forged-" + desk.token[7:]):
        refused = desk.http.post(path, data={"csrf_token": token, "action": "start_research", "etag": etag})
        assert refused.status_code == 403
        assert EXPIRED in text_of(refused)
        assert "Reload the page" in text_of(refused)
        assert f'href="/desk/claims/{claim["id"]}"' in refused.get_data(as_text=True)
    assert status_of(client, submitter, claim["id"]) == "submitted"
    # Sign-in and sign-out forms are protected too.
    stranger = Desk(client.application, reviewer.user.name)
    no_token = {"name": reviewer.user.name, "password": PASSWORD}
    assert stranger.http.post("/desk/sign-in", data=no_token).status_code == 403
    assert desk.http.post("/desk/sign-out").status_code == 403
    assert desk.get("/desk").status_code == 200
    # With the token, the same form works.
    assert desk.act(claim["id"], "start_research", etag).status_code == 303


def test_the_api_never_accepts_the_desk_cookie(app, reviewer, signed_in, submit) -> None:
    claim = submit("Seoul co-sponsored the resolution.").get_json()
    desk = signed_in(reviewer)
    cookie = desk.http.get_cookie("factdesk_desk", path="/desk")
    assert cookie is not None
    # Even sent by hand outside its path, the cookie authenticates nothing in the API.
    headers = {"Cookie": f"factdesk_desk={cookie.value}"}
    assert app.test_client().get(f"/api/v1/claims/{claim['id']}", headers=headers).status_code == 404
    assert app.test_client().get("/api/v1/sources", headers=headers).status_code == 401
    posted = app.test_client().post("/api/v1/claims", json={"text": "Another claim here."}, headers=headers)
    assert posted.status_code == 401
    # And the public badge, fetched by a signed-in browser, gains neither a cookie nor `Vary`.
    badge = desk.http.get(f"/badges/{claim['id']}.svg")
    assert "Set-Cookie" not in badge.headers
    assert "Vary" not in badge.headers


def test_desk_pages_carry_the_public_pages_security_headers(client, reviewer, signed_in, submit) -> None:
    claim = submit("Seoul co-sponsored the resolution.").get_json()
    desk = signed_in(reviewer)
    public = client.get("/c/clm_unknown")
    pages = [desk.get(p) for p in ("/desk", f"/desk/claims/{claim['id']}", "/desk/sources")]
    for response in [*pages, client.get("/desk/sign-in")]:
        assert response.status_code == 200
        assert response.mimetype == "text/html"
        # The public pages' policy, except that forms post to the desk and nobody frames it.
        expected = public.headers["Content-Security-Policy"].replace(
            "form-action 'none'", "form-action 'self'"
        )
        assert response.headers["Content-Security-Policy"] == expected + "; frame-ancestors 'none'"
        for name in ("X-Content-Type-Options", "Referrer-Policy"):
            assert response.headers[name] == public.headers[name]
        assert response.headers["Cache-Control"] == "no-store"
        assert response.headers["X-Frame-Options"] == "DENY"
        page = response.get_data(as_text=True)
        # No external assets: every stylesheet, script and image comes from this service.
        assert not re.search(r'<(?:link|script|img)[^>]+(?:src|href)="(?:https?:)?//', page)
        assert "<script" not in page
        assert 'style="' not in page
    missing = desk.get("/desk/claims/clm_missing")
    assert missing.status_code == 404
    assert missing.mimetype == "text/html"
    assert "No claim 'clm_missing'" in text_of(missing)
    assert "Content-Security-Policy" in missing.headers


class _Controls(HTMLParser):
    """Collects form controls and the ids that <label for> names."""

    def __init__(self) -> None:
        super().__init__()
        self.controls: list[tuple[str, dict]] = []
        self.labelled: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        attributes = dict(attrs)
        if tag == "label" and attributes.get("for"):
            self.labelled.add(attributes["for"])
        if tag in ("input", "select", "textarea") and attributes.get("type") != "hidden":
            self.controls.append((tag, attributes))


def test_every_control_has_a_label(client, act, desk, signed_in, make_user) -> None:
    act(desk["alice"], "start_research")
    act(desk["alice"], "propose", rating="true", summary=SUMMARY)
    editor = signed_in(desk["editor"])  # in review, an editor sees approve, request changes and dismiss
    admin = signed_in(make_user("admin"))
    pages = {
        "claim": editor.get(f"/desk/claims/{desk['claim_id']}"),
        "queue": editor.get("/desk"),
        "sign-in": client.get("/desk/sign-in"),
        "new claim": editor.get("/desk/claims/new"),
        "sources": editor.get("/desk/sources"),
        "people": admin.get("/desk/people"),
    }
    for name, page in pages.items():
        parser = _Controls()
        parser.feed(page.get_data(as_text=True))
        assert parser.controls, name
        for tag, attributes in parser.controls:
            assert attributes.get("id") in parser.labelled, (name, tag, attributes)
    ids = re.findall(r' id="([^"]+)"', editor.get(f"/desk/claims/{desk['claim_id']}").get_data(as_text=True))
    assert len(ids) == len(set(ids))


# -- the queue ----------------------------------------------------------------------------------


def test_queue_counts_filters_search_and_pages(client, engine, submit, reviewer, signed_in) -> None:
    ids = {}
    for text, tags in (
        ("South Korea co-sponsored the resolution.", ["un", "south-korea"]),
        ("41 U.N. member states co-sponsored the resolution.", ["un"]),
        ("The United States was not among the sponsoring countries.", ["united-states"]),
        ("President Lee Jae Myung took office in June 2025.", ["south-korea"]),
    ):
        ids[text[:5]] = submit(text, tags=tags, claimant="UPI").get_json()["id"]
    Act(client, ids["41 U."])(reviewer, "start_research")
    set_status(engine, ids["The U"], "published")  # rating `false`
    with engine.begin() as conn:
        flag = sa.text("UPDATE claim SET needs_review = :flag WHERE id = :id")
        conn.execute(flag, {"flag": True, "id": ids["The U"]})
    desk = signed_in(reviewer)

    def listed(query: str = "") -> list[str]:
        page = desk.get("/desk" + query)
        assert page.status_code == 200, query
        return list(re.findall(r'href="/desk/claims/(clm_\w+)"', page.get_data(as_text=True)))

    everything = listed()
    assert everything == [ids["Presi"], ids["The U"], ids["41 U."], ids["South"]]  # newest first
    page = text_of(desk.get("/desk"))
    assert "All 4" in page
    assert "Submitted 2" in page
    assert "Researching 1" in page
    assert "Published 1" in page
    assert "Assigned to me 1" in page
    assert listed("?status=researching") == [ids["41 U."]]
    assert listed("?mine=1") == [ids["41 U."]]
    assert listed("?tag=south-korea") == [ids["Presi"], ids["South"]]
    assert listed("?rating=false") == [ids["The U"]]
    assert listed("?needs_review=true") == [ids["The U"]]
    assert listed("?q=co-sponsored+resolution") == [ids["41 U."], ids["South"]]
    assert listed('?q="member+states"&tag=un') == [ids["41 U."]]
    first = desk.get("/desk?limit=3")
    assert listed("?limit=3") == everything[:3]
    older = re.search(r'href="([^"]+)" rel="next"', first.get_data(as_text=True)).group(1)
    assert listed(html.unescape(older).removeprefix("/desk")) == everything[3:]
    bad = desk.get("/desk?status=nonsense&page=garbage")
    assert bad.status_code == 400
    assert "Must be one of" in text_of(bad)


# -- the claim page and its forms ---------------------------------------------------------------


def forms_on(page) -> set[str]:
    return set(re.findall(r'id="act-(\w+)"', page.get_data(as_text=True)))


def test_the_forms_are_what_the_workflow_allows_the_user_now(client, desk, signed_in) -> None:
    claim = f"/desk/claims/{desk['claim_id']}"
    submitter_page = signed_in(desk["submitter"]).get(claim)
    assert forms_on(submitter_page) == set()
    assert 'id="cite"' not in submitter_page.get_data(as_text=True)
    assert "The workflow allows a submitter no action" in text_of(submitter_page)
    # A submitter who posts the citation or re-capture form anyway is refused by the same rule as
    # in the API (the services check it), and nothing changes.
    submitter = signed_in(desk["submitter"])
    submitter.get(claim)
    cited = submitter.post(
        f"{claim}/citations", source_id=desk["source_id"], relation="supports", exact="Seoul"
    )
    assert cited.status_code == 403
    assert "This needs the reviewer role; you are a submitter." in text_of(cited)
    recapture = submitter.post(f"/desk/sources/{desk['source_id']}/captures")
    assert recapture.status_code == 403
    assert "This needs the reviewer role" in text_of(recapture)
    reviewer_page = signed_in(desk["alice"]).get(claim)
    stored = client.get(f"/api/v1/claims/{desk['claim_id']}", headers=desk["alice"].headers).get_json()
    assert len(stored["citations"]) == 1
    assert forms_on(reviewer_page) == {"start_research"}
    assert 'id="cite"' in reviewer_page.get_data(as_text=True)
    assert forms_on(signed_in(desk["editor"]).get(claim)) == {"start_research", "dismiss"}


def test_a_claim_worked_from_research_to_a_corrected_verdict(client, desk, signed_in) -> None:
    claim_id = desk["claim_id"]
    alice, bob, editor = signed_in(desk["alice"]), signed_in(desk["bob"]), signed_in(desk["editor"])
    page = alice.get(f"/desk/claims/{claim_id}")
    shown = text_of(page)
    assert "Seoul co-sponsored the resolution." in shown
    assert "Quote found in the archived text" in shown
    assert "<mark>has participated as a co-sponsor of this resolution</mark>" in page.get_data(as_text=True)
    assert "Hash chain intact" in shown

    started = alice.act(claim_id, "start_research")
    assert started.status_code == 303
    assert started.headers["Location"] == f"/desk/claims/{claim_id}"
    after = text_of(alice.get(f"/desk/claims/{claim_id}"))
    assert "Start research: done. The claim is now researching." in after
    assert forms_on(alice.get(f"/desk/claims/{claim_id}")) == {"propose"}

    # The rules' errors appear next to the form, with what was typed kept.
    short = alice.act(claim_id, "propose", rating="true", summary="Too short.")
    assert short.status_code == 422
    body = short.get_data(as_text=True)
    propose_form = body[body.index('id="act-propose"') :]
    assert "Length must be between 20 and 2000." in propose_form[: propose_form.index("</form>")]
    assert 'aria-invalid="true"' in propose_form
    assert ">Too short.</textarea>" in propose_form
    assert status_of(client, desk["alice"], claim_id) == "researching"

    assert alice.act(claim_id, "propose", rating="true", summary=SUMMARY).status_code == 303
    assert forms_on(alice.get(f"/desk/claims/{claim_id}")) == {"approve", "request_changes"}
    own = alice.act(claim_id, "approve")
    assert own.status_code == 403
    assert "You proposed this verdict; another reviewer must approve it." in text_of(own)
    assert status_of(client, desk["alice"], claim_id) == "in_review"

    no_note = bob.act(claim_id, "request_changes")
    assert no_note.status_code == 422
    assert "Required for this action." in text_of(no_note)
    assert bob.act(claim_id, "request_changes", note="Cite the U.N. sponsor list too.").status_code == 303
    assert alice.act(claim_id, "propose", rating="mostly_true", summary=SUMMARY).status_code == 303
    assert bob.act(claim_id, "approve").status_code == 303
    published = text_of(bob.get(f"/desk/claims/{claim_id}"))
    assert "Published: Mostly true (version 1)" in published
    assert "Public page" in published
    assert client.get(f"/c/{claim_id}").status_code == 200

    # Editors correct; the approval that publishes the correction needs a note for readers.
    assert forms_on(alice.get(f"/desk/claims/{claim_id}")) == set()
    assert forms_on(editor.get(f"/desk/claims/{claim_id}")) == {"correct"}
    assert editor.act(claim_id, "correct", note="The rating overstated the evidence.").status_code == 303
    assert alice.act(claim_id, "propose", rating="true", summary=SUMMARY).status_code == 303
    missing_note = bob.act(claim_id, "approve")
    assert missing_note.status_code == 422
    assert "say what changed, for readers" in text_of(missing_note)
    fixed = bob.act(claim_id, "approve", correction_note="Rated true: the statement is the primary source.")
    assert fixed.status_code == 303
    final = text_of(bob.get(f"/desk/claims/{claim_id}"))
    assert "Published: True (version 2)" in final
    assert "Correction: Rated true" in final
    events = client.get(f"/api/v1/claims/{claim_id}/history", headers=desk["bob"].headers).get_json()
    assert events["chain_intact"]
    assert [e["action"] for e in events["items"]][-2:] == ["propose", "approve"]


def test_a_stale_form_shows_the_fresh_state_and_changes_nothing(client, desk, signed_in) -> None:
    claim_id = desk["claim_id"]
    alice = signed_in(desk["alice"])
    seen = alice.etag(claim_id)  # alice opens the page …
    Act(client, claim_id)(desk["bob"], "start_research")  # … bob acts first, through the API
    response = alice.act(claim_id, "start_research", etag=seen)
    assert response.status_code == 412
    page = text_of(response)
    assert (
        "Someone else changed this claim while you were looking at it: here is the current state; "
        "check it and act again." in page
    )
    assert "researching" in page
    assert f"Assigned to {desk['bob'].user.name}." in page
    assert forms_on(response) == {"propose"}  # the fresh state's forms, with the fresh version
    fresh = client.get(f"/api/v1/claims/{claim_id}", headers=desk["bob"].headers).get_json()
    assert f'name="etag" value="{escape(fresh["etag"])}"' in response.get_data(as_text=True)
    assert fresh["assignee"] == desk["bob"].id
    history = client.get(f"/api/v1/claims/{claim_id}/history", headers=desk["bob"].headers).get_json()
    assert [e["action"] for e in history["items"]].count("start_research") == 1


def test_transitions_refused_by_status_name_what_is_allowed(client, desk, signed_in) -> None:
    alice = signed_in(desk["alice"])
    response = alice.act(desk["claim_id"], "approve")  # a hand-made form: approve on a submitted claim
    assert response.status_code == 409
    assert "`approve` is not possible while the claim is submitted." in text_of(response)
    assert status_of(client, desk["alice"], desk["claim_id"]) == "submitted"


def test_dismiss_as_duplicate_and_reopen(client, desk, signed_in, submit) -> None:
    kept = submit("South Korea co-sponsored the resolution.", person=desk["submitter"]).get_json()
    editor = signed_in(desk["editor"])
    claim_id = desk["claim_id"]
    without_target = editor.act(claim_id, "dismiss", reason="duplicate")
    assert without_target.status_code == 422
    assert "Required when the reason is `duplicate`." in text_of(without_target)
    assert editor.act(claim_id, "dismiss", reason="duplicate", duplicate_of=kept["id"]).status_code == 303
    page = text_of(editor.get(f"/desk/claims/{claim_id}"))
    assert "dismissed" in page
    assert f"duplicate of {kept['id']}" in page
    assert forms_on(editor.get(f"/desk/claims/{claim_id}")) == {"reopen"}
    assert editor.act(claim_id, "reopen", note="Not the same claim after all.").status_code == 303
    assert status_of(client, desk["editor"], claim_id) == "submitted"


def test_citing_a_new_url_and_a_known_source(client, desk, signed_in, httpserver) -> None:
    httpserver.expect_request("/release").respond_with_data(DOC, content_type="text/plain")
    url = httpserver.url_for("/release")
    alice = signed_in(desk["alice"])
    claim_id = desk["claim_id"]
    path = f"/desk/claims/{claim_id}/citations"
    neither = alice.post(path, relation="supports", exact="anything")
    assert neither.status_code == 422
    assert "Give either source_id or url." in text_of(neither)
    no_quote = alice.post(path, relation="supports", url=url)
    assert no_quote.status_code == 422
    assert 'id="cite-exact-error"' in no_quote.get_data(as_text=True)

    quote = "substantially improving the human rights"
    cited = alice.post(path, url=url, relation="supports", exact=quote, locator="para. 2")
    assert cited.status_code == 303
    page = alice.get(f"/desk/claims/{claim_id}").get_data(as_text=True)
    assert f"<mark>{quote}</mark>" in page  # captured after the commit, then anchored
    assert text_of(alice.get(f"/desk/claims/{claim_id}")).count("Quote found in the archived text") == 2

    missing = "words the statement lacks"
    known = alice.post(path, source_id=desk["source_id"], relation="context", exact=missing)
    assert known.status_code == 303
    shown = text_of(alice.get(f"/desk/claims/{claim_id}"))
    assert "Quote not found in the archived text" in shown
    assert missing in shown
    claim = client.get(f"/api/v1/claims/{claim_id}", headers=desk["alice"].headers).get_json()
    assert [c["anchor"]["status"] for c in claim["citations"]] == ["found", "found", "not_found"]

    # A submitter may read but not cite; nobody cites on a dismissed claim.
    submitter = signed_in(desk["submitter"])
    refused = submitter.post(path, source_id=desk["source_id"], relation="supports", exact="co-sponsor")
    assert refused.status_code == 403
    assert "This needs the reviewer role" in text_of(refused)
    Act(client, claim_id)(desk["editor"], "dismiss", reason="opinion")
    frozen = alice.post(path, source_id=desk["source_id"], relation="supports", exact="co-sponsor")
    assert frozen.status_code == 409
    assert "A dismissed claim's citations cannot change." in text_of(frozen)


def test_source_page_shows_captures_text_and_recaptures(client, desk, signed_in, httpserver) -> None:
    httpserver.expect_request("/release").respond_with_data(DOC, content_type="text/plain")
    alice = signed_in(desk["alice"])
    url = httpserver.url_for("/release")
    alice.post(
        f"/desk/claims/{desk['claim_id']}/citations", url=url, relation="supports", exact="human rights"
    )
    claim = client.get(f"/api/v1/claims/{desk['claim_id']}", headers=desk["alice"].headers).get_json()
    source_id = claim["citations"][1]["source_id"]
    page = alice.get(f"/desk/sources/{source_id}")
    shown = text_of(page)
    assert page.status_code == 200
    assert url in shown
    assert "Captures 1" in shown
    assert "has participated as a co-sponsor of this resolution" in shown  # the extracted text
    assert "Seoul co-sponsored the resolution." in shown  # the claims citing it
    snapshot_id = re.search(r"/snapshots/(snp_\w+)/content", page.get_data(as_text=True)).group(1)
    with alice.http.get(f"/desk/sources/{source_id}/snapshots/{snapshot_id}/content") as content:
        assert content.data == DOC.encode()
        assert content.headers["Content-Security-Policy"] == "sandbox"
    text = alice.get(f"/desk/sources/{source_id}/snapshots/{snapshot_id}/text")
    assert "co-sponsor" in text.get_data(as_text=True)
    assert text.mimetype == "text/plain"

    again = alice.post(f"/desk/sources/{source_id}/captures")
    assert again.status_code == 303
    assert "Captures 2" in text_of(alice.get(f"/desk/sources/{source_id}"))
    # An upload has no URL to fetch again; a submitter may not capture.
    upload = alice.post(f"/desk/sources/{desk['source_id']}/captures")
    assert upload.status_code == 409
    assert "An uploaded document has no URL to capture again." in text_of(upload)
    assert signed_in(desk["submitter"]).post(f"/desk/sources/{source_id}/captures").status_code == 403
    assert alice.get("/desk/sources/src_missing").status_code == 404
    listing = text_of(alice.get("/desk/sources"))
    assert url in listing
    assert "statement.txt" in listing


# -- the secret key -----------------------------------------------------------------------------


def test_a_secret_key_is_made_once_and_shared_by_every_worker(database_url, tmp_path, engine) -> None:
    data_dir = tmp_path / "shared"
    first = create_app({"database_url": database_url, "data_dir": str(data_dir)})
    second = create_app({"database_url": database_url, "data_dir": str(data_dir)})
    key_file = data_dir / "secret_key"
    assert first.secret_key == second.secret_key == key_file.read_text().strip()
    assert len(first.secret_key) >= 64
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    configured = create_app({"database_url": database_url, "data_dir": str(data_dir), "secret_key": "x" * 40})
    assert configured.secret_key == "x" * 40
    for app in (first, second, configured):
        app.extensions["factdesk.engine"].dispose()


def test_a_citation_of_a_source_that_could_not_be_archived_says_so(
    client, desk, signed_in, httpserver
) -> None:
    httpserver.expect_request("/gone").respond_with_data("nothing here", status=404)
    alice = signed_in(desk["alice"])
    url = httpserver.url_for("/gone")
    alice.post(
        f"/desk/claims/{desk['claim_id']}/citations", url=url, relation="supports", exact="human rights"
    )
    shown = text_of(alice.get(f"/desk/claims/{desk['claim_id']}"))
    assert "Waiting for the source to be archived" not in shown  # it never will be
    assert "The source could not be archived: The server answered 404 Not Found." in shown
