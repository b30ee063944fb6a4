"""Portrait mode: the people sharp, the background blurred the way a fast lens blurs it.

Three steps on a BGR uint8 photo plus its BodyParse:

1. Matte. The model's person probability is smooth and blocky at the edges (it
   is upsampled from a stride-16 grid), so it is refined against the photo with
   a colour guided filter (He, Sun & Tang 2013), fitted at a reduced "matte"
   resolution and applied at full resolution (the "fast guided filter"): the
   alpha follows the photo's own edges around hair, arms and between legs.
2. Background. A disc ("bokeh") kernel in linear light, at a reduced resolution
   where the result is smooth anyway, as a normalised convolution in which the
   people weigh nothing: none of their colour spreads into the background.
   Clipped highlights are boosted first, so bright points become bright discs.
   By default the blur grows with distance from the subject's feet line.
3. Composite. out = alpha * photo + (1 - alpha) * background, at full
   resolution; where alpha is 1 the photo's pixels come through unchanged.

Units: `strength` is the disc *diameter* in percent of the image's long side
(3 -> a 58 px disc on a 1920x1080 photo). Alphas are float32 in [0, 1].
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from functools import lru_cache
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from guide.errors import ImageError, InputError, OutputError
from guide.images import Photo, list_images, output_kind, read_photo, write_bytes_atomic, write_image_atomic
from guide.parse import BodyParse

DEFAULT_STRENGTH = 3.0  # disc diameter, % of the long side
MAX_STRENGTH = 15.0
JPEG_QUALITY = 95
PORTRAIT_MAX_PIXELS = 50_000_000  # decode limit for portraits (analysis uses 16 MP)
MIN_PERSON_FRACTION = 0.002  # a mask smaller than this share of the image is "no person"


@dataclass(frozen=True)
class PortraitSettings:
    """How a portrait is rendered. The defaults are for stills; `LIVE` trades matte detail for speed."""

    strength: float = DEFAULT_STRENGTH  # disc diameter, % of the image's long side
    matte_side: int = 640  # long side (px) at which the guided filter's coefficients are fitted
    matte_radius: float = 0.010  # guided filter window radius, fraction of the long side
    matte_eps: float = 1e-3  # guided filter regulariser, in (intensity 0..1)^2: larger = smoother
    matte_snap: float = 0.1  # filtered alpha below this is 0, above 1 - this is 1 (the filter's faint tails)
    matte_contrast: float = 4.0  # probability steepened about 0.5 before filtering (1 = as the model says)
    blur_radius_low: float = 10.0  # disc radius (px) on the reduced grid the blur runs on
    depth: bool = True  # blur grows with distance from the subject's feet line
    near_blur: float = 0.4  # blur at the feet line, as a fraction of the full blur
    depth_span: float = 0.25  # rows this far (fraction of height) from the feet line get the full blur
    highlight_gain: float = 4.0  # linear-light multiplier reached by clipped (255) pixels


STILL = PortraitSettings()
LIVE = PortraitSettings(matte_side=384, blur_radius_low=8.0)


# --- colour ---------------------------------------------------------------------------------

def _srgb_to_linear(v: np.ndarray) -> np.ndarray:
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def _linear_to_srgb(v: np.ndarray) -> np.ndarray:
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055)


@lru_cache(maxsize=1)
def _srgb_lut() -> np.ndarray:
    """Linear light quantised to 4096 steps -> sRGB uint8 (a table: cheaper than a power per pixel)."""
    return np.round(_linear_to_srgb(np.arange(4096) / 4095.0) * 255.0).astype(np.uint8)


@lru_cache(maxsize=4)
def _linear_lut(gain: float) -> np.ndarray:
    """uint8 sRGB -> uint16 linear light / gain, with highlights near 255 boosted towards `gain`.

    A clipped pixel stood for more light than 255 can say; boosting the top of
    the range lets a small bright point stay a bright disc after the blur.
    """
    v = np.arange(256, dtype=np.float64) / 255.0
    lin = _srgb_to_linear(v)
    t = np.clip((v - 0.9) / 0.1, 0.0, 1.0) ** 2
    boosted = lin * (1.0 + (gain - 1.0) * t)
    return np.round(boosted / gain * 65535.0).astype(np.uint16)


# --- matte ----------------------------------------------------------------------------------

def _box(x: np.ndarray, r: int) -> np.ndarray:
    return cv2.boxFilter(x, -1, (2 * r + 1, 2 * r + 1), borderType=cv2.BORDER_REFLECT)


def guided_filter_coefficients(guide: np.ndarray, p: np.ndarray, r: int, eps: float) -> np.ndarray:
    """Colour guided filter: per-pixel (a_b, a_g, a_r, b) with q = a . I + b, box-averaged.

    `guide` is float32 (H, W, 3) in [0, 1], `p` float32 (H, W). The returned
    coefficients are smooth, so they can be upsampled and applied to the
    full-resolution guide.
    """
    mean_i = _box(guide, r)
    mean_p = _box(p, r)
    mean_ip = _box(guide * p[:, :, None], r)
    cov_ip = mean_ip - mean_i * mean_p[:, :, None]
    i0, i1, i2 = guide[:, :, 0], guide[:, :, 1], guide[:, :, 2]
    m0, m1, m2 = mean_i[:, :, 0], mean_i[:, :, 1], mean_i[:, :, 2]
    s00 = _box(i0 * i0, r) - m0 * m0 + eps
    s01 = _box(i0 * i1, r) - m0 * m1
    s02 = _box(i0 * i2, r) - m0 * m2
    s11 = _box(i1 * i1, r) - m1 * m1 + eps
    s12 = _box(i1 * i2, r) - m1 * m2
    s22 = _box(i2 * i2, r) - m2 * m2 + eps
    # Inverse of the symmetric 3x3 covariance by cofactors.
    c00 = s11 * s22 - s12 * s12
    c01 = s02 * s12 - s01 * s22
    c02 = s01 * s12 - s02 * s11
    c11 = s00 * s22 - s02 * s02
    c12 = s01 * s02 - s00 * s12
    c22 = s00 * s11 - s01 * s01
    det = s00 * c00 + s01 * c01 + s02 * c02
    v0, v1, v2 = cov_ip[:, :, 0], cov_ip[:, :, 1], cov_ip[:, :, 2]
    a0 = (c00 * v0 + c01 * v1 + c02 * v2) / det
    a1 = (c01 * v0 + c11 * v1 + c12 * v2) / det
    a2 = (c02 * v0 + c12 * v1 + c22 * v2) / det
    b = mean_p - a0 * m0 - a1 * m1 - a2 * m2
    coef = np.dstack([a0, a1, a2, b]).astype(np.float32)
    return _box(coef, r)


def _stretch(q: np.ndarray, snap: float) -> np.ndarray:
    """Clip to [0, 1], with the filter's faint tails (< snap, > 1 - snap) snapped to 0 and 1."""
    return np.clip((q - snap) * (1.0 / (1.0 - 2.0 * snap)), 0.0, 1.0, out=q)


@dataclass
class Matte:
    """A soft alpha matte, float32 in [0, 1], full resolution, split in square tiles.

    `tiles[ty, tx]` is 0 (all background), 1 (all person) or 2 (edge: soft
    alpha inside). Only edge tiles were refined at full resolution and need
    blending; the rest is a plain copy. `low` is the alpha on the matte grid.
    """

    alpha: np.ndarray
    low: np.ndarray
    tiles: np.ndarray  # uint8 (ceil(H / tile), ceil(W / tile))
    tile: int


def _tile_size(h: int, w: int) -> int:
    return 64 if max(h, w) <= 2048 else 128


def refine_matte(image_bgr: np.ndarray, probability: np.ndarray, settings: PortraitSettings = STILL) -> Matte:
    """The model's person probability (float in [0, 1], full res) -> soft alpha matte snapped to the photo's edges.

    The filter's coefficients are fitted on a grid of `settings.matte_side`
    pixels (long side) and applied to the full-resolution photo only in tiles
    that hold an edge; elsewhere the alpha is exactly 0 or 1.
    """
    h, w = image_bgr.shape[:2]
    s = min(1.0, settings.matte_side / max(h, w))
    mw, mh = max(1, round(w * s)), max(1, round(h * s))
    small = image_bgr if s == 1.0 else cv2.resize(image_bgr, (mw, mh), interpolation=cv2.INTER_AREA)
    p = probability if s == 1.0 else cv2.resize(probability, (mw, mh), interpolation=cv2.INTER_AREA)
    guide = small.astype(np.float32) * np.float32(1.0 / 255.0)
    # The upsampled probability ramps over a whole stride-16 cell: steepen it, let the photo place the edge.
    p = np.clip((p - 0.5) * settings.matte_contrast + 0.5, 0.0, 1.0).astype(np.float32)
    r = max(1, round(settings.matte_radius * max(mw, mh)))
    coef = guided_filter_coefficients(guide, p, r, settings.matte_eps)
    low = _stretch(np.einsum("hwc,hwc->hw", coef[:, :, :3], guide) + coef[:, :, 3], settings.matte_snap)

    t = max(_tile_size(h, w), int(np.ceil(2 / s)))  # every tile holds matte-pixel centres
    nty, ntx = -(-h // t), -(-w // t)
    # Edge tiles: some matte pixel within 2 (the bilinear reach, and a margin) is neither all 0 nor all 1 around it.
    k = np.ones((5, 5), np.uint8)
    varies = (cv2.dilate(low, k) > cv2.erode(low, k)).astype(np.uint8)
    rows = np.minimum(((np.arange(mh) + 0.5) / s // t).astype(int), nty - 1)
    cols = np.minimum(((np.arange(mw) + 0.5) / s // t).astype(int), ntx - 1)
    # A last tile holding no matte-pixel centre (a side 1 px past a tile multiple) takes its neighbour's.
    r0 = np.minimum(np.searchsorted(rows, np.arange(nty)), mh - 1)
    c0 = np.minimum(np.searchsorted(cols, np.arange(ntx)), mw - 1)
    edge = np.maximum.reduceat(np.maximum.reduceat(varies, r0, axis=0), c0, axis=1) > 0
    inside = np.maximum.reduceat(np.maximum.reduceat(low, r0, axis=0), c0, axis=1) >= 0.5
    tiles = np.where(edge, 2, np.where(inside, 1, 0)).astype(np.uint8)

    alpha = np.empty((h, w), np.float32)
    sx, sy = mw / w, mh / h
    scale = np.float32(1.0 / 255.0)
    for ty in range(nty):
        y0, y1 = ty * t, min(h, ty * t + t)
        for tx in range(ntx):
            x0, x1 = tx * t, min(w, tx * t + t)
            kind = tiles[ty, tx]
            if kind != 2:
                alpha[y0:y1, x0:x1] = kind
                continue
            # Bilinear coefficients for this tile, aligned as cv2.resize would align them.
            m = np.array([[sx, 0, (x0 + 0.5) * sx - 0.5], [0, sy, (y0 + 0.5) * sy - 0.5]], np.float64)
            up = cv2.warpAffine(coef, m, (x1 - x0, y1 - y0), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
                                borderMode=cv2.BORDER_REPLICATE)
            tile_img = image_bgr[y0:y1, x0:x1]
            q = up[:, :, 3] + (up[:, :, 0] * tile_img[:, :, 0] + up[:, :, 1] * tile_img[:, :, 1]
                               + up[:, :, 2] * tile_img[:, :, 2]) * scale
            alpha[y0:y1, x0:x1] = _stretch(q, settings.matte_snap)
    return Matte(alpha, low, tiles, t)


def matte_for(image_bgr: np.ndarray, parse: BodyParse, settings: PortraitSettings = STILL) -> Matte:
    """Refined matte of every person in `parse` (the model's person channel covers them all)."""
    prob = parse.probability if parse.probability is not None else parse.mask.astype(np.float32)
    if prob.shape != image_bgr.shape[:2]:
        raise ValueError(f"parse is {prob.shape}, image is {image_bgr.shape[:2]}")
    return refine_matte(image_bgr, prob.astype(np.float32, copy=False), settings)


# --- lens blur ------------------------------------------------------------------------------

def disc_kernel(radius: float) -> np.ndarray:
    """A normalised, anti-aliased disc: the shape a circular aperture gives an out-of-focus point."""
    n = int(np.ceil(radius))
    y, x = np.mgrid[-n : n + 1, -n : n + 1]
    k = np.clip(radius + 0.5 - np.hypot(x, y), 0.0, 1.0).astype(np.float32)
    return k / k.sum()


def _fill_from_surroundings(color: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Push-pull fill: where `weight` is ~0, colour comes from ever coarser averages of the weighted pixels."""
    levels = []
    c, wt = color * weight[:, :, None], weight
    while True:
        levels.append((c, wt))
        if min(wt.shape) <= 2 or wt.min() > 0.05:
            break
        c, wt = cv2.pyrDown(c), cv2.pyrDown(wt)
    c, wt = levels[-1]
    total = float(wt.sum())
    mean = c.reshape(-1, 3).sum(axis=0) / total if total > 0 else np.zeros(3, np.float32)
    filled = np.where(wt[:, :, None] > 1e-6, c / np.maximum(wt, 1e-6)[:, :, None], mean).astype(np.float32)
    for c, wt in reversed(levels[:-1]):
        up = cv2.resize(filled, (wt.shape[1], wt.shape[0]), interpolation=cv2.INTER_LINEAR)
        t = np.clip(wt * 4.0, 0.0, 1.0)[:, :, None]
        filled = t * (c / np.maximum(wt, 1e-6)[:, :, None]) + (1.0 - t) * up
    return filled.astype(np.float32)


def _normalized_blur(lin: np.ndarray, weight: np.ndarray, radius: float) -> np.ndarray:
    """sum(disc * weight * colour) / sum(disc * weight): pixels of weight 0 add nothing to their neighbours."""
    k = disc_kernel(radius)
    both = cv2.filter2D(np.dstack([lin * weight[:, :, None], weight]), -1, k, borderType=cv2.BORDER_REFLECT)
    return both[:, :, :3] / both[:, :, 3:]


def focus_line(parse: BodyParse) -> float | None:
    """y (pixel edge) of the subject's feet, where the ground is in focus; None if cut by the frame.

    The lowest row of the subject's mask: cheap, and on a standing person it is
    where the feet touch the ground.
    """
    if parse.subject is None or parse.subject >= len(parse.people):
        return None
    y1 = parse.people[parse.subject].bbox[3]
    return None if y1 >= parse.height - 2 else float(y1)


def lens_blur(
    image_bgr: np.ndarray,
    person_low: np.ndarray | None = None,
    strength: float = DEFAULT_STRENGTH,
    focus_y: float | None = None,
    settings: PortraitSettings = STILL,
) -> np.ndarray:
    """The background as a fast lens would render it, BGR uint8 at full resolution.

    `person_low` is an alpha (float in [0, 1], any resolution) of what must not
    leak into the blur: those pixels get no weight in the normalised disc
    convolution, and the holes they leave are filled from the surroundings.
    With `focus_y` (pixel row of the feet line) the disc shrinks to
    `settings.near_blur` of its size near that row (a ground-plane guess: the
    floor at the subject's feet is at the subject's distance).
    """
    h, w = image_bgr.shape[:2]
    radius_full = strength / 100.0 * max(h, w) / 2.0
    if radius_full < 0.5:
        return image_bgr.copy()
    s = min(1.0, settings.blur_radius_low / radius_full)
    lw, lh = max(1, round(w * s)), max(1, round(h * s))
    radius = radius_full * s
    gain = settings.highlight_gain
    lin16 = cv2.LUT(image_bgr, _linear_lut(gain))  # uint16 linear light, highlights boosted
    small = cv2.resize(lin16, (lw, lh), interpolation=cv2.INTER_AREA) if s < 1.0 else lin16
    lin = small.astype(np.float32) * np.float32(1.0 / 65535.0)
    if person_low is None:
        weight = np.ones((lh, lw), np.float32)
    else:
        a = cv2.resize(person_low, (lw, lh), interpolation=cv2.INTER_AREA)
        # One reduced pixel of margin: edge pixels mix person and background colour.
        a = cv2.dilate(a, np.ones((3, 3), np.uint8))
        weight = np.clip(1.0 - 1.5 * a, 0.0, 1.0).astype(np.float32)
        if weight.max() <= 0.0:
            weight[:] = 1.0  # the person fills the frame: nothing else to blur
        lin = _fill_from_surroundings(lin, weight)
    # The filled-in person region weighs a little, so a disc lying wholly on it still has a value.
    weight = weight + np.float32(0.01)
    far = _normalized_blur(lin, weight, radius)
    if focus_y is not None and settings.depth and settings.near_blur < 1.0:
        near = _normalized_blur(lin, weight, max(1.0, radius * settings.near_blur))
        rows = (np.arange(lh, dtype=np.float32) + 0.5) / s
        t = np.clip(np.abs(rows - focus_y) / (settings.depth_span * h), 0.0, 1.0)[:, None, None]
        far = near + t * (far - near)
    out = _srgb_lut()[np.clip(far * (gain * 4095.0) + 0.5, 0, 4095).astype(np.int32)]
    if s < 1.0:
        out = cv2.resize(out, (w, h), interpolation=cv2.INTER_LINEAR)
    return out


# --- composite ------------------------------------------------------------------------------

def fit_background(background_bgr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale to cover height x width (aspect kept, never stretched), then crop the centre."""
    bh, bw = background_bgr.shape[:2]
    s = max(width / bw, height / bh)
    nw, nh = max(width, round(bw * s)), max(height, round(bh * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(background_bgr, (nw, nh), interpolation=interp)
    x0, y0 = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(scaled[y0 : y0 + height, x0 : x0 + width])


def composite(
    image_bgr: np.ndarray, background_bgr: np.ndarray, matte: Matte, old_background: np.ndarray | None = None
) -> np.ndarray:
    """alpha * image + (1 - alpha) * background, uint8; where alpha is 1 the image's pixels come through exactly.

    With `old_background` (the photo's own background colour near each pixel)
    edge pixels are unmixed first, F = old + (photo - old) / alpha, so a new
    background does not show a fringe of the old one (chroma-key mode).
    """
    out = background_bgr.copy()
    t = matte.tile
    for ty, tx in zip(*np.nonzero(matte.tiles)):
        ys, xs = slice(ty * t, ty * t + t), slice(tx * t, tx * t + t)
        if matte.tiles[ty, tx] == 1:
            out[ys, xs] = image_bgr[ys, xs]
            continue
        a = matte.alpha[ys, xs]
        front = image_bgr[ys, xs]
        if old_background is not None:
            old = old_background[ys, xs].astype(np.float32)
            unmixed = old + (front - old) / np.maximum(a, 0.1)[:, :, None]
            front = np.where(a[:, :, None] >= 1.0, front, np.clip(unmixed + 0.5, 0, 255).astype(np.uint8))
        out[ys, xs] = cv2.blendLinear(front, background_bgr[ys, xs], a, 1.0 - a)
    return out


def full_matte(alpha: np.ndarray) -> Matte:
    """A Matte of one tile covering a whole alpha (for callers that bring their own alpha)."""
    return Matte(alpha.astype(np.float32), alpha, np.full((1, 1), 2, np.uint8), max(alpha.shape))


def render_with_matte(
    image_bgr: np.ndarray,
    parse: BodyParse,
    strength: float = DEFAULT_STRENGTH,
    background: np.ndarray | None = None,
    settings: PortraitSettings = STILL,
) -> tuple[np.ndarray, np.ndarray]:
    """`render_portrait`, also returning the full-resolution alpha matte (float32 in [0, 1])."""
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise ValueError(f"want a BGR uint8 (H, W, 3) image, got {image_bgr.dtype} {image_bgr.shape}")
    h, w = image_bgr.shape[:2]
    matte = matte_for(image_bgr, parse, settings)
    if background is not None:
        if background.ndim == 2:
            background = cv2.cvtColor(background, cv2.COLOR_GRAY2BGR)
        back = fit_background(background[:, :, :3], h, w)
        old = lens_blur(image_bgr, matte.low, 1.0, None, replace(settings, highlight_gain=1.0))
        return composite(image_bgr, back, matte, old), matte.alpha
    back = lens_blur(image_bgr, matte.low, strength, focus_line(parse) if settings.depth else None, settings)
    return composite(image_bgr, back, matte), matte.alpha


def render_portrait(
    image_bgr: np.ndarray,
    parse: BodyParse,
    strength: float = DEFAULT_STRENGTH,
    background: np.ndarray | None = None,
    settings: PortraitSettings = LIVE,
) -> np.ndarray:
    """Portrait of one frame: people sharp, background lens-blurred (or replaced by `background`).

    BGR uint8 in and out, same size. `parse` must be on the frame's grid
    (`parse(raw, keep_probability=True)` gives the soft matte its best start;
    without the probability the hard mask is refined instead). The default
    settings are the live ones; stills pass `STILL`.
    """
    return render_with_matte(image_bgr, parse, strength, background, settings)[0]


def has_person(parse: BodyParse, min_fraction: float = MIN_PERSON_FRACTION) -> bool:
    return np.count_nonzero(parse.mask) >= max(16, min_fraction * parse.mask.size)


# --- files ----------------------------------------------------------------------------------

def _upright_exif(exif: bytes | None) -> bytes | None:
    """The photo's EXIF with Orientation reset to 1: the pixels we write are already upright."""
    if not exif:
        return None
    try:
        data = Image.Exif()
        data.load(exif)
        data[0x0112] = 1
        return data.tobytes()
    except Exception:  # noqa: BLE001 - broken EXIF is dropped, not fatal
        return None


def encode_jpeg(image_bgr: np.ndarray, exif: bytes | None = None, quality: int = JPEG_QUALITY) -> bytes:
    buf = BytesIO()
    rgb = Image.fromarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
    kwargs = {"exif": exif} if exif else {}
    rgb.save(buf, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2, **kwargs)
    return buf.getvalue()


def free_path(folder: Path, stem: str, suffix: str) -> Path:
    """`folder/<stem><suffix>`, or `<stem><suffix minus .ext>-2.ext`, `-3`, ...: never an existing file."""
    target = folder / f"{stem}{suffix}"
    base, ext = os.path.splitext(suffix)
    n = 2
    while target.exists() or target.is_symlink():
        target = folder / f"{stem}{base}-{n}{ext}"
        n += 1
    return target


def pick_photos(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(photos to render, earlier outputs left alone) from the files and folders a user named.

    Inside a folder, files named like guide's own outputs (`*_portrait.jpg`,
    `*_matte.png`, ...) are results of an earlier run, not photos; a file named
    on the command line is always rendered.
    """
    named = set(paths)
    photos: list[Path] = []
    skipped: list[Path] = []
    for path in list_images(paths):
        (skipped if path not in named and output_kind(path) else photos).append(path)
    return photos, skipped


def check_output_folder(folder: Path) -> None:
    """Create `folder` if needed; GuideError if it cannot hold new files."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create folder ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: folder is not writable")


def read_background(path: Path) -> np.ndarray:
    """The `--background` picture; one that cannot be read stops the run before it starts."""
    try:
        return read_photo(path, max_pixels=PORTRAIT_MAX_PIXELS).image
    except ImageError as exc:
        raise InputError(f"--background {exc.message}") from None


@dataclass
class PortraitResult:
    photo: Photo
    output: Path | None  # None: no person found and not forced
    mask: Path | None
    people: int


def portrait_photo(
    model,  # type: ignore[no-untyped-def]  # guide.model.bodypix.BodyPix
    path: Path,
    out_dir: Path | None = None,
    strength: float = DEFAULT_STRENGTH,
    background: np.ndarray | None = None,
    mask_dir: Path | None = None,
    force: bool = False,
    settings: PortraitSettings = STILL,
) -> PortraitResult:
    """Read `path`, find the people, write `<stem>_portrait.jpg` (and `<stem>_matte.png`) next to it or in `out_dir`.

    Raises GuideError for an unreadable photo, a photo with no person (unless
    `force`: then the whole photo is blurred) and an unwritable destination.
    """
    from guide.analyze import parse_still

    if not 0 < strength <= MAX_STRENGTH:
        raise InputError(f"strength must be in (0, {MAX_STRENGTH:g}], got {strength:g}")
    photo = read_photo(path, max_pixels=PORTRAIT_MAX_PIXELS)
    image = photo.image
    h, w = image.shape[:2]
    body, _ = parse_still(model, image, keep_probability=True)
    people = len(body.people)
    if not has_person(body):
        if not force:
            raise ImageError(f"{path}: no person found; nothing written (--force blurs the whole photo)")
        body.mask[:] = False
        body.probability = np.zeros((h, w), np.float32)
        body.subject = None
        people = 0
    settings = replace(settings, strength=strength)
    out, alpha = render_with_matte(image, body, strength, background, settings)
    if (photo.original_width, photo.original_height) != (w, h):  # decoded downscaled: give back the full size
        size = (photo.original_width, photo.original_height)
        out = cv2.resize(out, size, interpolation=cv2.INTER_CUBIC)
        alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR)
    folder = out_dir if out_dir is not None else path.parent
    target = free_path(folder, path.stem, "_portrait.jpg")
    write_bytes_atomic(target, encode_jpeg(out, _upright_exif(photo.exif)))
    mask_path = None
    if mask_dir is not None:
        mask_path = free_path(mask_dir, path.stem, "_matte.png")
        write_image_atomic(mask_path, np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return PortraitResult(photo, target, mask_path, people)
