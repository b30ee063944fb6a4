"""Is the camera level? Read from the scene's straight lines, not from how the person stands.

A person leans, bends, squats and skis; none of that says anything about the
camera. Walls, door frames, poles and window edges do. With a level camera
aimed straight ahead they are vertical in the picture; aimed down into a room
(or up at a building) they converge on a vanishing point below (above) the
picture, and a wide lens shows it strongly: a radiator at the frame's left
edge leans 7 degrees with the camera level. Either way the camera's roll is
the direction from the picture's centre (the principal point) to the
verticals' vanishing point, measured from vertical: a camera turned about its
optical axis turns that point about the centre. Parallel verticals are the
limit of a vanishing point very far away, and give their common direction.

`scene_roll` finds long, nearly vertical line segments off the people (their
masks, so the wall behind someone still counts) and fits the vanishing point
most of their length passes through (`roll_of`): a consensus over hypotheses
from pairs of segments, then a length-weighted least-squares refinement that
keeps the convergence only where the segments show it beyond their noise.
Segments are weighed and fitted by structure (`structures`: a radiator's
fins, a post's two edges), as one measurement each, not one per segment.
`roll_of` returns None when they are too few or point two ways (a stick
leaning on a fence beside its posts: saying nothing beats a confident wrong
answer); `readings_of` gives both of two rival readings, and `settle` takes
the one that horizontal lines seen face on (the fence's rails) agree with.
`with_face_on` weighs the verticals' reading against those lines at every
look: where the verticals read nothing, two ways the lines side with neither
of, or one reading far from them, the verticals the lines agree with are the
reading, and where none do, nothing is (a stick leaning on a fence, cut close,
outvotes the fence's posts).
`camera_roll` adds the person's body axis only when they stand upright, and
says nothing when the two disagree; a body's axis leans a few degrees with
pose, so guidance asks only what lies beyond its tolerance from it. Where
the verticals say nothing (or read something else), the horizon
(`guide.horizon`: the horizontal lines' vanishing points) is the reading
when an upright body's axis agrees with it. Where the verticals say nothing
and the horizon itself is seen (a sea's edge across the picture), that is the
reading, unless an upright body's axis or the vanishing points' horizon
disagree with it.

Angles are degrees, positive when the picture's verticals lean towards its
right at the top, which is what a camera rolled anticlockwise shows (the same
sign as `guide.measure.Framing.tilt_deg`).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from guide.body import KEYPOINT_ID
from guide.geometry import Grid, resample

WORK_WIDTH = 320  # lines are found on the frame scaled to this width: cheap, and enough for long edges
MAX_LEAN = 20.0  # degrees from vertical a segment may lean and still count as a vertical of the scene
MIN_LENGTH = 0.08  # segments at least this share of the picture's height (a zoomed view's edges are short)
MIN_TOTAL = 0.6  # the agreeing segments' lengths must add up to this share of the height
MIN_SEGMENTS = 2  # ... and be at least this many (two long edges that agree: a pole, a door frame)
LEVEL_TOLERANCE = 2.0  # degrees of roll that "level" allows when the scene shows the verticals
INLIER = 2.0  # degrees a segment may lean off the fitted vanishing point's direction and still count
BANDWIDTH = 1.0  # degrees: how closely a segment must agree with a hypothesis to support it (Gaussian)
RIVAL = 0.5  # another reading (SEPARATION or more away) with this share of the best one's support: ambiguous
SEPARATION = 3.0  # degrees
# The vanishing point lies at least this many picture heights from the centre (a phone's lens aimed
# 35 degrees down puts it there; portraits are taken within that): nearer, the "verticals" are something else (a roof's slope, a stick).
MIN_VP_DISTANCE = 1.5
CONVERGENCE_T = 2.5  # the verticals' convergence is used only this many standard errors clear of none
CONVERGING_GAIN = 1.5  # ... and where it explains this many times the length parallel verticals would
BALANCE = 0.2  # ... and where at least this share of its segments' length lies on either side of the centre
BORDER = 0.015  # a segment hugging the picture's left or right edge (share of the width) is its border
MAX_CANDIDATES = 40  # the longest segments are enough to find the consensus (pairs: 780 hypotheses)
MIN_SHARE = 0.4  # the agreeing segments must be at least this share of all candidate length
ON_PEOPLE_MARGIN = 0.02  # a segment this close to a person's mask (share of the width) is on them
DISAGREE = 4.0  # degrees between the scene and an upright body that make both suspect
# Degrees within which horizontal lines seen face on side with one of two rival readings of the verticals, or
# with the verticals beside them (`with_face_on`): a fence seen a little off face on recedes by 1.4 (baseball).
FACE_AGREE = 1.0
SETTLE_LENGTH = 0.15  # ... whose segments add up to this share of the height at least (a post's edge)
# Degrees between a single reading of the verticals and lines seen face on beyond which the reading is doubted
# (`with_face_on`): a path or a wall seen at a slant gives families up to 5.6 off (backpackman), and the stick
# leaning on the baseball fence reads 6 to 8.6 off the rails (until 2026-11-25 its reading asked the turns).
FACE_DOUBT = 6.0
# Segments parallel within STRUCTURE_LEAN degrees whose middles lie within STRUCTURE_GAP picture heights of
# each other (chained) are one structure: a radiator's fins, a fence's slats, a blind, a post's two edges.
STRUCTURE_LEAN = 1.5
STRUCTURE_GAP = 0.04
# A convergence (two parameters, and its noise from what is left) is fitted only over this many structures or
# more; with four or five, a radiator, a cable and a tripod's splayed legs fit some vanishing point (S8's room).
MIN_STRUCTURES = 6
STRUCTURE_EDGES = 2  # a structure counts as at most two edges of its height: a post's, a door frame side's
_LSD = cv2.createLineSegmentDetector()  # sub-pixel segments: their angles are good to a fraction of a degree


@dataclass(frozen=True)
class Roll:
    """The camera's roll in degrees, how sure (0..1), and what it was read from ("scene": the verticals,
    "horizon": horizontal lines' vanishing points, "horizon_line": the horizon seen, "body")."""

    degrees: float
    confidence: float
    source: str
    length: float | None = None  # the verticals' reading only: their length behind it, in picture heights


@dataclass(frozen=True)
class Segments:
    """The scene's candidate verticals: lean (degrees, as `Roll`), length (share of the picture's
    height) and ends (x0, y0, x1, y1, image pixels), one row each; `size` is the picture's (width,
    height), whose centre is taken for the principal point."""

    lean: np.ndarray
    length: np.ndarray
    ends: np.ndarray
    size: tuple[int, int]


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def line_segments(image_bgr: np.ndarray, work_width: int) -> tuple[np.ndarray, float, np.ndarray]:
    """OpenCV's line segments of the frame scaled down to `work_width` (never up): (n, 4) rows x0, y0, x1, y1 in
    work pixels, the work pixels per image pixel, and the grey picture they were found on (its shape: the work
    size)."""
    h, w = image_bgr.shape[:2]
    scale = min(1.0, work_width / w)
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    small = cv2.resize(image_bgr, (sw, sh), interpolation=cv2.INTER_AREA) if scale < 1.0 else image_bgr
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    found = _LSD.detect(grey)[0]
    ends = np.zeros((0, 4)) if found is None else np.asarray(found, np.float64).reshape(-1, 4)
    return ends, scale, grey


def people_at(mask: tuple[np.ndarray, Grid], image_size: tuple[int, int], work_size: tuple[int, int]) -> np.ndarray:
    """A person mask on its grid, read on the work raster of `line_segments` (uint8, 1 on people)."""
    values, grid = mask
    w, h = image_size
    return resample(values.astype(np.uint8), grid, Grid.over((0, 0, w, h), *work_size, image_size), nearest=True, fill=0)


def off_people(
    ends: np.ndarray, scale: float, people: Sequence[tuple[float, float, float, float]], on: np.ndarray | None
) -> np.ndarray:
    """Which segments (`line_segments`' rows) lie off the people: a middle outside every one of `people`'s boxes
    (image pixels), and middle and quarter points not on or next to `on` (`people_at`, ON_PEOPLE_MARGIN of
    the width grown): a leg or an arm is not a wall, and a mask leaves the wall behind a person's box in play."""
    x0, y0, x1, y1 = ends.T
    keep = np.ones(len(ends), bool)
    mx, my = (x0 + x1) / (2 * scale), (y0 + y1) / (2 * scale)  # segment middles, image pixels
    for bx0, by0, bx1, by1 in people:
        keep &= ~((mx >= bx0) & (mx <= bx1) & (my >= by0) & (my <= by1))
    if on is not None and keep.any():
        sh, sw = on.shape
        grow = max(1, round(ON_PEOPLE_MARGIN * sw))
        near = cv2.dilate(on, np.ones((2 * grow + 1, 2 * grow + 1), np.uint8))
        for t in (0.25, 0.5, 0.75):
            u = np.clip(np.round(x0 + t * (x1 - x0)).astype(int), 0, sw - 1)
            v = np.clip(np.round(y0 + t * (y1 - y0)).astype(int), 0, sh - 1)
            keep &= near[v, u] == 0
    return keep


def vertical_segments(
    image_bgr: np.ndarray,
    people: Sequence[tuple[float, float, float, float]] = (),
    mask: tuple[np.ndarray, Grid] | None = None,
) -> Segments:
    """Long, nearly vertical line segments of the picture that are not on a person.

    A segment is left out when its middle lies in one of `people`'s boxes
    (x0, y0, x1, y1, image pixels: people known only by a box), or when its
    middle or either quarter point lies on (or next to) `mask`, a person mask
    on its grid: a leg or an arm is not a wall, and a mask leaves the wall
    behind a person's box in play.
    """
    h, w = image_bgr.shape[:2]
    found, scale, grey = line_segments(image_bgr, WORK_WIDTH)
    sh, sw = grey.shape
    if not len(found):
        return Segments(np.zeros(0), np.zeros(0), np.zeros((0, 4)), (w, h))
    x0, y0, x1, y1 = found.T
    dx, dy = x1 - x0, y1 - y0
    flip = dy > 0  # orient every segment bottom -> top
    dx[flip], dy[flip] = -dx[flip], -dy[flip]
    lean = np.degrees(np.arctan2(dx, -dy))  # 0 = vertical, positive = top towards the right
    length = np.hypot(dx, dy) / sh
    keep = (length >= MIN_LENGTH) & (np.abs(lean) <= MAX_LEAN)
    edge = BORDER * sw  # a letterbox bar, a sensor's dark column, a photo's own edge: no vertical of the scene
    keep &= ~((np.maximum(x0, x1) < edge) | (np.minimum(x0, x1) > sw - 1 - edge))
    if keep.any():
        keep &= off_people(found, scale, people, None if mask is None else people_at(mask, (w, h), (sw, sh)))
    ends = np.stack([x0, y0, x1, y1], axis=1)[keep] / scale
    return Segments(lean[keep], length[keep], ends, (w, h))


@dataclass(frozen=True)
class _Fit:
    """A vanishing point of the verticals: `roll` (degrees, the direction from the centre to it, as
    `Roll`), `convergence` (one over its distance from the centre in picture heights; positive above
    the picture, negative below, 0: parallel verticals), the segments it explains, their length, and
    its score (length weighted by agreement within BANDWIDTH)."""

    roll: float
    convergence: float
    inliers: np.ndarray
    support: float
    score: float


def _predicted_lean(roll: np.ndarray, convergence: np.ndarray, middle: np.ndarray) -> np.ndarray:
    """Lean (degrees) of the line from each segment's middle (rows of `middle`, centre-relative, picture
    heights) to each hypothesis' vanishing point: (hypotheses, segments)."""
    r = np.radians(roll)[:, None]
    c = convergence[:, None]
    gx = np.sin(r) - c * middle[None, :, 0]
    gy = -np.cos(r) - c * middle[None, :, 1]
    return np.degrees(np.arctan2(gx, -gy))


def _hypotheses(lean: np.ndarray, ends: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(roll, convergence) candidates: each segment's own direction (parallel verticals), and the
    point where each pair of segments meets, where it lies far enough from the picture to be theirs."""
    n = len(lean)
    rolls, convergences = [lean], [np.zeros(n)]
    if n >= 2:
        ones = np.ones(n)
        lines = np.cross(np.stack([ends[:, 0], ends[:, 1], ones], 1), np.stack([ends[:, 2], ends[:, 3], ones], 1))
        i, j = np.triu_indices(n, 1)
        x, y, w = np.cross(lines[i], lines[j]).T
        up = np.where(y > 0, -1.0, 1.0)  # point (x, y) upwards; w's sign then says above (+) or below (-)
        x, y, w = x * up, y * up, w * up
        norm = np.hypot(x, y)
        ok = norm > 1e-12
        roll = np.degrees(np.arctan2(x, -y))
        convergence = np.divide(w, norm, out=np.zeros_like(w), where=ok)
        ok &= (np.abs(roll) <= MAX_LEAN) & (np.abs(convergence) <= 1.0 / MIN_VP_DISTANCE)
        rolls.append(roll[ok])
        convergences.append(convergence[ok])
    return np.concatenate(rolls), np.concatenate(convergences)


def _consensus(
    lean: np.ndarray, length: np.ndarray, ends: np.ndarray, middle: np.ndarray, converging: bool = True
) -> _Fit | None:
    """The hypothesis most of the segments' length agrees with (within BANDWIDTH, softly); a
    converging one must explain CONVERGING_GAIN times what the best parallel one does (it has one
    more degree of freedom: two leaning sticks beside two posts fit some vanishing point)."""
    if len(lean) == 0:
        return None
    roll, convergence = _hypotheses(lean, ends)
    residual = lean[None, :] - _predicted_lean(roll, convergence, middle)
    score = (length[None, :] * np.exp(-0.5 * (residual / BANDWIDTH) ** 2)).sum(axis=1)
    parallel = convergence == 0.0
    best = int(np.argmax(np.where(parallel, score, -1.0)))
    other = int(np.argmax(np.where(parallel, -1.0, score)))
    if converging and not parallel[other] and score[other] > CONVERGING_GAIN * score[best]:
        best = other  # a vanishing point in reach only where it explains clearly more than parallel lines
    inliers = np.abs(residual[best]) <= INLIER
    return _Fit(float(roll[best]), float(convergence[best]), inliers, float(length[inliers].sum()), float(score[best]))


def _per_structure(
    group: np.ndarray, middle: np.ndarray, lean: np.ndarray, weight: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """One observation per structure (`group` labels): its weighted mean middle and lean, its total weight."""
    _, index = np.unique(group, return_inverse=True)
    total = np.bincount(index, weight)
    mean = [np.bincount(index, weight * v) / total for v in (middle[:, 0], middle[:, 1], lean)]
    return np.stack(mean[:2], axis=1), mean[2], total


def _refine(fit: _Fit, lean: np.ndarray, length: np.ndarray, middle: np.ndarray, group: np.ndarray) -> _Fit:
    """Length-weighted least squares of (roll, convergence) over the inliers, twice with the inliers
    found again; the convergence is kept only where it stands CONVERGENCE_T standard errors clear of
    zero and its segments lie on both sides of the centre (segments all on one side cannot say how
    the verticals converge at the centre), else the verticals are taken as parallel: their length-weighted median lean.

    The convergence is fitted over structures (`group`, see `structures`), one observation each, and
    only over MIN_STRUCTURES of them: a radiator's fins or a post's two edges are one measurement of
    where the verticals point, not many. Counted segment by segment, a radiator at one side, a cable
    in the middle and a tripod's splayed legs at the other looked like a significant vanishing point
    (the S8 room: 6 degrees off)."""
    roll, convergence, inliers = fit.roll, fit.convergence, fit.inliers
    for _ in range(2):
        y, w = lean[inliers], length[inliers]
        m, ys, ws = _per_structure(group[inliers], middle[inliers], y, w)
        converging = len(ys) >= MIN_STRUCTURES
        if converging:
            p = np.array([roll, convergence])
            for _ in range(4):  # Gauss-Newton; the model is nearly linear in both
                base = _predicted_lean(p[:1], p[1:], m)[0]
                jac = np.stack(
                    [
                        (_predicted_lean(p[:1] + 1e-3, p[1:], m)[0] - base) / 1e-3,
                        (_predicted_lean(p[:1], p[1:] + 1e-4, m)[0] - base) / 1e-4,
                    ],
                    axis=1,
                )
                normal = jac.T @ (ws[:, None] * jac)
                if np.linalg.cond(normal) > 1e12:
                    converging = False
                    break
                p = p + np.linalg.solve(normal, jac.T @ (ws * (ys - base)))
            if converging:
                r = ys - _predicted_lean(p[:1], p[1:], m)[0]
                noise = max(float((ws * r * r).sum() / (len(ys) - 2)), 0.05**2 * float(ws.mean()))
                error = float(np.sqrt(noise * np.linalg.inv(normal)[1, 1]))
                converging = abs(float(p[1])) > CONVERGENCE_T * error and abs(float(p[1])) <= 1.0 / MIN_VP_DISTANCE
                # Sides of the line from the centre to the vanishing point: one object's edges on one side
                # (a lamp post's pieces, a stray line) say nothing of how the verticals converge.
                side = m[:, 0] * np.cos(np.radians(p[0])) + m[:, 1] * np.sin(np.radians(p[0]))
                converging &= min(float(ws[side < 0].sum()), float(ws[side > 0].sum())) >= BALANCE * float(ws.sum())
                roll, convergence = float(p[0]), float(p[1])
        if not converging:
            roll, convergence = _weighted_median(y, w), 0.0
        residual = lean - _predicted_lean(np.array([roll]), np.array([convergence]), middle)[0]
        inliers = np.abs(residual) <= INLIER
        if np.count_nonzero(inliers) == 0:
            break
    residual = lean - _predicted_lean(np.array([roll]), np.array([convergence]), middle)[0]
    score = float((length * np.exp(-0.5 * (residual / BANDWIDTH) ** 2)).sum())
    return _Fit(roll, convergence, inliers, float(length[inliers].sum()), score)


def structures(lean: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Which structure each segment belongs to (a label per segment): segments parallel within
    STRUCTURE_LEAN degrees whose middles lie within STRUCTURE_GAP picture heights of each other, chained.
    `ends` are centre-relative in picture heights (x0, y0, x1, y1), one row per segment."""
    n = len(lean)
    mx = (ends[:, 0] + ends[:, 2]) / 2
    near = (np.abs(lean[:, None] - lean[None, :]) <= STRUCTURE_LEAN) & (np.abs(mx[:, None] - mx[None, :]) <= STRUCTURE_GAP)
    group = np.arange(n)
    for _ in range(n):  # connected components by repeated min-label propagation (n is at most MAX_CANDIDATES)
        new = np.where(near, group[None, :], n).min(axis=1)
        if np.array_equal(new, group):
            break
        group = new
    return group


def structure_weights(
    lean: np.ndarray, length: np.ndarray, ends: np.ndarray, group: np.ndarray | None = None
) -> np.ndarray:
    """Each segment's say in the vote: its length, but a structure's segments (see `structures`) share
    at most STRUCTURE_EDGES times the structure's height between them.

    A radiator's twenty fins are one vertical of the scene, not twenty: counted
    by length, a repeated pattern at the frame's edge (where a wide lens bends
    and tilts lines most) outvotes a room's corner and a door frame. `ends` are
    centre-relative in picture heights (x0, y0, x1, y1), one row per segment; `group`, their
    `structures` where already known.
    """
    n = len(lean)
    if n == 0:
        return length.astype(np.float64)
    mx = (ends[:, 0] + ends[:, 2]) / 2
    group = structures(lean, ends) if group is None else group
    weight = length.astype(np.float64).copy()
    for g in np.unique(group):
        members = group == g
        if np.count_nonzero(members) < 2:
            continue
        top = np.minimum(ends[members, 1], ends[members, 3]).min()
        bottom = np.maximum(ends[members, 1], ends[members, 3]).max()
        total = float(length[members].sum())
        wide = float(mx[members].max() - mx[members].min()) >= 2 * STRUCTURE_GAP  # a row of fins, not a post
        edges = 1 if wide and np.count_nonzero(members) >= 4 else STRUCTURE_EDGES
        weight[members] *= min(1.0, edges * (bottom - top) / total)
    return weight


def _reading(fit: _Fit, lean: np.ndarray, raw: np.ndarray, length: np.ndarray, middle: np.ndarray) -> Roll:
    """A fit as a reading: its confidence grows with its segments' length (`raw`) and falls with their spread."""
    residual = lean - _predicted_lean(np.array([fit.roll]), np.array([fit.convergence]), middle)[0]
    spread = _weighted_median(np.abs(residual[fit.inliers]), length[fit.inliers])
    total = float(raw[fit.inliers].sum())
    return Roll(fit.roll, float(min(1.0, total / 3.0) * (1.0 - spread / (2 * INLIER))), "scene", total)


def readings_of(segments: Segments) -> tuple[Roll, ...]:
    """What the verticals say: one reading, two rival ones (they point two ways), or none (too few).

    The vanishing point most of the segments' length passes through is found
    first (`_consensus`, then `_refine`); the roll is the direction from the
    picture's centre to it. Among the segments it does not explain, a rival
    direction (parallel lines: two leftover segments always meet somewhere) SEPARATION or more away with half
    its support (a leaning stick beside a post, a strut, a row of people's legs) makes the reading ambiguous:
    both are returned, the main fit first, whatever their length, for something else to choose between
    (`settle`). A single reading needs MIN_SEGMENTS, MIN_TOTAL and MIN_SHARE.
    """
    lean, length, ends = segments.lean, segments.length, segments.ends
    if len(lean) < MIN_SEGMENTS:
        return ()
    w, h = segments.size
    keep = np.argsort(-length)[:MAX_CANDIDATES]
    lean, length = lean[keep], length[keep]
    ends = (ends[keep] - np.array([w, h, w, h]) / 2.0) / h  # centre-relative, picture heights
    middle = np.stack([(ends[:, 0] + ends[:, 2]) / 2, (ends[:, 1] + ends[:, 3]) / 2], axis=1)
    raw = length
    group = structures(lean, ends)
    length = structure_weights(lean, length, ends, group)
    first = _consensus(lean, length, ends, middle)
    if first is None:
        return ()
    fit = _refine(first, lean, length, middle, group)
    rest = ~fit.inliers
    rival = _consensus(lean[rest], length[rest], ends[rest], middle[rest], converging=False)
    if rival is not None and rival.score > RIVAL * fit.score and abs(rival.roll - fit.roll) > SEPARATION:
        other = _refine(rival, lean[rest], length[rest], middle[rest], group[rest])
        if not (fit.inliers.any() and other.inliers.any()):
            return ()
        return (
            _reading(fit, lean, raw, length, middle),
            _reading(other, lean[rest], raw[rest], length[rest], middle[rest]),
        )
    if (
        np.count_nonzero(fit.inliers) < MIN_SEGMENTS
        or float(raw[fit.inliers].sum()) < MIN_TOTAL
        or fit.support < MIN_SHARE * float(length.sum())
    ):
        return ()
    return (_reading(fit, lean, raw, length, middle),)


def roll_of(segments: Segments) -> Roll | None:
    """The roll the verticals agree on, or None when they are too few or point two ways (see `readings_of`)."""
    readings = readings_of(segments)
    return readings[0] if len(readings) == 1 else None


def settle(rivals: Sequence[Roll], face_on: Roll | None) -> Roll | None:
    """Of two rival readings of the verticals, the one horizontal lines seen face on (`guide.horizon.face_on`)
    agree with within FACE_AGREE; None when they agree with neither, or there is nothing to settle.

    The horizontal lines of a wall or a fence that faces the camera slope in the picture by the camera's roll,
    whatever its pitch: a second, independent reading. Lines that recede slope by perspective (see
    `guide.horizon.face_on`), so only a close agreement counts: a stick and a bat leaning on a fence beside its
    posts (7 degrees apart) are told from the posts by the fence's rails and its foot. A reading of less than
    SETTLE_LENGTH is none even so (a cloth's fold, a cable). A settled reading may rest on less than a single
    one needs (MIN_TOTAL): one post's edge and the rails, two readings that agree."""
    if face_on is None or len(rivals) != 2:
        return None
    near = [r for r in rivals if abs(r.degrees - face_on.degrees) <= FACE_AGREE]
    return near[0] if len(near) == 1 and (near[0].length or 0.0) >= SETTLE_LENGTH else None


def beside_face_on(segments: Segments, face_on: Roll) -> Roll | None:
    """The verticals that horizontal lines seen face on agree with (within FACE_AGREE), as one reading, or None
    when they are fewer than MIN_SEGMENTS structures (`structures`: a post's two edges are one) or shorter than
    SETTLE_LENGTH together.

    For where the consensus of the verticals found something else or nothing: a stick and a bat leaning on a
    fence outvote its posts, cut short by the view (the baseball photo rolled 7 degrees: the stick's pieces read
    13, a leaning pole -13, a post and a wall's edge 6.6 and the rails 5.8). The posts and the rails, two
    independent cues that agree, are the reading; its degrees are the posts' (a fence's rails recede a little:
    1.4 degrees there). One thing's edges are not enough: a cable in two pieces beside a floor's lines."""
    near = np.abs(segments.lean - face_on.degrees) <= FACE_AGREE
    lean, length = segments.lean[near], segments.length[near]
    total = float(length.sum())
    if len(lean) < MIN_SEGMENTS or total < SETTLE_LENGTH:
        return None
    w, h = segments.size
    ends = (segments.ends[near] - np.array([w, h, w, h]) / 2.0) / h  # centre-relative, picture heights
    if len(np.unique(structures(lean, ends))) < MIN_SEGMENTS:
        return None
    degrees = _weighted_median(lean, length)
    spread = _weighted_median(np.abs(lean - degrees), length)
    return Roll(degrees, float(min(1.0, total / 3.0) * (1.0 - spread / (2 * INLIER))), "scene", total)


def with_face_on(readings: Sequence[Roll], face_on: Roll | None, segments: Segments) -> Roll | None:
    """The verticals' reading, with horizontal lines seen face on (`guide.horizon.face_on`) as a second opinion.

    One reading stands unless the lines lie more than FACE_DOUBT from it; two rivals are settled by them
    (`settle`). Where the verticals say nothing, point two ways the lines side with neither of, or read
    something the lines lie far from, the verticals the lines agree with are the reading (`beside_face_on`);
    where there are none, nothing is (the stick alone, 7 degrees off, asked a turn the wrong way). Without
    the lines, one reading stands and two are none, as before. The lines are never a reading on their own:
    a room seen from its corner shows families 4 degrees off (see `guide.horizon.face_on`)."""
    single = readings[0] if len(readings) == 1 else None
    if face_on is None or single is not None and abs(single.degrees - face_on.degrees) <= FACE_DOUBT:
        return single
    return settle(readings, face_on) or beside_face_on(segments, face_on)


def scene_roll(
    image_bgr: np.ndarray,
    people: Sequence[tuple[float, float, float, float]] = (),
    mask: tuple[np.ndarray, Grid] | None = None,
) -> Roll | None:
    """The roll the scene's vertical lines show, or None if they are too few or disagree.

    Segments on people (`people`'s boxes, `mask`) are left out: a leaning
    person is not a wall (see `vertical_segments`).
    """
    return roll_of(vertical_segments(image_bgr, people, mask))


def scene_readings(
    image_bgr: np.ndarray,
    people: Sequence[tuple[float, float, float, float]] = (),
    mask: tuple[np.ndarray, Grid] | None = None,
) -> tuple[Roll, ...]:
    """What the scene's vertical lines say: one reading, two rival ones, or none (see `readings_of`)."""
    return readings_of(vertical_segments(image_bgr, people, mask))


def upright(keypoints: np.ndarray, min_score: float = 0.3) -> bool:
    """Does the person stand straight: legs straight and the torso in line with them?

    Only then does their body axis say where vertical is. `keypoints` is a
    (17, 3) array of x, y, score (image pixels). Squatting, bending, skiing,
    sitting, or legs unseen: False.
    """

    def point(name: str) -> np.ndarray | None:
        x, y, score = keypoints[KEYPOINT_ID[name]]
        return np.array([x, y]) if score >= min_score else None

    def angle(a: np.ndarray, b: np.ndarray) -> float:
        cos = float(np.dot(a, b) / max(1e-6, float(np.linalg.norm(a) * np.linalg.norm(b))))
        return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))

    legs = []
    for side in ("left", "right"):
        hip, knee, ankle = point(f"{side}_hip"), point(f"{side}_knee"), point(f"{side}_ankle")
        if hip is not None and knee is not None and ankle is not None:
            if angle(knee - hip, ankle - knee) > 20:
                return False  # a bent knee
            legs.append(side)
    if not legs:
        return False
    # The torso against the legs: from both sides' midpoints when all four joints are seen, else one side.
    both = [
        p for p in (point(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")) if p is not None
    ]
    if len(both) == 4:
        ls, rs, lh, rh = both
        shoulder, hip = (ls + rs) / 2, (lh + rh) / 2
        ankle = np.mean([a for a in (point(f"{side}_ankle") for side in legs) if a is not None], axis=0)
    else:
        side = legs[0]
        one = [point(f"{side}_{joint}") for joint in ("shoulder", "hip", "ankle")]
        if any(p is None for p in one):
            return False
        shoulder, hip, ankle = (p for p in one if p is not None)
    torso, leg = shoulder - hip, hip - ankle
    return bool(torso[1] < 0 and leg[1] < 0 and angle(torso, leg) <= 10)  # not lying, not bending


# A body's axis is a plumb line only while the person stands: upright on STEADY_SHARE of the frames of the last
# STEADY_SECONDS, the axis within STEADY_RANGE degrees over them. A walker is upright at mid-stride only, and
# their axis swings with the gait: the street clip's read -11 to +2 degrees on its upright frames, and the
# camera was asked to turn anticlockwise by 5 degrees, then 1, then nothing, on a level camera.
STEADY_SECONDS = 0.3
STEADY_SHARE = 0.8
STEADY_RANGE = 3.0


class SteadyAxis:
    """The subject's body axis, given only while they stand still and upright (live: frame after frame)."""

    def __init__(self) -> None:
        self.readings: deque[tuple[float, float | None]] = deque()  # (time, lean when upright, else None)

    def reset(self) -> None:
        self.readings.clear()

    def update(self, t: float, lean: float | None, is_upright: bool) -> float | None:
        """The median upright lean of the last STEADY_SECONDS, or None while the person is not standing still."""
        self.readings.append((t, lean if is_upright else None))
        while self.readings and self.readings[0][0] < t - STEADY_SECONDS:
            self.readings.popleft()
        leans = [v for _, v in self.readings if v is not None]
        if not leans or len(leans) < STEADY_SHARE * len(self.readings):  # a knee read bent for a frame: still standing
            return None
        if t - self.readings[0][0] < STEADY_SHARE * STEADY_SECONDS:  # not seen long enough to say
            return None
        if max(leans) - min(leans) > STEADY_RANGE:
            return None
        return float(np.median(leans))


def camera_roll(
    scene: Roll | None,
    body_lean: float | None,
    upright: bool,
    horizon: Roll | None = None,
    line: Roll | None = None,
) -> Roll | None:
    """What to tell the user about level: the scene's verticals; where they say nothing, the horizon seen as a
    line (`guide.horizon.horizon_line`: a sea's edge), and nothing at all where an upright body or the
    vanishing points' horizon lie more than DISAGREE from it; the horizon (`guide.horizon`) where an upright
    body's axis agrees with it within DISAGREE and the verticals say nothing or disagree with both; else the
    upright body's axis where the verticals say nothing; nothing at all where the verticals and the body
    disagree, or neither is there.

    The horizon seen is taken on its own word: a straight line across the whole picture at the camera's height
    is level exactly when the camera is (see `guide.horizon`), and where it is in view (a beach, a lake) there
    is seldom anything else to read.

    A horizon alone is not trusted: a floor's folds or a wall's stripes meet at some "vanishing point" too. A
    body's axis leans a few degrees with pose, and a wrong horizon seldom falls within a few degrees of it;
    where both agree, the horizon (good to a degree or so) is the reading, and it outvotes verticals that
    read something else (a radiator's fins at a wide lens's edge, 6 degrees off in the S7 room). Verticals and
    a horizon more than DISAGREE apart with no upright body to side with one: nothing (a wall camera's cable
    read 5 degrees in S8, the horizon -3, the truth -1)."""
    body = Roll(body_lean, 0.5, "body") if body_lean is not None and upright else None
    if scene is None and line is not None:
        return None if any(r is not None and abs(r.degrees - line.degrees) > DISAGREE for r in (body, horizon)) else line
    if scene is not None and horizon is not None and body is None and abs(scene.degrees - horizon.degrees) > DISAGREE:
        return None  # two readings of the scene that part, and nobody standing to say which: either may be wrong
    if horizon is not None and (body is None or abs(horizon.degrees - body.degrees) > DISAGREE):
        horizon = None
    if scene is None:
        return horizon or body
    if horizon is not None and abs(scene.degrees - horizon.degrees) > DISAGREE:
        return horizon
    if body is not None and abs(scene.degrees - body.degrees) > DISAGREE:
        return None
    return scene
