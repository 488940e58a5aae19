"""HTTP endpoint of matching: `POST /api/v1/match`, a search whose question is a claim's text."""

from typing import Any

from flask.views import MethodView
from flask_smorest import Blueprint

from claims.matching.schemas import MatchesOut, MatchIn
from service.web import context
from service.web.auth import require_role
from service.web.context import services
from service.web.responses import BEARER

blp = Blueprint(
    "matching",
    __name__,
    url_prefix="/api/v1/match",
    description="The desk's claims and imported fact-checks that state a claim, with how they relate.",
)


@blp.route("")
class Matching(MethodView):
    # A search that takes a body: it writes nothing, so it is not counted as an API write
    # (service.web.ratelimit reads this).
    reads_only = True

    @require_role("submitter")
    @blp.arguments(MatchIn)
    @blp.response(200, MatchesOut)
    @blp.doc(security=BEARER)
    def post(self, data: dict[str, Any]) -> dict[str, Any]:
        """Rank the desk's claims and the imported fact-checks together against a claim text."""
        with context.reading():  # SQLite: a deferred transaction, never the write lock
            matches = services().matcher.match(data["text"], data["limit"])
        return {"matches": matches}
