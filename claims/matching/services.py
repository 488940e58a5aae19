"""Matching: the desk's claims and the imported fact-checks that state a text's claim, best first.

`Matcher(session).match(text)` finds candidates through the full-text indexes and among the
nearest sentence vectors (`vectors`), scores them with the re-ranker (`retrieval`), and says how
each relates to the text (`relations`): the same claim, the same with another number, its
negation, or only related. It only reads.

Intake's near-duplicates are scored by the content the texts share alone (`lexical=True`): a
near-duplicate shares most of its words, which the re-ranker, trained to find the claim a tweet
talks about, is not needed to see, and at a quarter of its cost.
"""

import sys
from collections.abc import Callable, Collection, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from types import MappingProxyType
from typing import ClassVar, Literal

import numpy as np
from sqlalchemy.orm import Session

from claims.matching.encoder import DIMENSIONS, Vectors, encoder
from claims.matching.relations import Relation, relation, similarity
from claims.matching.retrieval import (
    Candidate,
    Found,
    IndexSearch,
    Reranker,
    overlap,
    read_ahead,
    reranker,
)
from claims.matching.vectors import VectorSearch, encode_documents

LEXICAL_CANDIDATES = 8  # what a lexical matcher asks the index for, unless told
MAX_TEXT = 5000  # characters of a text matched; a longer one is read up to here
# Candidates whose vector the embedding job has not written yet (a claim of the last minute) are
# encoded on the spot, this many at most (about 8 ms each); any others count as unlike the text.
ENCODE_AT_MOST = 16
# Below this cosine of their content stems two texts are never the same claim: relations.SAME_CLAIM
# (0.6) weighs names up to 1.5, which lifts a plain cosine of 0.4 to 0.6 at most.
OVERLAP = 0.3
Implied = Literal["same", "opposite"]
# The text is encoded here while the request's own thread searches the index: ONNX Runtime lets
# go of the GIL, so the two overlap (threads start when first needed, in the web worker). The
# index's candidates are read ahead here too when the encoding was done first (`_with_sentences`).
_ENCODING = ThreadPoolExecutor(max_workers=2, thread_name_prefix="factdesk-encode")
# How long a thread holding the GIL keeps it from one waiting (Python's default is 5 ms): the
# encoding thread needs it for a moment after ONNX Runtime returns, and with the default it waited
# for the request's thread 5 ms more an encoding.
_SWITCH_SECONDS = 0.0005


@dataclass(frozen=True)
class Match:
    """A claim on the desk or an imported fact-check, as it bears on the text matched."""

    kind: Literal["claim", "factcheck"]
    id: str
    text: str
    score: float  # in [0, 1]: how likely this is the claim the text states
    relation: Relation
    status: str | None = None  # a claim's workflow status
    rating: str | None = None  # a claim's published rating; a fact-check's, as its publisher wrote it
    url: str | None = None  # a fact-check's review
    publisher: str | None = None
    verdict: str | None = None  # a fact-check's rating on the common scale
    # What a published rating says of the text's claim: the same (a `same` match) or the opposite
    # (a `negation`); None when nothing was rated or the claims differ.
    verdict_implies: Implied | None = None


class Matcher:
    """Ranks the desk's claims and the imported fact-checks together against a claim text."""

    # A different number makes another claim, and a claim that only shares a subject is not this
    # one: both rank below the same claim (or its negation) scored alike.
    FACTORS: ClassVar[Mapping[Relation, float]] = MappingProxyType(
        {Relation.NUMBER_CONFLICT: 0.8, Relation.RELATED: 0.8}
    )
    # Relations are read for the best `limit + SPARE` only (a quarter of a millisecond each): a
    # demoted match makes room for one of the next few, not for one far below.
    SPARE = 4

    def __init__(
        self,
        session: Session,
        model: Callable[[], Reranker] = reranker,
        candidates: int | None = None,
        budget: int | None = None,
        *,
        lexical: bool = False,
    ) -> None:
        """`candidates`: how many the index is asked for and the model scores (by default as many
        as it was trained on); fewer is faster, and finds what shares most words all the same.
        `budget`: postings the index reads at most (`retrieval.choose_terms`); a smaller one
        reads fewer of the words, the rarest, which a near-duplicate holds all the same.
        `lexical`: score by the share of content words alone (`relations.similarity`), not with
        the model: enough for near-duplicates, which is what intake looks for."""
        self.session = session
        self.model = model
        self.candidates = candidates
        self.budget = budget
        self.lexical = lexical

    def match(
        self, text: str, limit: int = 10, exclude: Collection[str] = (), min_score: float = 0.0
    ) -> list[Match]:
        """Up to `limit` matches of `text`, best first, none of the ids in `exclude`, none scoring
        below `min_score`."""
        text = text[:MAX_TEXT]
        if limit < 1 or not text.strip():
            return []
        model = None if self.lexical else self.model()
        encoding = _encoding(text) if model is not None and model.sentences else None
        wanted = max(self.candidates or (model.candidates if model else LEXICAL_CANDIDATES), limit)
        search = IndexSearch(self.session)
        found = search.candidates(text, wanted, exclude, self.budget)
        if model is None:
            candidates = found.candidates
            scores = [similarity(text, c.text) for c in candidates]
        elif not model.sentences:
            candidates = found.candidates
            scores = list(model.rank(text, [(c.text, c.title) for c in candidates], found.idf))
        else:
            assert encoding is not None  # noqa: S101  # submitted above for a model of sentences
            candidates, scores = self._with_sentences(model, text, found, search, exclude, encoding)
        if not candidates:
            return []
        best = sorted(range(len(scores)), key=lambda i: -scores[i])  # stable: ties keep the index's order
        matches = [_match(text, candidates[i], float(scores[i])) for i in best[: limit + self.SPARE]]
        matches.sort(key=lambda m: -m.score)
        return [m for m in matches if m.score >= min_score][:limit]

    def _with_sentences(
        self,
        model: Reranker,
        text: str,
        found: Found,
        search: IndexSearch,
        exclude: Collection[str],
        encoding: "Future[Vectors]",
    ) -> tuple[list[Candidate], list[float]]:
        """The index's candidates and the nearest sentence vectors' documents, and their scores."""
        ahead = [(c.text, c.title) for c in found.candidates]
        reading: Future[None] | None = None
        if encoding.done():  # the index took longer: read beside the nearest's search and fetch
            reading = _ENCODING.submit(read_ahead, text, ahead)
        else:  # read while the text is encoded
            read_ahead(text, ahead)
        vectors_search = VectorSearch.of(self.session)
        query = encoding.result()
        known = {(c.kind, c.seq) for c in found.candidates}
        nearest, vectors = vectors_search.nearest(query, model.nearest + len(exclude), also=list(known))
        fetched = [
            c for c in search.fetch([key for key in nearest if key not in known]) if c.id not in exclude
        ]
        if reading is not None:
            reading.result()
        candidates = found.candidates + fetched[: model.nearest]
        documents = [(c.text, c.title) for c in candidates]
        return candidates, list(model.rank(text, documents, found.idf, query, _vectors(vectors, candidates)))


def _encoding(text: str) -> "Future[Vectors]":
    """The text's sentence vector, encoded in another thread from now on."""
    if sys.getswitchinterval() > _SWITCH_SECONDS:
        sys.setswitchinterval(_SWITCH_SECONDS)
    return _ENCODING.submit(_encoded, text)


def _encoded(text: str) -> Vectors:
    vector: Vectors = encoder().encode([text])[0]
    return vector


def _vectors(vectors: Mapping[tuple[str, int], Vectors], candidates: list[Candidate]) -> Vectors:
    """The candidates' stored sentence vectors; those not written yet encoded (ENCODE_AT_MOST)."""
    found = np.zeros((len(candidates), DIMENSIONS), np.float32)
    missing = []
    for i, candidate in enumerate(candidates):
        stored = vectors.get((candidate.kind, candidate.seq))
        if stored is None:
            missing.append(i)
        else:
            found[i] = stored
    missing = missing[:ENCODE_AT_MOST]
    if missing:
        found[missing] = encode_documents([(candidates[i].text, candidates[i].title) for i in missing])
    return found


def _match(text: str, candidate: Candidate, score: float) -> Match:
    # Texts sharing under OVERLAP of their content stems are not the same claim: `relation` (a
    # quarter of a millisecond) would answer `related` for them anyway.
    related = relation(text, candidate.text) if overlap(text, candidate.text) >= OVERLAP else Relation.RELATED
    if related is not Relation.RELATED:
        # The same claim (maybe negated, maybe with another number): the re-ranker, trained on
        # tweets against fact-checks, underrates two short claims in the same words; their share
        # of content is the better measure then.
        score = max(score, similarity(text, candidate.text))
    score *= Matcher.FACTORS.get(related, 1.0)
    implies: Implied | None = None
    if candidate.rating is not None:
        implies = "same" if related is Relation.SAME else "opposite" if related is Relation.NEGATION else None
    return Match(
        kind=candidate.kind,
        id=candidate.id,
        text=candidate.text,
        score=round(min(max(score, 0.0), 1.0), 4),
        relation=related,
        status=candidate.status,
        rating=candidate.rating,
        url=candidate.url,
        publisher=candidate.publisher,
        verdict=candidate.verdict,
        verdict_implies=implies,
    )
