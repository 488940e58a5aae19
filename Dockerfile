# Factdesk: the same `factdesk serve` as the README, on the embedded SQLite by default.
# Set FACTDESK_DATABASE_URL (PostgreSQL) and FACTDESK_REDIS_URL for production, and for more than
# one container FACTDESK_BLOB_URL, FACTDESK_SECRET_KEY and FACTDESK_BASE_URL (README: More than one machine).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    FACTDESK_DATA_DIR=/data

WORKDIR /app
COPY pyproject.toml requirements.lock README.md ./
COPY service ./service
COPY claims ./claims
COPY sources ./sources
# The versions CI tested (requirements.lock), not whatever is newest on the day of the build.
RUN pip install -c requirements.lock . \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin factdesk \
    && mkdir -p /data && chown factdesk /data

USER factdesk
VOLUME ["/data"]
EXPOSE 8000

HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD python -c "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"

CMD ["factdesk", "serve", "--host", "0.0.0.0", "--port", "8000"]
