"""Matching a claim text against the desk's claims and the imported fact-checks.

`relations` says how two claims relate (the same, a different number, a negation, related);
`retrieval` finds and ranks candidates; `encoder` and `vectors` give each claim and fact-check a
sentence vector and find the nearest; `services.Matcher` puts them together.
"""
