"""Size sweep: how well a person is measured at each size in the frame, live and in stills.

People: the lone, unclipped Penn-Fudan pedestrians (their true masks give the
true head top and feet), each placed at a share of the frame height with some
of their own street around them (tests/helpers.py, `place_person`).

- Live (640x480, the webcam case): each placed person is held for 10 frames
  through `guide.live.Analyzer`, the loop's own analyzer (a fresh one per
  person). A frame counts as found when a subject is measured with a body fill
  within 15% of the truth. Compared with "one pass": the whole frame at internal
  resolution 0.5 parsed at frame size, which is what `guide live` did before
  subject-centred inference (same model, same measurements).
- Stills (2000x1500, a phone photo downscaled): `guide.analyze.parse_still`
  (whole photo at 801 px, then the subject re-run on a crop), compared with the
  single pass at 801 px (`--resolution`). Error = the worse of head-top and feet
  error, as a share of the true height.
- Penn-Fudan person-mask IoU with and without the refinement (all 170 photos).
- Person height for the refined pass: still error and time of the refine step at
  several `person_height` values, for people at 20% of the frame height.

Usage:  python bench/sizes.py [--people N] [--no-append]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
os.environ.setdefault("GUIDE_MODEL_DIR", str(SHARED / "models" / "bodypix"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))

from helpers import Placed, lone_pedestrians, place_person  # noqa: E402
from report import publish  # noqa: E402

from guide.analyze import parse_still, still_resolution  # noqa: E402
from guide.live import Analyzer, LiveOptions  # noqa: E402
from guide.measure import framing, landmarks  # noqa: E402
from guide.model.bodypix import BodyPix, load_model  # noqa: E402
from guide.parse import parse  # noqa: E402
from guide.regions import PERSON_HEIGHT, refine  # noqa: E402
from guide.sources import Frame  # noqa: E402

LIVE_HEIGHTS = (0.2, 0.25, 0.3, 0.4, 0.55, 0.75, 0.9)
STILL_HEIGHTS = (0.2, 0.3, 0.45, 0.6, 0.9)
HOLD_FRAMES = 10
FILL_TOLERANCE = 0.15


def still_error(body, placed: Placed) -> float | None:  # type: ignore[no-untyped-def]
    """The worse of head-top and feet error of the subject, as a share of the true height (None: not measured)."""
    if body.subject is None:
        return None
    marks = landmarks(body, body.subject)
    if marks.head_top is None or marks.feet is None:
        return None
    return max(abs(marks.head_top[1] - placed.head_top), abs(marks.feet[1] - placed.feet)) / placed.height


def live_found(model: BodyPix, placed: Placed, one_pass: bool) -> tuple[int, list[float]]:
    """Frames (of HOLD_FRAMES) with the right body fill, and the landmark errors on them."""
    h = placed.image.shape[0]
    truth = placed.height / h
    found, errors = 0, []
    analyzer = Analyzer(model, None, LiveOptions(window=False))
    for i in range(HOLD_FRAMES):
        if one_pass:
            body = parse(model.predict(placed.image, 0.5))
            fr = framing(body, body.subject) if body.subject is not None else None
        else:
            analysis = analyzer(Frame(placed.image, i, i / 30))
            body, fr = analysis.parse, None
            if body.subject is not None:
                fr = framing(body, body.subject, analysis.marks)
        if fr is not None and fr.body_fill is not None and abs(fr.body_fill / truth - 1) <= FILL_TOLERANCE:
            found += 1
            error = still_error(body, placed)
            if error is not None:
                errors.append(error)
    return found, errors


def pct(values: list[float], q: float) -> str:
    return "-" if not values else f"{100 * float(np.percentile(values, q)):.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--people", type=int, default=0, help="use only this many people (0: all)")
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    started = time.perf_counter()
    people = list(lone_pedestrians())
    if args.people:
        people = people[:: max(1, len(people) // args.people)][: args.people]
    live_model = load_model(runtime=os.environ.get("GUIDE_RUNTIME") or "auto")  # as `guide live` loads it
    still_model = load_model()  # as analyze / calibrate load it

    live_rows = []
    for share in LIVE_HEIGHTS:
        row = {}
        for name, one_pass in (("one pass", True), ("tracked", False)):
            found, errors = 0, []
            for person in people:
                f, e = live_found(live_model, place_person(person, share, (640, 480)), one_pass)
                found += f
                errors += e
            row[name] = (found / (HOLD_FRAMES * len(people)), errors)
        live_rows.append((share, row))
        print(f"live {share:.2f}: " + ", ".join(f"{k} {v[0]:.0%}" for k, v in row.items()), flush=True)

    still_rows = []
    for share in STILL_HEIGHTS:
        row = {}
        for name, forced in (("one pass", True), ("refined", False)):
            errors, missed, times = [], 0, []
            for person in people:
                placed = place_person(person, share, (2000, 1500))
                t0 = time.perf_counter()
                res = still_resolution(1500, 2000) if forced else None
                body, _ = parse_still(still_model, placed.image, res)
                times.append(time.perf_counter() - t0)
                error = still_error(body, placed)
                if error is None:
                    missed += 1
                else:
                    errors.append(error)
            row[name] = (errors, missed, statistics.median(times) * 1000)
        still_rows.append((share, row))
        print(f"still {share:.2f}: " + ", ".join(f"{k} {pct(v[0], 50)}" for k, v in row.items()), flush=True)

    # Penn-Fudan person-mask IoU (all 170 photos): the refinement must not cost the big-person case anything.
    from guide.images import read_photo
    from guide.metrics import mask_iou, pennfudan_samples

    iou_one, iou_refined, refined_photos = [], [], 0
    for sample in pennfudan_samples(SHARED / "data" / "pennfudan"):
        image = read_photo(sample.image_path).image
        one, _ = parse_still(still_model, image, still_resolution(*image.shape[:2]))
        two, _ = parse_still(still_model, image)
        iou_one.append(mask_iou(one.mask, sample.person_mask))
        iou_refined.append(mask_iou(two.mask, sample.person_mask))
        refined_photos += not np.array_equal(one.mask, two.mask)
    print(f"Penn-Fudan IoU: one pass {np.mean(iou_one):.3f}, refined {np.mean(iou_refined):.3f}", flush=True)

    height_rows = []
    placed_small = [place_person(p, 0.2, (2000, 1500)) for p in people]
    for person_height in (128, 192, 256, 288, 352, 448):
        errors, times = [], []
        for placed in placed_small:
            raw = still_model.predict(placed.image, still_resolution(1500, 2000))
            body = parse(raw)
            t0 = time.perf_counter()
            refine(still_model, placed.image, body, raw.window.scale, person_height=person_height)
            times.append(time.perf_counter() - t0)
            error = still_error(body, placed)
            if error is not None:
                errors.append(error)
        height_rows.append((person_height, errors, statistics.median(times) * 1000))
        print(f"height {person_height}: {pct(errors, 50)} {statistics.median(times) * 1000:.0f} ms", flush=True)

    lines = [
        f"## Size sweep, {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Machine: nproc {os.cpu_count()}, {platform.machine()}, Python {platform.python_version()}, "
        f"model {live_model.name} ({live_model.runtime} live, {still_model.runtime} stills). "
        f"Command: `python bench/sizes.py{f' --people {args.people}' if args.people else ''}`. "
        f"{len(people)} lone Penn-Fudan pedestrians, each placed at each height (tests/helpers.py).",
        "",
        f"Live, 640x480, each person held {HOLD_FRAMES} frames: share of frames with the subject found and "
        f"body fill within {FILL_TOLERANCE:.0%} of the truth; landmark error (worse of head top and feet, "
        "share of height) on those frames. One pass = the whole frame at internal resolution 0.5 (before).",
        "",
        "| subject height | found, one pass | found, tracked "
        "| error median, one pass | error median, tracked | error p90, tracked |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for share, row in live_rows:
        (f1, e1), (f2, e2) = row["one pass"], row["tracked"]
        lines.append(f"| {share:.0%} | {f1:.0%} | {f2:.0%} | {pct(e1, 50)} | {pct(e2, 50)} | {pct(e2, 90)} |")
    lines += [
        "",
        "Stills, 2000x1500: worse of head-top and feet error, share of the true height (missed: no subject or no "
        "head top / feet); ms per photo (model and parse).",
        "",
        "| subject height | median, one pass | p90, one pass | median, refined | p90, refined "
        "| missed (one pass / refined) | ms (one pass / refined) |",
        "|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for share, row in still_rows:
        (e1, m1, t1), (e2, m2, t2) = row["one pass"], row["refined"]
        lines.append(
            f"| {share:.0%} | {pct(e1, 50)} | {pct(e1, 90)} | {pct(e2, 50)} | {pct(e2, 90)} "
            f"| {m1} / {m2} | {t1:.0f} / {t2:.0f} |"
        )
    lines += [
        "",
        f"Penn-Fudan person-mask IoU, mean over {len(iou_one)} photos at still resolution: one pass "
        f"{np.mean(iou_one):.3f}, refined {np.mean(iou_refined):.3f} (goal >= 0.80; the refinement changed the mask "
        f"of {refined_photos} photos).",
    ]
    lines += [
        "",
        f"Person height in the refined pass (people at 20% of a 2000x1500 photo; in use: {PERSON_HEIGHT} px): "
        "error median and p90, ms for the refine step alone.",
        "",
        "| person height, model px | error median | error p90 | refine ms |",
        "|---:|---:|---:|---:|",
    ]
    for person_height, errors, ms in height_rows:
        lines.append(f"| {person_height} | {pct(errors, 50)} | {pct(errors, 90)} | {ms:.0f} |")
    small = next(row for share, row in still_rows if share == 0.2)["refined"][0]
    worst_live = min(row["tracked"][0] for share, row in live_rows if share >= 0.25)
    lines += [
        "",
        f"Goals: live, subject found with the right body fill in >= 95% of frames at every height from 25% to 90%: "
        f"lowest {worst_live:.0%} ({'met' if worst_live >= 0.95 else 'NOT met'}); stills at 20%: median error <= 1.5%: "
        f"{pct(small, 50)} ({'met' if small and np.median(small) <= 0.015 else 'NOT met'}).",
    ]
    publish(lines, append=not args.no_append, started=started)


if __name__ == "__main__":
    main()
