"""Group photos and passers-by in calibration: real Penn-Fudan scenes, judged as `guide calibrate` judges them.

Two sets, from the Penn-Fudan ground truth (true masks: boxes, heights, feet):

- *Groups*: every photo whose people are all inside the frame (not touching an
  edge) and all at least 85% of the tallest one's height: companions of
  similar size. Without `--group` these should be `several_people`; with it,
  accepted, every one of them a member (matched by mask IoU; the ground truth
  leaves some people unlabelled, whom the library may count as members too,
  so how often the member count is exact is reported apart), and the group's
  head top and feet (the highest head, the lowest feet) within 3% of the
  group's true height.
- *Passers-by*: photos with one person who is fully inside the frame and
  every other person at most 70% of their height (smaller: further away):
  the subject stands out, so they should be accepted (or skipped for a reason
  about the subject, never `several_people`), with the others counted as
  passers-by: at least the labelled ones, as the ground truth leaves some
  people unlabelled (cut by the frame's edge, far away) that the library
  counts too; how often the count is exact is reported as well.

Reported: the share of each outcome, and the photos that missed.

Usage:  python bench/groups.py [--no-append]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GUIDE_SHARED_DIR") or REPO.parent / "shared")
os.environ.setdefault("GUIDE_MODEL_DIR", str(SHARED / "models" / "bodypix"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from report import publish  # noqa: E402

from guide import calibration as cal  # noqa: E402
from guide.analyze import analyze_photo  # noqa: E402
from guide.group import find_group  # noqa: E402
from guide.images import read_photo  # noqa: E402
from guide.metrics import instance_boxes, pennfudan_samples  # noqa: E402
from guide.model.bodypix import load_model  # noqa: E402
from instances import greedy_match, instance_ious  # noqa: E402

Box = tuple[int, int, int, int]


def inside(box: Box, width: int, height: int) -> bool:
    return box[0] > 1 and box[1] > 1 and box[2] < width - 1 and box[3] < height - 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    model = load_model()
    # name, alone, together, members, truth, err, every labelled person a member
    groups: list[tuple[str, str, str, int, int, float | None, bool]] = []
    passers: list[tuple[str, str, int, int]] = []  # name, verdict, passers_by, others
    for sample in pennfudan_samples(SHARED / "data" / "pennfudan"):
        h, w = sample.instances.shape
        boxes = instance_boxes(sample.instances)
        heights = [b[3] - b[1] for b in boxes]
        if len(boxes) < 2:
            continue
        tallest = max(heights)
        similar = all(b >= 0.85 * tallest for b in heights) and all(inside(b, w, h) for b in boxes)
        main_box = boxes[int(np.argmax(heights))]
        stands_out = inside(main_box, w, h) and sorted(heights)[-2] <= 0.7 * tallest
        if not (similar or stands_out):
            continue
        analysis = analyze_photo(model, read_photo(sample.image_path))
        name = sample.image_path.stem
        if similar:
            alone = cal.judge(analysis, name)
            together = cal.judge(analysis, name, group=True)
            found = find_group(analysis.parse, analysis.landmarks)
            err = None
            if found is not None and found.marks.head_top and found.marks.feet:
                top, feet = min(b[1] for b in boxes), max(b[3] for b in boxes)
                err = max(abs(found.marks.head_top[1] - top), abs(found.marks.feet[1] - feet)) / (feet - top)
            match = greedy_match(instance_ious(sample.instances, analysis.parse.instances, len(analysis.parse.people)))
            labelled_in = found is not None and all(match.get(t) in found.members for t in range(len(boxes)))
            groups.append((name, str(alone.reason), str(together.reason or "accepted"), together.members, len(boxes), err,
                           labelled_in))
        else:
            verdict = cal.judge(analysis, name)
            passers.append((name, str(verdict.reason or "accepted"), verdict.passers_by, len(boxes) - 1))

    n = len(groups)
    several = sum(g[1] == "several_people" for g in groups)
    accepted = [g for g in groups if g[2] == "accepted"]
    # Penn-Fudan leaves some people unlabelled (at the frame's edge, behind others), and the library finds them
    # too: every labelled person a member (matched by mask), and how often the count is exact as well.
    everyone = [g for g in accepted if g[6]]
    exact_members = [g for g in accepted if g[3] == g[4]]
    within = [g for g in groups if g[5] is not None and g[5] <= 0.03]
    m = len(passers)
    kept = [p for p in passers if p[1] != "several_people"]
    ok = [p for p in passers if p[1] == "accepted"]
    # Penn-Fudan leaves some people unlabelled (cut by the frame's edge, far down the street: FudanPed00004's and
    # FudanPed00008's walkers at the left edge), and the library counts them too: "at least" every labelled one.
    counted = [p for p in kept if p[2] >= p[3]]
    exact = [p for p in kept if p[2] == p[3]]
    lines = [
        f"## Group and passer-by benchmark, {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Machine: nproc {os.cpu_count()}, {platform.machine()}, Python {platform.python_version()}, model "
        f"{model.name}. Command: `python bench/groups.py`. Penn-Fudan scenes chosen from the ground truth "
        "(see the script's docstring), judged by `guide.calibration.judge` on the still analysis.",
        "",
        "| set | photos | outcome | share |",
        "|---|---:|---|---:|",
        f"| groups (all people >= 85% of the tallest, all inside) | {n} | `several_people` without `--group` "
        f"| {several}/{n} ({several / max(1, n):.0%}) |",
        f"| | | accepted with `--group` | {len(accepted)}/{n} ({len(accepted) / max(1, n):.0%}) |",
        f"| | | ... with every labelled person a member | {len(everyone)}/{n} ({len(everyone) / max(1, n):.0%}) |",
        f"| | | ... and as many members as labelled people | {len(exact_members)}/{n} "
        f"({len(exact_members) / max(1, n):.0%}) |",
        f"| | | group head top and feet within 3% of its height | {len(within)}/{n} ({len(within) / max(1, n):.0%}) |",
        f"| passers-by (one person inside, the rest <= 70% of their height) | {m} | not `several_people` "
        f"| {len(kept)}/{m} ({len(kept) / max(1, m):.0%}) |",
        f"| | | accepted | {len(ok)}/{m} ({len(ok) / max(1, m):.0%}) |",
        f"| | | every other labelled person counted as a passer-by | {len(counted)}/{m} ({len(counted) / max(1, m):.0%}) |",
        f"| | | ... and no one else (unlabelled people count too) | {len(exact)}/{m} ({len(exact) / max(1, m):.0%}) |",
        "",
        "Groups missed with `--group`: "
        + (", ".join(f"{g[0]} ({g[2]}, {g[3]} of {g[4]})" for g in groups if g[2] != "accepted" or not g[6])
           or "none")
        + ".",
        "Passers-by photos called `several_people` or not accepted: "
        + (", ".join(f"{p[0]} ({p[1]})" for p in passers if p[1] != "accepted") or "none")
        + ".",
        "Passers-by photos counting fewer passers-by than the labelled others: "
        + (", ".join(f"{p[0]} ({p[2]} of {p[3]})" for p in passers if p[2] < p[3]) or "none")
        + ".",
    ]
    publish(lines, append=not args.no_append, started=started)


if __name__ == "__main__":
    main()
