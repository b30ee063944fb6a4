"""What every benchmark does with its report: print it, and append it to BENCHMARKS.md unless told not to."""

from __future__ import annotations

import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = REPO / "BENCHMARKS.md"


def publish(lines: list[str], append: bool = True, started: float | None = None) -> None:
    """Print the report (with its run time since `started`, a perf_counter value) and append it."""
    if started is not None:
        lines = [*lines, "", f"Run time: {time.perf_counter() - started:.0f} s.", ""]
    text = "\n".join(lines)
    print(text)
    if append:
        with BENCHMARKS.open("a") as fh:
            fh.write("\n" + text + "\n")


@contextmanager
def checkouts(before: str | None) -> Iterator[dict[str, Path]]:
    """The code trees to compare, by name: "now" is this checkout; with `before`, also that git revision
    (checked out into a temporary worktree, removed afterwards) or a folder holding a copy of a tree."""
    if not before:
        yield {"now": REPO}
        return
    if Path(before).is_dir():
        yield {f"before ({Path(before).name})": Path(before).resolve(), "now": REPO}
        return
    with tempfile.TemporaryDirectory() as tmp:
        tree = Path(tmp) / "before"
        subprocess.run(["git", "-C", str(REPO), "worktree", "add", "--detach", str(tree), before],
                       check=True, capture_output=True)
        try:
            yield {f"before ({before})": tree, "now": REPO}
        finally:
            subprocess.run(["git", "-C", str(REPO), "worktree", "remove", "--force", str(tree)],
                           check=False, capture_output=True)
