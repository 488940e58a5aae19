"""The desk's test helpers: a person's browser on the desk through Flask's test client, signed in
with a password hashed cheaply."""

import html
import re

import pytest
import sqlalchemy as sa
from argon2 import PasswordHasher
from sqlmodel import Session

from service.accounts import signin
from service.accounts.models import User
from service.accounts.signin import SignInService

PASSWORD = "correct horse battery staple"
TOKEN = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def cheap_hashes(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at the lowest cost: its parameters are a production choice, not behaviour under test
    (test_passwords_are_argon2id_hashes checks the real ones)."""
    monkeypatch.setattr(signin, "DEFAULT_HASHER", PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))


def set_password(engine: sa.Engine, user_id: str, password: str = PASSWORD) -> None:
    with Session(engine, expire_on_commit=False) as session:
        SignInService(session).set_password(session.get(User, user_id), password)
        session.commit()


def user_row(engine: sa.Engine, user_id: str) -> User:
    with Session(engine, expire_on_commit=False) as session:
        return session.get(User, user_id)


class Desk:
    """One person's browser on the desk: a cookie jar, and the CSRF token of the last page seen."""

    def __init__(self, app, name: str) -> None:
        self.http = app.test_client()
        self.name = name
        self.token = ""

    def get(self, path: str, **kwargs: object):
        response = self.http.get(path, **kwargs)
        found = TOKEN.search(response.get_data(as_text=True))
        if found:
            self.token = found.group(1)
        return response

    def post(self, path: str, **data: str):
        data.setdefault("csrf_token", self.token)
        return self.http.post(path, data=data)

    def sign_in(self, password: str = PASSWORD, name: str | None = None, **extra: str):
        self.get("/desk/sign-in")
        response = self.post("/desk/sign-in", name=name or self.name, password=password, **extra)
        self.get("/desk")
        return response

    def etag(self, claim_id: str) -> str:
        page = self.get(f"/desk/claims/{claim_id}").get_data(as_text=True)
        return html.unescape(re.search(r'name="etag" value="([^"]+)"', page).group(1))

    def act(self, claim_id: str, action: str, etag: str | None = None, **fields: str):
        etag = etag or self.etag(claim_id)
        return self.post(f"/desk/claims/{claim_id}/transitions", action=action, etag=etag, **fields)


@pytest.fixture
def signed_in(app, engine):
    """`signed_in(person)` → a Desk for that person, signed in."""

    def make(person) -> Desk:
        set_password(engine, person.id)
        desk = Desk(app, person.user.name)
        assert desk.sign_in().status_code == 303
        return desk

    return make


def text_of(response) -> str:
    """The page's text as a reader sees it: tags dropped, entities decoded, one space."""
    text = re.sub(r"<[^>]+>", " ", response.get_data(as_text=True))
    return re.sub(r"\s+", " ", html.unescape(text))
