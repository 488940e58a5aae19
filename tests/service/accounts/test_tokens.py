"""Users, tokens and roles: tokens are shown once, stored hashed, revocable; roles nest."""

import sqlalchemy as sa

from service.accounts.services import UserService


def test_tokens_are_stored_only_as_hashes(client, make_user, engine) -> None:
    person = make_user("submitter")
    assert person.token.startswith("fdk_")
    assert len(person.token) > 40
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM token")).mappings().all()
    dumped = repr(rows)
    assert person.token not in dumped
    assert person.token[4:] not in dumped
    assert rows[0]["prefix"] == person.token[:12]
    assert client.get("/api/v1/claims", headers=person.headers).status_code == 200


def test_revoked_token_is_401(client, make_user, db_session) -> None:
    person = make_user("submitter")
    assert UserService(db_session).revoke(person.token[:12]) == 1
    db_session.commit()
    response = client.get("/api/v1/claims", headers=person.headers)
    assert response.status_code == 401


def test_revoking_needs_a_long_enough_prefix(make_user, db_session) -> None:
    import pytest

    from service.core.errors import InvalidInputError

    person = make_user("submitter")
    with pytest.raises(InvalidInputError):
        UserService(db_session).revoke("fdk_")
    assert UserService(db_session).revoke(person.token) == 1


def test_roles_include_the_ones_below(client, make_user, submit) -> None:
    claim = submit("The resolution had 41 co-sponsors").get_json()
    for role, status in (("submitter", 403), ("reviewer", 200), ("editor", 200), ("admin", 200)):
        person = make_user(role)
        current = client.get(f"/api/v1/claims/{claim['id']}", headers=person.headers).get_json()
        response = client.patch(
            f"/api/v1/claims/{claim['id']}",
            json={"claimant": role},
            headers={**person.headers, "If-Match": current["etag"]},
        )
        assert response.status_code == status, role
