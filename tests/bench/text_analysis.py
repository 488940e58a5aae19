"""Benchmark for the language layer (run by hand, not part of pytest):

    python -m tests.bench.text_analysis                      # reads ../shared beside the repository
    python -m tests.bench.text_analysis --shared /path/to/shared --runs 30

Times `claims.language.analyse` on the news report in `<shared>/corpus/` (about 4,000 characters) and
on a 20,000-word debate transcript, one utterance a line, built from the CheckThat! 2020 Task 5
debates in `<shared>/data/checkworthiness/` (consecutive sentences of one speaker joined into an
utterance). Beside it, in the same run: the baseline, sentencex's own boundaries over the same
lines (what splitting alone costs), then `split_sentences` and `find_numbers` on their own. Median
and p95 over the runs, against the goals: the report in a few milliseconds (5 ms), the transcript
under 1 s. The exit code is 0 whatever the numbers.
"""

import argparse
import csv
import gzip
import statistics
import time
from collections.abc import Callable
from pathlib import Path

from sentencex import get_sentence_boundaries

from claims.language import analyse, find_numbers, split_sentences

ROOT = Path(__file__).resolve().parents[2]
REPORT = Path("corpus/korea-un-resolution.txt")
DEBATES = Path("data/checkworthiness/checkthat2020-task5-train-50debates.tsv.gz")
TRANSCRIPT_WORDS = 20_000
GOALS_MS = {"report": 5.0, "transcript": 1000.0}


def transcript(path: Path, words: int) -> str:
    """Utterances ("SPEAKER: sentence sentence …"), one a line, until `words` words."""
    lines: list[str] = []
    count = 0
    current: tuple[str, str] | None = None
    utterance: list[str] = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for row in csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE):
            key = (row["debate"], row["speaker"])
            if key != current and utterance:
                lines.append(f"{current[1] if current else ''}: {' '.join(utterance)}")
                utterance = []
            current = key
            utterance.append(row["text"])
            count += len(row["text"].split())
            if count >= words:
                break
    if utterance:
        lines.append(f"{current[1] if current else ''}: {' '.join(utterance)}")
    return "\n".join(lines)


def sentencex_only(text: str) -> int:
    """The baseline: sentencex's boundaries line by line, nothing else."""
    return sum(len(get_sentence_boundaries("en", line)) for line in text.splitlines() if line.strip())


def timed(step: Callable[[str], object], text: str, runs: int) -> tuple[float, float]:
    step(text)  # warm up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        step(text)
        times.append((time.perf_counter() - started) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, round(0.95 * (len(times) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--shared", type=Path, default=ROOT.parent / "shared", help="the shared data directory"
    )
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()

    inputs = {"report": (args.shared / REPORT).read_text(encoding="utf-8")}
    inputs["transcript"] = transcript(args.shared / DEBATES, TRANSCRIPT_WORDS)

    steps: dict[str, Callable[[str], object]] = {
        "sentencex alone (baseline)": sentencex_only,
        "split_sentences": split_sentences,
        "find_numbers (whole text)": find_numbers,
        "analyse": analyse,
    }
    print(
        f"{'input':<11} {'chars':>7} {'words':>6} {'lines':>5} {'sents':>5}  {'step':<27} {'median ms':>9} {'p95 ms':>8}"
    )
    verdicts = []
    for name, text in inputs.items():
        facts = f"{name:<11} {len(text):>7,} {len(text.split()):>6,} {text.count(chr(10)) + 1:>5} {len(analyse(text)):>5}"
        for label, step in steps.items():
            median, p95 = timed(step, text, args.runs)
            print(f"{facts}  {label:<27} {median:>9.2f} {p95:>8.2f}")
            facts = " " * len(facts)
            if label == "analyse":
                verdict = "PASS" if median < GOALS_MS[name] else "FAIL"
                verdicts.append(
                    f"{verdict}: analyse of the {name} median {median:.1f} ms (goal < {GOALS_MS[name]:g} ms)"
                )
    print()
    print("\n".join(verdicts))
    print(f"({args.runs} runs each after one warm-up; one process, one thread.)")


if __name__ == "__main__":
    main()
