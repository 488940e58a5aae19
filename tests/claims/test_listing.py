"""Listing claims: filters, full-text search, keyset pagination, and what anonymous readers see."""

import pytest

from tests.conftest import set_status


def all_pages(client, headers: dict, query: str = "", limit: int = 3, between=None) -> list[str]:
    ids, url = [], f"/api/v1/claims?limit={limit}{'&' + query if query else ''}"
    while url:
        response = client.get(url, headers=headers)
        assert response.status_code == 200, response.get_json()
        page = response.get_json()
        ids += [c["id"] for c in page["items"]]
        if between:
            between()
        if page["next_cursor"]:
            link = response.headers["Link"]
            assert link.endswith('rel="next"')
            assert page["next_cursor"] in link
            url = link[1 : link.index(">")].split("://", 1)[1].split("/", 1)[1]
            url = "/" + url
        else:
            assert "Link" not in response.headers
            url = None
    return ids


def test_newest_first_with_cursor_pages(client, submit, submitter) -> None:
    made = [submit(f"Claim number {i} about the vote").get_json()["id"] for i in range(10)]
    assert all_pages(client, submitter.headers) == list(reversed(made))


def test_pages_neither_skip_nor_repeat_while_claims_arrive(client, submit, submitter) -> None:
    made = [submit(f"Existing claim {i} on the resolution").get_json()["id"] for i in range(9)]
    counter = iter(range(100))
    seen = all_pages(client, submitter.headers, between=lambda: submit(f"Arriving claim {next(counter)}"))
    assert seen == list(reversed(made))  # every old claim once, in order; new ones are newer than page 1


def test_limit_bounds(client, submit, submitter) -> None:
    for i in range(3):
        submit(f"Bounded claim {i}")
    assert len(client.get("/api/v1/claims?limit=1", headers=submitter.headers).get_json()["items"]) == 1
    assert len(client.get("/api/v1/claims?limit=200", headers=submitter.headers).get_json()["items"]) == 3
    assert len(client.get("/api/v1/claims", headers=submitter.headers).get_json()["items"]) == 3


def test_filters(client, submit, submitter, reviewer, engine) -> None:
    a = submit("Tagged claim about sanctions", tags=["sanctions", "un"]).get_json()["id"]
    b = submit("Another claim about the council", tags=["un"]).get_json()["id"]
    c = submit("A third claim without tags").get_json()["id"]
    set_status(engine, c, "researching")

    def ids(query: str) -> set[str]:
        response = client.get(f"/api/v1/claims?{query}", headers=submitter.headers)
        assert response.status_code == 200
        return {x["id"] for x in response.get_json()["items"]}

    assert ids("tag=un") == {a, b}
    assert ids("tag=SANCTIONS") == {a}
    assert ids("status=researching") == {c}
    assert ids("status=submitted&tag=un") == {a, b}
    assert ids("needs_review=false") == {a, b, c}
    assert ids("needs_review=true") == set()
    assert ids(f"assignee={reviewer.id}") == set()
    assert ids("rating=false") == set()


def test_full_text_search_over_text_claimant_and_quotes(client, submit, submitter) -> None:
    a = submit("Seoul co-sponsored the resolution", claimant="Foreign Ministry").get_json()["id"]
    b = submit(
        "The vote is expected in December",
        appearance={"quote": "The General Assembly is expected to vote in December."},
    ).get_json()["id"]

    def q(text: str) -> list[str]:
        response = client.get("/api/v1/claims", query_string={"q": text}, headers=submitter.headers)
        assert response.status_code == 200, response.get_json()
        return [x["id"] for x in response.get_json()["items"]]

    assert q("resolution") == [a]
    assert q("ministry") == [a]
    assert q("General Assembly") == [b]
    assert q('"expected to vote"') == [b]
    assert q('"vote expected"') == []
    assert q("december seoul") == []


@pytest.mark.parametrize(
    "hostile",
    [
        '"',
        '""',
        "'",
        "%",
        "_",
        "%_%",
        "*",
        "NEAR(",
        "a AND OR NOT",
        "'; DROP TABLE claim; --",
        "1) OR 1=1 --",
        "\\",
        "col:term",
        "^start",
        "(",
        ")",
        "-negation",
        "claim_fts",
        "{}",
        "||",
        "&",
        "!",
        ":*",
        "<->",
        "\u200b",
    ],
)
def test_search_survives_hostile_queries(client, submit, submitter, hostile: str) -> None:
    submit("An innocent claim about 100% turnout")
    response = client.get("/api/v1/claims", query_string={"q": hostile}, headers=submitter.headers)
    assert response.status_code == 200
    assert client.get("/api/v1/claims", headers=submitter.headers).get_json()["items"]  # table intact


def test_percent_and_underscore_are_not_wildcards(client, submit, submitter) -> None:
    submit("Turnout reached 100 percent in the snake_case district")
    submit("Nothing to see here at all")
    found = client.get("/api/v1/claims", query_string={"q": "snake_case"}, headers=submitter.headers)
    assert len(found.get_json()["items"]) == 1
    found = client.get("/api/v1/claims", query_string={"q": "100%"}, headers=submitter.headers)
    assert len(found.get_json()["items"]) == 1


@pytest.mark.parametrize(
    ("text", "query"),
    [
        ("북한 인권결의안에 41개국이 공동제안국으로 참여했다", "인권결의안에"),
        ("Резолюцию поддержали сорок одно государство", "поддержали"),
        ("مجلس حقوق الإنسان التابع للأمم المتحدة", "حقوق"),
        ("Ελλάδα ψήφισε υπέρ του ψηφίσματος", "ψήφισε"),
    ],
)
def test_search_in_non_latin_scripts(client, submit, submitter, text: str, query: str) -> None:
    claim = submit(text).get_json()
    submit("An English claim about something else")
    found = client.get("/api/v1/claims", query_string={"q": query}, headers=submitter.headers)
    assert [c["id"] for c in found.get_json()["items"]] == [claim["id"]]


def test_search_pages_with_cursor(client, submit, submitter) -> None:
    made = [submit(f"Sanctions claim number {i}").get_json()["id"] for i in range(7)]
    submit("Unrelated claim on turnout")
    assert all_pages(client, submitter.headers, "q=sanctions", limit=2) == list(reversed(made))


def test_anonymous_readers_see_published_claims_only(client, submit, engine) -> None:
    draft = submit("A draft claim nobody outside may see").get_json()["id"]
    public = submit("A claim that has been published").get_json()["id"]
    set_status(engine, public, "published")
    listed = client.get("/api/v1/claims").get_json()["items"]
    assert [c["id"] for c in listed] == [public]
    assert client.get(f"/api/v1/claims/{public}").status_code == 200
    for path in (f"/api/v1/claims/{draft}", f"/api/v1/claims/{draft}/history"):
        response = client.get(path)
        assert response.status_code == 404
        assert response.get_json() == client.get(path.replace(draft, "clm_unknown")).get_json() | {
            "detail": response.get_json()["detail"],
            "instance": path,
        }
    assert client.get("/api/v1/claims", query_string={"q": "draft"}).get_json()["items"] == []
    assert client.get("/api/v1/claims?status=submitted").get_json()["items"] == []
