"""Where a person's head top, chin and feet are, and what the frame cuts off.

Plain functions over a BodyParse. Vertical positions are pixel *edges*: y = 0 is
the top edge of the image and y = height its bottom edge, so a head top at y
means the topmost head pixel row is row y, and feet at y means the lowest foot
pixel row is row y - 1. Edges scale exactly with the image, which keeps every
ratio built from them free of half-pixel bias.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from guide.body import FACE_PARTS, FEET_PARTS, KEYPOINT_ID, LOWER_LEG_PARTS, UPPER_LEG_PARTS
from guide.geometry import Grid
from guide.parse import BodyParse

HEAD_KEYPOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
THIGH_PARTS = UPPER_LEG_PARTS  # upper legs, front and back
MIN_KEYPOINT_SCORE = 0.3
# How far below the 0.7 mask's lowest foot row the feet may end (`_to_edge`), as a share of the
# face top to feet distance: the model's 0.5 edge lies a few pixels out, never a body part away.
FEET_REACH = 0.05


@dataclass
class Landmarks:
    """One person's vertical landmarks as (x, y) in original-image pixels, or None."""

    head_top: tuple[float, float] | None
    chin: tuple[float, float] | None
    feet: tuple[float, float] | None
    cut: list[str] = field(default_factory=list)  # "head", "feet": cut by the frame border
    missing: list[str] = field(default_factory=list)  # "head", "feet": not seen, not at a border


def _mean_x(cols: np.ndarray) -> float:
    return float(np.mean(cols)) + 0.5


def _head_band(face: np.ndarray, person: np.ndarray, kp: np.ndarray) -> tuple[int, int, int] | None:
    """Column range and top row of the head: face parts, else the head keypoints.

    All in the coordinates of the arrays given (`kp` already shifted to them).
    """
    rows, cols = np.nonzero(face)
    if rows.size:
        lo, hi = np.percentile(cols, [2, 98])
        return int(lo), int(hi) + 1, int(rows.min())
    head = _confident(kp, HEAD_KEYPOINTS)
    if head.size == 0:
        return None
    h, w = person.shape
    span = max(8.0, float(np.ptp(head[:, 0])))
    x0 = int(max(0, np.min(head[:, 0]) - 0.25 * span))
    x1 = int(min(w, np.max(head[:, 0]) + 0.25 * span + 1))
    y = int(np.clip(np.min(head[:, 1]), 0, h - 1))
    if x1 <= x0 or not person[:, x0:x1].any():
        return None
    return x0, x1, y


def _confident(kp: np.ndarray, names: tuple[str, ...]) -> np.ndarray:
    """(n, 3) rows of `kp` for the named keypoints seen with at least MIN_KEYPOINT_SCORE."""
    rows = kp[[KEYPOINT_ID[n] for n in names]]
    return rows[rows[:, 2] >= MIN_KEYPOINT_SCORE]


def _near(shape: tuple[int, ...], points: np.ndarray, radius: float) -> np.ndarray:
    """Pixels within `radius` of any of `points` ((n, 2+) x, y), as a bool array of `shape`."""
    out = np.zeros(shape[:2], np.uint8)
    r = max(1, int(round(radius)))
    for x, y in points[:, :2]:
        if -r <= x < shape[1] + r and -r <= y < shape[0] + r:
            cv2.circle(out, (int(round(x)), int(round(y))), r, 1, -1)
    return out > 0


def _touching(region: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The pixels of `region` in the 8-connected pieces of it that meet `seeds`."""
    hit = region & seeds
    if not hit.any():
        return hit
    rows, cols = np.flatnonzero(region.any(axis=1)), np.flatnonzero(region.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1  # label only the region's box
    n, comp = cv2.connectedComponents(region[r0:r1, c0:c1].astype(np.uint8), connectivity=8)
    out = np.zeros_like(region)
    if n == 2:
        out[r0:r1, c0:c1] = region[r0:r1, c0:c1]
        return out
    keep = np.zeros(n, bool)
    keep[np.unique(comp[hit[r0:r1, c0:c1]])] = True
    keep[0] = False
    out[r0:r1, c0:c1] = keep[comp]
    return out


def _pieces(islands: np.ndarray, n: int, seeds: np.ndarray) -> np.ndarray:
    """The pieces of a labelled mask (`islands`, `n` labels with 0 the background) that meet `seeds`."""
    keep = np.zeros(n, bool)
    keep[np.unique(islands[seeds])] = True
    keep[0] = False
    return keep[islands]


def _body_scale(kp: np.ndarray) -> float:
    """A length that grows with the person (raster px): the spread of their confident keypoints, at least 16."""
    seen = kp[kp[:, 2] >= MIN_KEYPOINT_SCORE]
    return max(16.0, float(np.ptp(seen[:, 1])) if len(seen) >= 2 else 0.0)


def own_face(face: np.ndarray, kp: np.ndarray, person: np.ndarray | None = None) -> np.ndarray:
    """The face pixels of this person's own head: the face pieces at their head keypoints.

    A person's instance can hold a face that is not theirs (a passer-by's,
    behind them, given to them pixel by pixel); that face is a separate piece
    away from their nose, eyes and ears. Without a confident head keypoint
    (seen from behind) the face pieces are kept as they are, and so they are
    when none of those keypoints lies on the person's mask `person` (when
    given): then the skeleton's head is someone else's, not the face
    (FudanPed00044, a walker seen from behind: a head top missed).
    """
    head = _confident(kp, HEAD_KEYPOINTS)
    if head.size == 0 or not face.any():
        return face
    spread = float(np.ptp(head[:, 0])) if len(head) >= 2 else 0.0
    radius = max(2.0, 0.5 * spread, 0.04 * _body_scale(kp))
    around = _near(face.shape, head, radius)
    if person is not None and not (around & person).any():
        return face
    return _touching(face, around)


# Two heads on one mask part this share of the way from the own head's centre to the other's: the head in
# front is the nearer and larger. bench/instances.py, Penn-Fudan, head tops over 3% of the height off:
# 0.5 / 0.6 / 0.7 / 0.8 / 0.9: 43 / 42 / 42 / 42 / 43 of 423 (PennPed00014's 4.5% / 3.0% / 1.5% / 0.0% / 1.5%
# too low, PennPed00001's 2.7% too low / 1.1% / 0.4% too high / 1.9% / 3.4%).
HEAD_SPLIT = 0.7


def own_head_side(
    shape: tuple[int, int], head: np.ndarray, others: list[np.ndarray], person: np.ndarray
) -> np.ndarray | None:
    """Where this person's own head is, when someone else's head lies on their mask above it: the
    pixels nearer their own head centre than any such other head's (bool, `shape`), or None.

    A person just behind can lose their head to the person in front: their
    pixels go to the nearer skeleton, and the face region (BodyPix's face
    parts cover the whole head, hair included) joins two heads with no waist
    between them, the head top read above it being the other's (Penn-Fudan:
    about ten of the head tops found over 3% of the height too high,
    bench/instances.py). Where the pose decoder did find the other person,
    their head keypoints say where their head is, even when they were left
    without pixels (`BodyParse.hidden_heads`): `head` holds this person's
    confident head keypoints ((n, 2+) x, y, on `shape`'s raster), `others`
    everyone else's. An other head counts with two confident keypoints at
    least, its centre on `person` (their mask) or within half this person's
    head width of it (PennPed00009: only a strip of the other's neck is
    theirs), and above this person's head centre; the two heads part
    `HEAD_SPLIT` of the way from this person's centre to the other's.
    """
    if head.size == 0:
        return None
    cx, cy = head[:, :2].mean(axis=0)
    h, w = shape
    centres = [o[:, :2].mean(axis=0) for o in others if len(o) >= 2]
    # On their mask, or as near it as half their head is wide (their mask can hold a strip of the other's neck).
    r = max(1, int(0.5 * float(np.ptp(head[:, 0])))) if len(head) >= 2 else 1
    centres = [(x, y) for x, y in centres if 0 <= x < w and 0 <= y < cy
               and person[max(0, int(y) - r) : int(y) + r + 1, max(0, int(x) - r) : int(x) + r + 1].any()]
    if not centres:
        return None
    gy, gx = np.mgrid[0:h, 0:w]
    own = (gx - cx) ** 2 + (gy - cy) ** 2
    side = np.ones(shape, bool)
    for x, y in centres:
        # The line where the two heads part: across the line between the centres, HEAD_SPLIT of the way.
        x, y = cx + 2 * HEAD_SPLIT * (x - cx), cy + 2 * HEAD_SPLIT * (y - cy)
        side &= own <= (gx - x) ** 2 + (gy - y) ** 2
    return side


def own_feet(feet: np.ndarray, islands: np.ndarray, n: int, parts: np.ndarray, kp: np.ndarray) -> np.ndarray:
    """This person's own foot pixels: the foot pieces joined to their body, on their own legs, or at their ankles.

    A piece of someone else's foot inside the instance (a passer-by's, beside
    this person's legs) is an island apart from their body and their ankles,
    with no thigh above it. Their own legs can be an island too (a bag in front
    of the hips breaks the mask), but one that holds thighs. `islands` labels
    the 8-connected pieces of their mask (`n` labels, 0 the background),
    `parts` holds the part ids on it.
    """
    if not feet.any() or n <= 2:
        return feet
    core = _confident(kp, ("left_hip", "right_hip", "left_shoulder", "right_shoulder", *HEAD_KEYPOINTS))
    scale = _body_scale(kp)
    keep = np.zeros(n, bool)
    if core.size:
        keep[np.unique(islands[_near(islands.shape, core, 0.04 * scale) & (islands > 0)])] = True
    foot_count = np.bincount(islands[feet], minlength=n)
    thigh_count = np.bincount(islands[np.isin(parts, THIGH_PARTS)], minlength=n)
    keep |= thigh_count >= np.maximum(4, 0.2 * foot_count)
    keep[0] = False
    own = feet & keep[islands]
    ankles = _confident(kp, ("left_ankle", "right_ankle"))
    if ankles.size:
        own |= _touching(feet, _near(feet.shape, ankles, 0.08 * scale))
    return own if own.any() else feet


def head_top(person: np.ndarray, band: tuple[int, int, int]) -> tuple[float, float] | None:
    """Walk up the person's mask above the face, within the head's columns, while it stays unbroken."""
    x0, x1, face_top = band
    rows_with_mask = np.asarray(person[: face_top + 1, x0:x1].any(axis=1))
    row = face_top
    while row > 0 and rows_with_mask[row - 1]:
        row -= 1
    if not rows_with_mask[row]:
        return None
    cols = np.flatnonzero(person[row, x0:x1]) + x0
    return _mean_x(cols), float(row)


def _lowest(region: np.ndarray) -> tuple[float, float] | None:
    rows = np.flatnonzero(region.any(axis=1))
    if rows.size == 0:
        return None
    bottom = int(rows[-1])
    cols = np.flatnonzero(region[bottom])
    return _mean_x(cols), float(bottom + 1)


def _shins_over_feet(rows: np.ndarray) -> bool:
    """In these rows of a person's own part ids: more lower leg than feet (at least two raster pixels)."""
    shins = int(np.isin(rows, LOWER_LEG_PARTS).sum())
    return shins >= 2 and shins > int(np.isin(rows, FEET_PARTS).sum())


def _runs_off_bottom(person: np.ndarray, feet_y: float, feet_x: float, feet_px: np.ndarray, reaches_bottom: bool) -> bool:
    """Does the body go on below the feet, unbroken, to the bottom edge (legs cut by the frame)?

    Arrays and coordinates are in the person's box; `reaches_bottom` says
    whether that box ends at the image's bottom edge.
    """
    if not reaches_bottom:
        return False
    cols = np.flatnonzero(feet_px.any(axis=0))
    if cols.size:
        x0, x1 = int(cols.min()), int(cols.max()) + 1
    else:
        half = max(4, int(0.05 * person.shape[0]))
        x0, x1 = max(0, int(feet_x) - half), int(feet_x) + half
    below = person[max(0, int(feet_y) - 1) :, x0:x1].any(axis=1)
    return bool(below.all())


def _to_edge(
    edge: np.ndarray, instances: np.ndarray, index: int, feet_px: np.ndarray, feet_y: int, x0: int, y0: int, reach: int
) -> int:
    """The row edge (raster px) where the person really ends below their feet: `feet_y` moved down
    through `edge` (person probability > 0.5, the whole raster) under the feet, never into another
    person's `instances` pixels, at most `reach` rows.

    The 0.7 mask stops short of thin ends: on Penn-Fudan its lowest foot row
    lies a median 0.7% of the height above the true one (3% or more in one
    person of eight); the 0.5 edge is unbiased (bench/instances.py). `feet_px`
    is in the person's box, whose corner is (`x0`, `y0`) on the raster.
    """
    cols = np.flatnonzero(feet_px[max(0, feet_y - 1 - reach) : feet_y].any(axis=0))
    if cols.size == 0 or reach <= 0:
        return feet_y
    rows, span = slice(y0 + feet_y, y0 + feet_y + reach), slice(x0 + cols.min(), x0 + cols.max() + 1)
    owner = instances[rows, span]
    below = (edge[rows, span] & ((owner < 0) | (owner == index))).any(axis=1)
    return feet_y + (int(np.argmin(below)) if not below.all() else below.size)


def _box_points(grid: Grid, image_kp: np.ndarray, bx0: int, by0: int) -> np.ndarray:
    """Keypoints (image px) on the raster of `grid`, in the box whose corner is (`bx0`, `by0`) on it."""
    kp = image_kp.copy()
    kp[:, 0], kp[:, 1] = grid.points_to_grid(image_kp[:, 0], image_kp[:, 1])
    kp[:, 0] -= bx0
    kp[:, 1] -= by0
    return kp


def _shift(point: tuple[float, float] | None, dx: int, dy: int) -> tuple[float, float] | None:
    return None if point is None else (point[0] + dx, point[1] + dy)


def landmarks(parse: BodyParse, index: int, border: int | None = None) -> Landmarks:
    """Head top, chin and feet of person `index`, and which of them the frame cuts.

    `border` is how close (image pixels) to the image edge counts as touching
    it; by default 0.5% of the image height, at least one pixel. The work is
    done on the parse's raster inside the person's box, which keeps it cheap
    enough for every live frame; results are in image pixels.
    """
    h = parse.height
    grid = parse.grid
    border = border if border is not None else max(1, round(0.005 * h))
    bx0, by0, bx1, by1 = grid.rows_cols(parse.people[index].bbox)
    person = parse.instances[by0:by1, bx0:bx1] == index
    own_parts = np.where(person, parse.parts[by0:by1, bx0:bx1], -1)
    face = np.isin(own_parts, FACE_PARTS)
    feet_px = np.isin(own_parts, FEET_PARTS)
    image_kp = parse.people[index].keypoints
    kp = _box_points(grid, image_kp, bx0, by0)

    def to_image(point: tuple[float, float] | None) -> tuple[float, float] | None:
        if point is None:
            return None
        x, y = grid.to_image(point[0] + bx0, point[1] + by0)
        return float(x), float(y)

    n, islands = cv2.connectedComponents(person.astype(np.uint8), connectivity=8)
    face = own_face(face, kp, person)
    feet_px = own_feet(feet_px, islands, n, own_parts, kp)
    # Someone else's head on their mask above their own: only their own side of the two counts.
    others = [_confident(_box_points(grid, p.keypoints, bx0, by0), HEAD_KEYPOINTS)
              for k, p in enumerate(parse.people) if k != index]
    others += [_box_points(grid, head, bx0, by0)[head[:, 2] >= MIN_KEYPOINT_SCORE] for head in parse.hidden_heads]
    side = own_head_side(person.shape, _confident(kp, HEAD_KEYPOINTS), others, person)
    if side is not None:
        face &= side
    band = _head_band(face, person, kp)
    # Up from their own face through their own mask: not into a piece of someone else above it.
    body = _pieces(islands, n, face) if n > 2 and face.any() else person
    if side is not None:
        body = body & side
    top = to_image(head_top(body, band) if band else None)
    chin = to_image(_lowest(face))
    feet_local = _lowest(feet_px)
    if feet_local is not None and parse.edge is not None:
        tall = feet_local[1] - (band[2] if band else feet_local[1])
        reach = int(FEET_REACH * tall)
        feet_y = _to_edge(parse.edge, parse.instances, index, feet_px, int(feet_local[1]), bx0, by0, reach)
        feet_local = (feet_local[0], float(feet_y))
    feet = to_image(feet_local)
    if feet is None:
        ankles = [image_kp[KEYPOINT_ID[n]] for n in ("left_ankle", "right_ankle")]
        ankles = [a for a in ankles if a[2] >= MIN_KEYPOINT_SCORE]
        if ankles:
            lowest = max(ankles, key=lambda a: a[1])
            feet = (float(lowest[0]) + 0.5, float(min(h, lowest[1] + 1)))

    # Raster rows (in the box) that lie within `border` of the image's top and bottom edges.
    top_rows = int(np.ceil(float(grid.to_grid(0.0, float(border))[1]))) - by0
    bottom_row = int(np.floor(float(grid.to_grid(0.0, float(h - border))[1]))) - by0
    touches_top = top_rows > 0 and bool(person[:top_rows].any())
    touches_bottom = bottom_row < person.shape[0] and bool(person[max(0, bottom_row) :].any())
    # Does the person's box reach the image's bottom edge on the raster? That edge is the raster's last
    # row, half a raster pixel past it (model_grid), or inside the raster when a live crop is padded
    # below the image.
    edge_row = float(grid.to_grid(0.0, float(h))[1])
    reaches_bottom = edge_row <= grid.height + 0.5 + 1e-6 and by1 >= min(grid.height, int(np.floor(edge_row + 1e-6)))
    cut: list[str] = []
    missing: list[str] = []
    if top is None:
        (cut if touches_top else missing).append("head")
    elif top[1] < border:
        cut.append("head")
    # A shin at the bottom edge, more of it there than of feet: that leg's foot is below the frame,
    # whatever foot was found higher up (a raised foot mid-stride, a glove taken for one).
    shins_off = touches_bottom and _shins_over_feet(own_parts[max(0, bottom_row) :])
    if feet is None:
        (cut if touches_bottom else missing).append("feet")
    elif feet[1] > h - border or shins_off:
        cut.append("feet")
        if shins_off and feet[1] <= h - border:
            # Their feet are below the frame: what was found higher up (a red glove, multi_skiing's child: "feet"
            # at their chest) is not where they are. Where the shins leave the picture, as for any cut feet.
            cols = np.flatnonzero(person[max(0, bottom_row) :].any(axis=0))
            feet = (float(grid.to_image(_mean_x(cols) + bx0, 0.0)[0]), float(h))
    elif feet_local is not None and _runs_off_bottom(person, feet_local[1], feet_local[0], feet_px, reaches_bottom):
        cut.append("feet")
    elif feet_local is None and reaches_bottom:
        fx, fy = grid.to_grid(feet[0], feet[1])
        if _runs_off_bottom(person, float(fy) - by0, float(fx) - bx0, feet_px, reaches_bottom):
            cut.append("feet")
    return Landmarks(top, chin, feet, cut, missing)


# --- framing: how the subject sits in the frame ------------------------------------

FRAMING_FIELDS = ("head_ratio", "body_fill", "headroom", "footroom", "center_x", "tilt_deg")


@dataclass
class Framing:
    """The subject's framing, every value normalised so it compares across image sizes.

    Vertical values are fractions of the frame height, `center_x` a fraction of
    its width, `tilt_deg` degrees (positive: the upper body leans towards the
    image's right). A value that cannot be measured is None, never 0; each
    measured value has a confidence in [0, 1] in `confidence`.
    """

    head_ratio: float | None  # (chin - head_top) / (feet - head_top): low camera, longer legs, smaller ratio
    body_fill: float | None  # (feet - head_top) / frame height
    headroom: float | None  # head_top / frame height
    footroom: float | None  # (frame height - feet) / frame height
    center_x: float | None  # body's horizontal centre / frame width
    tilt_deg: float | None  # lean of the body axis from vertical
    orientation: str  # "portrait", "landscape" or "square"
    aspect_ratio: float  # width / height
    confidence: dict[str, float] = field(default_factory=dict)

    def values(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in FRAMING_FIELDS}


def orientation_of(width: int, height: int, square_tolerance: float = 0.02) -> str:
    """"portrait", "landscape" or "square"; frames whose long side is within 2% of the short one are square.

    Square-ish frames (1000x1002 video stills, a square photo trimmed by a few
    pixels) are framed as squares, not as tall frames. The nearest real
    non-square formats, 5:4 and 4:3, are 25% and 33% off, far beyond 2%.
    """
    long_side, short_side = max(width, height), min(width, height)
    if long_side <= short_side * (1 + square_tolerance):
        return "square"
    return "landscape" if width > height else "portrait"


def _keypoint(kp: np.ndarray, name: str, min_score: float = MIN_KEYPOINT_SCORE) -> np.ndarray | None:
    x, y, s = kp[KEYPOINT_ID[name]]
    return np.array([x, y, s]) if s >= min_score else None


def torso_axis(kp: np.ndarray) -> tuple[np.ndarray, np.ndarray, float] | None:
    """(mid-shoulder, mid-hip, confidence) when both shoulders and both hips are seen, else None."""
    ls, rs, lh, rh = (_keypoint(kp, n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip"))
    if ls is None or rs is None or lh is None or rh is None:
        return None
    return (ls[:2] + rs[:2]) / 2, (lh[:2] + rh[:2]) / 2, float(min(ls[2], rs[2], lh[2], rh[2]))


def axis_lean(kp: np.ndarray) -> tuple[float, float] | None:
    """Lean of the mid-hip to mid-shoulder axis from vertical (degrees, positive: top to the right),
    with a confidence; None unless all four joints are seen and the shoulders are above the hips."""
    axis = torso_axis(kp)
    if axis is None:
        return None
    shoulder, hip, confidence = axis
    dx, dy = shoulder[0] - hip[0], hip[1] - shoulder[1]
    return (float(np.degrees(np.arctan2(dx, dy))), confidence) if dy > 0 else None


def body_tilt(kp: np.ndarray) -> tuple[float, float] | None:
    """Lean of the body from vertical in degrees, with a confidence.

    The axis from mid-hip to mid-shoulder (`axis_lean`) when all four keypoints
    are seen; otherwise the shoulder line's angle from horizontal.
    """
    lean = axis_lean(kp)
    if lean is not None:
        return lean
    ls, rs = _keypoint(kp, "left_shoulder"), _keypoint(kp, "right_shoulder")
    if ls is not None and rs is not None and abs(ls[0] - rs[0]) > 1e-6:
        left, right = (ls, rs) if ls[0] < rs[0] else (rs, ls)
        # Same sign as the axis: the line's right end lower means the body leans right at the top.
        angle = float(np.degrees(np.arctan2(right[1] - left[1], right[0] - left[0])))
        return angle, 0.5 * float(min(ls[2], rs[2]))
    return None


def framing(parse: BodyParse, index: int, marks: Landmarks | None = None) -> Framing:
    """Framing of person `index` (usually the subject) in the parse's frame."""
    marks = marks or landmarks(parse, index)
    w, h = parse.width, parse.height
    person = parse.people[index]
    base = float(person.score)
    conf: dict[str, float] = {}
    top = marks.head_top[1] if marks.head_top and "head" not in marks.cut else None
    chin = marks.chin[1] if marks.chin else None
    feet = marks.feet[1] if marks.feet and "feet" not in marks.cut else None

    head_ratio = body_fill = headroom = footroom = None
    if top is not None:
        headroom = top / h
        conf["headroom"] = base
    if feet is not None:
        footroom = (h - feet) / h
        conf["footroom"] = base
    if top is not None and feet is not None and feet > top:
        body_fill = (feet - top) / h
        conf["body_fill"] = base
        if chin is not None and top < chin < feet:
            head_ratio = (chin - top) / (feet - top)
            conf["head_ratio"] = base

    grid = parse.grid
    bx0, by0, bx1, by1 = grid.rows_cols(person.bbox)
    col_counts = (parse.instances[by0:by1, bx0:bx1] == index).sum(axis=0)
    center_x = None
    if col_counts.any():
        # Median column of the mask pixels: outstretched arms barely move it.
        cum = np.cumsum(col_counts)
        column = bx0 + float(np.searchsorted(cum, cum[-1] / 2)) + 0.5
        center_x = float(grid.to_image(column, 0.0)[0]) / w
        conf["center_x"] = base
    tilt = body_tilt(person.keypoints)
    if tilt is not None:
        conf["tilt_deg"] = tilt[1]
    return Framing(
        head_ratio=head_ratio,
        body_fill=body_fill,
        headroom=headroom,
        footroom=footroom,
        center_x=center_x,
        tilt_deg=tilt[0] if tilt else None,
        orientation=orientation_of(w, h),
        aspect_ratio=w / h,
        confidence=conf,
    )
