"""Benchmark portrait mode: render time, halo against the naive method, refined vs raw matte IoU.

1. Speed: `render_portrait(image, parse, settings=STILL)` (matte refinement, lens
   blur, composite; the model is not timed) on tfjs_pose.jpg resized to
   1280x720, 1920x1080 and 4000x3000; median of N runs after a warm-up.
   Goals on 2 cores: 1080p under 150 ms, 12 MP under 1.5 s.
2. Halo: the PIFu person pasted onto tfjs_cityscapes.jpg (3 places/sizes); in a
   ring 3-30 px outside the exact mask, mean |output - lens blur of the
   background alone| for ours and for the naive method (blur everything, then
   composite with the same matte); ratio = ours / naive (goal <= 0.5).
3. IoU on Penn-Fudan (all 170 images): raw model mask (threshold 0.7) vs the
   refined matte thresholded at 0.5.

Usage:  python bench/portrait.py [--runs N] [--no-append]
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

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
if not os.environ.get("GUIDE_MODEL_DIR") and (SHARED / "models" / "bodypix").is_dir():
    os.environ["GUIDE_MODEL_DIR"] = str(SHARED / "models" / "bodypix")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

sys.path.insert(0, str(REPO / "tests"))
from guide import portrait as P  # noqa: E402
from guide.analyze import still_resolution  # noqa: E402
from guide.metrics import mask_iou, pennfudan_samples  # noqa: E402
from guide.model.bodypix import load_model  # noqa: E402
from guide.parse import parse  # noqa: E402
from test_portrait import backgrounds, paste  # noqa: E402

SIZES = ((1280, 720), (1920, 1080), (4000, 3000))


def body_of(model, image):  # type: ignore[no-untyped-def]
    return parse(model.predict(image, still_resolution(*image.shape[:2])), keep_probability=True)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    t_start = time.perf_counter()
    model = load_model()
    src = cv2.imread(str(SHARED / "data" / "people" / "tfjs_pose.jpg"))
    lines = ["Render time (model excluded), STILL settings, median of %d runs, ms" % args.runs, "",
             "| size | matte ms | blur ms | render_portrait ms | goal |", "|---|---:|---:|---:|---|"]
    goals = {(1920, 1080): 150.0, (4000, 3000): 1500.0}
    for w, h in SIZES:
        img = cv2.resize(src, (w, h), interpolation=cv2.INTER_CUBIC)
        body = body_of(model, img)
        for _ in range(2):
            P.render_portrait(img, body, settings=P.STILL)
        tm, tb, tt = [], [], []
        for _ in range(args.runs):
            t0 = time.perf_counter()
            m = P.matte_for(img, body, P.STILL)
            t1 = time.perf_counter()
            P.lens_blur(img, m.low, P.DEFAULT_STRENGTH, P.focus_line(body), P.STILL)
            t2 = time.perf_counter()
            P.render_portrait(img, body, settings=P.STILL)
            t3 = time.perf_counter()
            tm.append(t1 - t0), tb.append(t2 - t1), tt.append(t3 - t2)
        total = statistics.median(tt) * 1000
        goal = goals.get((w, h))
        verdict = "-" if goal is None else f"< {goal:.0f} ms: {'met' if total < goal else 'NOT met'}"
        lines.append(f"| {w}x{h} | {statistics.median(tm)*1000:.0f} | {statistics.median(tb)*1000:.0f} | {total:.0f} | {verdict} |")

    from PIL import Image

    rgb = np.asarray(Image.open(SHARED / "data" / "pifu" / "ryota.png").convert("RGB"))
    mask = np.asarray(Image.open(SHARED / "data" / "pifu" / "ryota_mask.png")) > 0
    ys, xs = np.nonzero(mask)
    box = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    person = (cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)[box], mask[box])
    lines += ["", "Halo, ring 3-30 px outside the pasted person (mean abs error vs blur of the background alone, 0-255)", "",
              "| case | ours | naive | ratio |", "|---|---:|---:|---:|"]
    ratios = []
    for i, (bg, x, y, ph) in enumerate(backgrounds()):
        photo, truth = paste(bg, person, x, y, ph)
        body = body_of(model, photo)
        out, alpha = P.render_with_matte(photo, body, settings=P.STILL)
        own = cv2.dilate(body_of(model, bg).mask.astype(np.uint8), np.ones((31, 31), np.uint8)) > 0
        dist = cv2.distanceTransform((~truth).astype(np.uint8), cv2.DIST_L2, 5)
        ring = (dist >= 3) & (dist <= 30) & ~own
        focus = P.focus_line(body)
        ref = P.lens_blur(bg, None, P.DEFAULT_STRENGTH, focus, P.STILL).astype(np.float32)
        naive = P.composite(photo, P.lens_blur(photo, None, P.DEFAULT_STRENGTH, focus, P.STILL), P.full_matte(alpha))
        e_ours = float(np.mean(np.abs(out.astype(np.float32) - ref)[ring]))
        e_naive = float(np.mean(np.abs(naive.astype(np.float32) - ref)[ring]))
        ratios.append(e_ours / e_naive)
        lines.append(f"| {bg.shape[1]}x{bg.shape[0]} at ({x},{y}), {ph} px tall | {e_ours:.2f} | {e_naive:.2f} | {e_ours / e_naive:.3f} |")
    lines.append(f"| mean | | | {np.mean(ratios):.3f} (goal <= 0.5) |")

    raw, ref_iou = [], []
    samples = pennfudan_samples(SHARED / "data" / "pennfudan")
    for s in samples:
        img = cv2.imread(str(s.image_path))
        body = body_of(model, img)
        raw.append(mask_iou(body.mask, s.person_mask))
        ref_iou.append(mask_iou(P.matte_for(img, body, P.STILL).alpha > 0.5, s.person_mask))
    better = int(np.sum(np.array(ref_iou) > np.array(raw)))
    lines += ["", f"Penn-Fudan person-mask IoU, mean over {len(samples)} images: raw mask (p > 0.7) {np.mean(raw):.3f}, "
              f"refined matte (alpha > 0.5) {np.mean(ref_iou):.3f}; refined better on {better}/{len(samples)} images"]
    lines += ["", f"Run time: {time.perf_counter() - t_start:.0f} s"]
    text = "\n".join(lines)
    print(text)
    if not args.no_append:
        import tensorflow as tf

        head = (f"\n## Portrait benchmark, {dt.datetime.now():%Y-%m-%d %H:%M}\n\nMachine: nproc {os.cpu_count()}, "
                f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
                f"TensorFlow {tf.__version__}, OpenCV {cv2.__version__}. Command: `python bench/portrait.py`\n\n")
        with (REPO / "BENCHMARKS.md").open("a") as fh:
            fh.write(head + text + "\n")


if __name__ == "__main__":
    main()
