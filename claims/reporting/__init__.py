"""Claims from reporting: the sentences of an article or transcript worth checking.

`checkworthiness` scores sentences with a small model trained on public data; `services` reads a
piece of reporting (pasted, captured or uploaded) into an `Extraction` and turns chosen sentences
into claims whose appearances quote the report.
"""
