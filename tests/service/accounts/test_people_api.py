"""People and tokens over the API: who am I, the admin's user list, roles, disabling, and each
person's own tokens (by prefix, never whole but once), with the last admin kept."""

import threading

import pytest
from sqlmodel import Session

from service.accounts.models import User
from service.accounts.services import UserService
from service.accounts.signin import SignInService


def test_me_says_who_the_token_belongs_to(client, make_user) -> None:
    person = make_user("reviewer", name="Zoë Ångström")
    body = client.get("/api/v1/users/me", headers=person.headers).get_json()
    assert body["name"] == "Zoë Ångström"
    assert body["role"] == "reviewer"
    assert body["disabled"] is False
    assert body["last_active_at"] is not None  # this very request used the token
    assert client.get("/api/v1/users/me").status_code == 401


@pytest.mark.parametrize("role", ["submitter", "reviewer", "editor"])
def test_only_admins_list_and_manage_people(client, make_user, role) -> None:
    person, other = make_user(role), make_user("submitter")
    assert client.get("/api/v1/users", headers=person.headers).status_code == 403
    assert (
        client.post("/api/v1/users", json={"name": "x", "role": "admin"}, headers=person.headers).status_code
        == 403
    )
    patched = client.patch(f"/api/v1/users/{other.id}", json={"disabled": True}, headers=person.headers)
    assert patched.status_code == 403
    assert (
        client.patch(f"/api/v1/users/{person.id}", json={"role": "admin"}, headers=person.headers).status_code
        == 403
    )


def test_an_admin_adds_a_user_whose_first_token_is_shown_once(client, make_user) -> None:
    admin = make_user("admin")
    created = client.post(
        "/api/v1/users", json={"name": "  dana ", "role": "reviewer"}, headers=admin.headers
    )
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["name"] == "dana"
    assert created.headers["Location"].endswith(f"/api/v1/users/{body['id']}")
    dana = {"Authorization": f"Bearer {body['token']}"}
    assert client.get("/api/v1/users/me", headers=dana).get_json()["id"] == body["id"]
    listed = client.get("/api/v1/users", headers=admin.headers).get_json()["items"]
    assert [u["name"] for u in listed] == sorted((u["name"] for u in listed), key=str.casefold)
    assert "token" not in next(u for u in listed if u["name"] == "dana")
    assert body["token"] not in str(client.get("/api/v1/tokens", headers=dana).get_json())
    again = client.post("/api/v1/users", json={"name": "dana", "role": "admin"}, headers=admin.headers)
    assert again.status_code == 409
    assert again.content_type == "application/problem+json"


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"name": "", "role": "reviewer"},
        {"name": "x" * 81, "role": "reviewer"},
        {"name": "eve", "role": "root"},
        {"name": "a\x00b", "role": "reviewer"},
        {"name": 5, "role": "reviewer"},
    ],
)
def test_bad_new_users_are_422_and_nothing_is_added(client, make_user, payload) -> None:
    admin = make_user("admin")
    before = client.get("/api/v1/users", headers=admin.headers).get_json()["items"]
    response = client.post("/api/v1/users", json=payload, headers=admin.headers)
    assert response.status_code == 422
    assert response.content_type == "application/problem+json"
    assert client.get("/api/v1/users", headers=admin.headers).get_json()["items"] == before


def test_changing_a_role_takes_effect_on_the_next_request(client, make_user) -> None:
    admin, person = make_user("admin"), make_user("submitter")
    assert client.get("/api/v1/webhooks", headers=person.headers).status_code == 403
    changed = client.patch(f"/api/v1/users/{person.id}", json={"role": "admin"}, headers=admin.headers)
    assert changed.status_code == 200
    assert changed.get_json()["role"] == "admin"
    assert client.get("/api/v1/webhooks", headers=person.headers).status_code == 200
    assert client.patch(f"/api/v1/users/{person.id}", json={}, headers=admin.headers).status_code == 422
    assert (
        client.patch("/api/v1/users/usr_nobody", json={"role": "editor"}, headers=admin.headers).status_code
        == 404
    )


def test_disabling_stops_tokens_and_desk_sessions_at_once(client, make_user, engine) -> None:
    admin, person = make_user("admin"), make_user("reviewer")
    with Session(engine, expire_on_commit=False) as session:
        cookie_secret = SignInService(session).start_session(session.get(User, person.id))
        session.commit()
    assert client.get("/api/v1/claims", headers=person.headers).status_code == 200
    disabled = client.patch(f"/api/v1/users/{person.id}", json={"disabled": True}, headers=admin.headers)
    assert disabled.status_code == 200
    assert disabled.get_json()["disabled"] is True
    assert client.get("/api/v1/claims", headers=person.headers).status_code == 401
    with Session(engine) as session:
        assert SignInService(session).session_user(cookie_secret) is None
    enabled = client.patch(f"/api/v1/users/{person.id}", json={"disabled": False}, headers=admin.headers)
    assert enabled.get_json()["disabled"] is False
    assert client.get("/api/v1/claims", headers=person.headers).status_code == 200
    with Session(engine) as session:  # the ended session stays ended: sign in afresh
        assert SignInService(session).session_user(cookie_secret) is None


def test_the_last_admin_can_be_neither_demoted_nor_disabled(client, make_user) -> None:
    admin = make_user("admin")
    for change in ({"role": "editor"}, {"disabled": True}):
        refused = client.patch(f"/api/v1/users/{admin.id}", json=change, headers=admin.headers)
        assert refused.status_code == 409, change
        assert "last admin" in refused.get_json()["detail"]
    other = make_user("admin")
    assert (
        client.patch(f"/api/v1/users/{admin.id}", json={"role": "editor"}, headers=admin.headers).status_code
        == 200
    )
    refused = client.patch(f"/api/v1/users/{other.id}", json={"disabled": True}, headers=other.headers)
    assert refused.status_code == 409
    assert client.get("/api/v1/users/me", headers=other.headers).get_json()["role"] == "admin"


def test_two_admins_disabling_each_other_at_once_leave_one(engine, make_user) -> None:
    first, second = make_user("admin"), make_user("admin")
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def disable(user_id: str) -> None:
        with Session(engine, expire_on_commit=False) as session:
            barrier.wait()
            try:
                UserService(session).set_disabled(session.get(User, user_id), True)
                session.commit()
                outcomes.append("done")
            except Exception as exc:  # the loser is refused (last admin) or told to retry
                session.rollback()
                outcomes.append(type(exc).__name__)

    threads = [threading.Thread(target=disable, args=(p.id,)) for p in (first, second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with Session(engine) as session:
        active = [
            u for u in (session.get(User, first.id), session.get(User, second.id)) if u.disabled_at is None
        ]
    assert len(active) >= 1, outcomes


def test_everyone_sees_and_revokes_only_their_own_tokens(client, make_user) -> None:
    alice, bob = make_user("reviewer"), make_user("reviewer")
    made = client.post("/api/v1/tokens", json={}, headers=alice.headers)
    assert made.status_code == 201
    second = made.get_json()
    assert second["token"].startswith(second["prefix"])
    listed = client.get("/api/v1/tokens", headers=alice.headers).get_json()["items"]
    assert {t["prefix"] for t in listed} == {alice.token[:12], second["prefix"]}
    assert all("token" not in t and t["user"] == alice.user.name for t in listed)
    assert alice.token not in str(listed)
    assert second["token"] not in str(listed)
    # bob can neither see nor revoke alice's
    assert client.get(f"/api/v1/tokens?user={alice.user.name}", headers=bob.headers).status_code == 403
    assert client.delete(f"/api/v1/tokens/{second['prefix']}", headers=bob.headers).status_code == 404
    assert (
        client.post("/api/v1/tokens", json={"user": alice.user.name}, headers=bob.headers).status_code == 403
    )
    # alice revokes her first token: it stops at once; the second goes on
    assert client.delete(f"/api/v1/tokens/{alice.token[:12]}", headers=alice.headers).status_code == 204
    assert client.get("/api/v1/users/me", headers=alice.headers).status_code == 401
    new_headers = {"Authorization": f"Bearer {second['token']}"}
    listed = client.get("/api/v1/tokens", headers=new_headers).get_json()["items"]
    assert [t["revoked_at"] is not None for t in listed] == [False, True]  # newest first
    assert client.delete(f"/api/v1/tokens/{alice.token[:12]}", headers=new_headers).status_code == 404
    assert client.delete("/api/v1/tokens/fdk_", headers=new_headers).status_code == 422


def test_admins_manage_anyones_tokens_by_name(client, make_user) -> None:
    admin, person = make_user("admin"), make_user("submitter")
    made = client.post("/api/v1/tokens", json={"user": person.user.name}, headers=admin.headers)
    assert made.status_code == 201
    assert made.get_json()["user"] == person.user.name
    listed = client.get(f"/api/v1/tokens?user={person.id}", headers=admin.headers).get_json()["items"]
    assert len(listed) == 2
    revoked = client.delete(
        f"/api/v1/tokens/{person.token[:12]}?user={person.user.name}", headers=admin.headers
    )
    assert revoked.status_code == 204
    assert client.get("/api/v1/users/me", headers=person.headers).status_code == 401
    assert client.get("/api/v1/tokens?user=nobody", headers=admin.headers).status_code == 404


def test_a_tokens_last_use_is_recorded_at_most_once_a_minute(client, make_user, engine) -> None:
    person = make_user("submitter")
    client.get("/api/v1/claims", headers=person.headers)
    first = client.get("/api/v1/tokens", headers=person.headers).get_json()["items"][0]["last_used_at"]
    assert first is not None
    client.get("/api/v1/claims", headers=person.headers)
    assert (
        client.get("/api/v1/tokens", headers=person.headers).get_json()["items"][0]["last_used_at"] == first
    )
