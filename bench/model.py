"""Benchmark the BodyPix variants: speed on a 640x480 frame and person-mask IoU on Penn-Fudan.

What is measured
----------------
1. Speed. A 640x480 frame is cut from a real photo (`tfjs_pose.jpg`: centre
   crop to 4:3, then resized). For every locally available variant and internal
   resolution 0.25 / 0.5 / 0.75 / 1.0 we time
     - `predict`: `model.predict(frame, resolution)` (letterbox, network, numpy copy);
     - end-to-end: predict + `parse(raw)` + `landmarks(...)` of the subject, i.e.
       what one analysed frame costs.
   Every model runs on the runtime `load_model` picks (`GUIDE_RUNTIME` or
   "auto": TFLite when the conversion works); the default variant at 0.5 is
   also timed on the other runtime (TF graph vs TFLite), in the same rounds.
   The machine is small and noisy, so all (variant, resolution) settings are
   measured in interleaved rounds (a burst of runs of each setting per round,
   the order rotated every round, one untimed call before each burst) after a
   warm-up, and medians are reported. Drift during the run therefore hits every
   setting alike.

2. Accuracy. For every Penn-Fudan image the union of its pedestrian instances
   is the ground-truth person mask; the prediction is `parse(raw, threshold).mask`
   at thresholds 0.5 and 0.7 (one `predict` serves both). Internal resolutions:
   the still-photo default `still_resolution(h, w)` (long side -> 801 px, which
   upscales Penn-Fudan's ~500 px images) and 0.5 and 1.0 of the image size.
   We report the mean IoU over images and how long each setting took.

   The person mask does not depend on the decoded poses, so the masks are taken
   from `parse(raw, threshold, max_people=0)`, which skips pose decoding and
   instance assignment (those cost 0.1-0.8 s per multi-person Penn-Fudan image
   and would push the run far past 10 minutes). Before that is trusted, a few
   images per variant are parsed both ways; if any mask differs, every image is
   parsed in full instead, and the output says which way was used.

Targets (from the issue): the default variant at resolution 0.5 takes under
15 ms end-to-end per 640x480 frame, and the best setting reaches a mean
Penn-Fudan IoU of 0.80 or better.

Usage:  python bench/model.py [--quick] [--no-append]
    --quick      10 timed runs per setting instead of 30, every 5th Penn-Fudan image
    --no-append  print the tables only; do not append them to BENCHMARKS.md

Model files come from GUIDE_MODEL_DIR; if it is unset, `../shared/models/bodypix`
next to the repository is used when it exists.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gc
import os
import platform
import shlex
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
PENNFUDAN = SHARED / "data" / "pennfudan"
FRAME_PHOTO = SHARED / "data" / "people" / "tfjs_pose.jpg"
BENCHMARKS_FILE = REPO / "BENCHMARKS.md"

if not os.environ.get("GUIDE_MODEL_DIR") and (SHARED / "models" / "bodypix").is_dir():
    os.environ["GUIDE_MODEL_DIR"] = str(SHARED / "models" / "bodypix")

from guide.analyze import STILL_INPUT_SIDE, still_resolution  # noqa: E402
from guide.images import read_photo  # noqa: E402
from guide.measure import landmarks  # noqa: E402
from guide.metrics import PennFudanSample, mask_iou, pennfudan_samples  # noqa: E402
from guide.errors import ModelError  # noqa: E402
from guide.model.bodypix import BodyPix, load_model  # noqa: E402
from guide.model.registry import DEFAULT_VARIANT, list_variants  # noqa: E402
from guide.parse import parse  # noqa: E402

FRAME_SIZE = (640, 480)  # width, height
SPEED_RESOLUTIONS = (0.25, 0.5, 0.75, 1.0)
IOU_THRESHOLDS = (0.5, 0.7)
STILL = "still"  # marks the per-image still_resolution(h, w) setting
IOU_RESOLUTIONS: tuple[str | float, ...] = (STILL, 0.5, 1.0)

TARGET_E2E_MS = 15.0  # default variant, resolution 0.5, 640x480 frame
TARGET_RESOLUTION = 0.5
TARGET_IOU = 0.80


@dataclass
class SpeedResult:
    variant: str
    runtime: str  # "tf" or "tflite"
    resolution: float
    input_size: str  # model input, "W x H" (letterboxed, k * stride + 1)
    subject_found: bool
    predict_ms: list[float] = field(default_factory=list)
    end_to_end_ms: list[float] = field(default_factory=list)


@dataclass
class IouResult:
    variant: str
    resolution: str | float
    ious: dict[float, list[float]]  # threshold -> one IoU per image
    seconds: float

    def mean(self, threshold: float) -> float:
        return float(np.mean(self.ious[threshold]))


def make_frame(photo: Path = FRAME_PHOTO, size: tuple[int, int] = FRAME_SIZE) -> np.ndarray:
    """Centre-crop the photo to the frame's aspect ratio and resize it to `size` (BGR uint8)."""
    image = read_photo(photo).image
    h, w = image.shape[:2]
    target_w, target_h = size
    if w * target_h > h * target_w:  # too wide: crop the sides
        crop_w = round(h * target_w / target_h)
        x0 = (w - crop_w) // 2
        image = image[:, x0 : x0 + crop_w]
    else:  # too tall: crop top and bottom
        crop_h = round(w * target_h / target_w)
        y0 = (h - crop_h) // 2
        image = image[y0 : y0 + crop_h]
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA)


def local_variants() -> list[str]:
    """Names of the variants whose files are on disk, the default variant first."""
    names = [variant.name for variant, path in list_variants() if path is not None]
    return sorted(names, key=lambda name: (name != DEFAULT_VARIANT, name))


def analyze_frame(model: BodyPix, frame: np.ndarray, resolution: float) -> bool:
    """One end-to-end frame: predict, parse, landmarks of the subject. True if a subject was found."""
    body = parse(model.predict(frame, resolution))
    if body.subject is None:
        return False
    landmarks(body, body.subject)
    return True


def bench_speed(
    settings: list[tuple[BodyPix, float]], frame: np.ndarray, rounds: int, per_round: int
) -> list[SpeedResult]:
    """Median-friendly timings of every (model, resolution), measured in interleaved rounds."""
    results: list[SpeedResult] = []
    models: list[BodyPix] = []
    for model, res in settings:
        for _ in range(3):  # warm-up: first calls at a new input size are slow
            found = analyze_frame(model, frame, res)
        box = model.predict(frame, res).window
        results.append(SpeedResult(model.name, model.runtime, res, f"{box.width}x{box.height}", found))
        models.append(model)

    order = list(range(len(results)))
    for rnd in range(rounds):
        shift = rnd * len(results) // rounds
        for i in order[shift:] + order[:shift]:
            result, model = results[i], models[i]
            gc.collect()
            analyze_frame(model, frame, result.resolution)  # untimed: settle after switching setting
            for _ in range(per_round):
                t0 = time.perf_counter()
                model.predict(frame, result.resolution)
                result.predict_ms.append(1000 * (time.perf_counter() - t0))
            for _ in range(per_round):
                t0 = time.perf_counter()
                analyze_frame(model, frame, result.resolution)
                result.end_to_end_ms.append(1000 * (time.perf_counter() - t0))
    return results


def internal_resolution(res: str | float, image: np.ndarray) -> float:
    return still_resolution(*image.shape[:2]) if res == STILL else float(res)


def mask_needs_poses(model: BodyPix, samples: list[tuple[np.ndarray, np.ndarray]], checks: int = 5) -> bool:
    """True if `parse(...).mask` changes when pose decoding is skipped, on a few spread-out samples."""
    for image, _ in samples[:: max(1, len(samples) // checks)][:checks]:
        for res in IOU_RESOLUTIONS:
            raw = model.predict(image, internal_resolution(res, image))
            for threshold in IOU_THRESHOLDS:
                if not np.array_equal(parse(raw, threshold, max_people=0).mask, parse(raw, threshold).mask):
                    return True
    return False


def bench_iou(
    model: BodyPix, name: str, samples: list[tuple[np.ndarray, np.ndarray]], full_parse: bool
) -> list[IouResult]:
    """Mean person-mask IoU over `samples` (image, truth mask) at each resolution and threshold."""
    max_people = 10 if full_parse else 0
    results = []
    for res in IOU_RESOLUTIONS:
        ious: dict[float, list[float]] = {t: [] for t in IOU_THRESHOLDS}
        t0 = time.perf_counter()
        for image, truth in samples:
            raw = model.predict(image, internal_resolution(res, image))
            for threshold in IOU_THRESHOLDS:
                ious[threshold].append(mask_iou(parse(raw, threshold, max_people=max_people).mask, truth))
        results.append(IouResult(name, res, ious, time.perf_counter() - t0))
        print(f"  IoU {name} @ {resolution_label(res)}: {results[-1].seconds:.1f} s", file=sys.stderr)
    return results


def resolution_label(res: str | float) -> str:
    return f"still ({STILL_INPUT_SIDE} px long side)" if res == STILL else f"{res:g}"


def load_pennfudan(step: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Every `step`-th Penn-Fudan image (BGR) with its union person mask."""
    chosen: list[PennFudanSample] = pennfudan_samples(PENNFUDAN)[::step]
    return [(read_photo(s.image_path).image, s.person_mask) for s in chosen]


def speed_table(results: list[SpeedResult], runs: int) -> str:
    lines = [
        f"Speed on a {FRAME_SIZE[0]}x{FRAME_SIZE[1]} frame ({FRAME_PHOTO.name}), median of {runs} runs, ms",
        "",
        "| variant | runtime | resolution | model input | predict ms | end-to-end ms | subject found |",
        "|---|---|---:|---:|---:|---:|:---:|",
    ]
    for r in results:
        lines.append(
            f"| {r.variant} | {r.runtime} | {r.resolution:g} | {r.input_size} | {statistics.median(r.predict_ms):.1f} "
            f"| {statistics.median(r.end_to_end_ms):.1f} | {'yes' if r.subject_found else 'no'} |"
        )
    return "\n".join(lines)


def iou_table(results: list[IouResult], n_images: int) -> str:
    header_t = " | ".join(f"IoU @ {t:g}" for t in IOU_THRESHOLDS)
    lines = [
        f"Penn-Fudan person-mask IoU, mean over {n_images} images",
        "",
        f"| variant | internal resolution | {header_t} | seconds |",
        "|---|---|" + "---:|" * len(IOU_THRESHOLDS) + "---:|",
    ]
    for r in results:
        cells = " | ".join(f"{r.mean(t):.3f}" for t in IOU_THRESHOLDS)
        lines.append(f"| {r.variant} | {resolution_label(r.resolution)} | {cells} | {r.seconds:.1f} |")
    return "\n".join(lines)


def targets_text(speed: list[SpeedResult], iou: list[IouResult], runtime: str) -> str:
    lines = ["Targets:"]
    default = [
        r for r in speed
        if r.variant == DEFAULT_VARIANT and r.resolution == TARGET_RESOLUTION and r.runtime == runtime
    ]
    if default:
        ms = statistics.median(default[0].end_to_end_ms)
        verdict = "met" if ms < TARGET_E2E_MS else "NOT met"
        lines.append(
            f"- {DEFAULT_VARIANT} at {TARGET_RESOLUTION:g} ({runtime}) under {TARGET_E2E_MS:g} ms per frame "
            f"end-to-end: {ms:.1f} ms, {verdict}"
        )
    else:
        lines.append(f"- {DEFAULT_VARIANT} is not available locally: speed target not checked")
    best_mean, best = max(((r.mean(t), (r, t)) for r in iou for t in IOU_THRESHOLDS), key=lambda x: x[0])
    best_r, best_t = best
    verdict = "met" if best_mean >= TARGET_IOU else "NOT met"
    lines.append(
        f"- mean Penn-Fudan IoU >= {TARGET_IOU:.2f} at the best setting: {best_mean:.3f} "
        f"({best_r.variant}, resolution {resolution_label(best_r.resolution)}, threshold {best_t:g}), {verdict}"
    )
    return "\n".join(lines)


def tf_version() -> str:
    import tensorflow as tf

    return str(tf.__version__)


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def append_report(section: str) -> None:
    if not BENCHMARKS_FILE.exists():
        BENCHMARKS_FILE.write_text(
            "# Benchmarks\n\nResults of the scripts in `bench/`, newest last. Timings are medians on the "
            "machine named in each section; compare numbers only within one section.\n"
        )
    with BENCHMARKS_FILE.open("a") as fh:
        fh.write("\n" + section + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer timed runs, every 5th Penn-Fudan image")
    parser.add_argument("--no-append", action="store_true", help=f"do not append to {BENCHMARKS_FILE.name}")
    args = parser.parse_args(argv)
    rounds, per_round = (2, 5) if args.quick else (3, 10)
    step = 5 if args.quick else 1

    started = time.perf_counter()
    names = local_variants()
    if not names:
        print("no BodyPix variant found locally; set GUIDE_MODEL_DIR", file=sys.stderr)
        return 1
    t0 = time.perf_counter()
    models = {name: load_model(name) for name in names}
    load_seconds = (time.perf_counter() - t0) / len(names)
    settings = [(model, res) for model in models.values() for res in SPEED_RESOLUTIONS]
    default = models.get(DEFAULT_VARIANT)
    runtime = default.runtime if default else next(iter(models.values())).runtime
    if default:  # the same variant on the other runtime, for the TF vs TFLite rows
        try:
            other = load_model(DEFAULT_VARIANT, runtime="tf" if default.runtime == "tflite" else "tflite")
            settings.insert(SPEED_RESOLUTIONS.index(TARGET_RESOLUTION) + 1, (other, TARGET_RESOLUTION))
        except ModelError as exc:
            print(f"no runtime comparison: {exc}", file=sys.stderr)

    print(f"speed: {len(settings)} settings ...", file=sys.stderr)
    t0 = time.perf_counter()
    speed = bench_speed(settings, make_frame(), rounds, per_round)
    speed_seconds = time.perf_counter() - t0

    samples = load_pennfudan(step)
    print(f"IoU: {len(samples)} Penn-Fudan images ...", file=sys.stderr)
    t0 = time.perf_counter()
    full_parse = any(mask_needs_poses(model, samples) for model in models.values())
    mask_way = (
        "full `parse` (the mask depends on the poses)" if full_parse
        else "`parse(..., max_people=0)`, checked equal to the full parse on sample images"
    )
    print(f"  masks from {mask_way}", file=sys.stderr)
    iou = [r for name, model in models.items() for r in bench_iou(model, name, samples, full_parse)]
    iou_seconds = time.perf_counter() - t0
    total = time.perf_counter() - started

    command = shlex.join(["python", *sys.argv]) if argv is None else shlex.join(["python", "bench/model.py", *argv])
    section = "\n\n".join(
        [
            f"## Model benchmark, {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}",
            f"Machine: nproc {len(os.sched_getaffinity(0))}, {cpu_model()}, Python {platform.python_version()}, "
            f"TensorFlow {tf_version()}. Command: `{command}`. Runtime: {runtime} "
            f"(`GUIDE_RUNTIME` {os.environ.get('GUIDE_RUNTIME', 'unset')}); "
            f"loading took {load_seconds:.1f} s per variant (TFLite conversion included).",
            speed_table(speed, rounds * per_round),
            iou_table(iou, len(samples)) + f"\n\nMasks from {mask_way}; seconds = predict + masks.",
            targets_text(speed, iou, runtime),
            f"Run time: {total:.0f} s in all (speed {speed_seconds:.0f} s, Penn-Fudan IoU {iou_seconds:.0f} s).",
        ]
    )
    print(section)
    if not args.no_append:
        append_report(section)
        print(f"\nappended to {BENCHMARKS_FILE}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
