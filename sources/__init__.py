"""Sources: primary documents, their archived snapshots, the safe fetcher and quote anchoring."""
