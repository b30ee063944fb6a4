"""The background as a fast lens blurs it: a disc kernel in linear light, sized by depth.

Three ideas, each there because a simpler version was measured to go wrong:

- Colour-true. A lens moves light around and adds none, so the blur runs in
  linear light and keeps every region's local mean colour. Only *small,
  genuinely clipped* highlights (a channel at 250+ on a patch much smaller than
  the disc) are boosted, and on luminance alone (all three channels by one
  factor: the hue stays), so a street lamp becomes a bright disc while a white
  wall, sand or a bright sky keep their colour and brightness.
- Halo-free. A normalised convolution in which the people weigh nothing: none
  of their colour spreads into the background; the holes they leave are filled
  from the surroundings.
- Grounded. The blur grows with distance from the focal plane, estimated from
  the ground the subject stands on (`FocusPlane`): the floor at their feet is
  sharp, the ground behind them blurs more with distance, and everything above
  the horizon gets the full blur.

Units: radii are pixels; `radius_full` is on the full-resolution image.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import cv2
import numpy as np

CLIP_LEVEL = 250  # a channel at or above this (0-255) is clipped: it stood for more light than 255 says
LEVELS = (0.2, 0.45, 1.0)  # blur radii computed, as fractions of the full radius; 0 is the photo itself


@dataclass(frozen=True)
class FocusPlane:
    """Where the in-focus ground runs, in image rows (pixel edges, y = 0 the top).

    The ground at `feet_y` is at the subject's distance; the ground at
    `horizon_y` is at infinity. For a level camera over flat ground the
    defocus (circle of confusion, in inverse depth) of the ground at row y is
    proportional to |y - feet_y| / (feet_y - horizon_y): linear in rows, full
    at the horizon. Rows above the horizon (walls, trees, sky: taken as far
    away) get the full blur.
    """

    feet_y: float
    horizon_y: float
    depth_of_field: float = 0.05  # defocus (fraction of the full) still seen as sharp

    def blur_fraction(self, rows: np.ndarray) -> np.ndarray:
        """Blur radius as a fraction of the full radius, for image rows `rows` (float array)."""
        span = max(1.0, self.feet_y - self.horizon_y)
        d = np.abs(rows - self.feet_y) / span
        dof = self.depth_of_field
        return np.clip((d - dof) / (1.0 - dof), 0.0, 1.0).astype(np.float32)


# --- colour ---------------------------------------------------------------------------------

def srgb_to_linear(v: np.ndarray) -> np.ndarray:
    """sRGB in [0, 1] -> linear light in [0, 1]."""
    return np.where(v <= 0.04045, v / 12.92, ((v + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(v: np.ndarray) -> np.ndarray:
    """Linear light (clipped to [0, 1]) -> sRGB in [0, 1]."""
    v = np.clip(v, 0.0, 1.0)
    return np.where(v <= 0.0031308, v * 12.92, 1.055 * np.power(v, 1 / 2.4) - 0.055)


@lru_cache(maxsize=1)
def srgb_lut() -> np.ndarray:
    """Linear light quantised to 4096 steps -> sRGB uint8 (a table: cheaper than a power per pixel)."""
    return np.round(linear_to_srgb(np.arange(4096) / 4095.0) * 255.0).astype(np.uint8)


@lru_cache(maxsize=1)
def linear_lut() -> np.ndarray:
    """uint8 sRGB -> uint16 linear light (0..65535)."""
    return np.round(srgb_to_linear(np.arange(256) / 255.0) * 65535.0).astype(np.uint16)


def to_srgb8(lin: np.ndarray) -> np.ndarray:
    """float32 linear light (values above 1 clip) -> sRGB uint8."""
    return srgb_lut()[np.clip(lin * 4095.0 + 0.5, 0, 4095).astype(np.int32)]


def clipped_fraction(image_bgr: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Share of each pixel of a (w, h) `size` grid covered by clipped photo pixels (any channel >= CLIP_LEVEL)."""
    per_channel = cv2.threshold(image_bgr, CLIP_LEVEL - 1, 255, cv2.THRESH_BINARY)[1]
    # Grey is a positive mix of the three channels: above 0 exactly where some channel is clipped.
    clipped = cv2.threshold(cv2.cvtColor(per_channel, cv2.COLOR_BGR2GRAY), 0, 255, cv2.THRESH_BINARY)[1]
    if (clipped.shape[1], clipped.shape[0]) == size:
        return clipped.astype(np.float32) * np.float32(1 / 255)
    return cv2.resize(clipped, size, interpolation=cv2.INTER_AREA).astype(np.float32) * np.float32(1 / 255)


def highlight_boost(clipped: np.ndarray, radius: float, gain: float) -> np.ndarray:
    """Per-pixel luminance multiplier (>= 1) for the clipped pixels of small highlights.

    `clipped` is the clipped share per pixel (`clipped_fraction`) on the grid
    the blur runs on, `radius` the disc radius on that grid. A highlight is
    small when the clipped share within twice the disc's radius is under
    2-6%: an isolated point that the disc will spread (sun through leaves, a
    cluster of clipped spots, counts as an area). Large clipped areas (sky, snow, a white wall)
    are left as they are: boosting them would brighten the whole background.
    """
    h, w = clipped.shape
    half = (max(1, w // 2), max(1, h // 2))  # a share over a wide disc: a half grid is plenty, a quarter of the work
    share = cv2.filter2D(cv2.resize(clipped, half, interpolation=cv2.INTER_AREA), -1, disc_kernel(radius),
                         borderType=cv2.BORDER_REFLECT)
    share = cv2.resize(share, (w, h), interpolation=cv2.INTER_LINEAR)
    small = np.clip((0.06 - share) / 0.04, 0.0, 1.0)
    return 1.0 + (gain - 1.0) * clipped * small


# --- blur -----------------------------------------------------------------------------------

def disc_kernel(radius: float) -> np.ndarray:
    """A normalised, anti-aliased disc: the shape a circular aperture gives an out-of-focus point."""
    n = int(np.ceil(radius))
    y, x = np.mgrid[-n : n + 1, -n : n + 1]
    k = np.clip(radius + 0.5 - np.hypot(x, y), 0.0, 1.0).astype(np.float32)
    return k / k.sum()


def fill_from_surroundings(color: np.ndarray, weight: np.ndarray) -> np.ndarray:
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


def weighted_stack(lin: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """(weight * colour, weight) as one 4-channel float32 array: what `normalized_blur` filters."""
    return cv2.merge([*cv2.split(lin * weight[:, :, None]), weight])


def normalized_blur(lin: np.ndarray, weight: np.ndarray, radius: float, stack: np.ndarray | None = None) -> np.ndarray:
    """sum(disc * weight * colour) / sum(disc * weight): pixels of weight 0 add nothing to their neighbours.

    `stack`: `weighted_stack(lin, weight)` when the caller already has it (several radii over one image).
    """
    k = disc_kernel(radius)
    both = cv2.filter2D(weighted_stack(lin, weight) if stack is None else stack, -1, k, borderType=cv2.BORDER_REFLECT)
    return both[:, :, :3] / both[:, :, 3:]


def _mean_keeping_gain(lin: np.ndarray, weight: np.ndarray, radius: float) -> np.ndarray:
    """Smooth per-pixel gain (<= 1) that brings a linear-light blur's local means back to the photo's sRGB ones.

    Both local means are weighted Gaussian averages over about a disc (sigma
    = the radius): of the linear values, and of their sRGB values taken back
    to linear. Per-pixel values are converted before any averaging, so the
    averages can run on a half-size grid.
    """
    h, w = weight.shape
    srgb = linear_to_srgb(lin).astype(np.float32)
    half = (max(1, w // 2), max(1, h // 2))
    sigma = max(0.5, 0.4 * radius)  # on the half grid (0.8 radius on the blur grid): measured best

    def local(x: np.ndarray) -> np.ndarray:
        return cv2.GaussianBlur(cv2.resize(x, half, interpolation=cv2.INTER_AREA), (0, 0), sigma)

    wt = np.maximum(local(weight), np.float32(1e-6))[:, :, None]
    linear_mean = local(lin * weight[:, :, None]) / wt
    reference = srgb_to_linear(np.clip(local(srgb * weight[:, :, None]) / wt, 0.0, 1.0))
    gain = np.clip(reference / np.maximum(linear_mean, np.float32(1e-4)), 0.25, 1.0).astype(np.float32)
    return cv2.resize(gain, (w, h), interpolation=cv2.INTER_LINEAR)


def _rows_blur(stack: np.ndarray, radius: float, rows: np.ndarray) -> np.ndarray:
    """`normalized_blur` of a `weighted_stack` computed only over the band of `rows` (bool per row) that is set.

    The band is widened by the disc's reach for the filter and cut back after: rows outside it are 0.
    """
    out = np.zeros((*stack.shape[:2], 3), np.float32)
    idx = np.flatnonzero(rows)
    if idx.size == 0:
        return out
    reach = int(np.ceil(radius)) + 1
    r0, r1 = max(0, int(idx[0]) - reach), min(stack.shape[0], int(idx[-1]) + 1 + reach)
    a, b = int(idx[0]), int(idx[-1]) + 1
    both = cv2.filter2D(stack[r0:r1], -1, disc_kernel(radius), borderType=cv2.BORDER_REFLECT)[a - r0 : b - r0]
    out[a:b] = both[:, :, :3] / both[:, :, 3:]
    return out


def _mix_levels(levels: list[np.ndarray], fractions: tuple[float, ...], t: np.ndarray) -> np.ndarray:
    """Per row, linear interpolation between the two blur levels around the wanted fraction `t` (rows,)."""
    out = np.empty_like(levels[-1])
    idx = np.clip(np.searchsorted(fractions, t), 1, len(fractions) - 1)
    for i in range(1, len(fractions)):
        rows = np.flatnonzero(idx == i)
        if rows.size == 0:
            continue
        lo, hi = fractions[i - 1], fractions[i]
        u = np.clip((t[rows] - lo) / (hi - lo), 0.0, 1.0)[:, None, None]
        out[rows] = levels[i - 1][rows] + u * (levels[i][rows] - levels[i - 1][rows])
    return out


def lens_blur(
    image_bgr: np.ndarray,
    person_low: np.ndarray | None,
    radius_full: float,
    plane: FocusPlane | None = None,
    radius_low: float = 10.0,
    highlight_gain: float = 4.0,
    linear: bool = True,
) -> np.ndarray:
    """The background as a fast lens renders it, BGR uint8 at full resolution.

    `radius_full` is the disc radius (px) at infinity. The blur runs on a grid
    reduced by a whole factor so the disc is about `radius_low` px there (the
    result is smooth anyway).
    `person_low` is an alpha (float in [0, 1], any resolution) of what must not
    leak into the blur: those pixels get no weight, and the holes they leave
    are filled from the surroundings. With a `plane`, each row is blurred by
    its distance from the focal plane, down to the photo itself where the
    ground is in focus. `linear=False` (the live preview) blurs the sRGB values
    once: no highlight discs, no depth, a third of the work.
    """
    h, w = image_bgr.shape[:2]
    if radius_full < 0.5:
        return image_bgr.copy()
    # A whole-number reduction (the disc then comes out at 0.86-1.2 of `radius_low` once the factor is 3 or
    # more): OpenCV's area resampling of the full-size photo takes its fast path when the factor divides the
    # size exactly (1080p: 4x, half the time of 3.6x).
    s = 1.0 / max(1, round(radius_full / radius_low))
    lw, lh = max(1, round(w * s)), max(1, round(h * s))
    radius = radius_full * s
    lin16 = cv2.LUT(image_bgr, linear_lut())
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
        lin = fill_from_surroundings(lin, weight)
    # The filled-in person region weighs a little, so a disc lying wholly on it still has a value.
    weight = weight + np.float32(0.01)
    if not linear:  # the live preview: one blur of the sRGB values (local means kept by construction)
        srgb = linear_to_srgb(lin).astype(np.float32)
        return _upsample(np.clip(normalized_blur(srgb, weight, radius) * 255.0 + 0.5, 0, 255).astype(np.uint8), s, w, h)
    clipped = clipped_fraction(image_bgr, (lw, lh))
    boosted = lin
    if highlight_gain > 1.0 and clipped.max() > 0.0:
        boosted = lin * highlight_boost(clipped, radius, highlight_gain)[:, :, None]
    # Linear light gives discs their look, but it also lifts the mean of a textured area as sRGB shows it
    # (leaves against shadow: +10 levels). A smooth gain, measured without the clipped pixels (their
    # extra light is the point of a bright disc), takes that back so local means stay the photo's.
    gain = _mean_keeping_gain(lin, weight * (1.0 - clipped) + np.float32(1e-3), radius)
    if plane is None:
        return _upsample(to_srgb8(normalized_blur(boosted, weight, radius) * gain), s, w, h)

    t = plane.blur_fraction((np.arange(lh, dtype=np.float32) + 0.5) / s)
    # Level i is read by rows whose fraction lies between its neighbours: blur only those bands.
    bounds = (-1.0, *LEVELS[:-1], 2.0, 2.0)
    stack = weighted_stack(boosted, weight)
    levels = [_rows_blur(stack, max(0.5, radius * f), (t > bounds[i]) & (t <= bounds[i + 2]))
              for i, f in enumerate(LEVELS)]
    # The correction grows with the blur; near the focal plane there is little to take back.
    gain_t = 1.0 + t[:, None, None] * (gain - 1.0)
    out = _upsample(to_srgb8(_mix_levels(levels, LEVELS, t) * gain_t), s, w, h)
    # Rows nearer the focal plane than the first level: the photo itself, faded into that level.
    rows_t = plane.blur_fraction(np.arange(h, dtype=np.float32) + 0.5)
    sharp = np.flatnonzero(rows_t < LEVELS[0])
    if sharp.size:
        r0, r1 = int(sharp[0]), int(sharp[-1]) + 1
        u = np.ascontiguousarray(np.broadcast_to((rows_t[r0:r1] / LEVELS[0])[:, None], (r1 - r0, w)), np.float32)
        out[r0:r1] = cv2.blendLinear(out[r0:r1], image_bgr[r0:r1], u, 1.0 - u)
    return out


def _upsample(img: np.ndarray, s: float, w: int, h: int) -> np.ndarray:
    return cv2.resize(img, (w, h), interpolation=cv2.INTER_LINEAR) if s < 1.0 else img
