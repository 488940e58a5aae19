"""Every failure is problem+json with the right status: the contract's error codes, one by one."""

import json

import pytest

PROBLEM = "application/problem+json"


def assert_problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == PROBLEM
    body = response.get_json(force=True)
    assert body["status"] == status
    assert body["title"]
    assert body["detail"]
    assert body["type"]
    assert "Traceback" not in response.get_data(as_text=True)
    return body


def test_unknown_route_is_404_problem(client) -> None:
    assert_problem(client.get("/api/v1/nothing-here"), 404)
    assert_problem(client.get("/nothing-here"), 404)


def test_wrong_method_is_405_problem_with_allow(client) -> None:
    response = client.delete("/api/v1/claims")
    assert_problem(response, 405)
    assert "POST" in response.headers["Allow"]


def test_malformed_json_is_400(client, submitter) -> None:
    response = client.post(
        "/api/v1/claims",
        data=b'{"text": "unterminated',
        headers={**submitter.headers, "Content-Type": "application/json"},
    )
    assert_problem(response, 400)


@pytest.mark.parametrize(
    "content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"]
)
def test_wrong_content_type_is_415(client, submitter, content_type: str) -> None:
    response = client.post(
        "/api/v1/claims",
        data=b'{"text": "a claim"}',
        headers={**submitter.headers, "Content-Type": content_type},
    )
    assert_problem(response, 415)


def test_body_over_limit_is_413_and_nothing_is_stored(client, submitter) -> None:
    huge = json.dumps({"text": "x" * 2_000_000})
    response = client.post(
        "/api/v1/claims", data=huge, headers={**submitter.headers, "Content-Type": "application/json"}
    )
    assert_problem(response, 413)
    assert client.get("/api/v1/claims", headers=submitter.headers).get_json()["items"] == []


def test_invalid_fields_are_422_with_errors_by_field(client, submitter) -> None:
    response = client.post(
        "/api/v1/claims",
        json={"text": "ab", "tags": "not-a-list", "surprise": 1, "appearance": {"url": "ftp://x/y"}},
        headers=submitter.headers,
    )
    body = assert_problem(response, 422)
    assert set(body["errors"]) >= {"text", "tags", "surprise", "appearance.url"}
    assert all(isinstance(m, list) and m for m in body["errors"].values())


def test_json_that_is_not_an_object_is_422(client, submitter) -> None:
    body = assert_problem(client.post("/api/v1/claims", json=["text"], headers=submitter.headers), 422)
    assert body["errors"]


def test_no_token_on_a_write_is_401_with_challenge(client) -> None:
    response = client.post("/api/v1/claims", json={"text": "A claim with no token"})
    assert_problem(response, 401)
    assert response.headers["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize(
    "header", ["Bearer fdk_not-a-real-token", "Bearer ", "Basic dXNlcjpwYXNz", "fdk_abc", "Bearer x" * 300]
)
def test_bad_token_is_401(client, header: str) -> None:
    assert_problem(client.get("/api/v1/claims", headers={"Authorization": header}), 401)


def test_role_below_the_endpoint_is_403(client, submitter, submit) -> None:
    claim = submit("The resolution had 41 co-sponsors.").get_json()
    response = client.patch(
        f"/api/v1/claims/{claim['id']}",
        json={"claimant": "UPI"},
        headers={**submitter.headers, "If-Match": claim["etag"]},
    )
    assert_problem(response, 403)


@pytest.mark.fresh_app  # adds a route to its app
def test_unexpected_exception_is_500_without_trace(app, client, caplog) -> None:
    @app.get("/boom")
    def boom() -> None:
        raise RuntimeError("secret internals")

    response = client.get("/boom")
    body = assert_problem(response, 500)
    assert "secret internals" not in json.dumps(body)
    assert "secret internals" in caplog.text  # the trace goes to the log only


def test_bad_query_parameters_are_422(client, submitter) -> None:
    for query in ("limit=0", "limit=201", "limit=abc", "status=bogus", "needs_review=maybe", "cursor=%%%"):
        assert_problem(client.get(f"/api/v1/claims?{query}", headers=submitter.headers), 422)
