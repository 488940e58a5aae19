"""Structured logs: JSON lines (or text) on stderr, the access line of a request, no secrets.

Every record in the process has tokens (`fdk_…`), webhook secrets (`whsec_…`), bearer credentials
and URL passwords masked before any handler sees it; `X-Request-Id` ties a request's lines together.
"""

import json
import logging
import random
import re
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TextIO

from service.core.config import Settings, SettingsError

access_log = logging.getLogger("factdesk.access")

REQUEST_ID_HEADER = "X-Request-Id"
SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
MASK = "[redacted]"
SECRETS = [
    (re.compile(r"fdk_[A-Za-z0-9_-]+"), f"fdk_{MASK}"),
    (re.compile(r"whsec_[A-Za-z0-9+/=_-]+"), f"whsec_{MASK}"),
    # As in Authorization: the scheme capitalised, lower-case or all capitals.
    (re.compile(r"\b([Bb]earer|BEARER|[Bb]asic|BASIC) +[A-Za-z0-9._~+/=-]{8,}"), rf"\1 {MASK}"),
    (re.compile(r"\b(\w+://[^/\s:@]*:)[^/\s@]+@"), rf"\1{MASK}@"),  # scheme://user:password@host
]
# What every secret above contains: nearly every line holds none of these, and `in` is far
# quicker than any regular expression at saying so.
MARKERS = ("fdk_", "whsec_", "earer ", "EARER ", "asic ", "ASIC ", "://")
FORMATS = ("json", "text")
_request_id: list[Callable[[], str | None]] = [lambda: None]  # set by configure()


def redact(text: str) -> str:
    """`text` with every secret the service knows the shape of masked."""
    if not any(marker in text for marker in MARKERS):
        return text
    for pattern, replacement in SECRETS:
        text = pattern.sub(replacement, text)
    return text


class RedactSecrets(logging.Filter):
    """Masks secrets in a record's message, arguments and traceback, in place, so that every
    handler after it (and any formatter) sees only the masked text."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Always keeps the record; rewrites it when it carries a secret."""
        _redact_record(record)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object a line: ts, level, logger, message, request_id and the record's `fields`."""

    def format(self, record: logging.LogRecord) -> str:
        """The record as a single line of JSON."""
        line = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z",
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None),
        }
        line.update(getattr(record, "fields", {}))
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            line["exception"] = record.exc_text
        # The whole line, because `fields` (paths, ids) are text from the request too.
        return redact(json.dumps(line, ensure_ascii=False, default=str))


class TextFormatter(logging.Formatter):
    """A line for reading by eye, ending with the request id and the access fields; secrets masked
    like the JSON lines."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """The record as text."""
        fields = {"request_id": getattr(record, "request_id", None), **getattr(record, "fields", {})}
        extra = " ".join(f"{k}={v}" for k, v in fields.items() if v is not None)
        return redact(super().format(record) + (f" [{extra}]" if extra else ""))


class StderrHandler(logging.StreamHandler[TextIO]):
    """Writes to whatever `sys.stderr` is at the time (test runners swap it), never a stale one."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    @property
    def stream(self) -> TextIO:
        return sys.stderr

    @stream.setter
    def stream(self, _value: object) -> None:
        pass


def new_request_id() -> str:
    """32 hex digits. Ids need to be unique, not secret: no system call per request for them."""
    return f"{random.getrandbits(128):032x}"


def configure(settings: Settings, request_id: Callable[[], str | None] = lambda: None) -> None:
    """Root logging: one stderr handler in the chosen format, secrets masked in every record;
    `request_id` tells the id of the request being handled, if any (web processes)."""
    if settings.log_format not in FORMATS:
        raise SettingsError(
            f"FACTDESK_LOG_FORMAT is one of {', '.join(FORMATS)}, not {settings.log_format!r}."
        )
    level = logging.getLevelName(settings.log_level.upper())
    if not isinstance(level, int):
        raise SettingsError(
            f"FACTDESK_LOG_LEVEL is a level like INFO or WARNING, not {settings.log_level!r}."
        )
    _request_id[0] = request_id
    _stamp_every_record()
    root = logging.getLogger()
    root.setLevel(level)
    handler = next((h for h in root.handlers if isinstance(h, StderrHandler)), None)
    if handler is None:  # one handler however many apps the process creates
        handler = StderrHandler()
        handler.addFilter(RedactSecrets())
        root.addHandler(handler)
    handler.setFormatter(JsonFormatter() if settings.log_format == "json" else TextFormatter())


def write_access(
    method: str,
    path: str,
    status: int,
    request_id: str,
    *,
    duration_ms: float | None,
    user_id: str | None,
    remote_addr: str,
) -> None:
    """The access line of one request, for Flask's requests and the badge fast path alike."""
    if not access_log.isEnabledFor(logging.INFO):
        return
    fields = {
        "method": method,
        "path": path,
        "status": status,
        "duration_ms": duration_ms,
        "user_id": user_id,
        "remote_addr": remote_addr,
    }
    # makeRecord + handle is what `info` does, less the stack walk for a caller no line shows.
    record = access_log.makeRecord(
        access_log.name,
        logging.INFO,
        __file__,
        0,
        "%s %s %s",
        (method, path, status),
        None,
        extra={"fields": fields},
    )
    record.request_id = request_id
    access_log.handle(record)


def request_id_from(incoming: str) -> str:
    """The id a request goes by: the client's X-Request-Id when it is sane, else a new one."""
    return incoming if SANE_REQUEST_ID.fullmatch(incoming) else new_request_id()


def _redact_record(record: logging.LogRecord) -> None:
    if getattr(record, "_redacted", False):
        return
    record._redacted = True
    try:
        message = record.getMessage()
    except Exception:  # a broken format string: logging reports it later, with its own message
        return
    masked = redact(message)
    if masked != message:
        record.msg, record.args = masked, None
    if record.exc_info and not record.exc_text:
        record.exc_text = logging.Formatter().formatException(record.exc_info)
    if record.exc_text:
        record.exc_text = redact(record.exc_text)
    if record.stack_info:
        record.stack_info = redact(record.stack_info)


def _stamp_every_record() -> None:
    """Give every record its request id and mask its secrets as it is made, so handlers other than
    ours (pytest's, gunicorn's) never see a secret either: a filter on one handler cannot reach them."""
    factory = logging.getLogRecordFactory()
    if getattr(factory, "stamps_factdesk_records", False):
        return

    def make_record(*args: object, **kwargs: object) -> logging.LogRecord:
        record = factory(*args, **kwargs)
        record.request_id = _request_id[0]()
        _redact_record(record)
        return record

    make_record.stamps_factdesk_records = True  # type: ignore[attr-defined]  # marks our factory
    logging.setLogRecordFactory(make_record)
