"""Raw BodyPix outputs -> BodyParse: who is where, pixel by pixel, in the original image.

The person mask and the part map are resampled from the model's input raster
to the parse's raster in one affine warp each (`guide.geometry.resample`; the
raw output's window says where its raster lies). By default that raster is the
image's own pixels; the live loop asks for the model's raster itself (no warp
at all), so its cost does not grow with the camera's pixels. Several people
are separated the way BodyPix's multi-person decoder
does it: decode poses, then give each mask pixel to the pose its long-range
offsets point at.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from guide.body import KEYPOINT_NAMES
from guide.geometry import Grid, resample
from guide.model.bodypix import RawOutput, part_ids
from guide.poses import NUM_KEYPOINTS, Pose, decode_multiple_poses

DEFAULT_THRESHOLD = 0.7


@dataclass
class Person:
    """One person. Coordinates are original-image pixels, (x, y) floats."""

    index: int
    score: float  # pose confidence in [0, 1]
    keypoints: np.ndarray  # (17, 3): x, y, score, in KEYPOINT_NAMES order
    bbox: tuple[float, float, float, float]  # x0, y0, x1, y1 pixel edges of the instance mask
    mask_area: int  # pixels

    def keypoint(self, name: str, min_score: float = 0.0) -> tuple[float, float] | None:
        x, y, s = self.keypoints[KEYPOINT_NAMES.index(name)]
        return (float(x), float(y)) if s >= min_score else None


@dataclass
class BodyParse:
    """Everything the model says about one image of `width` x `height` pixels.

    `mask` is the person mask (any person), `parts` holds a part id 0..23 where
    the mask is set and -1 elsewhere, `instances` holds the person index per
    pixel (-1: nobody). All three are arrays on `grid`: the image's own pixels
    (the default, for stills), or a coarser raster or a crop of the image (live).
    People's keypoints and boxes are always in image pixels.
    """

    width: int
    height: int
    mask: np.ndarray  # bool
    parts: np.ndarray  # int8
    instances: np.ndarray  # int8
    people: list[Person] = field(default_factory=list)
    subject: int | None = None
    probability: np.ndarray | None = None  # float32 person probability, on request
    grid: Grid = None  # type: ignore[assignment]  # set in __post_init__: the image's own pixels

    def __post_init__(self) -> None:
        if self.grid is None:
            self.grid = Grid.identity(self.width, self.height)
        if self.mask.shape != (self.grid.height, self.grid.width):
            grid = f"{self.grid.width}x{self.grid.height}"
            raise ValueError(f"mask of shape {self.mask.shape} does not match its grid {grid}")

    def person_mask(self, index: int) -> np.ndarray:
        """Person `index`'s pixels, on `grid`."""
        return self.instances == index


def model_grid(raw: RawOutput) -> Grid:
    """The model input's raster without its padding: the cheapest raster to parse onto."""
    return raw.window.sub(*raw.window.inside())


def _logit(p: float) -> float:
    p = min(max(p, 1e-6), 1 - 1e-6)
    return math.log(p / (1 - p))


def assign_instances(
    mask_in: np.ndarray,
    long_offsets: np.ndarray,
    poses: list[Pose],
    stride: float,
    min_keypoint_score: float = 0.3,
    refine_steps: int = 2,
    offset_scale: float = 1.0,
) -> np.ndarray:
    """Label each mask pixel (model-input grid) with the index of its pose, -1 elsewhere.

    Each pixel's long-range offsets predict where every keypoint of its own
    person is; the pixel goes to the pose whose confident keypoints are nearest
    those predictions (mean squared distance). `offset_scale` converts offsets
    (model-input pixels) to the units of `mask_in`'s grid when it is subsampled.
    """
    labels = np.full(mask_in.shape, -1, dtype=np.int8)
    if not poses:
        return labels
    if len(poses) == 1:
        labels[mask_in] = 0
        return labels
    ys, xs = np.nonzero(mask_in)
    if ys.size == 0:
        return labels
    gh, gw, _ = long_offsets.shape
    kp = np.stack([p.keypoints for p in poses])  # (P, 17, 3)
    valid = kp[:, :, 2] > min_keypoint_score  # (P, 17)
    use = np.nonzero(valid.any(axis=0))[0]
    if use.size == 0:
        labels[mask_in] = 0
        return labels
    # Embedding: follow the long offsets from each pixel for each used keypoint.
    px = np.broadcast_to(xs[:, None].astype(np.float32), (xs.size, use.size)).copy()
    py = np.broadcast_to(ys[:, None].astype(np.float32), (ys.size, use.size)).copy()
    start_x, start_y = px.copy(), py.copy()
    for step in range(refine_steps + 1):
        gy = np.clip(np.rint(py / stride), 0, gh - 1).astype(np.intp)
        gx = np.clip(np.rint(px / stride), 0, gw - 1).astype(np.intp)
        dy = long_offsets[gy, gx, use[None, :]] * offset_scale
        dx = long_offsets[gy, gx, NUM_KEYPOINTS + use[None, :]] * offset_scale
        base_x, base_y = (start_x, start_y) if step == 0 else (px, py)
        px, py = base_x + dx, base_y + dy
    # Distance to each pose, averaged over that pose's confident keypoints.
    best = np.full(xs.size, np.inf, dtype=np.float32)
    owner = np.full(xs.size, -1, dtype=np.int8)
    for i, pose_kp in enumerate(kp):
        ok = valid[i, use]
        if not ok.any():
            continue
        d2 = (px[:, ok] - pose_kp[use[ok], 0]) ** 2 + (py[:, ok] - pose_kp[use[ok], 1]) ** 2
        dist = d2.mean(axis=1)
        closer = dist < best
        best[closer] = dist[closer]
        owner[closer] = i
    labels[ys, xs] = owner
    return labels


def _assign_coarse(mask_in: np.ndarray, long_offsets: np.ndarray, poses: list[Pose], stride: int) -> np.ndarray:
    """`assign_instances` on every (stride/4)-th pixel, spread back to the full input grid.

    The long offsets live on the stride grid anyway; a quarter-cell step keeps
    boundaries between people within a few input pixels at 1/16 of the work.
    """
    # A quarter cell, coarser on big inputs so the work stays near 16k grid points.
    step = max(1, stride // 4, round(math.sqrt(mask_in.size / 16_000)))
    if len(poses) <= 1 or step == 1:
        return assign_instances(mask_in, long_offsets, poses, stride)
    off = step // 2  # sample cell centres so spreading back is unbiased
    small = mask_in[off::step, off::step]
    scaled = [
        Pose(np.column_stack([(p.keypoints[:, :2] - off) / step, p.keypoints[:, 2]]), p.score) for p in poses
    ]
    labels = assign_instances(small, long_offsets, scaled, stride / step, offset_scale=1.0 / step)
    full = cv2.resize(labels, (mask_in.shape[1], mask_in.shape[0]), interpolation=cv2.INTER_NEAREST)
    full = np.where(mask_in, full, np.int8(-1)).astype(np.int8)
    # Mask pixels whose coarse sample fell just outside the mask take the nearest person's label.
    gap = mask_in & (full < 0)
    if gap.any():
        kernel = np.ones((2 * step + 1, 2 * step + 1), np.uint8)
        for i in range(len(poses)):
            grown = cv2.dilate((full == i).astype(np.uint8), kernel) > 0
            fill = gap & grown
            full[fill] = i
            gap &= ~fill
    return full


def _is_duplicate(weak: Pose, strong: Pose, min_score: float = 0.3) -> bool:
    """Most of `weak`'s confident keypoints sit on some confident keypoint of `strong`.

    Any keypoint counts, not only the same one: the duplicate skeletons the
    greedy decoder grows usually have left and right swapped.
    """
    a = weak.keypoints[weak.keypoints[:, 2] >= min_score, :2]
    b = strong.keypoints[strong.keypoints[:, 2] >= min_score, :2]
    if len(a) == 0 or len(b) < 3:
        return False
    size = float(np.hypot(*(b.max(axis=0) - b.min(axis=0))))
    d = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(axis=2)).min(axis=1)
    return float(np.mean(d < 0.08 * size)) >= 0.6


def drop_duplicate_poses(poses: list[Pose]) -> list[Pose]:
    """Remove poses that repeat a more confident pose on the same body.

    The greedy decoder sometimes grows a second skeleton on one person (seen
    from behind, left and right swapped); it would steal half of their mask.
    """
    kept: list[Pose] = []
    for pose in sorted(poses, key=lambda p: -p.score):
        if not any(_is_duplicate(pose, other) for other in kept):
            kept.append(pose)
    return kept


def drop_stray_blobs(labels: np.ndarray, poses: list[Pose], min_keypoint_score: float = 0.3) -> np.ndarray:
    """Unlabel mask blobs beside their pose (false positives on the background).

    Works at model-input resolution, where `labels` and the poses live. A blob
    stays if it overlaps, in x, the span of the pose's confident keypoints
    (widened by a quarter of their height) and lies between half that height
    above them and twice it below (legs hidden by a dress leave only head to
    hips confident): feet seen apart from a long dress stay, a blob on a truck
    beside the person goes.
    """
    out = labels.copy()
    for i, pose in enumerate(poses):
        own = (labels == i).astype(np.uint8)
        n, comp, stats, _ = cv2.connectedComponentsWithStats(own, connectivity=8)
        kp = pose.keypoints[pose.keypoints[:, 2] >= min_keypoint_score]
        if n <= 2 or len(kp) < 2:
            continue
        height = max(8.0, float(np.ptp(kp[:, 1])))
        x0, x1 = kp[:, 0].min() - 0.25 * height, kp[:, 0].max() + 0.25 * height
        y0, y1 = kp[:, 1].min() - 0.5 * height, kp[:, 1].max() + 2.0 * height
        for c in range(1, n):
            x, y, w, h, _ = stats[c]
            if x > x1 or x + w < x0 or y > y1 or y + h < y0:
                out[comp == c] = -1
    return out


def _bbox(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)


def pick_subject(people: list[Person], width: int, height: int) -> int | None:
    """The person a photographer means: the largest, favouring the one nearest the centre."""
    if not people:
        return None

    def weight(p: Person) -> float:
        cx = (p.bbox[0] + p.bbox[2]) / 2 / width - 0.5
        cy = (p.bbox[1] + p.bbox[3]) / 2 / height - 0.5
        off_centre = min(1.0, math.hypot(cx, cy) / math.hypot(0.5, 0.5))
        return p.mask_area * (1.0 - 0.5 * off_centre)

    return max(range(len(people)), key=lambda i: weight(people[i]))


def _part_ids_in_mask(raw: RawOutput, cut: float) -> np.ndarray:
    """`raw.part_ids_input`, exact wherever the mask (logit > cut) can read it.

    Interpolating the part heatmaps in every grid cell on a part border costs
    milliseconds, most of them in the background. A cell whose corners all have
    person logits <= cut holds no mask pixel (the logits are interpolated too);
    one cell of margin covers image pixels whose nearest input pixel or
    interpolation footprint crosses into a neighbouring cell.
    """
    if "part_ids_input" in raw.__dict__:  # already computed in full
        return raw.part_ids_input
    seg = raw.segments
    corner_max = np.maximum(np.maximum(seg[:-1, :-1], seg[:-1, 1:]), np.maximum(seg[1:, :-1], seg[1:, 1:]))
    hot = cv2.dilate((corner_max > cut).astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    return part_ids(raw.part_heatmaps, raw.output_stride, cells=hot)


def parse(
    raw: RawOutput,
    threshold: float = DEFAULT_THRESHOLD,
    max_people: int = 10,
    pose_threshold: float = 0.25,
    min_area_fraction: float = 0.0005,
    keep_probability: bool = False,
    *,
    grid: Grid | None = None,
) -> BodyParse:
    """Decode the raw outputs into a BodyParse whose arrays lie on `grid`.

    `grid` defaults to the image's own pixels; `model_grid(raw)` is the
    cheapest. `threshold` is the person probability above which a pixel is a
    person (0.7 by default, as upstream). People whose mask covers less than
    `min_area_fraction` of the image are dropped as noise.
    """
    window = raw.window
    grid = grid or Grid.identity(window.image_width, window.image_height)
    cut = _logit(threshold)
    logits_in = raw.segment_logits_input
    logits = resample(logits_in, window, grid)
    mask = logits > cut
    outside = ~mask
    parts = resample(_part_ids_in_mask(raw, cut), window, grid, nearest=True)
    parts[outside] = -1

    poses = decode_multiple_poses(
        raw.heatmaps,
        raw.short_offsets,
        raw.displacement_fwd,
        raw.displacement_bwd,
        raw.output_stride,
        max_detections=max_people,
        score_threshold=pose_threshold,
        nms_radius=20.0,  # model-input pixels, as upstream
    )
    poses = drop_duplicate_poses(poses)
    # Label a slightly generous mask at input resolution so every mask pixel of
    # the parse's raster finds a label after nearest-neighbour resampling.
    mask_in = logits_in > cut - 1.0
    u0, v0, u1, v1 = window.inside()
    if (u0, v0, u1, v1) != (0, 0, window.width, window.height):
        valid = np.zeros_like(mask_in)
        valid[v0:v1, u0:u1] = True
        mask_in &= valid
    labels_in = _assign_coarse(mask_in, raw.long_offsets, poses, raw.output_stride)
    labels_in = drop_stray_blobs(labels_in, poses)
    instances = resample(labels_in, window, grid, nearest=True)
    instances[outside] = -1

    people: list[Person] = []
    pixel_area = 1.0 / (grid.scale_x * grid.scale_y)  # image pixels per raster pixel
    min_area = max(16, int(min_area_fraction * window.image_width * window.image_height))
    remap = np.full(len(poses) + 1, -1, dtype=np.int8)
    for i, pose in enumerate(poses):
        person_mask = instances == i
        area = int(round(np.count_nonzero(person_mask) * pixel_area))
        box = _bbox(person_mask) if area >= min_area else None
        if box is None:
            continue
        x0, y0 = grid.to_image(box[0], box[1])
        x1, y1 = grid.to_image(box[2], box[3])
        kp = pose.keypoints.copy()
        kp[:, 0], kp[:, 1] = window.points_to_image(kp[:, 0], kp[:, 1])
        remap[i] = len(people)
        people.append(Person(len(people), pose.score, kp, (float(x0), float(y0), float(x1), float(y1)), area))
    if not np.array_equal(remap[: len(poses)], np.arange(len(poses))):
        instances = remap[instances]  # -1 stays -1 (last slot), dropped poses become -1
    return BodyParse(
        width=window.image_width,
        height=window.image_height,
        mask=mask,
        parts=parts,
        instances=instances,
        people=people,
        subject=pick_subject(people, window.image_width, window.image_height),
        probability=(1.0 / (1.0 + np.exp(-logits))).astype(np.float32) if keep_probability else None,
        grid=grid,
    )
