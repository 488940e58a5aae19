"""Matching a claim text against the desk's claims and the imported fact-checks.

`relations` says how two claims relate (the same, a different number, a negation, related);
`retrieval` finds and ranks candidates; `services.Matcher` puts them together.
"""
