"""People and tokens on the desk through Flask's test client: admins only for people, everyone for
their own tokens, the last admin kept, and every refusal a page that says why."""

import re

from tests.service.reviewer.conftest import text_of

TOKEN_SHOWN = re.compile(r'<code class="secret">(fdk_[^<]+)</code>')


def test_people_are_for_admins_only(make_user, signed_in) -> None:
    desk = signed_in(make_user("editor", "eve"))
    refused = desk.get("/desk/people")
    assert refused.status_code == 403
    assert refused.mimetype == "text/html"
    assert "This needs the admin role; you are a editor." in text_of(refused)
    assert desk.post("/desk/people", name="mallory", role="admin").status_code == 403
    assert 'href="/desk/people"' not in desk.get("/desk").get_data(as_text=True)


def test_an_admin_adds_a_person_and_sees_the_token_once(client, make_user, signed_in) -> None:
    desk = signed_in(make_user("admin", "ada"))
    added = desk.post("/desk/people", name="ben", role="reviewer")
    assert added.status_code == 201
    token = TOKEN_SHOWN.search(added.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {token}"}).get_json()[
        "role"
    ] == ("reviewer")
    listed = desk.get("/desk/people")
    assert "ben" in text_of(listed)
    assert token not in listed.get_data(as_text=True)  # never again
    # A taken name, a blank one and an unknown role: the page says which, nothing is added.
    taken = desk.post("/desk/people", name="ben", role="reviewer")
    assert taken.status_code == 409
    assert "A user named 'ben' exists already." in text_of(taken)
    bad = desk.post("/desk/people", name=" ", role="overlord")
    assert bad.status_code == 422
    assert "A user name has 1 to 80 characters." in text_of(bad)
    assert "One of submitter, reviewer, editor, admin." in text_of(bad)


def test_roles_change_and_the_last_admin_is_kept(client, make_user, signed_in) -> None:
    ada = make_user("admin", "ada")
    ben = make_user("reviewer", "ben")
    desk = signed_in(ada)
    promoted = desk.post(f"/desk/people/{ben.id}", role="editor")
    assert promoted.status_code == 303
    assert "ben is now an editor." in text_of(desk.get("/desk/people"))
    for change in ({"role": "reviewer"}, {"disabled": "1"}):
        refused = desk.post(f"/desk/people/{ada.id}", **change)
        assert refused.status_code == 409
        assert "ada is the last admin: make another admin before you" in text_of(refused)
    me = client.get("/api/v1/users/me", headers=ada.headers).get_json()
    assert (me["role"], me["disabled"]) == ("admin", False)
    assert desk.post(f"/desk/people/{ben.id}", role="root").status_code == 422
    assert desk.post(f"/desk/people/{ben.id}").status_code == 422
    assert desk.post("/desk/people/usr_missing", role="editor").status_code == 404


def test_a_disabled_person_is_signed_out_at_once_and_enabled_again(client, make_user, signed_in) -> None:
    admin = signed_in(make_user("admin", "ada"))
    ben = make_user("reviewer", "ben")
    bens_desk = signed_in(ben)
    assert bens_desk.get("/desk").status_code == 200
    assert admin.post(f"/desk/people/{ben.id}", disabled="1").status_code == 303
    assert "disabled" in text_of(admin.get("/desk/people"))
    gone = bens_desk.get("/desk")
    assert gone.status_code == 303
    assert gone.headers["Location"].startswith("/desk/sign-in")
    assert client.get("/api/v1/users/me", headers=ben.headers).status_code == 401
    assert admin.post(f"/desk/people/{ben.id}", disabled="0").status_code == 303
    assert client.get("/api/v1/users/me", headers=ben.headers).status_code == 200
    assert bens_desk.get("/desk").status_code == 303  # the ended session stays ended: sign in afresh


def test_everyone_sees_makes_and_revokes_their_own_tokens(client, make_user, signed_in) -> None:
    sue, other = make_user("submitter", "sue"), make_user("submitter", "tom")
    desk = signed_in(sue)
    page = desk.get("/desk/tokens")
    assert page.status_code == 200
    assert sue.token[:12] in text_of(page)
    assert other.token[:12] not in text_of(page)
    assert sue.token not in page.get_data(as_text=True)  # by prefix only
    made = desk.post("/desk/tokens")
    assert made.status_code == 201
    new = TOKEN_SHOWN.search(made.get_data(as_text=True)).group(1)
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {new}"}).status_code == 200
    assert desk.post("/desk/tokens/revoke", prefix=sue.token[:12]).status_code == 303
    assert client.get("/api/v1/users/me", headers=sue.headers).status_code == 401
    assert "revoked" in text_of(desk.get("/desk/tokens"))
    # Another's prefix revokes nothing; a short one is refused; both say so.
    theirs = desk.post("/desk/tokens/revoke", prefix=other.token[:12])
    assert theirs.status_code == 404
    assert "You have no live token" in text_of(theirs)
    assert client.get("/api/v1/users/me", headers=other.headers).status_code == 200
    short = desk.post("/desk/tokens/revoke", prefix="fdk_")
    assert short.status_code == 422
    assert "Give at least the first 12 characters" in text_of(short)


def test_people_and_token_forms_need_the_csrf_token(make_user, signed_in) -> None:
    ada = make_user("admin", "ada")
    ben = make_user("reviewer", "ben")
    desk = signed_in(ada)
    for path, data in (
        ("/desk/people", {"name": "x", "role": "admin"}),
        (f"/desk/people/{ben.id}", {"disabled": "1"}),
        ("/desk/tokens", {}),
        ("/desk/tokens/revoke", {"prefix": ben.token[:12]}),
    ):
        refused = desk.post(path, csrf_token="", **data)
        assert refused.status_code == 403, path
        assert "This form has expired" in text_of(refused)
    assert "disabled" not in text_of(desk.get("/desk/people"))
