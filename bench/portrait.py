"""Benchmark portrait mode: speed, halo, matte IoU, colour truth, clean edges, backlight; before/after in one run.

1. Speed: `render_portrait(image, parse, settings=STILL)` (model not timed) on
   tfjs_pose.jpg resized to 1280x720, 1920x1080 and 4000x3000, median of N
   runs. Goals on 2 cores: 1080p <= 150 ms, 12 MP <= 1.5 s. Also the live
   preview, `preview_blur`, at 640x360 and 960x540.
2. Halo: the PIFu person pasted onto tfjs_cityscapes.jpg (3 places/sizes); in a
   ring 3-30 px outside the exact mask, mean |output - lens blur of the
   background alone| for ours and the naive method (blur everything, then
   composite); ratio = ours / naive (goal <= 0.5).
3. IoU on Penn-Fudan (170 images): raw model mask (p > 0.7) vs matte > 0.5.
4. Colour: a lens moves light around and adds none. Output and input are
   shrunk to 480 px, low-passed (Gaussian, sigma = 3% of the long side: the
   disc's diameter) and compared where the low-pass window cannot reach a
   person (farther than 2 sigma from matte > 0.02 or the mask); mean |shift|
   in levels (0-255) over channels and those pixels, per photo. Photos:
   people/ and cihp/ with a person, every 20th Penn-Fudan image (those with
   >= 1% such pixels). Goal: median photo <= 1, worst <= 4.
5. Edges: `--background` of one uniform colour (magenta). Penn-Fudan: the ring
   4-24 px outside the ground-truth people, leaving out 12 px around people
   the model finds that the ground truth does not label; share of ring pixels
   within 16 levels of the new colour (median photo, mean, worst). Plain light
   background: the PIFu person pasted on a light grey studio-like wall, same ring.
6. Light (`guide.light`): Penn-Fudan and CIHP people darkened 2 EV (linear
   light, through the ground-truth masks), parsed again; share flagged backlit,
   and `relight auto`'s distance to the original (log-average luminance
   through the ground-truth mask); the originals: share flagged, and how far
   `relight auto` moves them. `--only light` runs this part alone.

Usage:  python bench/portrait.py [--runs N] [--before REV] [--no-append]
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import cv2
import numpy as np

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
if not os.environ.get("GUIDE_MODEL_DIR") and (SHARED / "models" / "bodypix").is_dir():
    os.environ["GUIDE_MODEL_DIR"] = str(SHARED / "models" / "bodypix")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

sys.path.insert(0, str(REPO / "tests"))
sys.path.insert(0, str(REPO / "bench"))
from guide import light as L  # noqa: E402
from guide import portrait as P  # noqa: E402
from guide.analyze import parse_still  # noqa: E402
from guide.bokeh import linear_lut, srgb_lut  # noqa: E402
from guide.metrics import mask_iou, pennfudan_samples  # noqa: E402
from guide.model.bodypix import load_model  # noqa: E402
from report import publish  # noqa: E402
from test_portrait import backgrounds, paste, plain_wall  # noqa: E402

SIZES = ((1280, 720), (1920, 1080), (4000, 3000))
NEW_COLOUR = np.array([255, 0, 255], np.uint8)


def _load(name: str, text: str) -> ModuleType:
    path = Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(text)
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod
    spec.loader.exec_module(mod)
    return mod


OWN = ("bokeh", "matte", "light", "portrait")  # the portrait modules; a snapshot folder brings its own of each


def old_module(rev: str) -> ModuleType:
    """guide/portrait.py as it was at `rev` (a git revision, or a folder holding a snapshot of the portrait modules).

    A folder's modules import each other, not today's: `from guide.bokeh` in
    its portrait.py reads its own bokeh.py. Returns its portrait module; its
    light module (if any) is `sys.modules["light_before"]`.
    """
    folder = Path(rev)
    if not folder.is_dir():  # a revision: snapshot its portrait modules, so its light rule is measured too
        folder = Path(tempfile.mkdtemp())
        for name in OWN:
            got = subprocess.run(["git", "-C", str(REPO), "show", f"{rev}:guide/{name}.py"], capture_output=True,
                                 text=True)
            if got.returncode == 0:
                (folder / f"{name}.py").write_text(got.stdout)
        if not (folder / "portrait.py").is_file():
            raise SystemExit(f"no guide/portrait.py at {rev}")
    mods: dict[str, ModuleType] = {}
    for name in OWN:
        if not (folder / f"{name}.py").is_file():
            continue
        text = (folder / f"{name}.py").read_text()
        for other in OWN:
            text = text.replace(f"from guide.{other} import", f"from {other}_before import")
            text = text.replace(f"from guide import {other}\n", f"import {other}_before as {other}\n")
        mods[name] = _load(f"{name}_before", text)
    return mods["portrait"]


def focus_of(mod: Any, body: Any) -> Any:
    return mod.focus_plane(body) if hasattr(mod, "focus_plane") else mod.focus_line(body)


def body_of(model: Any, image: np.ndarray) -> Any:
    return parse_still(model, image, keep_probability=True)[0]


def speed(impls: dict[str, Any], model: Any, runs: int) -> list[str]:
    src = cv2.imread(str(SHARED / "data" / "people" / "tfjs_pose.jpg"))
    lines = [f"Render time (model excluded), STILL settings, median of {runs} runs, ms", "",
             "| size | code | matte ms | blur ms | render_portrait ms | goal |", "|---|---|---:|---:|---:|---|"]
    goals = {(1920, 1080): 150.0, (4000, 3000): 1500.0}
    for w, h in SIZES:
        img = cv2.resize(src, (w, h), interpolation=cv2.INTER_CUBIC)
        body = body_of(model, img)
        times: dict[str, tuple[list[float], list[float], list[float]]] = {k: ([], [], []) for k in impls}
        for _ in range(runs):  # alternate the implementations: the machine's noise hits both alike
            for name, mod in impls.items():
                t0 = time.perf_counter()
                m = mod.matte_for(img, body, mod.STILL)
                t1 = time.perf_counter()
                mod.lens_blur(img, m.low, mod.DEFAULT_STRENGTH, focus_of(mod, body), mod.STILL)
                t2 = time.perf_counter()
                mod.render_portrait(img, body, settings=mod.STILL)
                t3 = time.perf_counter()
                tm, tb, tt = times[name]
                tm.append(t1 - t0), tb.append(t2 - t1), tt.append(t3 - t2)
        for name, (tm, tb, tt) in times.items():
            total = statistics.median(tt) * 1000
            goal = goals.get((w, h))
            verdict = "-" if goal is None else f"<= {goal:.0f} ms: {'met' if total <= goal else 'NOT met'}"
            lines.append(f"| {w}x{h} | {name} | {statistics.median(tm) * 1000:.0f} | {statistics.median(tb) * 1000:.0f} "
                         f"| {total:.0f} | {verdict} |")
    lines += ["", "Live preview `preview_blur(frame, probability)` (now), median of %d runs:" % (runs * 2), ""]
    for w, h in ((640, 360), (960, 540)):
        img = cv2.resize(src, (w, h), interpolation=cv2.INTER_AREA)
        prob = body_of(model, img).probability
        ts = []
        for _ in range(runs * 2):
            t0 = time.perf_counter()
            P.preview_blur(img, prob)
            ts.append(time.perf_counter() - t0)
        lines.append(f"- {w}x{h}: {statistics.median(ts) * 1000:.1f} ms per frame")
    return lines


def halo(impls: dict[str, Any], model: Any) -> list[str]:
    from PIL import Image

    rgb = np.asarray(Image.open(SHARED / "data" / "pifu" / "ryota.png").convert("RGB"))
    mask = np.asarray(Image.open(SHARED / "data" / "pifu" / "ryota_mask.png")) > 0
    ys, xs = np.nonzero(mask)
    box = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    person = (cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)[box], mask[box])
    lines = ["", "Halo, ring 3-30 px outside the pasted person (mean abs error vs blur of the background alone, 0-255)", "",
             "| case | code | ours | naive | ratio |", "|---|---|---:|---:|---:|"]
    ratios: dict[str, list[float]] = {k: [] for k in impls}
    for bg, x, y, ph in backgrounds():
        photo, truth = paste(bg, person, x, y, ph)
        body = body_of(model, photo)
        own = cv2.dilate(body_of(model, bg).mask.astype(np.uint8), np.ones((31, 31), np.uint8)) > 0
        dist = cv2.distanceTransform((~truth).astype(np.uint8), cv2.DIST_L2, 5)
        ring = (dist >= 3) & (dist <= 30) & ~own
        for name, mod in impls.items():
            out, alpha = mod.render_with_matte(photo, body, settings=mod.STILL)
            focus = focus_of(mod, body)
            ref = mod.lens_blur(bg, None, mod.DEFAULT_STRENGTH, focus, mod.STILL).astype(np.float32)
            naive = mod.composite(photo, mod.lens_blur(photo, None, mod.DEFAULT_STRENGTH, focus, mod.STILL),
                                  mod.full_matte(alpha))
            e_ours = float(np.mean(np.abs(out.astype(np.float32) - ref)[ring]))
            e_naive = float(np.mean(np.abs(naive.astype(np.float32) - ref)[ring]))
            ratios[name].append(e_ours / e_naive)
            lines.append(f"| {bg.shape[1]}x{bg.shape[0]} at ({x},{y}), {ph} px tall | {name} | {e_ours:.2f} "
                         f"| {e_naive:.2f} | {e_ours / e_naive:.3f} |")
    for name, r in ratios.items():
        lines.append(f"| mean | {name} | | | {np.mean(r):.3f} (goal <= 0.5) |")
    return lines


def lowpass_shift(before: np.ndarray, after: np.ndarray, people: np.ndarray) -> float | None:
    """Mean |low-pass(after) - low-pass(before)| (levels) where the low-pass cannot reach a person; None: no such area."""
    h, w = before.shape[:2]
    s = 480 / max(h, w)
    size = (max(1, round(w * s)), max(1, round(h * s)))
    a = cv2.resize(before, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    b = cv2.resize(after, size, interpolation=cv2.INTER_AREA).astype(np.float32)
    m = cv2.resize(people.astype(np.uint8), size, interpolation=cv2.INTER_NEAREST)
    sigma = 0.03 * 480
    far = cv2.distanceTransform(1 - m, cv2.DIST_L2, 5) > 2 * sigma
    if far.mean() < 0.01:
        return None
    return float(np.abs(cv2.GaussianBlur(a, (0, 0), sigma) - cv2.GaussianBlur(b, (0, 0), sigma))[far].mean())


def colour(impls: dict[str, Any], model: Any, pf: list[Any]) -> list[str]:
    paths = sorted((SHARED / "data" / "people").glob("*.jpg")) + sorted((SHARED / "data" / "cihp" / "images").glob("*.jpg"))
    paths += [s.image_path for s in pf[::20]]
    shifts: dict[str, list[tuple[float, str]]] = {k: [] for k in impls}
    for path in paths:
        img = cv2.imread(str(path))
        body = body_of(model, img)
        if not P.has_person(body):
            continue
        for name, mod in impls.items():
            out, alpha = mod.render_with_matte(img, body, settings=mod.STILL)
            shift = lowpass_shift(img, out, (alpha > 0.02) | body.mask)
            if shift is not None:
                shifts[name].append((shift, path.stem))
    lines = ["", "Colour: far-from-people low-pass shift, levels (0-255)", "",
             "| code | photos | median photo | worst photo | goal |", "|---|---:|---:|---:|---|"]
    for name, v in shifts.items():
        arr = np.array([x for x, _ in v])
        worst = max(v)
        ok = np.median(arr) <= 1 and arr.max() <= 4
        lines.append(f"| {name} | {len(arr)} | {np.median(arr):.2f} | {arr.max():.2f} ({worst[1]}) "
                     f"| median <= 1, worst <= 4: {'met' if ok else 'NOT met'} |")
    return lines


def ring_share(out: np.ndarray, truth: np.ndarray, leave_out: np.ndarray | None = None) -> float:
    """Share of the pixels 4-24 px outside `truth` that are within 16 levels of NEW_COLOUR."""
    dist = cv2.distanceTransform((~truth).astype(np.uint8), cv2.DIST_L2, 5)
    ring = (dist >= 4) & (dist <= 24)
    if leave_out is not None:
        ring &= ~leave_out
    return float((np.abs(out.astype(int) - NEW_COLOUR.astype(int)).max(axis=2)[ring] <= 16).mean())


def unlabelled_people(body: Any, truth: np.ndarray) -> np.ndarray:
    """Pixels within 12 px of people the model finds that the ground truth does not label."""
    other = np.zeros_like(truth)
    for i in range(len(body.people)):
        m = body.person_mask(i)
        if m.any() and (m & truth).sum() < 0.5 * m.sum():
            other |= m
    return cv2.dilate(other.astype(np.uint8), np.ones((25, 25), np.uint8)) > 0


def edges(impls: dict[str, Any], model: Any, pf: list[Any]) -> list[str]:
    from PIL import Image

    new = np.full((4, 4, 3), NEW_COLOUR, np.uint8)
    shares: dict[str, list[float]] = {k: [] for k in impls}
    for s in pf:
        img = cv2.imread(str(s.image_path))
        body = body_of(model, img)
        leave = unlabelled_people(body, s.person_mask)
        for name, mod in impls.items():
            out = mod.render_with_matte(img, body, background=new, settings=mod.STILL)[0]
            shares[name].append(ring_share(out, s.person_mask, leave))
    rgb = np.asarray(Image.open(SHARED / "data" / "pifu" / "ryota.png").convert("RGB"))
    mask = np.asarray(Image.open(SHARED / "data" / "pifu" / "ryota_mask.png")) > 0
    ys, xs = np.nonzero(mask)
    box = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    person = (cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)[box], mask[box])
    plain: dict[str, list[float]] = {k: [] for k in impls}
    for x, y, ph in ((200, 100, 600), (420, 250, 450)):
        photo, truth = paste(plain_wall(850, 850), person, x, y, ph)
        body = body_of(model, photo)
        for name, mod in impls.items():
            plain[name].append(ring_share(mod.render_with_matte(photo, body, background=new, settings=mod.STILL)[0], truth))
    lines = ["", "Edges: --background of one colour; share of pixels 4-24 px outside the true people that show the new colour", "",
             "| code | Penn-Fudan median photo | mean | worst | plain light wall (PIFu pasted, 2 cases) |",
             "|---|---:|---:|---:|---:|"]
    for name in impls:
        a = np.array(shares[name])
        lines.append(f"| {name} | {np.median(a):.3f} | {a.mean():.3f} | {a.min():.3f} | "
                     f"{' / '.join(f'{v:.3f}' for v in plain[name])} |")
    return lines


def darken(image: np.ndarray, mask: np.ndarray, ev: float = 2.0) -> np.ndarray:
    """The people in `mask` made `ev` stops darker in linear light (edges softened by 1 px)."""
    a = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 1.0)[:, :, None]
    lin = cv2.LUT(image, linear_lut()).astype(np.float32) / 65535.0
    lin *= 1.0 - a + a * 2.0 ** -ev
    return srgb_lut()[np.clip(lin * 4095.0 + 0.5, 0, 4095).astype(np.int32)]


def key_ev(image: np.ndarray, mask: np.ndarray) -> float:
    lum = cv2.LUT(image, linear_lut()).astype(np.float32) / 65535.0 @ np.float32([0.0722, 0.7152, 0.2126])
    return float(np.log2(np.maximum(lum, 1e-4))[mask].mean())


def light_cases(pf: list[Any]) -> list[tuple[str, np.ndarray, np.ndarray]]:
    """(name, photo, true people mask): every Penn-Fudan and CIHP photo, and the PIFu person pasted on 3 streets."""
    from PIL import Image

    cases = [(s.image_path.stem, cv2.imread(str(s.image_path)), s.person_mask) for s in pf]
    for p in sorted((SHARED / "data" / "cihp" / "images").glob("*.jpg")):
        lab = cv2.imread(str(SHARED / "data" / "cihp" / "labels" / f"{p.stem}.png"), cv2.IMREAD_GRAYSCALE)
        cases.append((p.stem, cv2.imread(str(p)), lab > 0))
    rgb = np.asarray(Image.open(SHARED / "data" / "pifu" / "ryota.png").convert("RGB"))
    mask = np.asarray(Image.open(SHARED / "data" / "pifu" / "ryota_mask.png")) > 0
    ys, xs = np.nonzero(mask)
    box = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    person = (cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)[box], mask[box])
    for i, (bg, x, y, ph) in enumerate(backgrounds()):
        photo, truth = paste(bg, person, x, y, ph)
        cases.append((f"pifu_{i}", photo, truth))
    return cases


def light_module(mod: Any) -> Any:
    """The light module a portrait implementation uses (a snapshot's own, or today's)."""
    return sys.modules.get("light_before", L) if mod.__name__ == "portrait_before" else L


def light(impls: dict[str, Any], model: Any, pf: list[Any]) -> list[str]:
    impls = {k: m for k, m in impls.items() if m is P or "light_before" in sys.modules}
    cases = light_cases(pf)
    got: dict[str, dict[str, list[float]]] = {k: {"fd": [], "fo": [], "err": [], "move": [], "fp": []} for k in impls}
    for _, img, truth in cases:
        dark = darken(img, truth)
        for src, is_dark in ((img, False), (dark, True)):
            body = body_of(model, src)
            if body.subject is None:
                continue
            for name, mod in impls.items():
                lt = light_module(mod).measure_light(src, body)
                backlit = lt is not None and lt.backlit
                out = mod.render_with_matte(src, body, settings=mod.STILL, relight="auto")[0] if backlit else src
                g = got[name]
                (g["fd"] if is_dark else g["fo"]).append(backlit)
                if is_dark:
                    g["err"].append(abs(key_ev(out, truth) - key_ev(img, truth)))
                else:
                    g["move"].append(abs(key_ev(out, truth) - key_ev(src, truth)))
    others = sorted((SHARED / "data" / "people").glob("*.jpg"))  # no true masks: false alarms only
    for path in others:
        img = cv2.imread(str(path))
        body = body_of(model, img)
        if body.subject is not None:
            for name, mod in impls.items():
                lt = light_module(mod).measure_light(img, body)
                got[name]["fp"].append(lt is not None and lt.backlit)
    n_pf, n_cihp = len(pf), len(cases) - len(pf) - 3
    lines = ["", f"Light: {len(cases)} photos with true people masks ({n_pf} Penn-Fudan, {n_cihp} CIHP, the PIFu person "
             "pasted on 3 street scenes), every true person darkened 2 EV (linear light) and parsed again; EV through "
             "the true mask. The rule's constants were fitted on the Penn-Fudan + CIHP photos (in-sample here; "
             "5-fold cross-validated: see the note below the table). people/: the shared photos with a subject, "
             "no true masks, false alarms only.", "",
             "| code | darkened flagged (>= 0.9) | darkened, relight auto: EV from the original, median (share within 0.5) "
             "| originals flagged (<= 0.1) | originals, relight auto: EV moved, median / mean (share < 0.15) "
             "| people/ flagged |", "|---|---:|---:|---:|---:|---:|"]
    for name, g in got.items():
        e, m = np.array(g["err"]), np.array(g["move"])
        lines.append(f"| {name} | {np.mean(g['fd']):.3f} | {np.median(e):.2f} ({np.mean(e < 0.5):.3f}) "
                     f"| {np.mean(g['fo']):.3f} | {np.median(m):.3f} / {m.mean():.3f} ({np.mean(m < 0.15):.3f}) "
                     f"| {int(np.sum(g['fp']))}/{len(g['fp'])} |")
    lines += ["", "Note (guide/light.py's rule, chosen offline on the 174 Penn-Fudan + CIHP pairs with a subject; "
              "5-fold cross-validation, 10 seeds, threshold and target refitted on each training split): the exposure "
              "is the mean of the skin log-average and the body's 98th percentile (EV below white), backlit under "
              "its 8% quantile over well-lit people; held out 0.80 of darkened people flagged at 0.09 false alarms "
              "(the 95th percentile instead, until 2026-11-23: 0.68). The lift aims at the peak (99.5th percentile "
              "2% of the height inside the outline), whose spread over well-lit people is 0.16 EV (MAD) against "
              "0.41 for the exposure: held out, 0.54 of darkened people land within 0.5 EV (aimed at the exposure: "
              "0.37; at the 99th percentile 1% inside, until 2026-11-23: 0.51, and with the outline 3 px too wide "
              "0.27 against 0.34 now). Relative readings spread more: well-lit people's exposure minus the "
              "background ring around them 0.68 EV (MAD), minus the frame 0.54, against 0.56 absolute; subject and "
              "ring are uncorrelated (r = 0.01). Ceiling: highlights clipped in the original sit exactly 2 EV below "
              "white once darkened, and the model's outline lets undarkened background into the subject.",
              "", "Why not flag from the peak (re-measured 2026-11-23, same pairs and protocol, false alarms 0.08-0.10 "
              "held out): the peak alone flags 0.79 of darkened people (the exposure 0.80); relative to the scene's "
              "own brightest part (the frame's 99th percentile) 0.75, to the background's 0.75, to the ring's 0.74; "
              "blends, an AND or a logistic rule of peak and exposure (or skin and 98th percentile) 0.81-0.82, 2-3 "
              "pairs more of 174, within the split noise. The peak is tight over well-lit people (MAD 0.16-0.22 EV), but "
              "in 39 of the 174 darkened photos most of the subject's brightest 1% lie outside the true mask (an "
              "unlabelled person merged into the subject, or an outline leak), so it drops less than 1 EV in a fifth "
              "of them; on the other 135 the peak flags 0.96 and the exposure 0.95. On a bright backdrop a live "
              "parse's outline lets the backdrop into the peak (tests/test_light_cli.py: 3 EV darker, the peak fell "
              "0.2-0.3 EV), and every rule weighing the peak at 20% or more misses that live backlit test, which the "
              "exposure passes by 0.09 EV. Read deeper, the 99.5th percentile 3% of the height inside (that live "
              "outline strays up to 10 px, 2.6% of the height), a quarter skin and three quarters peak flags 0.81 "
              "held out, 0.72 with the outline 3 px too wide (the exposure 0.48 at its threshold), 0.83 / 0.79 of "
              "58 lone Penn-Fudan pedestrians 2 EV darker in live clips at 0.8 / 0.5 of the frame height (the "
              "exposure 0.60 / 0.62), people/ 1/23, the live test by 1.5 EV; but its false alarms look darkened "
              "all over and are lifted ~2 EV, so well-lit people move 0.17 EV on average held out (the exposure: "
              "0.15, the goal < 0.15); a 7% quantile still moves them 0.16 and costs 0.04 of detection: left for a "
              "decision. "
              "The aim: relight lifts the matte right (the lift needed is 1.8-2.2 EV in "
              "90% of pairs); the misses are the reading's lower tail over well-lit people (a quarter of them have "
              "their 99th percentile over 0.58 EV below the median: dark clothes, no highlight), so of 140 flagged "
              "38 are lifted over 0.5 EV too far and 12 too little; aiming at a blend of peak and exposure, or at "
              "the densest 1 EV of well-lit people, lands 0.51-0.54 within 0.5 EV, no better than the peak's median."]
    return lines


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--before", help="also run guide/portrait.py of this git revision (or a folder holding a snapshot "
                    "of bokeh.py, matte.py, light.py, portrait.py), for before/after")
    ap.add_argument("--only", help="comma-separated sections to run (speed, halo, iou, colour, edges, light)")
    ap.add_argument("--no-append", action="store_true")
    args = ap.parse_args()
    started = time.perf_counter()
    model = load_model()
    impls: dict[str, Any] = {}
    if args.before:
        impls[f"before ({args.before})"] = old_module(args.before)
    impls["now"] = P
    pf = pennfudan_samples(SHARED / "data" / "pennfudan")
    import tensorflow as tf

    lines = [f"## Portrait benchmark, {time.strftime('%Y-%m-%d %H:%M')}", "",
             f"Machine: nproc {os.cpu_count()}, {platform.processor() or platform.machine()}, Python "
             f"{platform.python_version()}, TensorFlow {tf.__version__}, OpenCV {cv2.__version__}. Command: "
             f"`python bench/portrait.py{f' --before {args.before}' if args.before else ''}"
             f"{f' --only {args.only}' if args.only else ''}`", ""]
    only = set(args.only.split(",")) if args.only else {"speed", "halo", "iou", "colour", "edges", "light"}
    if "speed" in only:
        lines += speed(impls, model, args.runs)
    if "halo" in only:
        lines += halo(impls, model)
    if "iou" in only:
        raw, ref = [], []
        for s in pf:
            img = cv2.imread(str(s.image_path))
            body = body_of(model, img)
            raw.append(mask_iou(body.mask, s.person_mask))
            ref.append([mask_iou(mod.matte_for(img, body, mod.STILL).alpha > 0.5, s.person_mask) for mod in impls.values()])
        refined = np.array(ref).mean(axis=0)
        lines += ["", f"Penn-Fudan person-mask IoU, mean over {len(pf)} images: raw mask (p > 0.7) {np.mean(raw):.3f}; "
                  "refined matte (alpha > 0.5): " + ", ".join(f"{n} {v:.3f}" for n, v in zip(impls, refined))]
    if "colour" in only:
        lines += colour(impls, model, pf)
    if "edges" in only:
        lines += edges(impls, model, pf)
    if "light" in only:
        lines += light(impls, model, pf)
    publish(lines, not args.no_append, started)


if __name__ == "__main__":
    main()
