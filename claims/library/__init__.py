"""The fact-check library: ClaimReview published elsewhere, imported so matching finds it too.

Imported fact-checks are never shown as the desk's own verdicts.
"""
