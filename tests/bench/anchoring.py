"""Benchmark for quote anchoring on a ~1 MB text (run by hand, not part of pytest):

    python -m tests.bench.anchoring

Times `anchor_quote` for an exact quote near the end, a quote with two typos (fuzzy fallback) and a
quote that is not in the text; reports median and p95 over 20 runs against the latency goals.
"""

import random
import statistics
import time
from collections.abc import Callable

from sources.anchoring import Anchor, anchor_quote

RUNS = 20
TARGET_CHARS = 1_000_000
GOALS_MS = {"exact": 50.0, "fuzzy": 500.0}

# A vocabulary with the shape of news and official documents: short function words, long domain words,
# numbers, a few accented and typographic characters, so n-gram frequencies look like real prose.
WORDS = [
    "the",
    "of",
    "and",
    "to",
    "in",
    "a",
    "is",
    "that",
    "for",
    "on",
    "was",
    "with",
    "as",
    "by",
    "at",
    "from",
    "it",
    "be",
    "this",
    "are",
    "were",
    "has",
    "have",
    "had",
    "not",
    "but",
    "or",
    "an",
    "which",
    "their",
    "its",
    "been",
    "also",
    "more",
    "than",
    "who",
    "would",
    "said",
    "after",
    "over",
    "about",
    "government",
    "ministry",
    "minister",
    "president",
    "parliament",
    "committee",
    "council",
    "report",
    "statement",
    "according",
    "percent",
    "million",
    "billion",
    "economy",
    "inflation",
    "unemployment",
    "growth",
    "budget",
    "deficit",
    "health",
    "hospital",
    "vaccine",
    "election",
    "vote",
    "voters",
    "campaign",
    "candidate",
    "opposition",
    "coalition",
    "policy",
    "regulation",
    "agency",
    "official",
    "officials",
    "spokesperson",
    "data",
    "figures",
    "survey",
    "analysis",
    "published",
    "quarter",
    "annual",
    "national",
    "regional",
    "federal",
    "international",
    "united",
    "nations",
    "security",
    "resolution",
    "humanitarian",
    "refugees",
    "border",
    "trade",
    "exports",
    "imports",
    "tariffs",
    "energy",
    "emissions",
    "climate",
    "temperature",
    "rainfall",
    "drought",
    "agriculture",
    "farmers",
    "prices",
    "wages",
    "pension",
    "schools",
    "teachers",
    "students",
    "police",
    "crime",
    "court",
    "ruling",
    "judge",
    "law",
    "amendment",
    "tax",
    "taxes",
    "revenue",
    "spending",
    "infrastructure",
    "transport",
    "railway",
    "housing",
    "rent",
    "mortgage",
    "bank",
    "central",
    "interest",
    "rates",
    "currency",
    "debt",
    "bonds",
    "investors",
    "market",
    "companies",
    "employees",
    "workers",
    "union",
    "strike",
    "agreement",
    "negotiations",
    "talks",
    "ceasefire",
    "troops",
    "conflict",
    "civilians",
    "casualties",
    "aid",
    "donors",
    "funding",
    "program",
    "café",
    "naïve",
    "résumé",
    "São",
    "Zürich",
    "Kraków",
]
PUNCTUATION = [",", ",", ";", " —", ":", ""]


def make_text(seed: int = 7, target: int = TARGET_CHARS) -> str:
    """A deterministic ~1 MB text of varied sentences and paragraphs."""
    rng = random.Random(seed)
    paragraphs: list[str] = []
    size = 0
    while size < target:
        sentences = []
        for _ in range(rng.randint(2, 7)):
            words = [rng.choice(WORDS) for _ in range(rng.randint(6, 28))]
            for i in range(1, len(words) - 1):
                if rng.random() < 0.08:
                    words[i] += rng.choice(PUNCTUATION)
                elif rng.random() < 0.05:
                    words[i] = f"{rng.randint(1, 2025)}"
                elif rng.random() < 0.03:
                    words[i] = f"“{words[i]}”"
            sentence = " ".join(words)
            sentences.append(sentence[0].upper() + sentence[1:] + rng.choice([".", ".", ".", "?", "!"]))
        # Hard-wrapped lines, as in text extracted from PDFs.
        paragraph = " ".join(sentences)
        lines, line = [], []
        for word in paragraph.split(" "):
            line.append(word)
            if sum(len(w) + 1 for w in line) > rng.randint(60, 90):
                lines.append(" ".join(line))
                line = []
        lines.append(" ".join(line))
        paragraphs.append("\n".join(lines))
        size += len(paragraphs[-1]) + 2
    return "\n\n".join(paragraphs)


def typo(text: str, positions: list[int]) -> str:
    """text with the letters at positions replaced by another letter."""
    chars = list(text)
    for position in positions:
        chars[position] = "x" if chars[position] != "x" else "y"
    return "".join(chars)


def timed(run: Callable[[], Anchor]) -> tuple[list[float], Anchor]:
    """Milliseconds of RUNS calls, and the last result."""
    samples = []
    result = run()  # warm-up: imports, caches of character properties
    for _ in range(RUNS):
        began = time.perf_counter()
        result = run()
        samples.append((time.perf_counter() - began) * 1000)
    return samples, result


def p95(samples: list[float]) -> float:
    """The 95th percentile of samples."""
    return statistics.quantiles(samples, n=20, method="inclusive")[-1]


def main() -> None:
    """Run the three cases and print a table with PASS/FAIL against the goals."""
    text = make_text()
    # A real passage near the end: the quote as a reviewer would paste it, on one line.
    start = len(text) - 2_000
    start = text.index(" ", start) + 1
    passage = text[start : start + 160]
    passage = passage[: passage.rindex(" ")]
    exact = " ".join(passage.split())
    fuzzy = typo(exact, [len(exact) // 3, 2 * len(exact) // 3])
    missing = "The minister said the railway budget would triple by 2031, according to a leaked memo."

    print(f"text: {len(text):,} characters; quote: {len(exact)} characters")
    print(f"{'case':<10}{'median ms':>11}{'p95 ms':>10}{'goal ms':>10}  result")
    failed = False
    for name, quote in (("exact", exact), ("fuzzy", fuzzy), ("absent", missing)):
        samples, result = timed(lambda quote=quote: anchor_quote(text, quote))
        median = statistics.median(samples)
        goal = GOALS_MS.get(name)
        verdict = "-" if goal is None else "PASS" if median < goal else "FAIL"
        failed |= verdict == "FAIL"
        correct = {
            "exact": result.status == "found" and not result.fuzzy and result.start == start,
            "fuzzy": result.status == "found" and result.fuzzy and abs((result.start or 0) - start) <= 1,
            "absent": result.status == "not_found",
        }[name]
        failed |= not correct
        goal_text = f"{goal:.0f}" if goal else "-"
        print(
            f"{name:<10}{median:>11.1f}{p95(samples):>10.1f}{goal_text:>10}  {verdict}"
            f"  ({result.status}, score={result.score}, {'correct' if correct else 'WRONG'})"
        )
    print("FAIL" if failed else "PASS")


if __name__ == "__main__":
    main()
