"""The person's soft alpha matte, snapped to the photo's edges, and their colours at the edge.

1. Tighten. The model's person probability is upsampled from a stride-16 grid
   and runs 10-25 px past the body, most visibly on a plain background. Where
   the background around the person is plain and their colours differ from it,
   the uncertain band is re-estimated from colour: each pixel's position
   between the local background colour B and the local person colour F
   (both spread in from the sure pixels on either side).
2. Snap. A colour guided filter (He, Sun & Tang 2013), fitted at a reduced
   "matte" resolution and applied at full resolution (the "fast guided
   filter") in the tiles that hold an edge: the alpha follows the photo's own
   edges around hair, arms and between legs.
3. Unmix. `estimate_foreground` gives the person's own colour at partly
   transparent pixels (blur-fusion foreground estimation, Forte & Pitie 2021),
   so a new background never carries the old one's colour.

Alphas are float32 in [0, 1]; images BGR uint8 unless said otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np


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


def full_matte(alpha: np.ndarray) -> Matte:
    """A Matte of one tile covering a whole alpha (for callers that bring their own alpha)."""
    return Matte(alpha.astype(np.float32), alpha, np.full((1, 1), 2, np.uint8), max(alpha.shape))


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


def _spread(values: np.ndarray, known: np.ndarray, r: int) -> tuple[np.ndarray, np.ndarray]:
    """Mean of `values` (H, W, C) over the `known` pixels within r, and the known share there.

    Pixels with no known neighbour within r get the wider (4r) mean.
    """
    k = known.astype(np.float32)
    num = _box(values * k[:, :, None], r)
    den = _box(k, r)
    wide_num, wide_den = _box(values * k[:, :, None], 4 * r), _box(k, 4 * r)
    mean = np.where(den[:, :, None] > 1e-3, num / np.maximum(den, 1e-6)[:, :, None],
                    wide_num / np.maximum(wide_den, 1e-6)[:, :, None])
    return mean.astype(np.float32), den


def tighten(guide: np.ndarray, p: np.ndarray, r: int) -> np.ndarray:
    """The probability `p` with its uncertain band re-estimated from colour where that can be trusted.

    `guide` float32 (H, W, 3) in [0, 1] at the matte grid, `p` float32 (H, W),
    `r` a window radius (px) of a few stride-16 cells. Sure background is
    p < 0.05, sure person p > 0.97. In between, the colour alpha is the larger
    of (I - B).(F - B) / |F - B|^2 (B, F: local means of the sure pixels) and
    how far I lies from B beyond the background's own spread; it is trusted
    where the background is plain and blended with p elsewhere, so a busy
    background keeps the model's answer.
    """
    sure_bg, sure_fg = p < 0.05, cv2.erode((p > 0.97).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    band = ~sure_bg & ~sure_fg
    if not band.any() or not sure_bg.any() or not sure_fg.any():
        return p
    # B and F are local means: estimated on a half-size grid (a third of the work), then stretched back.
    h, w = p.shape
    half = (max(1, w // 2), max(1, h // 2))
    g2 = cv2.resize(guide, half, interpolation=cv2.INTER_AREA)
    bg_half = cv2.resize(sure_bg.astype(np.uint8), half, interpolation=cv2.INTER_NEAREST) > 0
    fg_half = cv2.resize(sure_fg.astype(np.uint8), half, interpolation=cv2.INTER_NEAREST) > 0
    bg2, share2 = _spread(np.dstack([g2, g2 * g2]), bg_half, max(1, r // 2))
    fg2, _ = _spread(g2, fg_half, max(1, r // 2))
    bg = cv2.resize(bg2, (w, h), interpolation=cv2.INTER_LINEAR)
    bg_share = cv2.resize(share2, (w, h), interpolation=cv2.INTER_LINEAR)
    fg = cv2.resize(fg2, (w, h), interpolation=cv2.INTER_LINEAR)
    # Everything below is per pixel of the band only (a small share of the grid).
    g, bgb, fgb, share = guide[band], bg[band], fg[band], bg_share[band]
    b_mean = bgb[:, :3]
    b_var = np.maximum(bgb[:, 3:] - b_mean * b_mean, 0.0)
    b_std = np.sqrt(b_var[:, 0] + b_var[:, 1] + b_var[:, 2])
    d = fgb - b_mean
    dist2 = d[:, 0] * d[:, 0] + d[:, 1] * d[:, 1] + d[:, 2] * d[:, 2]
    off = g - b_mean
    # Two readings of "how much person": the position between B and F (good for fine mixes like hair),
    # and how unlike the background the pixel is (good where F, a local mean, is not the pixel's own colour).
    along = np.clip((off[:, 0] * d[:, 0] + off[:, 1] * d[:, 1] + off[:, 2] * d[:, 2]) / np.maximum(dist2, 1e-4), 0.0, 1.0)
    unlike = np.sqrt(off[:, 0] * off[:, 0] + off[:, 1] * off[:, 1] + off[:, 2] * off[:, 2])
    away = np.clip((unlike - 2.0 * b_std - 0.02) / 0.15, 0.0, 1.0)
    alpha_c = np.maximum(along, away)
    # Trust: a plain background (its local spread small), seen near enough.
    trust = np.clip(1.0 - b_std / 0.06, 0.0, 1.0) * np.clip(share * 4.0, 0.0, 1.0)
    out = p.copy()
    out[band] = trust * alpha_c + (1.0 - trust) * p[band]
    return out


def refine_matte(
    image_bgr: np.ndarray,
    probability: np.ndarray,
    side: int = 640,
    radius: float = 0.010,
    eps: float = 1e-3,
    snap: float = 0.1,
    contrast: float = 4.0,
    tight: bool = True,
    center: float = 0.5,
) -> Matte:
    """The model's person probability (float in [0, 1], full res) -> soft alpha matte snapped to the photo's edges.

    The filter's coefficients are fitted on a grid of `side` pixels (long
    side), window radius `radius` of that side, regulariser `eps` (intensity
    0..1 squared); `contrast` steepens the probability about `center` first and
    `snap` sends the filter's faint tails to 0 and 1. With `tight`, the
    uncertain band is re-estimated from colour first (`tighten`). The alpha is
    applied at full resolution only in tiles that hold an edge; elsewhere it
    is exactly 0 or 1.
    """
    h, w = image_bgr.shape[:2]
    s = min(1.0, side / max(h, w))
    mw, mh = max(1, round(w * s)), max(1, round(h * s))
    small = image_bgr if s == 1.0 else cv2.resize(image_bgr, (mw, mh), interpolation=cv2.INTER_AREA)
    p = probability if s == 1.0 else cv2.resize(probability, (mw, mh), interpolation=cv2.INTER_AREA)
    guide = small.astype(np.float32) * np.float32(1.0 / 255.0)
    p = p.astype(np.float32, copy=False)
    if tight:
        p = tighten(guide, p, max(2, round(0.02 * max(mw, mh))))
    # The upsampled probability ramps over a whole stride-16 cell: steepen it, let the photo place the edge.
    p = np.clip((p - center) * contrast + 0.5, 0.0, 1.0).astype(np.float32)
    r = max(1, round(radius * max(mw, mh)))
    coef = guided_filter_coefficients(guide, p, r, eps)
    low = _stretch(np.einsum("hwc,hwc->hw", coef[:, :, :3], guide) + coef[:, :, 3], snap)

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
            alpha[y0:y1, x0:x1] = _stretch(q, snap)
    return Matte(alpha, low, tiles, t)


def _tile_size(h: int, w: int) -> int:
    return 64 if max(h, w) <= 2048 else 128


# --- foreground colour ------------------------------------------------------------------------

def _blur_fusion_step(
    image: np.ndarray, fore: np.ndarray, back: np.ndarray, alpha: np.ndarray, r: int
) -> tuple[np.ndarray, np.ndarray]:
    """One blur-fusion pass: local means of F and B, then F corrected so alpha F + (1 - alpha) B = I."""
    a = alpha[:, :, None]
    size = (2 * r + 1, 2 * r + 1)
    a_mean = cv2.blur(alpha, size)[:, :, None]
    f_mean = cv2.blur(fore * a, size) / (a_mean + 1e-5)
    b_mean = cv2.blur(back * (1.0 - a), size) / (1.0 - a_mean + 1e-5)
    f = f_mean + a * (image - a * f_mean - (1.0 - a) * b_mean)
    return np.clip(f, 0.0, 1.0), b_mean


def estimate_foreground(image_bgr: np.ndarray, alpha: np.ndarray, radius: int = 45) -> np.ndarray:
    """The person's own colour (float32 BGR in [0, 1]) at every pixel, for compositing on a new background.

    Blur-fusion foreground estimation (Forte & Pitie, "Approximate Fast
    Foreground Colour Estimation", ICIP 2021): a wide pass (`radius` px) and a
    narrow one (3 px). Where alpha is 1 the result is the photo's colour.
    """
    image = image_bgr.astype(np.float32) * np.float32(1.0 / 255.0)
    a = alpha.astype(np.float32)
    f, b = _blur_fusion_step(image, image, image, a, radius)
    f, _ = _blur_fusion_step(image, f, b, a, 3)
    return f
