"""What every benchmark does with its report: print it, and append it to BENCHMARKS.md unless told not to."""

from __future__ import annotations

import time
from pathlib import Path

BENCHMARKS = Path(__file__).resolve().parents[1] / "BENCHMARKS.md"


def publish(lines: list[str], append: bool = True, started: float | None = None) -> None:
    """Print the report (with its run time since `started`, a perf_counter value) and append it."""
    if started is not None:
        lines = [*lines, "", f"Run time: {time.perf_counter() - started:.0f} s.", ""]
    text = "\n".join(lines)
    print(text)
    if append:
        with BENCHMARKS.open("a") as fh:
            fh.write("\n" + text + "\n")
