"""Benchmark the live loop on real video: processed fps, latency, time per stage.

Each clip of ../shared/data/video/ (and a 640x480 version of the dance clip,
the size of a common webcam) goes through the loop's own pieces, frame by
frame: `live.Analyzer` (inference at the live resolution, parse, measurements,
smoothing, guidance) and the overlay drawing. Reported per clip: processed
frames per second (all stages, one frame after another), median and p95
frame-to-overlay latency (from having the frame to having the overlaid image),
and the median of each stage. Goals (issue 5): 640x480 at 30 fps or better
(aim for 60), median latency under 40 ms, on these 2 cores.

Usage:  python bench/live.py [--max-frames N] [--no-append]
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
os.environ.setdefault("GUIDE_MODEL_DIR", str(SHARED / "models" / "bodypix"))
sys.path.insert(0, str(REPO))

from guide.live import Analyzer, LiveOptions  # noqa: E402
from guide.model.bodypix import load_model  # noqa: E402
from guide.overlay import MaskTint, draw_guidance  # noqa: E402
from guide.sources import Frame  # noqa: E402


def clips(max_frames: int) -> dict[str, list[np.ndarray]]:
    out: dict[str, list[np.ndarray]] = {}
    for path in sorted((SHARED / "data" / "video").iterdir()):
        cap = cv2.VideoCapture(str(path))
        frames = []
        while len(frames) < max_frames:
            ok, f = cap.read()
            if not ok:
                break
            frames.append(f)
        out[f"{path.name} {frames[0].shape[1]}x{frames[0].shape[0]}"] = frames
    dance = next(v for k, v in out.items() if k.startswith("tfjs_pose_dance"))
    out["dance 640x480"] = [cv2.resize(f[48:528], (640, 480)) for f in dance]  # centre 4:3 band, scaled
    return out


def run(model, frames: list[np.ndarray]) -> dict[str, float]:  # type: ignore[no-untyped-def]
    analyzer = Analyzer(model, None, LiveOptions())
    tint = MaskTint()
    latencies, stages = [], {"predict": [], "parse": [], "measure": [], "guidance": [], "draw": []}
    for i, image in enumerate(frames[:3]):  # warm-up
        analyzer(Frame(image, i, i / 30))
    start = time.perf_counter()
    for i, image in enumerate(frames):
        t0 = time.perf_counter()
        analysis = analyzer(Frame(image, i, i / 30))
        t1 = time.perf_counter()
        tint.update(analysis.parse.mask, image.shape[:2])
        draw_guidance(tint.annotate(image), analysis.guidance, 30.0)
        t2 = time.perf_counter()
        latencies.append((t2 - t0) * 1000)
        for k, v in analyzer.timings.items():
            stages[k].append(v)
        stages["draw"].append((t2 - t1) * 1000)
    elapsed = time.perf_counter() - start
    result = {"frames": len(frames), "fps": len(frames) / elapsed, "median": statistics.median(latencies),
              "p95": float(np.percentile(latencies, 95))}
    result.update({k: statistics.median(v) for k, v in stages.items()})
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-frames", type=int, default=120)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()
    model = load_model(runtime=os.environ.get("GUIDE_RUNTIME") or "auto")  # as `guide live` loads it
    results = {name: run(model, frames) for name, frames in clips(args.max_frames).items()}
    lines = [
        f"## Live benchmark, {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Machine: nproc {os.cpu_count()}, {platform.machine()}, Python {platform.python_version()}, "
        f"model {model.name} ({model.runtime}) at internal resolution 0.5. Command: `python bench/live.py --max-frames {args.max_frames}`.",
        "",
        "| clip | frames | processed fps | latency median ms | latency p95 ms | predict | parse | measure | guidance | draw |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['frames']} | {r['fps']:.1f} | {r['median']:.1f} | {r['p95']:.1f} | {r['predict']:.1f} | "
            f"{r['parse']:.1f} | {r['measure']:.1f} | {r['guidance']:.2f} | {r['draw']:.1f} |"
        )
    r = results["dance 640x480"]
    lines += ["", f"Goals at 640x480: >= 30 fps processed: {r['fps']:.1f} ({'met' if r['fps'] >= 30 else 'NOT met'}); "
              f"median latency < 40 ms: {r['median']:.1f} ms ({'met' if r['median'] < 40 else 'NOT met'}).", ""]
    text = "\n".join(lines)
    print(text)
    if not args.no_append:
        with (REPO / "BENCHMARKS.md").open("a") as fh:
            fh.write("\n" + text + "\n")


if __name__ == "__main__":
    main()
