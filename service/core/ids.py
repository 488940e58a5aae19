"""Opaque, time-sortable ids with a type prefix: `clm_01JD…`, `usr_01JD…`.

The body is a ULID (48-bit millisecond time + 80 random bits, Crockford base32), made monotonic
within a process so that ids minted in the same millisecond still sort in creation order.
"""

import os
import threading
import time

_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_lock = threading.Lock()
_last_ms = 0
_last_rand = 0

PREFIXES = {"clm", "src", "snp", "cit", "usr", "whk", "tok", "apr", "evt", "vrd", "prp", "dlv", "ext", "fck"}


def _encode(value: int, length: int) -> str:
    chars = []
    for _ in range(length):
        value, rem = divmod(value, 32)
        chars.append(_ALPHABET[rem])
    return "".join(reversed(chars))


def new_id(prefix: str) -> str:
    """A new id such as `clm_01JD5Q0F6X1N3ZB2W8V4T7K9M0`."""
    if prefix not in PREFIXES:
        raise ValueError(f"unknown id prefix {prefix!r}")
    global _last_ms, _last_rand
    with _lock:
        now = time.time_ns() // 1_000_000
        if now <= _last_ms:
            now = _last_ms
            _last_rand += 1
        else:
            _last_rand = int.from_bytes(os.urandom(10), "big") >> 1  # headroom for increments
        _last_ms = now
        rand = _last_rand
    return f"{prefix}_{_encode(now, 10)}{_encode(rand, 16)}"


def looks_like(prefix: str, value: str) -> bool:
    """Whether `value` has the shape of an id of this type (no database lookup)."""
    body = value[len(prefix) + 1 :]
    return value.startswith(prefix + "_") and len(body) == 26 and all(c in _ALPHABET for c in body)
