"""Raw BodyPix outputs -> BodyParse: who is where, pixel by pixel, in the original image.

The person mask and the part map are resampled from the model's input raster
to the parse's raster in one affine warp each (`guide.geometry.resample`; the
raw output's window says where its raster lies). By default that raster is the
image's own pixels; the live loop asks for the model's raster itself (no warp
at all), so its cost does not grow with the camera's pixels. Several people
are separated the way BodyPix's multi-person decoder
does it: decode poses, then give each mask pixel to the pose its long-range
offsets point at; mask pixels that point at no decoded pose, in a large
person-shaped piece, are a person the decoder missed (`Person.from_mask`); all of
that is `guide.instances`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import cv2
import numpy as np

from guide.body import KEYPOINT_NAMES
from guide.geometry import Grid, resample
from guide.instances import assign_coarse, drop_duplicate_poses, drop_stray_blobs, give_legs_to_front, merge_same_head
from guide.model.bodypix import RawOutput, part_ids
from guide.poses import decode_multiple_poses
from guide.subject import pick_subject

DEFAULT_THRESHOLD = 0.7


@dataclass
class Person:
    """One person. Coordinates are original-image pixels, (x, y) floats."""

    index: int
    score: float  # pose confidence in [0, 1]
    keypoints: np.ndarray  # (17, 3): x, y, score, in KEYPOINT_NAMES order
    bbox: tuple[float, float, float, float]  # x0, y0, x1, y1 pixel edges of the instance mask
    mask_area: int  # pixels
    # Missed by the pose decoder and found from the mask (`guide.instances.assign_instances`): the keypoints
    # are the medians of where its pixels' long offsets point, rougher than a decoded skeleton's.
    from_mask: bool = False

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
    # Where the person probability is over 0.5 (bool, on `grid`): the model's own edge of a person,
    # which thin ends (feet) reach while the 0.7 `mask` stops short of them (`guide.measure`).
    edge: np.ndarray | None = None
    # Head keypoints ((5, 3) nose, eyes, ears: x, y in image pixels, score) of poses decoded without
    # pixels enough to be a person: someone just behind another, whose pixels the nearer skeleton took.
    # Their face still says where their head is (`guide.measure.own_head_side`).
    hidden_heads: list[np.ndarray] = field(default_factory=list)
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


def mask_box(mask: np.ndarray) -> tuple[float, float, float, float] | None:
    """The box (x0, y0, x1, y1, pixel edges) of a mask's True pixels, or None when there are none."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    return float(cols[0]), float(rows[0]), float(cols[-1] + 1), float(rows[-1] + 1)


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
    find_missed: bool = False,
) -> BodyParse:
    """Decode the raw outputs into a BodyParse whose arrays lie on `grid`.

    `grid` defaults to the image's own pixels; `model_grid(raw)` is the
    cheapest. `threshold` is the person probability above which a pixel is a
    person (0.7 by default, as upstream). People whose mask covers less than
    `min_area_fraction` of the image are dropped as noise. `find_missed`
    recovers people the pose decoder missed from the mask (`guide.instances.assign_instances`):
    stills ask for it (`guide.analyze.parse_still`); the live loop does not
    (it costs a lone person's frame 0.5-1.8 ms of parse, 5-10% of a frame).
    """
    window = raw.window
    grid = grid or Grid.identity(window.image_width, window.image_height)
    cut = _logit(threshold)
    logits_in = raw.segment_logits_input
    logits = resample(logits_in, window, grid)
    mask = logits > cut
    outside = ~mask
    parts_in = _part_ids_in_mask(raw, cut)
    parts = resample(parts_in, window, grid, nearest=True)
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
    poses = merge_same_head(drop_duplicate_poses(poses))
    # Label a slightly generous mask at input resolution so every mask pixel of
    # the parse's raster finds a label after nearest-neighbour resampling.
    mask_in = logits_in > cut - 1.0
    u0, v0, u1, v1 = window.inside()
    if (u0, v0, u1, v1) != (0, 0, window.width, window.height):
        valid = np.zeros_like(mask_in)
        valid[v0:v1, u0:u1] = True
        mask_in &= valid
    labels_in, missed = assign_coarse(mask_in, raw.long_offsets, poses, raw.output_stride, find_missed)
    decoded = len(poses)
    poses = poses + missed
    labels_in = drop_stray_blobs(labels_in, poses)
    labels_in = give_legs_to_front(labels_in, parts_in[: labels_in.shape[0], : labels_in.shape[1]], poses)
    instances = resample(labels_in, window, grid, nearest=True)
    instances[outside] = -1

    people: list[Person] = []
    hidden_heads: list[np.ndarray] = []
    pixel_area = 1.0 / (grid.scale_x * grid.scale_y)  # image pixels per raster pixel
    min_area = max(16, int(min_area_fraction * window.image_width * window.image_height))
    remap = np.full(len(poses) + 1, -1, dtype=np.int8)
    for i, pose in enumerate(poses):
        person_mask = instances == i
        area = int(round(np.count_nonzero(person_mask) * pixel_area))
        box = mask_box(person_mask) if area >= min_area else None
        kp = pose.keypoints.copy()
        kp[:, 0], kp[:, 1] = window.points_to_image(kp[:, 0], kp[:, 1])
        if box is None:
            if i < decoded:
                hidden_heads.append(kp[:5])
            continue
        x0, y0 = grid.to_image(box[0], box[1])
        x1, y1 = grid.to_image(box[2], box[3])
        remap[i] = len(people)
        image_box = (float(x0), float(y0), float(x1), float(y1))
        people.append(Person(len(people), pose.score, kp, image_box, area, from_mask=i >= decoded))
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
        edge=logits > 0.0,
        hidden_heads=hidden_heads,
        grid=grid,
    )
