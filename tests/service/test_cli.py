"""The `factdesk` command as an operator uses it, against the test database."""

import re

import pytest
from click.testing import CliRunner

from service.cli import main


@pytest.fixture
def run(app, database_url: str, tmp_path, monkeypatch):
    monkeypatch.setenv("FACTDESK_DATABASE_URL", database_url)
    monkeypatch.setenv("FACTDESK_DATA_DIR", str(tmp_path / "cli"))
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, list(args), catch_exceptions=False)

    return invoke


def test_users_add_prints_a_working_token_once(run, client) -> None:
    result = run("users", "add", "alice", "--role", "reviewer")
    assert result.exit_code == 0, result.output
    token = re.search(r"(fdk_\S+)", result.output).group(1)
    assert client.get("/api/v1/claims", headers={"Authorization": f"Bearer {token}"}).status_code == 200
    again = run("users", "add", "alice", "--role", "reviewer")
    assert again.exit_code != 0
    assert "exists" in again.output


def test_users_add_refuses_unknown_roles(run) -> None:
    result = run("users", "add", "mallory", "--role", "root")
    assert result.exit_code != 0


def test_tokens_create_and_revoke(run, client) -> None:
    run("users", "add", "bob", "--role", "submitter")
    created = run("tokens", "create", "bob")
    token = re.search(r"(fdk_\S+)", created.output).group(1)
    headers = {"Authorization": f"Bearer {token}"}
    assert client.get("/api/v1/claims", headers=headers).status_code == 200
    revoked = run("tokens", "revoke", token[:12])
    assert revoked.exit_code == 0
    assert "Revoked 1 token" in revoked.output
    assert client.get("/api/v1/claims", headers=headers).status_code == 401
    assert run("tokens", "revoke", token[:12]).exit_code != 0
    assert run("tokens", "create", "nobody").exit_code != 0


def test_demo_loads_the_example_desk_once(run, client) -> None:
    first = run("demo")
    assert first.exit_code == 0
    assert "12 new claims" in first.output
    second = run("demo")
    assert "0 new claims, 12 already there" in second.output
    token = re.search(r"(fdk_\S+)", run("users", "add", "carol", "--role", "reviewer").output).group(1)
    items = client.get("/api/v1/claims?limit=200", headers={"Authorization": f"Bearer {token}"}).get_json()[
        "items"
    ]
    texts = {c["text"] for c in items}
    assert "The United States was not among the countries sponsoring the resolution." in texts
    assert all(c["appearances"][0]["publisher"] == "UPI" for c in items)
    # Every state a new user should see: published (one corrected), in review, researching, dismissed.
    statuses = sorted(c["status"] for c in items)
    assert statuses.count("published") == 2
    assert {"in_review", "researching", "dismissed"} <= set(statuses)
    feed = client.get("/claimreview.json").get_json(force=True)["dataFeedElement"]
    assert len(feed) == 2
    corrected = next(c for c in items if len(c["verdicts"]) == 2)
    assert corrected["verdict"]["correction_note"]
    assert corrected["verdict"]["rating"] == "unverifiable"
    page = client.get(f"/c/{corrected['id']}")
    assert page.status_code == 200
    assert "Correction:" in page.get_data(as_text=True)


def test_db_upgrade_is_idempotent(run) -> None:
    assert run("db", "upgrade").exit_code == 0
    assert run("db", "upgrade").exit_code == 0
