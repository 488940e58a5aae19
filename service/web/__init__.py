"""HTTP plumbing every blueprint shares: request context, auth, problems, limits, idempotency."""

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
READ_METHODS = frozenset({"GET", "HEAD"})
