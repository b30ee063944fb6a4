"""Scenes made from real photos, for tests and benchmarks: a real person, placed at a chosen size.

Penn-Fudan gives each pedestrian's true mask, so the true head top (first mask
row) and feet (last mask row + 1) are known. `place_person` cuts the person with
some of their own street around them, scales them to a chosen share of a frame
and pastes them on a plain backdrop, feathered so no hard edge runs through the
picture. The truth moves with the scaling, so a size sweep measures the model,
not the scene.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from guide.metrics import pennfudan_samples

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GUIDE_SHARED_DIR", REPO.parent / "shared"))
PENNFUDAN = SHARED / "data" / "pennfudan"


@dataclass
class Cutout:
    """A person from a photo: the photo, their true mask, and its box (x0, y0, x1, y1 edges)."""

    name: str
    image: np.ndarray  # BGR
    mask: np.ndarray  # bool, the person
    box: tuple[int, int, int, int]


@dataclass
class Placed:
    """A frame with one cut-out person in it, and where their true head top and feet are (edges, frame px)."""

    image: np.ndarray
    head_top: float
    feet: float
    centre_x: float
    mask: np.ndarray  # bool, the person's true pixels in the frame

    @property
    def height(self) -> float:
        return self.feet - self.head_top


@lru_cache(maxsize=1)
def lone_pedestrians(min_height: int = 250) -> tuple[Cutout, ...]:
    """Penn-Fudan photos holding exactly one pedestrian, clear of the border and at least `min_height` px tall."""
    out = []
    for sample in pennfudan_samples(PENNFUDAN):
        ids = [i for i in np.unique(sample.instances) if i]
        if len(ids) != 1:
            continue
        mask = sample.instances == ids[0]
        rows, cols = np.flatnonzero(mask.any(axis=1)), np.flatnonzero(mask.any(axis=0))
        box = (int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1)
        h, w = mask.shape
        if box[0] == 0 or box[1] == 0 or box[2] == w or box[3] == h or box[3] - box[1] < min_height:
            continue
        image = cv2.imread(str(sample.image_path))
        out.append(Cutout(sample.image_path.stem, image, mask, box))
    return tuple(out)


def _scaled(person: Cutout, box: tuple[int, int, int, int], scale: float) -> tuple[np.ndarray, np.ndarray]:
    """The photo and the true mask inside `box`, scaled by `scale`."""
    x0, y0, x1, y1 = box
    shrink = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    tile = cv2.resize(person.image[y0:y1, x0:x1], None, fx=scale, fy=scale, interpolation=shrink)
    mask = person.mask[y0:y1, x0:x1].astype(np.uint8)
    return tile, cv2.resize(mask, (tile.shape[1], tile.shape[0]), interpolation=cv2.INTER_NEAREST) > 0


def place_person(
    person: Cutout,
    height_fraction: float,
    frame_size: tuple[int, int] = (640, 480),
    *,
    centre_x: float = 0.5,
    feet_at: float | None = None,
    backdrop: tuple[int, int, int] | None = None,
) -> Placed:
    """`person` scaled to `height_fraction` of the frame height, centred at `centre_x` of its width.

    Their feet stand at `feet_at` of the frame height (default: the person
    centred vertically). Some of their own surroundings come along (a quarter
    of their height above and below, half of it on each side), faded into a
    backdrop of the surroundings' mean colour.
    """
    fw, fh = frame_size
    x0, y0, x1, y1 = person.box
    ph = y1 - y0
    ih, iw = person.mask.shape
    cx0, cy0 = max(0, x0 - ph // 2), max(0, y0 - ph // 4)
    cx1, cy1 = min(iw, x1 + ph // 2), min(ih, y1 + ph // 4)
    scale = height_fraction * fh / ph
    tile, tile_mask = _scaled(person, (cx0, cy0, cx1, cy1), scale)
    colour = backdrop if backdrop is not None else tuple(int(v) for v in tile.reshape(-1, 3).mean(axis=0))
    frame = np.empty((fh, fw, 3), np.uint8)
    frame[:] = colour
    # Where the tile's top-left corner lands (may be outside the frame: the tile is clipped).
    top_in_tile, feet_in_tile = (y0 - cy0) * scale, (y1 - cy0) * scale
    left_in_tile = ((x0 + x1) / 2 - cx0) * scale
    feet_y = (feet_at if feet_at is not None else 0.5 + height_fraction / 2) * fh
    oy = int(round(feet_y - feet_in_tile))
    ox = int(round(centre_x * fw - left_in_tile))
    th, tw = tile.shape[:2]
    fx0, fy0, fx1, fy1 = max(0, ox), max(0, oy), min(fw, ox + tw), min(fh, oy + th)
    if fx1 <= fx0 or fy1 <= fy0:
        raise ValueError("the person would land outside the frame")
    part = tile[fy0 - oy : fy1 - oy, fx0 - ox : fx1 - ox].astype(np.float32)
    # Feather the tile's edges into the backdrop over 8% of its smaller side.
    feather = max(2, int(0.08 * min(th, tw)))
    ramp_y = np.clip(np.minimum(np.arange(th), th - 1 - np.arange(th)) / feather, 0, 1)
    ramp_x = np.clip(np.minimum(np.arange(tw), tw - 1 - np.arange(tw)) / feather, 0, 1)
    alpha = np.minimum.outer(ramp_y, ramp_x)[fy0 - oy : fy1 - oy, fx0 - ox : fx1 - ox, None]
    back = frame[fy0:fy1, fx0:fx1].astype(np.float32)
    frame[fy0:fy1, fx0:fx1] = (back + (part - back) * alpha).round().astype(np.uint8)
    mask = np.zeros((fh, fw), bool)
    mask[fy0:fy1, fx0:fx1] = tile_mask[fy0 - oy : fy1 - oy, fx0 - ox : fx1 - ox]
    return Placed(frame, oy + top_in_tile, oy + feet_in_tile, centre_x * fw, mask)


def paste_person(frame: np.ndarray, person: Cutout, height: float, feet_xy: tuple[float, float]) -> np.ndarray:
    """`frame` with `person` (their true mask only, no surroundings) pasted, `height` px tall,
    the middle of their feet at `feet_xy`."""
    x0, y0, x1, y1 = person.box
    tile, tmask = _scaled(person, person.box, height / (y1 - y0))
    th, tw = tile.shape[:2]
    ox, oy = int(round(feet_xy[0] - tw / 2)), int(round(feet_xy[1] - th))
    fh, fw = frame.shape[:2]
    fx0, fy0, fx1, fy1 = max(0, ox), max(0, oy), min(fw, ox + tw), min(fh, oy + th)
    out = frame.copy()
    if fx1 <= fx0 or fy1 <= fy0:
        return out
    region = out[fy0:fy1, fx0:fx1]
    m = tmask[fy0 - oy : fy1 - oy, fx0 - ox : fx1 - ox]
    region[m] = tile[fy0 - oy : fy1 - oy, fx0 - ox : fx1 - ox][m]
    return out


def write_clip(path: Path, frames: list[np.ndarray], fps: float = 10.0) -> Path:
    """Frames as an MJPG .avi (lossy but sharp, decodes everywhere OpenCV does)."""
    h, w = frames[0].shape[:2]
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, (w, h))
    if not writer.isOpened():
        raise RuntimeError(f"cannot write {path}")
    for f in frames:
        writer.write(f)
    writer.release()
    return path


def empty_street(frame_size: tuple[int, int] = (640, 480)) -> np.ndarray:
    """A real street with nobody in it: the right half of the Cityscapes photo in people/, scaled to fill the frame."""
    photo = cv2.imread(str(SHARED / "data" / "people" / "tfjs_cityscapes.jpg"))
    half = photo[:, photo.shape[1] // 2 :]
    fw, fh = frame_size
    scale = max(fw / half.shape[1], fh / half.shape[0])
    big = cv2.resize(half, (round(half.shape[1] * scale), round(half.shape[0] * scale)), interpolation=cv2.INTER_CUBIC)
    y0, x0 = (big.shape[0] - fh) // 2, (big.shape[1] - fw) // 2
    return np.ascontiguousarray(big[y0 : y0 + fh, x0 : x0 + fw])


def walk(start: float, end: float, frames: int) -> list[float]:
    """Evenly spaced positions from `start` to `end` over `frames` frames."""
    return list(np.linspace(start, end, frames))


def street_clip(
    subject: Cutout,
    subject_xs: list[float | None],
    *,
    passer: Cutout | None = None,
    passer_xs: list[float | None] | None = None,
    frame_size: tuple[int, int] = (640, 480),
    subject_height: float = 0.5,
    passer_height: float = 0.75,
) -> list[np.ndarray]:
    """Frames of a real empty street with the subject at `subject_xs` (frame-width shares; None: not there).

    The passer-by, taller (closer to the camera) and in front of the subject,
    walks along `passer_xs`. Feet: the subject's at 85% of the frame height,
    the passer-by's at 97%.
    """
    fw, fh = frame_size
    street = empty_street(frame_size)
    frames = []
    for i, sx in enumerate(subject_xs):
        frame = street
        if sx is not None:
            frame = paste_person(frame, subject, subject_height * fh, (sx * fw, 0.85 * fh))
        px = passer_xs[i] if passer is not None and passer_xs is not None else None
        if passer is not None and px is not None:
            frame = paste_person(frame, passer, passer_height * fh, (px * fw, 0.97 * fh))
        frames.append(frame)
    return frames


def run_guide(*args: str, env: dict[str, str] | None = None, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """`python -m guide ARGS` as a user runs it, with `env` added to this environment."""
    return subprocess.run(
        [sys.executable, "-m", "guide", *args],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        cwd=cwd,
        env={**os.environ, **(env or {})},
    )


@dataclass
class Crowded:
    """A lone pedestrian's own photo with a passer-by pasted partly behind them (true masks of both)."""

    image: np.ndarray  # BGR, the subject's photo
    subject: np.ndarray  # bool, the subject's true pixels (all visible: they are on top)
    passer: np.ndarray  # bool, the passer-by's visible pixels


def passerby_scene(subject: Cutout, passer: Cutout, height_share: float, offset: float, rise: float) -> Crowded:
    """`subject`'s photo with `passer` (true mask only) behind them, then the subject pasted back on top.

    The passer-by is `height_share` of the subject's height, their feet `rise`
    subject heights higher than the subject's (further away) and their centre
    `offset` subject heights to the right of the subject's (negative: left),
    so the two overlap when |offset| is small. Nothing else in the photo moves.
    """
    x0, y0, x1, y1 = subject.box
    height = y1 - y0
    feet = (x0 + x1) / 2 + offset * height, y1 - rise * height
    image = paste_person(subject.image, passer, height_share * height, feet)
    image[subject.mask] = subject.image[subject.mask]
    ghost = paste_person(np.zeros(subject.mask.shape + (3,), np.uint8), _white(passer), height_share * height, feet)
    return Crowded(image, subject.mask.copy(), ghost[..., 0].astype(bool) & ~subject.mask)


def _white(person: Cutout) -> Cutout:
    """`person` on an all-white photo: pasting it draws where their mask lands."""
    return Cutout(person.name, np.full_like(person.image, 255), person.mask, person.box)


def padded_scene(image: np.ndarray) -> tuple[np.ndarray, int]:
    """The photo padded by its long side all round, its edge rows and columns fading into its mean colour
    outside it (the photo itself untouched: feet on its bottom edge stay as sharp as it has them), and the
    pad: the scene bench/closed_loop.py's virtual camera looked around in until 2026-11-24 (the views
    tests pin to the byte are views of it). Its fade is a straight edge all round the photo: see
    `continued_scene`."""
    h, w = image.shape[:2]
    pad = max(h, w)
    colour = [float(v) for v in image.reshape(-1, 3).mean(axis=0)]
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    inside = np.zeros(padded.shape[:2], np.float32)
    inside[pad : pad + h, pad : pad + w] = 1.0
    fade = max(3.0, 0.02 * max(h, w))
    outside = cv2.distanceTransform((1 - inside).astype(np.uint8), cv2.DIST_L2, 5)
    edge = np.exp(-0.5 * (outside / fade) ** 2)[:, :, None]
    return (padded * edge + np.array(colour) * (1 - edge)).astype(np.uint8), pad


def continued_scene(image: np.ndarray) -> tuple[np.ndarray, int]:
    """The photo padded by its long side all round, continued outside it without a line along its border,
    and the pad: the scene bench/closed_loop.py's virtual camera looks around in.

    Beyond the photo, its edge rows and columns, blurred by a fiftieth of its size (replicated, they are
    streaks square to the edge: lines along the photo's axes), go over within that fiftieth into a blur of a
    twentieth of its size, which fades into the photo's mean colour over 0.3 of it; the photo itself is
    untouched. `padded_scene` faded them into the mean colour within a fiftieth: a straight edge all round the
    photo, which the level reader took for a vertical of the scene, level with the photo wherever the view
    was rolled. No camera sees such a line: in the closed loop 279 of the 300 starts of seeds 0-4 reached the
    target on it, 268 without it (the baseball photo's 513 px show their border in most views: 19 of its 25
    starts, now 6)."""
    h, w = image.shape[:2]
    size = pad = max(h, w)
    colour = image.reshape(-1, 3).mean(axis=0).astype(np.float32)
    sharp = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_REPLICATE)
    ph, pw = sharp.shape[:2]

    def blurred(sigma: float) -> np.ndarray:
        """`sharp` blurred by `sigma` pixels, computed on a copy small enough to keep sigma near 4 pixels."""
        k = max(1, int(sigma // 4))
        small = cv2.resize(sharp, (pw // k, ph // k), interpolation=cv2.INTER_AREA).astype(np.float32)
        return cv2.resize(cv2.GaussianBlur(small, (0, 0), sigma / k), (pw, ph), interpolation=cv2.INTER_LINEAR)

    edge = max(3.0, 0.02 * size)
    inside = np.zeros((ph, pw), np.uint8)
    inside[pad : pad + h, pad : pad + w] = 1
    outside = cv2.distanceTransform(1 - inside, cv2.DIST_L2, 5)
    near = np.exp(-0.5 * (outside / edge) ** 2)[:, :, None]
    far = np.exp(-0.5 * (outside / (0.3 * size)) ** 2)[:, :, None]
    scene = (blurred(edge) * near + blurred(0.05 * size) * (1 - near)) * far + colour * (1 - far)
    scene = scene.clip(0, 255).astype(np.uint8)
    scene[pad : pad + h, pad : pad + w] = image
    return scene, pad
