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


def test_users_list_set_role_disable_and_enable(run, client) -> None:
    admin = re.search(r"(fdk_\S+)", run("users", "add", "root-admin", "--role", "admin").output).group(1)
    token = re.search(r"(fdk_\S+)", run("users", "add", "Zoë", "--role", "submitter").output).group(1)
    headers = {"Authorization": f"Bearer {token}"}
    client.get("/api/v1/claims", headers=headers)
    listed = run("users", "list")
    assert listed.exit_code == 0
    lines = listed.output.splitlines()
    assert lines[0].split() == ["NAME", "ROLE", "STATUS", "LAST", "ACTIVE"]
    assert re.match(r"Zoë\s+submitter\s+active\s+\d{4}-\d\d-\d\d \d\d:\d\d UTC$", lines[2])
    assert re.match(r"root-admin\s+admin\s+active\s+never$", lines[1])

    assert run("users", "set-role", "Zoë", "editor").exit_code == 0
    assert client.get("/api/v1/users/me", headers=headers).get_json()["role"] == "editor"
    assert run("users", "set-role", "Zoë", "root").exit_code != 0
    assert run("users", "disable", "Zoë").exit_code == 0
    assert client.get("/api/v1/claims", headers=headers).status_code == 401
    assert "disabled" in run("users", "list").output
    assert run("users", "enable", "Zoë").exit_code == 0
    assert client.get("/api/v1/claims", headers=headers).status_code == 200
    assert client.get("/api/v1/users/me", headers={"Authorization": f"Bearer {admin}"}).status_code == 200


def test_the_cli_keeps_the_last_admin(run) -> None:
    run("users", "add", "only-admin", "--role", "admin")
    for args in (("users", "set-role", "only-admin", "reviewer"), ("users", "disable", "only-admin")):
        refused = run(*args)
        assert refused.exit_code != 0
        assert "last admin" in refused.output
    assert "only-admin  admin  active" in run("users", "list").output
    assert run("users", "disable", "nobody").exit_code != 0


def test_tokens_list_shows_prefixes_never_whole_tokens(run, client) -> None:
    first = re.search(r"(fdk_\S+)", run("users", "add", "erin", "--role", "reviewer").output).group(1)
    second = re.search(r"(fdk_\S+)", run("tokens", "create", "erin").output).group(1)
    run("tokens", "revoke", first[:12])
    client.get("/api/v1/claims", headers={"Authorization": f"Bearer {second}"})
    listed = run("tokens", "list", "erin")
    assert listed.exit_code == 0
    assert first not in listed.output
    assert second not in listed.output
    rows = listed.output.splitlines()[1:]
    assert rows[0].startswith(second[:12] + "…")
    assert rows[0].endswith("live")
    assert "never" not in rows[0]  # just used
    assert rows[1].startswith(first[:12] + "…")
    assert "revoked" in rows[1]
    assert run("tokens", "list", "nobody").exit_code != 0
