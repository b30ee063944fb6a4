"""What every benchmark does with its report: print it, and append it to BENCHMARKS.md unless told not to."""

from __future__ import annotations

from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def publish(lines: list[str], append: bool = True) -> None:
    text = "\n".join(lines)
    print(text)
    if append:
        with BENCHMARKS.open("a") as fh:
            fh.write("\n" + text + "\n")
