"""Benchmark the live loop on real video: processed fps, latency, time per stage, at camera sizes.

Clips from ../shared/data/video/, decoded before timing (a camera's reader
thread decodes beside the loop): the busy street clip at 640x480 (its centre
4:3 band), 1280x720 (as shot) and 1920x1080 (scaled up, as a 1080p webcam
delivers it), the dance clip at 640x480, and the squats clip as shot
(720x1280, a phone held upright). Each frame goes through the loop's own
pieces: `guide.live.Analyzer` (tracking, model passes, parse, measurements,
smoothing, guidance), then the overlay `View` (what the window and `--record`
show). Reported per clip: processed fps as `guide live --no-window` runs it
(analysis only: nothing is drawn without a window or recording), fps with the
overlay drawn, median and p95 latency from frame to overlay, the median of
each stage, and the mean number of model passes per frame.

`--before REV` runs the same clips through the code of git revision REV as
well (a temporary worktree), alternating clip by clip in one run, so the two
are compared on the same machine at the same time. Each implementation runs
in its own process.

`--rounds N` repeats every (clip, code) pair N times, alternating, and reports
the round with the median processed fps: this machine is shared and noisy, and
one round can be 20% off either way.

Usage:  python bench/live.py [--max-frames N] [--rounds N] [--before REV] [--group] [--preview] [--no-append]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GUIDE_SHARED_DIR") or REPO.parent / "shared")  # as bench/closed_loop.py
VIDEO = SHARED / "data" / "video"
sys.path.insert(0, str(REPO / "bench"))
from report import checkouts, publish  # noqa: E402

CLIPS = ("street 640x480", "street 1280x720", "street 1920x1080", "dance 640x480", "squats 720x1280")
GROUP_CLIPS = ("street 1280x720 group", "street 1920x1080 group")  # `--group`: `guide live --group` on the street
# `--preview`: the window's portrait preview (key B) drawn on every frame; compare "fps drawn" with the plain rows.
PREVIEW_CLIPS = ("dance 640x480 preview", "street 1280x720 preview", "street 1920x1080 preview")


def load_clip(name: str, max_frames: int):  # type: ignore[no-untyped-def]
    import cv2

    kind, size = name.split()[:2]
    w, h = (int(v) for v in size.split("x"))
    files = {"street": "openpose_street_walk.avi", "dance": "tfjs_pose_dance.mp4", "squats": "tfjs_pose_squats.mp4"}
    path = files[kind]
    cap = cv2.VideoCapture(str(VIDEO / path))
    frames = []
    while len(frames) < max_frames:
        ok, f = cap.read()
        if not ok:
            break
        fh, fw = f.shape[:2]
        if fw / fh > w / h + 0.01:  # wider than wanted: the centre band
            cw = round(fh * w / h)
            f = f[:, (fw - cw) // 2 : (fw - cw) // 2 + cw]
        elif fw / fh < w / h - 0.01:
            ch = round(fw * h / w)
            f = f[(fh - ch) // 2 : (fh - ch) // 2 + ch]
        if f.shape[:2] != (h, w):
            f = cv2.resize(f, (w, h), interpolation=cv2.INTER_AREA if f.shape[0] > h else cv2.INTER_CUBIC)
        frames.append(f)
    return frames


def worker(clip: str, max_frames: int) -> dict[str, float]:
    """Run one clip through the `guide` found on sys.path (this checkout or the --before worktree)."""
    import numpy as np

    os.environ.setdefault("GUIDE_MODEL_DIR", str(SHARED / "models" / "bodypix"))
    import guide.live as live
    from guide.model.bodypix import load_model
    from guide.sources import Frame

    model = load_model(runtime=os.environ.get("GUIDE_RUNTIME") or "auto")  # as `guide live` loads it
    frames = load_clip(clip, max_frames)
    options = live.LiveOptions(group=True) if clip.endswith(" group") else live.LiveOptions()
    analyzer = live.Analyzer(model, None, options)
    try:  # the view moved to guide.sinks; earlier code kept it in guide.live, or had none
        from guide.sinks import View
    except ImportError:
        View = getattr(live, "View", None)  # noqa: N806
    if View is not None:
        view = View(show_portrait=True) if clip.endswith(" preview") else View()

        def draw(image, analysis):  # type: ignore[no-untyped-def]
            view.update(analysis)
            return view.render(image, analysis, 30.0)
    else:  # the loop before subject-centred inference drew on the full frame
        from guide.overlay import MaskTint, draw_guidance

        tint = MaskTint()

        def draw(image, analysis):  # type: ignore[no-untyped-def]
            tint.update(analysis.parse.mask, image.shape[:2])
            return draw_guidance(tint.annotate(image), analysis.guidance, 30.0)

    for i, image in enumerate(frames[:3]):  # warm-up
        analyzer(Frame(image, i, i / 30))
    analyzer = live.Analyzer(model, None, options)  # fresh tracker: the clip from its start
    analyse_ms, draw_ms = [], []
    stages: dict[str, list[float]] = {}
    for i, image in enumerate(frames):
        t0 = time.perf_counter()
        analysis = analyzer(Frame(image, i, i / 30))
        t1 = time.perf_counter()
        draw(image, analysis)
        t2 = time.perf_counter()
        analyse_ms.append((t1 - t0) * 1000)
        draw_ms.append((t2 - t1) * 1000)
        for k, v in analyzer.timings.items():
            stages.setdefault(k, []).append(v)
    latency = [a + d for a, d in zip(analyse_ms, draw_ms)]
    result = {
        "frames": len(frames),
        "fps": 1000 * len(frames) / sum(analyse_ms),
        "fps_drawn": 1000 * len(frames) / sum(latency),
        "analyse": statistics.median(analyse_ms),
        "median": statistics.median(latency),
        "p95": float(np.percentile(latency, 95)),
        "draw": statistics.median(draw_ms),
        "passes": statistics.mean(stages.get("passes", [1.0])),
        "runtime": model.runtime,
        "model": model.name,
    }
    result.update({k: statistics.median(v) for k, v in stages.items() if k != "passes"})
    return result


def run_worker(checkout: Path, clip: str, max_frames: int) -> dict[str, float]:
    env = {**os.environ, "PYTHONPATH": str(checkout), "GUIDE_MODEL_DIR": str(SHARED / "models" / "bodypix")}
    out = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--worker", clip, "--max-frames", str(max_frames)],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        cwd=checkout,
    )
    if out.returncode != 0:
        raise SystemExit(f"worker failed on {clip} ({checkout}):\n{out.stderr[-2000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-frames", type=int, default=120)
    parser.add_argument("--rounds", type=int, default=1, help="alternating repeats; the median round is reported")
    parser.add_argument("--before", help="also run the code of this git revision (e.g. a commit), for before/after")
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--group", action="store_true", help="also time group mode (the current code only)")
    parser.add_argument("--preview", action="store_true", help="also time the portrait preview (current code only)")
    parser.add_argument("--worker", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker, args.max_frames)))
        return

    started = time.perf_counter()
    clips = CLIPS + (GROUP_CLIPS if args.group else ()) + (PREVIEW_CLIPS if args.preview else ())
    with checkouts(args.before) as impls:
        results: dict[str, dict[str, dict[str, float]]] = {name: {} for name in impls}
        for clip in clips:
            rounds: dict[str, list[dict[str, float]]] = {name: [] for name in impls}
            for _ in range(args.rounds):
                for name, checkout in impls.items():
                    if clip.endswith((" group", " preview")) and name != "now":
                        continue  # new modes: nothing to compare with
                    r = run_worker(checkout, clip, args.max_frames)
                    rounds[name].append(r)
                    print(f"{clip:18s} {name:20s} {r['fps']:6.1f} fps, latency {r['median']:.1f} ms", flush=True)
            for name, runs in rounds.items():
                if runs:
                    results[name][clip] = sorted(runs, key=lambda r: r["fps"])[len(runs) // 2]

    now = results["now"]
    any_result = next(iter(now.values()))
    lines = [
        f"## Live benchmark, {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Machine: nproc {os.cpu_count()}, {platform.machine()}, Python {platform.python_version()}, "
        f"model {any_result['model']} ({any_result['runtime']}). Command: `python bench/live.py --max-frames "
        f"{args.max_frames} --rounds {args.rounds}{f' --before {args.before}' if args.before else ''}"
        f"{' --group' if args.group else ''}{' --preview' if args.preview else ''}`. "
        "Median round of the alternating repeats. Frames decoded before timing; "
        "fps = frames / time in the analyzer (what `--no-window` runs); drawn = with the overlay; "
        "latency = analyzer + overlay; "
        "stage columns are medians in ms; passes = model passes per frame.",
        "",
        "| clip | code | processed fps | fps drawn | latency median ms | latency p95 ms "
        "| predict | parse | measure | draw | passes |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for clip in clips:
        for name in impls:
            if clip not in results[name]:
                continue
            r = results[name][clip]
            lines.append(
                f"| {clip} | {name} | {r['fps']:.1f} | {r['fps_drawn']:.1f} | {r['median']:.1f} | {r['p95']:.1f} | "
                f"{r['predict']:.1f} | {r['parse']:.1f} | {r['measure']:.1f} | {r['draw']:.1f} | {r['passes']:.2f} |"
            )
    s480, s720, s1080 = now["street 640x480"], now["street 1280x720"], now["street 1920x1080"]
    d480 = now["dance 640x480"]
    ratio = s480["fps"] / s1080["fps"]

    def verdict(ok: bool) -> str:
        return "met" if ok else "NOT met"

    lines += [
        "",
        "Goals (`--no-window`): "
        f"1280x720 >= 60 fps: {s720['fps']:.1f} ({verdict(s720['fps'] >= 60)}); "
        f"1920x1080 >= 30 fps: {s1080['fps']:.1f} ({verdict(s1080['fps'] >= 30)}); "
        f"cost at 1920x1080 within 1.5x of 640x480 (street): {ratio:.2f}x ({verdict(ratio <= 1.5)}); "
        f"median latency at 1920x1080 <= 33 ms: {s1080['median']:.1f} ({verdict(s1080['median'] <= 33)}); "
        f"640x480 >= 60 fps: street {s480['fps']:.1f}, dance {d480['fps']:.1f} "
        f"({verdict(min(s480['fps'], d480['fps']) >= 60)}).",
    ]
    publish(lines, append=not args.no_append, started=started)


if __name__ == "__main__":
    main()
