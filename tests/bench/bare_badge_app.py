"""The baseline for the badge benchmark: a bare Flask app answering a fixed SVG badge from memory.

`GET /badges/<claim_id>.svg` answers, whatever the id, the bytes Factdesk renders for a claim rated
"Mostly false" (default scale, default label, flat style), with the headers Factdesk sends (ETag,
Cache-Control, X-Content-Type-Options, image/svg+xml). The SVG is rendered once at import; a
request reads no database and renders nothing. So the benchmark's ratio to this endpoint is what
Factdesk's own work costs: its request hooks, the session and the row read, the badge cache.

    gunicorn -w 2 -b 127.0.0.1:8002 tests.bench.bare_badge_app:app

tests/bench/badges.py checks that these bytes and this ETag equal those of the running Factdesk.
"""

import hashlib

from flask import Flask, Response, jsonify

from claims.workflow import DEFAULT_SCALE
from service.public.badges import DEFAULT_LABEL, Badge, render_svg

RATING = "mostly_false"
MAX_AGE = 300  # Factdesk's default FACTDESK_BADGE_MAX_AGE

_rating = next(r for r in DEFAULT_SCALE if r.key == RATING)
SVG: bytes = render_svg(Badge(DEFAULT_LABEL, _rating.label, _rating.color), "flat").encode()
# The same strong ETag as service.public.views derives from the rendered bytes.
ETAG = '"' + hashlib.sha256(SVG).hexdigest()[:32] + '"'
HEADERS = {
    "ETag": ETAG,
    "Cache-Control": f"public, max-age={MAX_AGE}",
    "X-Content-Type-Options": "nosniff",
}

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> Response:
    return jsonify(status="ok")


@app.get("/badges/<claim_id>.svg")
def badge(claim_id: str) -> Response:
    """The fixed badge; the id is routed as Factdesk routes it, then ignored."""
    return Response(SVG, status=200, mimetype="image/svg+xml", headers=HEADERS)
