"""Side effects a unit of work asks for, carried out only once its transaction has committed.

Services record them (`effects.add(Effect.CAPTURE, source.id)`), as the webhook outbox records a
delivery; whoever commits the unit of work (a request, a job, a CLI command) then hands them to
`dispatch` with its handlers. Work that is rolled back queues nothing, and no view queues a job.
"""

import logging
from collections.abc import Callable, Mapping
from enum import StrEnum

log = logging.getLogger(__name__)


class Effect(StrEnum):
    """What to do once committed; each carries one id."""

    CAPTURE = "capture"  # capture a source (a source id)
    DELIVER = "deliver"  # send a webhook delivery (a delivery id)
    EXTRACT = "extract"  # read the text of an archived document (a snapshot id)
    READ = "read"  # read a captured report into sentences worth checking (an extraction id)
    CLAIM_CHANGED = "claim_changed"  # a claim's public state may have changed (a claim id)


Handlers = Mapping[Effect, Callable[[str], object]]


class Effects:
    """The effects one unit of work recorded, in order, each once."""

    def __init__(self) -> None:
        self._pending: dict[tuple[Effect, str], None] = {}

    def add(self, effect: Effect, key: str) -> None:
        """Ask for `effect` on `key` after the commit."""
        self._pending[(effect, key)] = None

    def drain(self) -> list[tuple[Effect, str]]:
        """Every recorded effect, forgetting them."""
        pending = list(self._pending)
        self._pending.clear()
        return pending

    def discard(self) -> None:
        """Forget every recorded effect (the work was rolled back)."""
        self._pending.clear()


def dispatch(effects: Effects, handlers: Handlers) -> None:
    """Run each recorded effect's handler; kinds without one are dropped.

    A failing handler is logged and the others still run: the work is stored, and the periodic
    sweeps (re-checks, due deliveries) pick up whatever was not queued.
    """
    for effect, key in effects.drain():
        handler = handlers.get(effect)
        if handler is None:
            continue
        try:
            handler(key)
        except Exception:
            log.exception("after-commit %s of %s failed", effect, key)
