"""Stills: a person mask closer to the photo's own outlines than one model pass gives.

BodyPix's person logits live on a stride-16 grid; upsampled, their edge is a
smooth curve that cuts corners: it misses the outer sides of limbs and feet
and fills the gaps between legs and under arms (Penn-Fudan: ~10% of a
person's true area missed and ~9% extra, almost all against the background,
bench/instances.py). Two cheap fixes, for stills only (the live loop has no
time for either):

1. The photo mirrored (`mirrored_window`, `mirror_mean`): the network runs
   again on the horizontally flipped photo and the two person logit maps are
   averaged. Its errors are partly independent between the two views, and
   its small left-right bias (about a quarter of a model pixel) cancels.
2. The photo's edges (`snap_probability`, `snap_edges`): a colour guided
   filter (He, Sun & Tang 2013) fitted on the person probability with the
   photo as guide, in the uncertain band only, moves the mask's edge onto the
   photo's edges. Not around the face and the feet: white shoes on pale
   pavement or dark hair on a dark wall share the background's colour, and
   the filter would cut them off, and with them the feet and the head top
   (`guide.measure`); there the model's own edge stays.

Arrays are numpy; images BGR uint8; probabilities float32 in [0, 1] on the
image's own pixels (a still's parse raster).
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from guide.body import FACE_PARTS, FEET_PARTS
from guide.geometry import Grid
from guide.matte import guided_filter_coefficients
from guide.model.bodypix import RawOutput
from guide.parse import BodyParse, mask_box

# The guided filter: window radius as a share of one model output cell (stride / scale image pixels:
# the width of the model's blur), and its regulariser (intensity 0..1 squared). bench/instances.py,
# Penn-Fudan mean instance IoU (mirror mean on; 0.796 without the filter): radius 0.3 / 0.4 / 0.5 / 0.7
# cell: 0.805 / 0.807 / 0.807 / 0.805; eps 1e-4 / 1e-3 / 1e-2: 0.807 / 0.807 / 0.804.
RADIUS_CELLS, EPS = 0.5, 1e-3
# The band the filter may change: pixels whose probability lies strictly between these.
BAND = (0.02, 0.98)
# The filtered probability is cut this much below the parse's threshold: the model's 0.7 level lies inside
# a limb's outer side. Mean IoU, cut 0.7 / 0.65 / 0.6 / 0.55 / 0.5 below a 0.7 threshold: 0.801 / 0.807 /
# 0.809 / 0.807 / 0.803 (even-numbered photos 0.800 / 0.807 / 0.810 / 0.810 / 0.807, odd 0.803 / 0.807 /
# 0.807 / 0.804 / 0.800: beyond 0.05 the gain does not hold out of sample); landmarks the same throughout.
CUT_BELOW = 0.05
# The snapping works where one model cell is at most this many pixels wide: the model's edge is known to a
# fraction of a cell, and at a 12 MP photo's own pixels (a 90 px cell) the filter and the band's morphology
# took 1.5 s a photo (Penn-Fudan's cells are 8-14 px: about what they were).
WORK_CELL = 8.0


def mirrored_window(window: Grid) -> Grid:
    """The window that shows the horizontally flipped image exactly as `window` shows the image."""
    x0, y0, x1, y1 = window.box
    w = window.image_width
    return Grid.over((w - x1, y0, w - x0, y1), window.width, window.height, (w, window.image_height))


def mirror_mean(raw: RawOutput, mirrored: RawOutput) -> RawOutput:
    """`raw` with its person logits averaged with those of the flipped image's pass (`mirrored`, run on
    `mirrored_window(raw.window)`); everything else (poses, parts, offsets) is `raw`'s own.

    The output grid of a k * stride + 1 input is symmetric: cell i of the
    flipped pass sees what cell (n - 1 - i) of the plain pass sees, so the
    flipped map, reversed along x, lies exactly on `raw`'s grid.
    """
    if mirrored.segments.shape != raw.segments.shape:
        raise ValueError(f"mirrored pass has logits {mirrored.segments.shape}, expected {raw.segments.shape}")
    segments = 0.5 * (raw.segments + mirrored.segments[:, ::-1])
    return RawOutput(
        np.ascontiguousarray(segments, dtype=np.float32), raw.part_heatmaps, raw.heatmaps, raw.short_offsets,
        raw.long_offsets, raw.displacement_fwd, raw.displacement_bwd, raw.window, raw.output_stride,
    )


def snap_probability(image_bgr: np.ndarray, probability: np.ndarray, radius: int, eps: float = EPS) -> np.ndarray:
    """`probability` with its uncertain band (`BAND`) replaced by a colour guided filter's output.

    The filter (window radius `radius` px, regulariser `eps`) works only within
    the band's bounding box, grown by twice the radius, so a large photo with a
    small person costs what the person costs. Its coefficients are fitted on
    that box shrunk by radius // 2 (the "fast guided filter", He & Sun 2015:
    they are box means, smooth at the window's scale) and applied at full
    resolution (Penn-Fudan: the same mean IoU as fitting at full resolution,
    at a fifth of the cost). Values outside the band are returned unchanged;
    inside, clipped to [0, 1].
    """
    if image_bgr.shape[:2] != probability.shape:
        raise ValueError(f"image {image_bgr.shape[:2]} and probability {probability.shape} differ in size")
    band = (probability > BAND[0]) & (probability < BAND[1])
    box = mask_box(band)
    out = probability.astype(np.float32, copy=True)
    if box is None:
        return out
    h, w = probability.shape
    m = 2 * radius
    x0, y0 = max(0, int(box[0]) - m), max(0, int(box[1]) - m)
    x1, y1 = min(w, int(box[2]) + m), min(h, int(box[3]) + m)
    guide = image_bgr[y0:y1, x0:x1].astype(np.float32) * np.float32(1.0 / 255.0)
    p = out[y0:y1, x0:x1]
    step = max(1, radius // 2)
    if step > 1:
        small = (max(1, round((x1 - x0) / step)), max(1, round((y1 - y0) / step)))
        coef = guided_filter_coefficients(
            cv2.resize(guide, small, interpolation=cv2.INTER_AREA),
            cv2.resize(p, small, interpolation=cv2.INTER_AREA),
            max(1, round(radius / step)),
            eps,
        )
        coef = cv2.resize(coef, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    else:
        coef = guided_filter_coefficients(guide, p, radius, eps)
    q = coef[:, :, 3] + coef[:, :, 0] * guide[:, :, 0] + coef[:, :, 1] * guide[:, :, 1] + coef[:, :, 2] * guide[:, :, 2]
    np.copyto(p, np.clip(q, 0.0, 1.0), where=band[y0:y1, x0:x1])
    return out


def remask(body: BodyParse, mask: np.ndarray) -> None:
    """Give `body` (a parse on the image's own pixels) the person mask `mask`, in place.

    Pixels leaving the mask leave their person and part; pixels joining it
    take the person and part of the nearest pixel of the old mask (the
    filter moves an edge by a few pixels, never across a person). People's
    boxes and areas follow.
    """
    if body.grid != Grid.identity(body.width, body.height) or mask.shape != body.mask.shape:
        raise ValueError("remask works on a parse on the image's own pixels, with a mask of its size")
    old = body.mask
    joined = mask & ~old
    instances, parts = body.instances, body.parts
    box = mask_box(joined)
    if box is not None and old.any():
        # Nearest old-mask pixel, within the joined pixels' box grown until it holds some old mask.
        h, w = mask.shape
        grow = 8
        while True:
            x0, y0 = max(0, int(box[0]) - grow), max(0, int(box[1]) - grow)
            x1, y1 = min(w, int(box[2]) + grow), min(h, int(box[3]) + grow)
            if old[y0:y1, x0:x1].any() or (x0, y0, x1, y1) == (0, 0, w, h):
                break
            grow *= 2
        sub_old = old[y0:y1, x0:x1]
        _, nearest = cv2.distanceTransformWithLabels(
            (~sub_old).astype(np.uint8), cv2.DIST_L2, 5, labelType=cv2.DIST_LABEL_PIXEL
        )
        ys, xs = np.nonzero(sub_old)
        sub_inst, sub_parts = instances[y0:y1, x0:x1], parts[y0:y1, x0:x1]
        lut_inst = np.full(int(nearest.max()) + 1, -1, np.int8)
        lut_parts = np.full(int(nearest.max()) + 1, -1, np.int8)
        lut_inst[nearest[ys, xs]] = sub_inst[ys, xs]
        lut_parts[nearest[ys, xs]] = sub_parts[ys, xs]
        new = joined[y0:y1, x0:x1]
        sub_inst[new] = lut_inst[nearest[new]]
        sub_parts[new] = lut_parts[nearest[new]]
    instances[~mask] = -1
    parts[~mask] = -1
    body.mask = mask
    areas = np.bincount(instances[instances >= 0].astype(np.intp), minlength=len(body.people))
    for i, person in enumerate(body.people):
        person_box = mask_box(instances == i) if areas[i] else None
        if person_box is not None:
            body.people[i] = replace(person, bbox=person_box, mask_area=int(areas[i]))


def snap_edges(body: BodyParse, image_bgr: np.ndarray, cell: float, threshold: float) -> None:
    """`body`'s person mask (a still's parse, with its probability) snapped to the photo's edges, in place.

    `cell` is the size of one model output cell in image pixels (stride /
    scale), the scale of the model's blur; `threshold` the parse's person
    threshold. Only the uncertain band within the filter's radius of the
    mask's edge changes (an edge moves, no blob appears, no hole opens), and
    not within that radius of a face or foot pixel: there the mask stays as
    the model drew it (see the module docstring). The filter and the band's
    morphology run with a cell at most WORK_CELL pixels wide (a 12 MP photo,
    shrunk about ten times), the cut at the photo's own pixels.
    """
    if body.probability is None:
        raise ValueError("snap_edges needs the parse's probability (parse(..., keep_probability=True))")
    h, w = body.mask.shape
    f = min(1.0, WORK_CELL / cell)
    size = (max(1, round(w * f)), max(1, round(h * f)))
    p = body.probability

    def small(a: np.ndarray, how: int) -> np.ndarray:
        return a if f == 1.0 else cv2.resize(a, size, interpolation=how)

    def full(a: np.ndarray, how: int) -> np.ndarray:
        return a if f == 1.0 else cv2.resize(a, (w, h), interpolation=how)

    radius = max(1, round(RADIUS_CELLS * cell * f))
    snapped = full(snap_probability(small(image_bgr, cv2.INTER_AREA), small(p, cv2.INTER_AREA), radius, EPS),
                   cv2.INTER_LINEAR)
    ends = small(np.isin(body.parts, FACE_PARTS + FEET_PARTS).astype(np.uint8), cv2.INTER_NEAREST)
    disc = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
    # The edge moves by at most the radius: no new blob on a dark coat across the street, no hole in a torso.
    mask_u8 = small(body.mask.astype(np.uint8), cv2.INTER_NEAREST)
    near = ((cv2.dilate(mask_u8, disc) > cv2.erode(mask_u8, disc)) & (cv2.dilate(ends, disc) == 0)).astype(np.uint8)
    free = (full(near, cv2.INTER_NEAREST) > 0) & (p > BAND[0]) & (p < BAND[1])  # what the filter may change
    mask = body.mask.copy()
    mask[free] = snapped[free] > threshold - CUT_BELOW
    remask(body, mask)
