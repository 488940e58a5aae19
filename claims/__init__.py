"""Claims: what was said and where, the verification workflow, verdicts and duplicate matching."""
