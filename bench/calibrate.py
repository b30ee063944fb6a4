"""Benchmark `guide calibrate`: reference photos per second.

Two sets of photos:
  - 12 MP JPEGs: every photo of ../shared/data/people upscaled to about 12
    megapixels (aspect kept) and saved at quality 92, as a phone would;
  - the shared folder itself (25 photos, 0.07-4 MP).
Each set goes through `calibration.analyze_references`, the exact loop the
command runs (decode at reduced size in a worker thread, overlapped with
inference, then the usable-photo rules). We also time the decode alone and the
analysis alone per photo, to show where the time goes. Target from the issue:
8 photos/s or better on these 2 cores.

Usage:  python bench/calibrate.py [--rounds N] [--no-append]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path

import cv2

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
os.environ.setdefault("GUIDE_MODEL_DIR", str(SHARED / "models" / "bodypix"))
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))
from report import publish  # noqa: E402

from guide import calibration as cal  # noqa: E402
from guide.analyze import analyze_photo  # noqa: E402
from guide.images import read_photo  # noqa: E402
from guide.model.bodypix import load_model  # noqa: E402

TARGET = 8.0


def make_12mp(src: list[Path], folder: Path) -> list[Path]:
    out = []
    for path in src:
        image = cv2.imread(str(path))
        h, w = image.shape[:2]
        f = (12e6 / (h * w)) ** 0.5
        big = cv2.resize(image, (round(w * f), round(h * f)), interpolation=cv2.INTER_CUBIC)
        target = folder / f"{path.stem}_12mp.jpg"
        cv2.imwrite(str(target), big, [cv2.IMWRITE_JPEG_QUALITY, 92])
        out.append(target)
    return out


def run_set(model, files: list[Path], root: Path, rounds: int) -> dict[str, float]:  # type: ignore[no-untyped-def]
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        accepted = sum(v.accepted for v, _ in cal.analyze_references(model, files, root))
        rates.append(len(files) / (time.perf_counter() - start))
    decode, analyze = [], []
    for path in files:
        t0 = time.perf_counter()
        photo = read_photo(path, max_pixels=cal.CALIBRATION_MAX_PIXELS)
        t1 = time.perf_counter()
        analyze_photo(model, photo, outline=False)  # as calibrate analyses a reference
        t2 = time.perf_counter()
        decode.append((t1 - t0) * 1000)
        analyze.append((t2 - t1) * 1000)
    return {
        "photos": len(files),
        "accepted": accepted,
        "rate": statistics.median(rates),
        "decode_ms": statistics.median(decode),
        "analyze_ms": statistics.median(analyze),
        "serial_rate": 1000 * len(files) / (sum(decode) + sum(analyze)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--no-append", action="store_true")
    args = parser.parse_args()

    model = load_model()
    people = sorted(p for p in (SHARED / "data" / "people").iterdir() if p.suffix.lower() in (".jpg", ".png"))
    with tempfile.TemporaryDirectory() as tmp:
        big = make_12mp(people, Path(tmp))
        list(cal.analyze_references(model, people[:3], people[0].parent))  # warm-up
        results = {
            "12 MP JPEGs": run_set(model, big, Path(tmp), args.rounds),
            "shared people/ folder": run_set(model, people, people[0].parent, args.rounds),
        }
    lines = [
        f"## Calibrate benchmark, {dt.datetime.now().strftime('%Y-%m-%d %H:%M')}",
        "",
        f"Machine: nproc {os.cpu_count()}, {platform.processor() or platform.machine()}, Python {platform.python_version()}. "
        f"Command: `python bench/calibrate.py --rounds {args.rounds}`. Median of {args.rounds} rounds over each set.",
        "",
        "| photo set | photos | accepted | photos/s (pipelined) | photos/s (serial) | decode ms | analyze ms |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for name, r in results.items():
        lines.append(
            f"| {name} | {r['photos']} | {r['accepted']} | {r['rate']:.1f} | {r['serial_rate']:.1f} | "
            f"{r['decode_ms']:.0f} | {r['analyze_ms']:.0f} |"
        )
    rate = results["12 MP JPEGs"]["rate"]
    lines += ["", f"Target: 8 photos/s or better on 12 MP JPEGs: {rate:.1f} photos/s, {'met' if rate >= TARGET else 'NOT met'}.", ""]
    publish(lines, append=not args.no_append)


if __name__ == "__main__":
    main()
