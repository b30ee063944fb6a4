"""How the subject is lit: their exposure and the background's, backlight, and a lift for a dark subject.

What says "this person is too dark" was chosen from data (`bench/portrait.py`,
Penn-Fudan + CIHP people darkened 2 EV through their ground-truth masks against
the originals; 5-fold cross-validation, 10 seeds, numbers held out):

- The whole body relative to the whole frame spreads 3.6 EV over well-lit
  pedestrians (dark clothes on a pale street look backlit). The face alone
  is little better: BodyPix's face parts include the hair.
- Two readings of the subject do best together: their *skin* (the face's
  skin-coloured pixels; else skin-coloured pixels anywhere on them, for
  people seen from behind; else the face, else the body) and their
  *highlights* (the 98th percentile of the body: a white shirt, lit skin).
  Both are read in EV below white (log2 linear luminance; 0 is clipping): a
  camera exposes for the scene, so a well-lit subject's brightest parts sit
  just under white while a backlit subject's sink far below it. Their mean
  is the exposure: 0.80 of darkened people flagged at 0.09 false alarms
  held out (95th percentile: 0.68). Weighing the highlights 3:1 flags 0.82,
  but a high percentile reads the bright background wherever the model's
  outline leaks into it (with the outline 2-4 px too wide it falls to
  0.57-0.33 against 0.61-0.46 for the mean; a live parse on a plain bright
  backdrop leaks so), and the skin, chroma-gated, does not.
- Readings relative to the scene do worse: well-lit people's exposure minus
  the background right around them (a ring outside them, clear of people)
  spreads 0.68 EV (median absolute deviation) against 0.56 for the
  exposure alone; the two are uncorrelated (r = 0.01), so subtracting the
  background only adds its spread. The ring is still required to be
  brighter than the subject (a dark scene is not backlight).
- The peak (below), tight as it is over well-lit people, flags no better:
  0.79 held out, and 0.75 relative to the frame's own brightest part; a
  blend or logistic rule of peak and exposure 0.81-0.82, within the
  noise of the exposure's 0.80. In a fifth of the darkened photos the
  subject's brightest pixels are not the darkened person's (someone the
  ground truth leaves unlabelled merged into the subject, or the outline
  leaking) and the peak barely moves; and in a live parse on a bright
  backdrop the peak reads the backdrop through the outline (3 EV darker,
  it fell 0.2-0.3 EV), so every rule weighing it misses the live backlit
  test. Read 3% of the height inside, it clears that leak, but then
  false alarms are lifted further (BENCHMARKS.md, the note on the rule).

The lift aims at where a well-lit subject's *peak* sits: the 99.5th
percentile of their body 2% of their height inside its outline, a median
0.17 EV below white over well-lit people with a spread of 0.16 EV (MAD),
the tightest of all readings (the exposure's is 0.41: aimed at, 0.37 of
darkened people land within 0.5 EV held out, against 0.54 for the peak;
the 99th percentile 1% inside, until 2026-11-23, 0.51, and 0.27 against
0.34 where the outline lies 3 px too wide).
BENCHMARKS.md has the numbers and the ceiling: highlights that were clipped
sit exactly 2 EV below white once darkened, and the model's outline lets
some unlit background into the subject.

`Light` reports exposures relative to the frame's log-average (0: as bright
as the frame, -1: half as bright), as `guide analyze --json` shows them.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import cv2
import numpy as np

from guide.body import FACE_PARTS
from guide.bokeh import linear_lut, to_srgb8
from guide.geometry import Grid, resample
from guide.parse import BodyParse

BACKLIT_EV = -2.92  # exposure (EV below white) under this: backlit (8% of 174 well-lit Penn-Fudan + CIHP people)
TARGET_PEAK_EV = -0.17  # a well-lit subject's peak (EV below white): the median over the same 174 people
SKIN_WEIGHT = 0.5  # the exposure: the mean of skin and highlights (why not 1:3: the module docstring)
BRIGHTER_BEHIND_EV = 1.0  # backlight needs the bright part of the ring behind them this far above their exposure
MEASURE_SIDE = 640  # long side (px) the exposures are measured at: a pedestrian's face still has ~1000 pixels
MIN_PIXELS = 20  # fewest pixels a region (skin, face) needs to be read
HIGHLIGHT_PERCENTILE = 98.0
PEAK_PERCENTILE = 99.5  # with PEAK_INSET, chosen held out among 99-99.8 x 1-4%: good as parsed and with a wide outline
PEAK_INSET = 0.02  # the peak is read this share of the subject's height inside their outline
RING_REACH = 0.6  # the background ring reaches this share of the subject's height outside them
KNEE = 0.5  # relight multiplies the light up to half of white, then rolls it off (a highlight shoulder)
_EPS = 1e-4  # linear luminance floor: black pixels do not send the log-average to -inf


class Relight(StrEnum):
    """When `relight` lifts the subject; the CLI's `--relight` and the portrait options take these strings."""

    AUTO = "auto"  # only a backlit subject
    ON = "on"  # any subject darker than wanted
    OFF = "off"  # never


@dataclass(frozen=True)
class Light:
    """The subject's and the background's exposure in EV relative to the frame's, and whether that is backlight.

    `subject_ev`: the subject's exposure, the mean of their skin
    log-average and highlight (98th percentile); `background_ev`: the
    log-average of the background right around them (a ring outside the
    people); `peak_ev`: their brightest parts away from the outline (99.5th
    percentile), what `relight` lifts to where a well-lit subject's sit.
    """

    subject_ev: float
    background_ev: float
    backlit: bool
    peak_ev: float = 0.0

    @property
    def gap_ev(self) -> float:
        """How much darker the subject is than what is around them: subject_ev - background_ev."""
        return self.subject_ev - self.background_ev


def _log_luminance(image_bgr: np.ndarray) -> np.ndarray:
    """log2 of linear luminance (Rec. 709 weights), float32; 0 is white."""
    lin = cv2.LUT(image_bgr, linear_lut()).astype(np.float32) * np.float32(1 / 65535)
    lum = lin[:, :, 0] * 0.0722 + lin[:, :, 1] * 0.7152 + lin[:, :, 2] * 0.2126
    return np.log2(np.maximum(lum, np.float32(_EPS)))


def _measure_size(h: int, w: int) -> tuple[int, int]:
    s = min(1.0, MEASURE_SIDE / max(h, w))
    return max(1, round(w * s)), max(1, round(h * s))


def _small(image_bgr: np.ndarray) -> np.ndarray:
    h, w = image_bgr.shape[:2]
    size = _measure_size(h, w)
    return image_bgr if size == (w, h) else cv2.resize(image_bgr, size, interpolation=cv2.INTER_AREA)


def frame_ev(image_bgr: np.ndarray) -> float:
    """The frame's log-average luminance in EV below white, at the measuring size."""
    return float(_log_luminance(_small(image_bgr)).mean())


def skin_colour(image_bgr: np.ndarray) -> np.ndarray:
    """Pixels whose chroma is skin's, any complexion (YCrCb box: Cr 135-180, Cb 85-135); bool."""
    ycc = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2YCrCb)
    return cv2.inRange(ycc, (0, 135, 85), (255, 180, 135)) > 0


def subject_weight(parse_or_mask: BodyParse | np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """The subject's pixels as a float weight in [0, 1] on a (h, w) raster over the whole image.

    A BodyParse gives its subject (every person when it names none), on any
    grid; an array (bool mask or float alpha, any size) is taken as it is.
    """
    if isinstance(parse_or_mask, BodyParse):
        return _parse_rasters(parse_or_mask, shape)[0].astype(np.float32)
    return cv2.resize(parse_or_mask.astype(np.float32), (shape[1], shape[0]), interpolation=cv2.INTER_AREA)


def _parse_rasters(body: BodyParse, shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(subject, face, people) as bool rasters of `shape` over the whole image, from a parse on any grid."""
    dst = Grid.over((0.0, 0.0, float(body.width), float(body.height)), shape[1], shape[0], (body.width, body.height))
    inst = resample(body.instances.astype(np.float32), body.grid, dst, nearest=True, fill=-1.0)
    parts = resample(body.parts.astype(np.float32), body.grid, dst, nearest=True, fill=-1.0)
    people = inst >= 0
    subject = people if body.subject is None else inst == body.subject
    face = subject & np.isin(parts, FACE_PARTS)
    return subject, face, people


def _skin_key(log_lum: np.ndarray, subject: np.ndarray, face: np.ndarray, skin: np.ndarray) -> float:
    """Log-average of the subject's skin: the face's skin-coloured pixels, else any skin on them, else face, else body."""
    for region in (face & skin, subject & skin, face, subject):
        if np.count_nonzero(region) >= MIN_PIXELS:
            return float(log_lum[region].mean())
    return float(log_lum[subject].mean())


def _peak(log_lum: np.ndarray, subject: np.ndarray) -> float:
    """The subject's peak: the PEAK_PERCENTILE of their pixels PEAK_INSET of their height inside the outline."""
    rows = np.flatnonzero(subject.any(axis=1))
    r = int(PEAK_INSET * (rows[-1] - rows[0] + 1)) + 1
    inside = cv2.erode(subject.astype(np.uint8), cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1)))
    region = inside > 0 if np.count_nonzero(inside) >= MIN_PIXELS else subject
    return float(np.percentile(log_lum[region], PEAK_PERCENTILE))


def _ring(subject: np.ndarray, people: np.ndarray) -> np.ndarray:
    """Background right around the subject: up to RING_REACH of their height outside them, clear of every person."""
    rows = np.flatnonzero(subject.any(axis=1))
    height = rows[-1] - rows[0] + 1
    margin = 0.03 * height + 3.0  # the model's edge lies a few pixels off the body's
    to_subject = cv2.distanceTransform((~subject).astype(np.uint8), cv2.DIST_L2, 5)
    to_people = cv2.distanceTransform((~people).astype(np.uint8), cv2.DIST_L2, 5)
    ring = (to_subject <= RING_REACH * height + margin) & (to_people > margin)
    if np.count_nonzero(ring) < MIN_PIXELS:
        ring = ~people
    return ring


def measure_light(
    image_bgr: np.ndarray, parse_or_mask: BodyParse | np.ndarray, threshold: float = BACKLIT_EV
) -> Light | None:
    """Exposure of the subject and of the background around them (EV relative to the frame), and backlight.

    `parse_or_mask`: a BodyParse on any grid (its subject is measured; its
    face parts give the skin) or a subject mask / alpha of any size (skin is
    then looked for anywhere on it). Backlit: the subject's exposure, in EV
    below white, is under `threshold` while the bright part (95th percentile)
    of the ring behind them is at least BRIGHTER_BEHIND_EV above it. With
    fewer than MIN_PIXELS subject pixels there is nothing to say: None.
    """
    small = _small(image_bgr)
    shape = small.shape[:2]
    log_lum = _log_luminance(small)
    if isinstance(parse_or_mask, BodyParse):
        subject, face, people = _parse_rasters(parse_or_mask, shape)
    else:
        subject = subject_weight(parse_or_mask, shape) > 0.5
        face, people = np.zeros_like(subject), subject
    inner = cv2.erode(subject.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # edge pixels mix in the background
    if np.count_nonzero(inner) < MIN_PIXELS:
        inner = subject
    if np.count_nonzero(inner) < MIN_PIXELS:
        return None
    skin = _skin_key(log_lum, inner, face & inner, skin_colour(small))
    highlight = float(np.percentile(log_lum[inner], HIGHLIGHT_PERCENTILE))
    exposure = SKIN_WEIGHT * skin + (1.0 - SKIN_WEIGHT) * highlight
    ring = _ring(subject, people)
    behind = float(np.percentile(log_lum[ring], HIGHLIGHT_PERCENTILE))
    frame = float(log_lum.mean())
    backlit = exposure < threshold and behind - exposure >= BRIGHTER_BEHIND_EV
    return Light(round(exposure - frame, 3), round(float(log_lum[ring].mean()) - frame, 3), bool(backlit),
                 round(_peak(log_lum, subject) - frame, 3))


def _curve(lin: np.ndarray, gain: float) -> np.ndarray:
    """A lift in linear light: `gain` times the light (an exposure change, contrast kept) up to KNEE, then a
    shoulder that rolls off to white with the same slope where it starts, so nothing clips."""
    u = np.float32(gain) * lin
    over = np.maximum(u - KNEE, 0.0)
    return np.where(u <= KNEE, u, KNEE + (1.0 - KNEE) * (1.0 - np.exp(-over / (1.0 - KNEE)))).astype(np.float32)


def _key(log_lum: np.ndarray, weight: np.ndarray) -> float:
    """Weighted mean of log2 luminance (the log-average, as EV)."""
    total = float(weight.sum())
    return float((log_lum * weight).sum() / total) if total > 0 else float(log_lum.mean())


def relight(image_bgr: np.ndarray, alpha: np.ndarray, light: Light | None, mode: Relight | str = Relight.AUTO,
            target_ev: float = TARGET_PEAK_EV) -> np.ndarray:
    """The photo with the subject lifted through the matte `alpha` (float [0, 1], the image's size).

    `light` must have been measured on this photo (`measure_light`). "auto":
    only when `light.backlit`; "on": whenever the subject's peak is under
    `target_ev` (EV below white); "off": the photo unchanged. The lift is an
    exposure change on linear luminance, colour ratios and contrast kept,
    with a shoulder above KNEE so highlights never clip (a curve raising
    shadows most washes the subject out grey); its strength is found so
    the log-average under the matte rises by as much as the subject's peak
    lacks; where alpha is 0 (the background) nothing changes. BGR uint8 in
    and out.
    """
    mode = Relight(mode)  # ValueError for an unknown mode
    if light is None or mode == Relight.OFF or (mode == Relight.AUTO and not light.backlit) or not (alpha > 0).any():
        return image_bgr
    small = _small(image_bgr)
    log_lum = _log_luminance(small)
    need = target_ev - (light.peak_ev + float(log_lum.mean()))
    if need <= 0.05:
        return image_bgr
    weight = cv2.resize(alpha.astype(np.float32), (small.shape[1], small.shape[0]), interpolation=cv2.INTER_AREA)
    lum = np.exp2(log_lum)
    before = _key(log_lum, weight)
    lo, hi = 1.0, 64.0  # bisection on the curve's gain: the key under the matte rises by `need` EV
    for _ in range(24):
        g = (lo * hi) ** 0.5
        rise = _key(np.log2(np.maximum(_curve(lum, g), _EPS)), weight) - before
        lo, hi = (g, hi) if rise < need else (lo, g)
    gain = (lo * hi) ** 0.5
    # On luminance with the colour ratios kept (a per-channel curve would wash skin and clothes out grey);
    # only inside the subject's box, where alpha is above 0.
    ys, xs = np.nonzero(alpha > 0)
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    box = image_bgr[y0:y1, x0:x1]
    lin = cv2.LUT(box, linear_lut()).astype(np.float32) * np.float32(1 / 65535)
    box_lum = np.maximum(lin[:, :, 0] * 0.0722 + lin[:, :, 1] * 0.7152 + lin[:, :, 2] * 0.2126, np.float32(_EPS))
    lifted = lin * (_curve(box_lum, gain) / box_lum)[:, :, None]
    lifted /= np.maximum(lifted.max(axis=2, keepdims=True), 1.0)  # a channel past white: scale back, hue kept
    lifted8 = to_srgb8(lifted)
    a = alpha[y0:y1, x0:x1].astype(np.float32)
    out = image_bgr.copy()
    out[y0:y1, x0:x1] = cv2.blendLinear(lifted8, box, a, 1.0 - a)
    return out
