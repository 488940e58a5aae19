"""Sentence vectors: the embedding job's two transactions, the search in memory, and matching a
claim worded with none of the text's words, on the real database."""

import numpy as np
import sqlalchemy as sa
from sqlmodel import Session

from claims.matching import vectors
from claims.matching.encoder import DIMENSIONS, encoder, to_bytes
from claims.matching.models import Embedding
from claims.matching.vectors import Pending, VectorSearch, embed_pending, pending, record
from service.core.database import utcnow

HEROIN = "Police found heroin disguised as candy in a school parking lot."
NARCOTICS = "Narcotics made to look like sweets"


def _claims_and_checks(client, submit, editor) -> list[str]:
    ids = [
        submit(text).get_json()["id"]
        for text in (HEROIN, "41 U.N. member states co-sponsored the resolution.")
    ]
    review = {
        "@context": "https://schema.org",
        "@type": "ClaimReview",
        "url": "https://factcheck.example.org/koalas",
        "claimReviewed": "Koalas are functionally extinct after the bushfires.",
        "headline": "Are koalas functionally extinct?",
        "author": {"@type": "Organization", "name": "Example Checks"},
    }
    response = client.post("/api/v1/factchecks", json=review, headers=editor.headers)
    assert response.status_code == 200, response.get_json()
    return ids


def _stored(engine) -> dict[tuple[str, int], tuple[int, bytes]]:
    with engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT kind, seq, id, vector FROM embedding")).all()
    return {(kind, seq): (id_, bytes(vector)) for kind, seq, id_, vector in rows}


def test_the_job_encodes_each_claim_and_fact_check_once_and_again_when_it_changes(
    client, engine, submit, make_user
) -> None:
    editor = make_user("editor")
    claim_id, _ = _claims_and_checks(client, submit, editor)
    assert embed_pending(lambda: Session(engine)) == 3
    first = _stored(engine)
    assert sorted(kind for kind, _ in first) == ["claim", "claim", "factcheck"]
    assert all(len(vector) == 2 * DIMENSIONS for _, vector in first.values())
    with Session(engine) as session:
        assert pending(session, 10) == []  # the times written are the rows' own: nothing is stale
    assert embed_pending(lambda: Session(engine)) == 0

    # A claim changed is encoded again, under a new id (web processes read what is new by id).
    etag = client.get(f"/api/v1/claims/{claim_id}", headers=editor.headers).headers["ETag"]
    response = client.patch(
        f"/api/v1/claims/{claim_id}",
        json={"text": "Customs found cocaine hidden in bananas."},
        headers={**editor.headers, "If-Match": etag},
    )
    assert response.status_code == 200, response.get_json()
    assert embed_pending(lambda: Session(engine), batch=1) == 1
    second = _stored(engine)
    changed = [key for key in first if first[key] != second[key]]
    assert len(changed) == 1
    assert changed[0][0] == "claim"
    assert second[changed[0]][0] > max(id_ for id_, _ in first.values())


def test_the_search_in_memory_reads_what_is_new_and_finds_the_nearest(
    client, engine, submit, make_user, monkeypatch
) -> None:
    _claims_and_checks(client, submit, make_user("editor"))
    query = encoder().encode([NARCOTICS])[0]
    with Session(engine) as session:
        search = VectorSearch.of(session)
        assert len(search) == 0
        assert search.nearest(query, 5) == ([], {})
    embed_pending(lambda: Session(engine))
    with Session(engine) as session:
        assert len(VectorSearch.of(session)) == 0  # read again after REFRESH_SECONDS, not sooner
        monkeypatch.setattr(vectors, "REFRESH_SECONDS", 0.0)
        search = VectorSearch.of(session)
        assert len(search) == 3
        check = ("factcheck", session.execute(sa.text("SELECT seq FROM factcheck")).scalar_one())
        nearest, full = search.nearest(query, 2, also=[check, ("claim", 10**9)])
        assert nearest[0][0] == "claim"
        assert len(nearest) == 2
        assert search.nearest(query, 50)[0][:2] == nearest
        assert set(full) == {*nearest, check}  # and what is stored of `also`
        assert float(full[nearest[0]] @ query) > 0.4


def test_matching_finds_a_claim_in_other_words_once_it_has_its_vector(
    client, engine, submit, make_user
) -> None:
    editor = make_user("editor")
    heroin_id, _ = _claims_and_checks(client, submit, editor)

    def found() -> dict[str, float]:
        response = client.post("/api/v1/match", json={"text": NARCOTICS}, headers=editor.headers)
        assert response.status_code == 200, response.get_json()
        return {m["id"]: m["score"] for m in response.get_json()["matches"]}

    assert heroin_id not in found()  # no word in common: the full-text index cannot see it
    embed_pending(lambda: Session(engine))
    vectors.forget_vectors()  # as a web process would after REFRESH_SECONDS
    matches = found()
    assert heroin_id in matches
    assert max(matches, key=matches.__getitem__) == heroin_id


def test_a_large_collection_is_searched_through_its_projection(app, engine, monkeypatch) -> None:
    # Vectors with structure, as sentence vectors have: 3,000 near a 40-dimensional subspace.
    rng = np.random.default_rng(7)
    basis = rng.standard_normal((40, DIMENSIONS))
    rows = rng.standard_normal((3000, 40)) @ basis + 0.3 * rng.standard_normal((3000, DIMENSIONS))
    rows = (rows / np.linalg.norm(rows, axis=1, keepdims=True)).astype(np.float32)
    with engine.begin() as conn:
        conn.execute(
            Embedding.__table__.insert(),
            [
                {"kind": "factcheck", "seq": i, "read_at": utcnow(), "vector": to_bytes(row)}
                for i, row in enumerate(rows)
            ],
        )
    with Session(engine) as session:
        search = VectorSearch.of(session)
        assert search.held.projection is not None  # 3,000 rows: found through their projection
        assert search.held.projected.shape[1] == vectors.PROJECTED
        for query in rows[:20]:
            exact = [("factcheck", int(i)) for i in np.argsort(-(rows @ query))[:10]]
            nearest, _ = search.nearest(query, 10)
            assert nearest[0] == exact[0]
            assert len(set(nearest) & set(exact)) >= 9
        # A new row joins, and a changed one moves, without a full reading.
        moved = rows[5]
        record(
            session,
            [Pending("claim", 1, utcnow(), "", None), Pending("factcheck", 9, utcnow(), "", None)],
            np.vstack([moved, rows[6]]),
        )
        session.commit()
        monkeypatch.setattr(vectors, "REFRESH_SECONDS", 0.0)
        search = VectorSearch.of(session)
        assert len(search) == 3001
        assert set(search.nearest(moved, 3)[0]) >= {("claim", 1), ("factcheck", 5)}
        assert search.nearest(rows[6], 2)[0][0] in {("factcheck", 6), ("factcheck", 9)}


def test_the_worker_writes_the_vectors_every_minute(client, engine, submit, make_user) -> None:
    from service.ops import jobs

    _claims_and_checks(client, submit, make_user("editor"))
    assert _stored(engine) == {}  # never in the request that wrote the claim
    jobs.embed_new_texts.call_local()
    assert len(_stored(engine)) == 3
    periodic = [task.__name__ for task in jobs.huey._registry._periodic_tasks]
    assert "embed_new_texts" in periodic


def test_one_run_at_a_time_on_the_queue_in_sqlite(
    client, engine, submit, make_user, tmp_path, database_url
) -> None:
    # The queue as `factdesk serve` keeps it without Redis: its SQLite file, whose locks never expire.
    from service.core.config import Settings
    from service.ops import jobs

    _claims_and_checks(client, submit, make_user("editor"))
    jobs.configure(Settings(data_dir=tmp_path, database_url=database_url))
    with jobs.huey.lock_task("factdesk-embed"):  # another run is writing them
        jobs.embed_new_texts.call_local()
        assert _stored(engine) == {}
    jobs.embed_new_texts.call_local()
    assert len(_stored(engine)) == 3
    assert not jobs.huey.is_locked("factdesk-embed")


def test_a_row_still_stale_after_its_vector_is_written_ends_the_run(
    client, engine, submit, make_user, monkeypatch, caplog
) -> None:
    # As if its table stored times in another form than the vectors' (never equal): no loop.
    _claims_and_checks(client, submit, make_user("editor"))
    with Session(engine) as session:
        first = pending(session, 10)
    monkeypatch.setattr(vectors, "pending", lambda session, limit: first[:limit])
    assert embed_pending(lambda: Session(engine)) == 3
    assert "still stale" in caplog.text
    assert embed_pending(lambda: Session(engine), batch=2) == 2  # the next run takes them up again


def test_rows_beyond_the_count_wait_for_the_next_reading(
    client, engine, submit, make_user, monkeypatch
) -> None:
    # As when rows commit between the count and the reading (PostgreSQL): those past the room
    # made for the count are left for later, whatever chunk they arrive in.
    _claims_and_checks(client, submit, make_user("editor"))
    embed_pending(lambda: Session(engine))
    monkeypatch.setattr(vectors, "CHUNK", 1)
    monkeypatch.setattr(vectors, "_room", lambda size: size - 1)
    with Session(engine) as session:
        assert len(VectorSearch.of(session)) == 2


def test_vectors_held_in_int8_keep_their_cosines() -> None:
    rng = np.random.default_rng(3)
    rows = rng.standard_normal((500, DIMENSIONS)).astype(np.float32)
    rows[:, :5] *= 20  # a few large components, as sentence vectors have
    rows /= np.linalg.norm(rows, axis=1, keepdims=True)
    whole, scales = vectors._quantized(rows)
    assert whole.dtype == np.int8
    back = whole.astype(np.float32) * scales[:, None]
    query = rows[0]
    assert np.abs(back @ query - rows @ query).max() < 0.01
    zero, scale = vectors._quantized(np.zeros((1, DIMENSIONS), np.float32))  # a text of no words
    assert not zero.any()
    assert np.isfinite(scale).all()
