"""The badge fast path (service/fastpath.py) answers exactly as the Flask view would, keeps the
rate limit, access line and metrics, and hands everything it does not answer to Flask."""

import logging
import os
import threading

import pytest
from sqlalchemy.exc import OperationalError
from werkzeug.test import Client

from service.public.fastpath import BadgeFastPath, badge_args
from service.public.states import BadgeStateReader, badge_states
from tests.conftest import Act, publish, set_status

REMOTE = {"REMOTE_ADDR": "127.0.0.1"}
HOSTILE_LABEL = '<script>"x"</script> & ファクト ✅ مراجعة'  # 36 characters


class Recorder:
    """Flask's wsgi_app, counting the requests that reach it."""

    def __init__(self, wsgi_app) -> None:
        self.wsgi_app, self.calls = wsgi_app, 0

    def __call__(self, environ, start_response):
        self.calls += 1
        return self.wsgi_app(environ, start_response)


@pytest.fixture
def paths(app):
    """(fast, flask): a client through the fast path, and one straight to Flask's own wsgi_app."""
    fast_path = app.wsgi_app
    assert isinstance(fast_path, BadgeFastPath)
    recorder = Recorder(fast_path.wsgi_app)
    fast_path.wsgi_app = recorder
    try:
        yield Client(fast_path), Client(recorder.wsgi_app), recorder
    finally:
        fast_path.wsgi_app = recorder.wsgi_app


@pytest.fixture
def states(client, desk, act, submit) -> dict[str, str]:
    """Claim ids in every badge state."""
    under_review = submit("A claim that stays under review for the fast path.").get_json()["id"]
    dismissed = submit("A claim that the editor dismisses as opinion.").get_json()["id"]
    Act(client, dismissed)(desk["editor"], "dismiss", reason="opinion")
    publish(act, desk, "mostly_false")
    return {
        "published": desk["claim_id"],
        "under_review": under_review,
        "dismissed": dismissed,
        "unknown": "clm_not_a_claim_here",
    }


def answer(client: Client, path: str, method: str = "GET", **kwargs: object) -> tuple[str, dict, bytes]:
    response = client.open(path, method=method, environ_base=REMOTE, **kwargs)
    headers = {name: value for name, value in response.headers.items() if name != "X-Request-Id"}
    return response.status, headers, response.get_data()


@pytest.mark.parametrize("state", ["published", "under_review", "dismissed", "unknown"])
@pytest.mark.parametrize(
    "query",
    [
        {},
        {"style": "flat-square"},
        {"style": "for-the-badge", "label": "Fact check"},
        {"label": HOSTILE_LABEL},
        {"label": "  padded  ", "unrelated": "1"},
    ],
)
@pytest.mark.parametrize("method", ["GET", "HEAD"])
def test_the_fast_path_answers_as_the_view_does(paths, states, state, query, method) -> None:
    fast, flask, recorder = paths
    path = f"/badges/{states[state]}.svg"
    expected = answer(flask, path, method, query_string=query)
    calls = recorder.calls
    badge_states.forget([states[state]])  # the fast path reads the state itself
    got = answer(fast, path, method, query_string=query)
    assert got == expected
    assert recorder.calls == calls  # answered without Flask
    etag = expected[1]["ETag"]
    for if_none_match in (etag, f'"other", {etag}', '"other"', f"W/{etag}", "*"):
        headers = {"If-None-Match": if_none_match}
        expected = answer(flask, path, method, query_string=query, headers=headers)
        badge_states.forget([states[state]])
        assert answer(fast, path, method, query_string=query, headers=headers) == expected, if_none_match
    assert recorder.calls == calls


@pytest.mark.parametrize(
    ("path", "kwargs"),
    [
        ("/badges/{id}.svg", {"query_string": {"style": "plastic"}}),  # the view's 422
        ("/badges/{id}.svg", {"query_string": {"label": "x" * 41}}),
        ("/badges/{id}.svg", {"query_string": {"label": "tab\there"}}),
        ("/badges/{id}.svg", {"query_string": "style="}),
        ("/badges/{id}.svg", {"headers": {"Authorization": "Bearer fdk_not_a_token"}}),  # Flask's 401
        ("/badges/{id}.svg", {"method": "POST"}),  # 405
        ("/badges/{id}.json", {}),
        ("/badges/{id}.svg/", {}),
        ("/badges/ünïcode.svg", {}),
        ("/badges/.svg", {}),
        ("/c/{id}", {}),
    ],
)
def test_everything_else_goes_to_flask(paths, states, path, kwargs) -> None:
    fast, flask, recorder = paths
    path = path.format(id=states["published"])
    method = kwargs.pop("method", "GET")
    expected = answer(flask, path, method, **kwargs)
    calls = recorder.calls
    assert answer(fast, path, method, **kwargs) == expected
    assert recorder.calls == calls + 1


def test_query_strings_are_read_as_flask_reads_them() -> None:
    assert badge_args("") == ("flat", "fact-check")
    assert badge_args("style=flat-square&style=plastic") == ("flat-square", "fact-check")  # the first
    assert badge_args("label=%E3%83%95%E3%82%A1%E3%82%AF%E3%83%88") == ("flat", "ファクト")
    assert badge_args("label=a+b%20c") == ("flat", "a b c")
    assert badge_args("label=%FF") == ("flat", "%FF")  # invalid UTF-8 stays quoted, as in request.args
    assert badge_args("label=") == ("flat", "fact-check")
    assert badge_args("style=") is None
    assert badge_args("label=%00") is None


def test_fast_path_writes_the_access_line_and_keeps_the_request_id(client, states, caplog) -> None:
    caplog.set_level(logging.INFO, logger="factdesk.access")
    response = client.get(f"/badges/{states['published']}.svg", headers={"X-Request-Id": "embed-42"})
    assert response.status_code == 200
    assert response.headers["X-Request-Id"] == "embed-42"
    made = client.get("/badges/clm_unknown_claim.svg", headers={"X-Request-Id": "no spaces allowed"})
    assert made.status_code == 404
    assert len(made.headers["X-Request-Id"]) == 32
    lines = [r for r in caplog.records if r.name == "factdesk.access"]
    assert [(r.request_id, r.fields["status"]) for r in lines] == [
        ("embed-42", 200),
        (made.headers["X-Request-Id"], 404),
    ]
    assert lines[0].fields["path"] == f"/badges/{states['published']}.svg"
    assert lines[0].fields["method"] == "GET"
    assert lines[0].fields["remote_addr"] == "127.0.0.1"
    assert lines[0].fields["duration_ms"] >= 0
    assert lines[0].fields["user_id"] is None


def test_fast_path_429_is_the_same_problem_and_shares_the_budget(make_app) -> None:
    app = make_app(rate_limit_public="2/minute")
    client, flask = app.test_client(), Client(app.wsgi_app.wsgi_app)
    assert client.get("/c/clm_unknown").status_code == 404  # a page and a badge: one budget
    assert client.get("/badges/clm_unknown.svg").status_code == 404
    refused = client.get("/badges/clm_unknown.svg")
    through_flask = flask.get("/badges/clm_unknown.svg", environ_base=REMOTE)
    assert refused.status_code == through_flask.status_code == 429
    assert refused.get_data() == through_flask.get_data()
    for name in ("Content-Type", "Content-Length"):
        assert refused.headers[name] == through_flask.headers[name]
    for response in (refused, through_flask):
        assert 1 <= int(response.headers["Retry-After"]) <= 61
        assert len(response.headers["X-Request-Id"]) == 32
    body = refused.get_json()
    assert body["title"] == "Too many requests"
    assert body["type"] == "about:blank"
    assert body["detail"].startswith("Too many requests: the limit is 2 per 1 minute.")
    assert body["instance"] == "/badges/clm_unknown.svg"
    assert client.get("/badges/clm_unknown.json").status_code == 429


def test_a_request_the_fast_path_counted_and_flask_answered_counts_once(make_app, monkeypatch) -> None:
    client = make_app(rate_limit_public="2/minute").test_client()
    original, failures = BadgeStateReader.read, [OperationalError("SELECT", {}, Exception("away"))]

    def fails_once(reader, claim_id):
        if failures:
            raise failures.pop()
        return original(reader, claim_id)

    monkeypatch.setattr(BadgeStateReader, "read", fails_once)
    badge_states.forget(["clm_counted_once"])
    assert client.get("/badges/clm_counted_once.svg").status_code == 404  # Flask's view, after the fast path
    assert not failures
    assert client.get("/badges/clm_counted_once.svg").status_code == 404  # the second of two
    assert client.get("/badges/clm_counted_once.svg").status_code == 429


def test_a_database_failure_goes_to_flask_and_is_a_problem(client, monkeypatch) -> None:
    def broken(_reader, _claim_id):
        raise OperationalError("SELECT", {}, Exception("database is away"))

    badge_states.forget(["clm_never_cached"])
    monkeypatch.setattr(BadgeStateReader, "read", broken)
    response = client.get("/badges/clm_never_cached.svg")
    assert response.status_code == 503
    assert response.mimetype == "application/problem+json"
    assert response.headers["Retry-After"] == "5"


def test_a_dead_pooled_connection_is_replaced_on_every_route(app, client, states, engine, caplog) -> None:
    from service.public.views import badge_reader

    reader = badge_reader(app)
    published = states["published"]
    for path in (f"/badges/{published}.svg", f"/badges/{published}.json"):
        # The connection the pool keeps dies (the database restarted, say) …
        kept = reader.engine.raw_connection()
        kept.dbapi_connection.close()
        kept.close()  # back in the pool, dead
        badge_states.forget([published])
        # … and the read is tried again on a new one: no 503, whichever way the request came in.
        response = client.get(path)
        assert response.status_code == 200, (path, response.get_data(as_text=True))
    assert not [
        r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR
    ]  # nothing to alarm anyone
    # A write committed elsewhere is seen at once (autocommit: no snapshot is kept open).
    assert reader.read(states["under_review"])[0] == "submitted"
    set_status(engine, states["under_review"], "published")
    assert reader.read(states["under_review"])[0] == "published"


def test_badge_reads_from_many_threads_keep_few_connections(app, states) -> None:
    from service.public.views import badge_reader

    reader = badge_reader(app)
    barrier = threading.Barrier(16)
    seen = []

    def read() -> None:
        barrier.wait()
        for _ in range(20):
            seen.append(reader.read(states["published"]))

    threads = [threading.Thread(target=read) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 320
    assert all(state[0] == "published" for state in seen)
    pool = reader.engine.pool
    assert pool.checkedout() == 0
    assert pool.checkedin() <= pool.size()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_never_uses_or_closes_its_parents_connections(app, states) -> None:
    from service.public.views import badge_reader

    reader = badge_reader(app)
    assert reader.read(states["published"])[0] == "published"  # the parent holds a pooled connection
    pid = os.fork()
    if pid == 0:  # the child: read, close everything it has, leave without running pytest's exit
        code = 1
        try:
            code = 0 if reader.read(states["published"])[0] == "published" else 1
            reader.close()
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert reader.read(states["published"])[0] == "published"  # the parent's connection still works


@pytest.mark.parametrize("path", ["/badges/clm_x.svg", "/c/clm_x", "/api/v1/workflow"])
def test_a_query_string_that_is_not_utf8_is_400_not_500(client, path, caplog) -> None:
    raw = b"label=%FF&q=\xff\xfe".decode("latin-1")  # raw bytes, as a server puts them in the environ
    response = client.get(path, environ_overrides={"QUERY_STRING": raw})
    assert response.status_code == 400
    assert response.mimetype == "application/problem+json"
    assert "UTF-8" in response.get_json()["detail"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]  # no traceback in the log
