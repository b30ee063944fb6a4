"""Per-person measurements among other people: Penn-Fudan instances, and a subject with a passer-by behind them.

Both parts run `guide.analyze.parse_still`, the path stills take (whole photo,
then a closer look at small people), and take `guide.measure.landmarks` of
every person.

(a) Penn-Fudan, all 170 photos, every ground-truth (GT) person (423). GT people
are matched one-to-one to found people, greedily by instance-mask IoU (pairs
with IoU >= 0.1); an unmatched GT person counts IoU 0. True head top = the GT
mask's topmost row (a pixel edge), true feet = its bottommost row + 1. A GT
person whose mask touches the top edge of the photo has no true head top and
is left out of the head-top errors; one touching the bottom edge is left out
of the feet errors (the frame cut them; the masks do not say where). Errors are
|found - true| as a share of the GT mask's height; a person left unmatched or
without that landmark counts as a miss, and misses rank as the largest errors
in the percentiles.

(b) Passer-by invariance, on the parse `guide calibrate` makes of a reference
(`parse_still(..., outline=False)`: no mirrored pass, no edge snapping; until
2026-11-23 the one parse there was): every lone, unclipped Penn-Fudan pedestrian (58,
tests/helpers.py `lone_pedestrians`) in their own photo, with another lone
pedestrian (GT mask only) pasted partly behind them, 55-70% of their height,
feet 0-12% of their height higher, centre 12-30% of their height to one side
(seeded), and the subject's own pixels pasted back on top
(`passerby_scene`). The subject is the found person with the highest IoU
against the subject's GT mask, in the clean photo and in the composite. Shift =
the largest change of the head top, chin and feet rows between the two, as a
share of the GT height; a landmark found in one and not the other, or the
subject not found (IoU < 0.3), is a failure. Also per composite: "subject
kept", the subject the library picks (`body.subject`) is that found person;
"verdict unchanged", `guide.calibration.judge` on the composite (an `Analysis`
built as `guide.analyze.analyze_photo` builds it) gives the same accepted and
reason as on the clean photo.

`--before REV` also runs the code of git revision REV (in a temporary worktree),
or of a folder holding a copy of the tree, on the same cases, for before/after
in one run.

Usage:  python bench/instances.py [--variants N] [--before REV] [--show DIR] [--no-append]
"""

from __future__ import annotations

import argparse
import datetime as dt
import inspect
import json
import math
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO / "tests"))
from report import checkouts, publish  # noqa: E402

PENNFUDAN = SHARED / "data" / "pennfudan"
LANDMARKS = ("head_top", "chin", "feet")
SHIFT_GOAL, SHARE_GOAL = 0.02, 0.95
ERROR_GOAL, IOU_GOAL = 0.03, 0.80


def instance_ious(truth: np.ndarray, found: np.ndarray, n_found: int) -> np.ndarray:
    """(GT people, found people) IoU matrix; `truth` holds 0 / 1..N, `found` -1 / 0..n_found-1."""
    n_truth = int(truth.max())
    joint = np.bincount((truth.astype(np.intp) * (n_found + 1) + found.astype(np.intp) + 1).ravel(),
                        minlength=(n_truth + 1) * (n_found + 1)).reshape(n_truth + 1, n_found + 1)
    inter = joint[1:, 1:].astype(float)
    area_t = joint[1:].sum(axis=1)[:, None]
    area_f = joint[:, 1:].sum(axis=0)[None, :]
    return inter / np.maximum(1, area_t + area_f - inter)


def greedy_match(ious: np.ndarray, min_iou: float = 0.1) -> dict[int, int]:
    """GT index -> found index, best IoU first, one-to-one."""
    pairs = sorted(((ious[t, f], t, f) for t in range(ious.shape[0]) for f in range(ious.shape[1])), reverse=True)
    match: dict[int, int] = {}
    used: set[int] = set()
    for value, t, f in pairs:
        if value < min_iou or t in match or f in used:
            continue
        match[t] = f
        used.add(f)
    return match


def _y(point: tuple[float, float] | None) -> float | None:
    return None if point is None else float(point[1])


def worker(variants: int, show: str | None) -> dict[str, Any]:
    """Run both parts with the `guide` found on sys.path (this checkout or the --before worktree)."""
    os.environ.setdefault("GUIDE_MODEL_DIR", str(SHARED / "models" / "bodypix"))
    import cv2

    import guide
    from guide.analyze import parse_still
    from guide.measure import landmarks
    from guide.metrics import pennfudan_samples
    from guide.model.bodypix import load_model
    from helpers import lone_pedestrians

    model = load_model(runtime="tf")
    print(f"guide from {Path(guide.__file__).parent}", file=sys.stderr)

    # The passers-by are a reference photo's: the parse `guide calibrate` makes (no outline work, where the
    # code has the choice: `outline=False`, 2026-11-23 on).
    as_calibrate = {"outline": False} if "outline" in inspect.signature(parse_still).parameters else {}

    def analyse(image: np.ndarray, **options: Any):  # type: ignore[no-untyped-def]
        body, _ = parse_still(model, image, **options)
        return body, [landmarks(body, i) for i in range(len(body.people))]

    def verdict(name: str, image: np.ndarray, body, marks) -> list[Any]:  # type: ignore[no-untyped-def]
        """`guide.calibration.judge` on the parse, as `guide calibrate` builds its `Analysis`: [accepted, reason]."""
        from guide.analyze import Analysis
        from guide.calibration import judge
        from guide.images import Photo

        h, w = image.shape[:2]
        analysis = Analysis(Photo(Path(f"{name}.png"), image, w, h, 1.0), body, marks, 0.0)
        v = judge(analysis, f"{name}.png")
        reason = getattr(v.reason, "value", v.reason)
        return [bool(v.accepted), None if reason is None else str(reason)]

    people: list[dict[str, Any]] = []
    photo_ms: list[float] = []
    t0 = time.perf_counter()
    for sample in pennfudan_samples(PENNFUDAN):
        image = cv2.imread(str(sample.image_path))
        t_photo = time.perf_counter()
        body, marks = analyse(image)
        photo_ms.append((time.perf_counter() - t_photo) * 1000)
        ious = instance_ious(sample.instances, body.instances, len(body.people))
        match = greedy_match(ious)
        h = sample.instances.shape[0]
        for t in range(ious.shape[0]):
            rows = np.flatnonzero((sample.instances == t + 1).any(axis=1))
            f = match.get(t)
            m = marks[f] if f is not None else None
            people.append({
                "image": sample.image_path.stem, "person": t + 1,
                "top": float(rows[0]), "feet": float(rows[-1] + 1),
                "top_cut": bool(rows[0] == 0), "feet_cut": bool(rows[-1] == h - 1),
                "iou": float(ious[t, f]) if f is not None else 0.0,
                "found_top": _y(m.head_top) if m else None, "found_feet": _y(m.feet) if m else None,
            })
    pf_seconds = time.perf_counter() - t0

    lone = lone_pedestrians()
    cases: list[dict[str, Any]] = []
    t0 = time.perf_counter()
    for si, subject in enumerate(lone):
        clean_body, clean_marks = analyse(subject.image, **as_calibrate)
        clean = _subject_marks(clean_body, clean_marks, subject.mask)
        clean_verdict = verdict(subject.name, subject.image, clean_body, clean_marks)
        height = subject.box[3] - subject.box[1]
        for v in range(variants):
            passer, scene = passerby_case(lone, si, v)
            body, marks = analyse(scene.image, **as_calibrate)
            crowded = _subject_marks(body, marks, scene.subject)
            shift, worst = _shift(clean, crowded, height)
            kept = crowded["index"] is not None and crowded["iou"] >= 0.3 and body.subject == crowded["index"]
            cases.append({"subject": subject.name, "passer": passer.name, "variant": v, "shift": shift, "worst": worst,
                          "clean": clean, "crowded": crowded, "kept": bool(kept),
                          "verdict": verdict(f"{subject.name}_{v}", scene.image, body, marks),
                          "clean_verdict": clean_verdict})
            if show and shift > SHIFT_GOAL:
                _draw(Path(show) / f"{subject.name}_{v}.png", scene.image, body, crowded, clean)
    return {"people": people, "cases": cases, "photo_ms": photo_ms, "seconds": {"pennfudan": pf_seconds,
                                                         "passers_by": time.perf_counter() - t0}}


def passerby_case(lone, si: int, variant: int):  # type: ignore[no-untyped-def]
    """Lone pedestrian `si` with passer-by number `variant` behind them (seeded): (passer Cutout, Crowded)."""
    from helpers import passerby_scene

    subject = lone[si]
    height = subject.box[3] - subject.box[1]
    rng = np.random.default_rng(1000 * si + variant)
    passer = lone[int(rng.choice([i for i in range(len(lone)) if i != si]))]
    share, offset, rise = rng.uniform(0.55, 0.70), rng.uniform(0.12, 0.30), rng.uniform(0.0, 0.12)
    side = 1.0 if rng.random() < 0.5 else -1.0
    centre = (subject.box[0] + subject.box[2]) / 2
    width = subject.mask.shape[1]
    if not 0.1 * width < centre + side * offset * height < 0.9 * width:
        side = -side
    return passer, passerby_scene(subject, passer, share, side * offset, rise)


def _subject_marks(body, marks, truth: np.ndarray) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """The landmark rows of the found person best matching `truth`, and that IoU."""
    if not body.people:
        return {"iou": 0.0, "index": None}
    ious = instance_ious(truth.astype(np.uint8), body.instances, len(body.people))[0]
    best = int(np.argmax(ious))
    m = marks[best]
    return {"iou": float(ious[best]), "index": best, **{k: _y(getattr(m, k)) for k in LANDMARKS}}


def _shift(clean: dict[str, Any], crowded: dict[str, Any], height: float) -> tuple[float, str]:
    if crowded["iou"] < 0.3 or clean["iou"] < 0.3:
        return math.inf, "subject"
    worst, name = 0.0, ""
    for k in LANDMARKS:
        a, b = clean[k], crowded[k]
        if a is None and b is None:
            continue
        d = math.inf if a is None or b is None else abs(a - b) / height
        if d >= worst:
            worst, name = d, k
    return worst, name


def _draw(path: Path, image: np.ndarray, body, crowded: dict[str, Any], clean: dict[str, Any]) -> None:  # type: ignore[no-untyped-def]
    """The composite with each found person tinted (the subject red), their landmarks as long lines
    and the clean photo's as short ones (head top red, chin yellow, feet blue)."""
    import cv2

    out = image.copy()
    palette = np.array([(60, 200, 60), (200, 120, 40), (200, 60, 200), (40, 200, 200), (120, 120, 255)], np.uint8)
    for i in range(len(body.people)):
        colour = (0, 0, 255) if i == crowded["index"] else tuple(int(c) for c in palette[i % len(palette)])
        sel = body.instances == i
        out[sel] = (0.5 * out[sel] + 0.5 * np.array(colour)).astype(np.uint8)
    w = out.shape[1]
    for k, colour in zip(LANDMARKS, ((0, 0, 255), (0, 255, 255), (255, 0, 0))):
        if crowded.get(k) is not None:
            cv2.line(out, (0, int(crowded[k])), (w, int(crowded[k])), colour, 1)
        if clean.get(k) is not None:
            cv2.line(out, (0, int(clean[k])), (w // 6, int(clean[k])), colour, 3)
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), out)


def run_worker(checkout: Path, variants: int, show: str | None) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "GUIDE_MODEL_DIR": str(SHARED / "models" / "bodypix")}
    cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "--variants", str(variants)]
    if show:
        cmd += ["--show", str(Path(show) / checkout.name)]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False, cwd=checkout)
    if out.returncode != 0:
        raise SystemExit(f"worker failed ({checkout}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def pct(values: list[float], q: float) -> str:
    if not values:
        return "-"
    v = float(np.percentile(np.array(values), q, method="lower"))  # a miss (inf) ranks last
    return "miss" if math.isinf(v) else f"{v:.1%}"


def summarise(result: dict[str, Any]) -> dict[str, Any]:
    people, cases = result["people"], result["cases"]
    top_err, feet_err = [], []
    for p in people:
        height = p["feet"] - p["top"]
        if not p["top_cut"]:
            top_err.append(math.inf if p["found_top"] is None else abs(p["found_top"] - p["top"]) / height)
        if not p["feet_cut"]:
            feet_err.append(math.inf if p["found_feet"] is None else abs(p["found_feet"] - p["feet"]) / height)
    shifts = [c["shift"] for c in cases]
    kept = [c["kept"] for c in cases]
    same = [c["verdict"] == c["clean_verdict"] for c in cases]
    within = [s <= SHIFT_GOAL for s in shifts]
    return {
        "kept": float(np.mean(kept)) if cases else 0.0,
        "same_verdict": float(np.mean(same)) if cases else 0.0,
        "all_three": float(np.mean([a and b and c for a, b, c in zip(kept, within, same)])) if cases else 0.0,
        "verdict_changes": sorted({f"{c['clean_verdict'][1] or 'accepted'} -> {c['verdict'][1] or 'accepted'}"
                                   for c, ok in zip(cases, same) if not ok}),
        "n": len(people),
        "photo_ms": float(np.median(result["photo_ms"])),
        "iou": float(np.mean([p["iou"] for p in people])),
        "matched": sum(p["iou"] > 0 for p in people),
        "top": top_err, "feet": feet_err,
        "top_miss": sum(math.isinf(e) for e in top_err), "feet_miss": sum(math.isinf(e) for e in feet_err),
        "shifts": shifts,
        "within": float(np.mean([s <= SHIFT_GOAL for s in shifts])) if shifts else 0.0,
        "worst": {k: sum(c["worst"] == k and c["shift"] > SHIFT_GOAL for c in cases)
                  for k in ("subject", *LANDMARKS)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--variants", type=int, default=2, help="passers-by per lone pedestrian")
    parser.add_argument("--before", help="also run the code of this git revision, for before/after")
    parser.add_argument("--show", help="write the passer-by cases that shift more than 2% here")
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.variants, args.show)))
        return

    started = time.perf_counter()
    with checkouts(args.before) as impls:
        results = {}
        for name, checkout in impls.items():
            results[name] = summarise(run_worker(checkout, args.variants, args.show))
            print(f"{name}: done", file=sys.stderr, flush=True)

    now = results["now"]
    command = f"python bench/instances.py --variants {args.variants}{f' --before {args.before}' if args.before else ''}"
    lines = [
        f"## Instances benchmark, {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Machine: nproc {os.cpu_count()}, {platform.machine()}, Python {platform.python_version()}. "
        f"Command: `{command}`. Stills path (`parse_still`), default model on TF. Method: bench/instances.py "
        "docstring (GT people cut by the frame edge are left out of that landmark's errors; misses rank last).",
        "",
        f"Penn-Fudan, {now['n']} people in 170 photos: mean instance-mask IoU (unmatched = 0), head-top and feet "
        "error as a share of the GT height (misses: no match or no landmark); ms per photo: median time of "
        "`parse_still` and the landmarks of everyone (the before and now code run one after the other, not "
        "alternating: a noisy machine moves the two apart by some 10%).",
        "",
        "| code | matched | mean IoU | head top median | head top p90 | head top misses "
        "| feet median | feet p90 | feet misses | ms per photo |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['matched']}/{r['n']} | {r['iou']:.3f} | {pct(r['top'], 50)} | {pct(r['top'], 90)} "
            f"| {r['top_miss']}/{len(r['top'])} | {pct(r['feet'], 50)} | {pct(r['feet'], 90)} "
            f"| {r['feet_miss']}/{len(r['feet'])} | {r['photo_ms']:.0f} |"
        )
    lines += [
        "",
        f"Passer-by behind the subject, {len(now['shifts'])} composites ({args.variants} per lone pedestrian): "
        "the subject's largest landmark shift (head top, chin, feet rows) against their clean photo, share of "
        "their height; cases over 2% by the landmark that moved most.",
        "",
        "| code | within 2% | median | p75 | p90 | over 2%: subject lost | head top | chin | feet |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        w = r["worst"]
        lines.append(
            f"| {name} | {r['within']:.1%} | {pct(r['shifts'], 50)} | {pct(r['shifts'], 75)} | {pct(r['shifts'], 90)} "
            f"| {w['subject']} | {w['head_top']} | {w['chin']} | {w['feet']} |"
        )
    lines += [
        "",
        "The same composites: subject kept (the library's subject, `parse_still`'s `body.subject`, is the true "
        "subject's instance), calibrate verdict unchanged (`guide.calibration.judge`: accepted and reason as on the "
        "clean photo), and all three (kept, within 2%, same verdict) at once.",
        "",
        "| code | subject kept | within 2% | verdict unchanged | all three | verdict changes |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['kept']:.1%} | {r['within']:.1%} | {r['same_verdict']:.1%} | {r['all_three']:.1%} "
            f"| {', '.join(r['verdict_changes']) or '-'} |"
        )

    def met(ok: bool) -> str:
        return "met" if ok else "NOT met"

    top90 = float(np.percentile(now["top"], 90, method="lower"))
    feet90 = float(np.percentile(now["feet"], 90, method="lower"))
    lines += [
        "",
        f"Goals: head-top and feet p90 <= {ERROR_GOAL:.0%}: {pct(now['top'], 90)} / {pct(now['feet'], 90)} "
        f"({met(max(top90, feet90) <= ERROR_GOAL)}); mean IoU >= {IOU_GOAL:.2f}: {now['iou']:.3f} "
        f"({met(now['iou'] >= IOU_GOAL)}); passer-by, each in >= 95%: subject kept {now['kept']:.1%} "
        f"({met(now['kept'] >= SHARE_GOAL)}), shift <= 2% {now['within']:.1%} ({met(now['within'] >= SHARE_GOAL)}), "
        f"verdict unchanged {now['same_verdict']:.1%} ({met(now['same_verdict'] >= SHARE_GOAL)}).",
    ]
    publish(lines, append=not args.no_append, started=started)


if __name__ == "__main__":
    main()
