"""The camera's roll from the horizon: where the scene's horizontal lines vanish.

Every horizontal line of the scene (a baseboard, a carpet's edge, a shelf, a
table, a window sill) vanishes on the horizon, and the horizon's angle in the
picture is the camera's roll about its optical axis whatever its pitch. This
reads the roll where the verticals cannot (`guide.level.scene_roll` says
nothing): a camera aimed down into a room shows a radiator, a cable and a
tripod's legs, none of them a plumb line, while the room's two walls show two
families of horizontal lines, each meeting at one vanishing point.

`roll_of_horizon` finds the vanishing points most of the near-horizontal
segments' length passes through (a consensus over the points where pairs of
segments meet, angular residuals measured at each segment, so points far out
and at infinity are alike), two of them at least, each three segments or more,
each lying to one side of all its segments (the corner where two walls'
baseboards meet is no vanishing point). The horizon is the line through the
first two; its angle's standard error comes from the segments' residuals. It
says nothing unless the two points can be two orthogonal directions of the
room seen by a plausible lens (see FOCAL_RANGE) and the angle is known to
MAX_ERROR. A horizon from vanishing points alone is never the last word:
`guide.level.camera_roll` takes it only where an upright person's axis agrees
(two independent readings); a wall's lines and a floor's folds meet at some
"vanishing point" too.

`horizon_line` reads the horizon itself where it is seen: a sea's or a lake's
edge, one straight line across the whole picture behind the person. A
horizontal line at the camera's height lies on the horizon whichever way it
runs, so it is level in the picture exactly when the camera is. Another line
across the picture (a wall's or a fence's edge) is level where it faces the
camera, and one seen at an angle slopes by about its distance from the horizon
times that angle's tangent. So the line is taken only where it crosses a
person at a height a camera is held at (which bounds that distance) and with
the sky above it (calm: a fence's top has what stands behind it above), and
`guide.level.camera_roll` takes it only where the verticals say nothing, and
neither an upright body's axis nor the vanishing points' horizon disagree.

`face_on` reads horizontal lines that run parallel at different heights (a
fence's rails and its foot, seen face on): they do not recede, so they are
level exactly when the camera is. A wall seen at an angle can still give such
a family a few degrees off, so it is only a second opinion on the verticals:
which of two rival readings is right, and which verticals are the scene's
where their consensus reads something else (`guide.level.with_face_on`).

Angles are degrees with `guide.level`'s sign: positive when the picture's
verticals lean right at the top, which is a horizon that falls to the right.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from guide.geometry import Grid
from guide.level import Roll, line_segments, off_people, people_at

# Lines are found on the frame scaled to this width: a horizontal family's vanishing point lies picture widths
# away, and its place along the horizon rides on the segments' angles; at 320 (the verticals' width) the
# Human3.6M rooms read 1.5 degrees off in median, at 640 1.2 and half the wrong readings are gone.
WORK_WIDTH = 640
MAX_SLOPE = 35.0  # degrees from horizontal a segment may slope: a side wall's baseboard seen at 20-25, rolled 8 more
MIN_LENGTH = 0.06  # segments at least this share of the picture's height
MAX_CANDIDATES = 60  # the longest segments (pairs: 1770 hypotheses, a few milliseconds)
BORDER = 0.015  # a segment hugging the picture's top or bottom edge (share of the height) is its border
# Arms held out sideways are long, straight and nearly horizontal, and a live parse's mask often misses them: the
# segments within ARM_REACH person heights either side of the mask's middle column, from a tenth of a height above
# the mask's top down to ARM_BAND of its height (the chest; shoulders lie at about 0.18), are flagged (`by_arms`):
# left out of the vanishing points, kept for the horizon seen (at eye height it runs through there). Down to the
# hips (0.6) the flag also took the wall's lines behind the torso: the S7/S8 views read a third less often.
ARM_REACH = 0.55
ARM_BAND = 0.35
BANDWIDTH = 1.0  # degrees: how closely a segment must point at a hypothesis to support it (Gaussian)
INLIER = 2.0  # degrees a segment may point off its vanishing point and still belong to it
# A vanishing point lies this many picture heights beyond each of its segments' ends, all on the same side:
# two walls' baseboards meet at the room's corner, a real point between them, not where they vanish.
MIN_VP_GAP = 0.4
MIN_MEMBERS = 3  # segments a vanishing point needs
MIN_SUPPORT = 0.3  # ... and their length, in picture heights
# Two horizontal vanishing points of a room's orthogonal walls, v1 and v2 (centre-relative), satisfy
# v1 . v2 = -f^2 with f the focal length; this range of f in picture heights (a phone's 1.0-1.5, a crop of a
# photo up to 5) is what a pair must imply: two points on the same side are not two walls' directions.
FOCAL_RANGE = (0.7, 5.0)
# A standing person's feet are on the ground, so the horizon (at the camera's height) lies above them by at least
# ABOVE_FEET of their height (a camera at shin height) and at most BELOW_HEAD heights above the feet (a camera held
# up high, or a first floor's window): a horizon through the floor's folds below someone's feet is none.
ABOVE_FEET = 0.1
BELOW_HEAD = 2.0
MAX_ERROR = 1.0  # degrees: the horizon's angle must be known to this standard error
MAX_ROLL = 20.0  # degrees: a steeper "horizon" is something else
NOISE_FLOOR = 0.2  # degrees: a segment's angle is never taken as better known than this
# The horizon seen (`horizon_line`): one straight line whose pieces reach across LINE_SPAN of the picture's width
# and cover LINE_COVER of it (a person stands in front of its middle), each piece within LINE_ANGLE degrees of it
# and its ends within LINE_OFFSET picture heights (1.5 pixels at 640x480), crossing the person's middle column
# between LINE_LOW and LINE_HIGH of their height above their feet (a camera held from the hip to above the head).
# Lines that qualify and part by more than LINE_AGREE degrees: nothing (two such lines, and one is no horizon).
LINE_SPAN = 0.8
LINE_COVER = 0.45
LINE_ANGLE = 1.0
LINE_OFFSET = 0.003
LINE_LOW, LINE_HIGH = 0.3, 1.2
LINE_AGREE = 1.0
# Above a horizon lies the sky: the median gradient in a band LINE_SKY picture heights above the line stays under
# LINE_CALM grey levels per pixel (3.2-4.4 above the sea behind tfjs_pose in every view, 16-37 below it); above a
# fence's top near the camera's height lies what stands behind it (frisbee_2's: 28, read 2-3 degrees off as the
# horizon in a few views until 2026-11-24).
LINE_SKY = (0.01, 0.06)
LINE_CALM = 10.0
# Horizontal lines seen face on (`face_on`): FACE_MEMBERS segments or more within FACE_ANGLE degrees of their median,
# FACE_LENGTH picture heights long together, their middles FACE_SPREAD heights apart across their direction (lines
# at different heights that stay parallel do not recede: a fence's rails and its foot, a facade's courses).
FACE_ANGLE = 1.0
FACE_BANDWIDTH = 0.5  # degrees: how closely a segment must run along a hypothesis to support it (Gaussian)
FACE_MEMBERS = 3
FACE_LENGTH = 0.3
FACE_SPREAD = 0.1
# ... and the scene must face the camera: FACE_SCENE of all the horizontal lines' length within FACE_SCENE_ANGLE
# degrees of the family. A fence seen face on shows little else (88-100% in the baseball and frisbee_2 views); a room
# seen from its corner shows its floor's and walls' lines receding at many slopes (43-78% in the S7 room, 41-79% on
# TS2's floor folds, whose family sided with a wrong reading 8 degrees off). Not every room: S8's back wall, 3.8
# degrees off, reaches 64-89% in a grid of framings and 95-97% in some of the closed loop's views; the path behind
# backpackman (3.6-5.6 off) and the ledge of the COCO plaza seen from above (7 off) up to 100%. So a family is never
# a reading on its own (measured 2026-11-24: taken alone where the verticals' rivals both disagree with it, it asked
# S8 to turn 7.4 degrees where 3.6 was right).
FACE_SCENE = 0.8
FACE_SCENE_ANGLE = 10.0


@dataclass(frozen=True)
class Lines:
    """Near-horizontal segments: `ends` (x0, y0, x1, y1) centre-relative in picture heights, x0 <= x1, one row
    each; `length` in picture heights."""

    ends: np.ndarray
    length: np.ndarray
    # A person's middle column, feet and height (centre-relative, picture heights), where the mask shows them
    # whole: the horizon crosses a standing person at the camera's height, above their feet (see ABOVE_FEET).
    person: tuple[float, float, float] | None = None
    width: float | None = None  # the picture's width in picture heights
    # Which segments lie in the reach of the person's arms (see ARM_REACH): left out of the vanishing points, kept
    # for the horizon seen (at eye height it runs through that reach; an arm is no line across the picture).
    by_arms: np.ndarray | None = None
    # The grey picture the segments were found on (the work raster): is it calm above a line (`_calm_above`)?
    grey: np.ndarray | None = None


def horizontal_lines(
    image_bgr: np.ndarray,
    people: Sequence[tuple[float, float, float, float]] = (),
    mask: tuple[np.ndarray, Grid] | None = None,
) -> Lines:
    """Long, nearly horizontal segments that are not on a person (`people`'s boxes, image pixels; `mask`, a
    person mask on its grid), and which of them lie in the reach of the arms beside it."""
    h, w = image_bgr.shape[:2]
    found, scale, grey = line_segments(image_bgr, WORK_WIDTH)
    sh, sw = grey.shape
    if not len(found):
        return Lines(np.zeros((0, 4)), np.zeros(0), None, w / h, np.zeros(0, bool))
    person = None
    x0, y0, x1, y1 = found.T
    flip = x1 < x0  # orient every segment left -> right
    x0, x1 = np.where(flip, x1, x0), np.where(flip, x0, x1)
    y0, y1 = np.where(flip, y1, y0), np.where(flip, y0, y1)
    dx, dy = x1 - x0, y1 - y0
    length = np.hypot(dx, dy) / sh
    keep = (length >= MIN_LENGTH) & (np.abs(np.degrees(np.arctan2(dy, dx))) <= MAX_SLOPE)
    edge = BORDER * sh
    keep &= ~((np.maximum(y0, y1) < edge) | (np.minimum(y0, y1) > sh - 1 - edge))
    mx, my = (x0 + x1) / 2, (y0 + y1) / 2  # work pixels
    by_arms = np.zeros(len(found), bool)
    keep &= off_people(found, scale, people, None)
    if mask is not None and keep.any():
        on = people_at(mask, (w, h), (sw, sh))
        count, labels, stats, _ = cv2.connectedComponentsWithStats(on, connectivity=8)
        # The largest of the mask's people (the subject, as a rule) stands for the arms' reach and the feet.
        ys, xs = np.nonzero(labels == 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA])) if count > 1 else labels < 0)
        if len(ys):
            top, bottom, tall, middle = (
                float(ys.min()),
                float(ys.max() + 1),
                float(ys.max() - ys.min()),
                float(np.median(xs)),
            )
            reach = np.abs(mx - middle) <= ARM_REACH * tall
            by_arms = reach & (my >= top - 0.1 * tall) & (my <= top + ARM_BAND * tall)
            if bottom < (1.0 - BORDER) * sh and tall > 0:  # the feet are in the picture
                person = ((middle - sw / 2) / sh, (bottom - sh / 2) / sh, tall / sh)
        keep &= off_people(found, scale, (), on)
    ends = (np.stack([x0, y0, x1, y1], axis=1)[keep] - np.array([sw, sh, sw, sh]) / 2.0) / sh
    return Lines(ends, length[keep], person, sw / sh, by_arms[keep], grey)


def _homogeneous(ends: np.ndarray) -> np.ndarray:
    """Each segment's line (a, b, c), a x + b y + c = 0 with a^2 + b^2 = 1."""
    ones = np.ones(len(ends))
    lines = np.cross(np.stack([ends[:, 0], ends[:, 1], ones], 1), np.stack([ends[:, 2], ends[:, 3], ones], 1))
    return lines / np.linalg.norm(lines[:, :2], axis=1, keepdims=True)


def _residual(points: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Degrees between each segment and the line from its middle to each point (homogeneous rows, points at
    infinity included): (points, segments)."""
    mx, my = (ends[:, 0] + ends[:, 2]) / 2, (ends[:, 1] + ends[:, 3]) / 2
    dx, dy = ends[:, 2] - ends[:, 0], ends[:, 3] - ends[:, 1]
    gx = points[:, None, 0] - points[:, None, 2] * mx[None, :]
    gy = points[:, None, 1] - points[:, None, 2] * my[None, :]
    cross, dot = gx * dy[None, :] - gy * dx[None, :], gx * dx[None, :] + gy * dy[None, :]
    return np.degrees(np.arctan(cross / np.where(np.abs(dot) < 1e-12, 1e-12, dot)))


def _candidates(ends: np.ndarray) -> np.ndarray:
    """Where each pair of segments meets, and each segment's own direction (a point at infinity); unit rows."""
    lines = _homogeneous(ends)
    i, j = np.triu_indices(len(ends), 1)
    own = np.stack([ends[:, 2] - ends[:, 0], ends[:, 3] - ends[:, 1], np.zeros(len(ends))], 1)
    points = np.concatenate([np.cross(lines[i], lines[j]), own])
    norm = np.linalg.norm(points, axis=1)
    return points[norm > 1e-12] / norm[norm > 1e-12, None]


def _beside(points: np.ndarray, ends: np.ndarray, members: np.ndarray) -> np.ndarray:
    """Does each point lie MIN_VP_GAP clear of all its member segments' ends, all on one side (or at infinity)?"""
    finite = np.abs(points[:, 2]) > 1e-9
    x = np.where(finite, points[:, 0] / np.where(finite, points[:, 2], 1.0), 0.0)[:, None]
    right = np.where(members, x >= np.maximum(ends[:, 0], ends[:, 2])[None] + MIN_VP_GAP, True).all(axis=1)
    left = np.where(members, x <= np.minimum(ends[:, 0], ends[:, 2])[None] - MIN_VP_GAP, True).all(axis=1)
    return np.asarray(~finite | right | left)


def _refine(point: np.ndarray, ends: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """Weighted least squares of the segments' sines off the point: the smallest eigenvector of their lines,
    each scaled by one over its middle's distance from the point (found again from the last estimate)."""
    lines = _homogeneous(ends)
    mx, my = (ends[:, 0] + ends[:, 2]) / 2, (ends[:, 1] + ends[:, 3]) / 2
    for _ in range(4):
        distance = np.maximum(np.hypot(point[0] - point[2] * mx, point[1] - point[2] * my), 1e-9)
        scaled = lines / distance[:, None]
        point = np.linalg.eigh((scaled * weight[:, None]).T @ scaled)[1][:, 0]
    return np.asarray(point / np.linalg.norm(point))


def vanishing_points(lines: Lines, count: int = 3) -> list[tuple[np.ndarray, np.ndarray]]:
    """Up to `count` vanishing points, strongest first, each with its member segments (a mask over `lines`):
    the candidate most of the free segments' length points at (within BANDWIDTH, softly; see `_beside`),
    refined over its members twice; its members are then taken out."""
    found = []
    free = np.ones(len(lines.length), bool)
    for _ in range(count):
        index = np.nonzero(free)[0]
        if len(index) < 2:
            break
        ends, weight = lines.ends[index], lines.length[index]
        points = _candidates(ends)
        residual = _residual(points, ends)
        score = (weight[None, :] * np.exp(-0.5 * (residual / BANDWIDTH) ** 2)).sum(axis=1)
        score[~_beside(points, ends, np.abs(residual) <= INLIER)] = -1.0
        point = points[int(np.argmax(score))]
        for _ in range(2):
            members = np.abs(_residual(point[None], ends)[0]) <= INLIER
            if np.count_nonzero(members) < 2:
                break
            point = _refine(point, ends[members], weight[members])
        members = np.abs(_residual(point[None], ends)[0]) <= INLIER
        mask = np.zeros(len(free), bool)
        mask[index[members]] = True
        found.append((point, mask))
        free &= ~mask
    return found


def _tangents(point: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    axis = np.array([1.0, 0.0, 0.0]) if abs(point[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    t1 = np.cross(point, axis)
    t1 /= np.linalg.norm(t1)
    return t1, np.cross(point, t1)


def _covariance(point: np.ndarray, ends: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """The point's covariance along its two tangents (unit sphere), from its segments' angular residuals."""
    base = np.radians(_residual(point[None], ends)[0])
    jac = np.stack(
        [(np.radians(_residual((point + 1e-5 * t)[None], ends)[0]) - base) / 1e-5 for t in _tangents(point)], axis=1
    )
    w = weight / weight.mean()
    noise = max(float((w * base**2).sum() / max(1, len(base) - 2)), np.radians(NOISE_FLOOR) ** 2)
    return np.asarray(noise * np.linalg.pinv(jac.T @ (w[:, None] * jac)))


def _angle(p: np.ndarray, q: np.ndarray) -> float:
    """Degrees of the line through two homogeneous points, as `Roll` (falling to the right: positive)."""
    a, b, _ = np.cross(p, q)
    dx, dy = (b, -a) if b >= 0 else (-b, a)
    return float(np.degrees(np.arctan2(dy, dx)))


def roll_of_horizon(lines: Lines) -> Roll | None:
    """The horizon's angle through the two strongest vanishing points, or None (see the module's doc)."""
    free = np.ones(len(lines.length), bool) if lines.by_arms is None else ~lines.by_arms
    if np.count_nonzero(free) < 2 * MIN_MEMBERS:
        return None
    keep = np.flatnonzero(free)[np.argsort(-lines.length[free])][:MAX_CANDIDATES]
    lines = Lines(lines.ends[keep], lines.length[keep], lines.person, lines.width)
    strong = [
        (p, m)
        for p, m in vanishing_points(lines)
        if np.count_nonzero(m) >= MIN_MEMBERS and float(lines.length[m].sum()) >= MIN_SUPPORT
    ]
    if len(strong) < 2:
        return None
    (p1, m1), (p2, m2) = strong[:2]
    if min(abs(p1[2]), abs(p2[2])) <= 1e-9:
        return None  # a point at infinity: no focal length to check the pair against
    focal2 = -float((p1[:2] / p1[2]) @ (p2[:2] / p2[2]))
    if not FOCAL_RANGE[0] ** 2 <= focal2 <= FOCAL_RANGE[1] ** 2:
        return None
    degrees = _angle(p1, p2)
    if lines.person is not None:
        x, feet, tall = lines.person
        a, b, c = np.cross(p1, p2)
        if abs(b) > 1e-9:
            y = -(a * x + c) / b  # the horizon's height over the person's middle column
            if not feet - tall * BELOW_HEAD <= y <= feet - tall * ABOVE_FEET:
                return None
    # The angle's standard error from both points' covariances (numeric gradient along their tangents).
    grad, blocks = [], []
    for k, (p, m) in enumerate(((p1, m1), (p2, m2))):
        blocks.append(_covariance(p, lines.ends[m], lines.length[m]))
        for t in _tangents(p):
            moved = p + 1e-5 * t
            grad.append((_angle(moved, p2) if k == 0 else _angle(p1, moved)) - degrees)
    g = np.array(grad) / 1e-5
    cov = np.zeros((4, 4))
    cov[:2, :2], cov[2:, 2:] = blocks
    error = float(np.sqrt(max(0.0, float(g @ cov @ g))))
    if abs(degrees) > MAX_ROLL or error > MAX_ERROR:
        return None
    return Roll(degrees, 1.0 - error / MAX_ERROR, "horizon")


def _on_line(ends: np.ndarray, point: np.ndarray, direction: np.ndarray) -> np.ndarray:
    """Which segments lie along the line through `point` in `direction` (unit): within LINE_ANGLE and LINE_OFFSET."""
    d, normal = ends[:, 2:] - ends[:, :2], np.array([-direction[1], direction[0]])
    turn = np.degrees(np.arcsin(np.minimum(1.0, np.abs(d @ normal) / np.maximum(np.hypot(*d.T), 1e-12))))
    off = np.maximum(np.abs((ends[:, :2] - point) @ normal), np.abs((ends[:, 2:] - point) @ normal))
    return np.asarray((turn <= LINE_ANGLE) & (off <= LINE_OFFSET))


def _fit_line(ends: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The segments along segment `seed`'s line (`_on_line`), found again twice about the line fitted through
    all their ends; and that line: a point on it and its direction (unit, pointing right)."""
    point = ends[seed, :2]
    direction = (ends[seed, 2:] - point) / max(1e-12, float(np.hypot(*(ends[seed, 2:] - point))))
    members = _on_line(ends, point, direction)
    for _ in range(2):
        if not members.any():
            break
        pts = ends[members].reshape(-1, 2)
        point = pts.mean(axis=0)
        direction = np.linalg.svd(pts - point)[2][0]
        direction = direction if direction[0] >= 0 else -direction
        members = _on_line(ends, point, direction)
    return members, point, direction


def _covered(xs: np.ndarray) -> float:
    """How much of the x axis the intervals (rows x0, x1) cover together: a thin wire's or rail's two edges
    (both on one fitted line) count once."""
    total, reach = 0.0, -np.inf
    for a, b in sorted(map(sorted, xs.tolist())):
        if b > reach:
            total += b - max(a, reach)
            reach = b
    return total


def _calm_above(lines: Lines, point: np.ndarray, direction: np.ndarray) -> bool:
    """Is the picture calm (sky) in the band LINE_SKY above the line through `point` in `direction` (centre-relative,
    picture heights), across the width: its median gradient (Sobel) under LINE_CALM? True where the picture is not
    known; False where the band lies outside it (a line along the top edge shows no sky)."""
    if lines.grey is None or lines.width is None:
        return True
    sh, sw = lines.grey.shape
    x = np.linspace(-0.47, 0.47, 80) * lines.width
    y = point[1] + (x - point[0]) * direction[1] / direction[0]
    above = [(x, y - off) for off in np.linspace(*LINE_SKY, 6)]
    u = np.concatenate([np.round((a + lines.width / 2) * sh) for a, _ in above]).astype(int)
    v = np.concatenate([np.round((b + 0.5) * sh) for _, b in above]).astype(int)
    inside = (u >= 0) & (u < sw) & (v >= 0) & (v < sh)
    if not inside.any():
        return False
    # Only for a line that passes every other test (rare: a sea's edge), so the whole picture's gradient is cheap.
    gradient = cv2.magnitude(cv2.Sobel(lines.grey, cv2.CV_32F, 1, 0), cv2.Sobel(lines.grey, cv2.CV_32F, 0, 1))
    return float(np.median(gradient[v[inside], u[inside]])) < LINE_CALM


def horizon_line(lines: Lines) -> Roll | None:
    """The roll shown by a straight line across the whole picture that crosses a person, whose feet are in view,
    at about the camera's height, with calm sky above it (a sea's horizon), or None: no such line, the feet unseen,
    or two such lines more than LINE_AGREE apart. See LINE_SPAN and LINE_CALM.

    The band is taken from the mask: its lowest row, above the picture's bottom, is taken for the feet (legs
    hidden by water or a low wall count as feet seen), and its height for the person's (crouching, seated, or
    cut at the top, they read short, and the band sits lower than their standing height would put it)."""
    if lines.person is None or lines.width is None or not len(lines.length):
        return None
    x, feet, tall = lines.person
    found: dict[bytes, tuple[float, float]] = {}  # member set -> (cover, degrees)
    seen = np.zeros(len(lines.length), bool)  # segments already on a line tried: they would find it again
    for i in np.argsort(-lines.length)[:MAX_CANDIDATES]:
        if seen[i]:
            continue
        members, point, direction = _fit_line(lines.ends, int(i))
        seen[i] = True
        seen |= members
        if not members.any():
            continue
        xs = lines.ends[members][:, [0, 2]]
        span, cover = float(xs.max() - xs.min()) / lines.width, _covered(xs) / lines.width
        if span < LINE_SPAN or cover < LINE_COVER:
            continue
        # Its height over the person's middle column (pieces lie within MAX_SLOPE of horizontal: direction[0] > 0.8).
        y = point[1] + (x - point[0]) * direction[1] / direction[0]
        if feet - LINE_HIGH * tall <= y <= feet - LINE_LOW * tall and _calm_above(lines, point, direction):
            found[members.tobytes()] = (cover, float(np.degrees(np.arctan2(direction[1], direction[0]))))
    if not found:
        return None
    angles = [degrees for _, degrees in found.values()]
    cover, degrees = max(found.values())
    if max(angles) - min(angles) > LINE_AGREE or abs(degrees) > MAX_ROLL:
        return None
    return Roll(degrees, min(1.0, cover), "horizon_line")


def face_on(lines: Lines) -> Roll | None:
    """The direction of horizontal lines seen face on, or None: the family of segments within FACE_ANGLE of the
    angle most of the lines' length runs at, at different heights (see FACE_MEMBERS), its length-weighted median.

    A line that faces the camera is level in the picture exactly when the camera is, whatever its height; one that
    recedes slopes by perspective, and lines parallel at different heights rule out most of that (receding, they
    converge). Not all: in the motion-capture rooms, seen from a corner, families read 3.7 to 4.4 degrees off; so
    the rest of the lines must run the same way (FACE_SCENE: that keeps most of them out, not all), and this is
    never a reading on its own, only a second opinion on the verticals: between two rival readings
    (`guide.level.settle`), against a single one, and picking the verticals beside it
    (`guide.level.with_face_on`). Segments in the arms' reach count: a fence's rails run through it, and an arm is one
    line, no family."""
    keep = np.argsort(-lines.length)[:MAX_CANDIDATES]
    ends, length = lines.ends[keep], lines.length[keep]
    if len(length) < FACE_MEMBERS:
        return None
    angle = np.degrees(np.arctan2(ends[:, 3] - ends[:, 1], ends[:, 2] - ends[:, 0]))
    support = (length[None, :] * np.exp(-0.5 * ((angle[:, None] - angle[None, :]) / FACE_BANDWIDTH) ** 2)).sum(axis=1)
    members = np.abs(angle - angle[int(np.argmax(support))]) <= FACE_ANGLE
    order = np.argsort(angle[members])
    total = np.cumsum(length[members][order])
    degrees = float(angle[members][order][np.searchsorted(total, 0.5 * total[-1])])
    members = np.abs(angle - degrees) <= FACE_ANGLE
    # How far apart the lines lie, across their direction: one sloping line's pieces lie at different heights too.
    a = np.radians(degrees)
    across = -np.sin(a) * (ends[members, 0] + ends[members, 2]) / 2 + np.cos(a) * (ends[members, 1] + ends[members, 3]) / 2
    if (
        np.count_nonzero(members) < FACE_MEMBERS
        or float(length[members].sum()) < FACE_LENGTH
        or float(across.max() - across.min()) < FACE_SPREAD
        or abs(degrees) > MAX_ROLL
        or float(length[np.abs(angle - degrees) <= FACE_SCENE_ANGLE].sum()) < FACE_SCENE * float(length.sum())
    ):
        return None
    return Roll(degrees, 1.0, "face_on")


def horizon_roll(
    image_bgr: np.ndarray,
    people: Sequence[tuple[float, float, float, float]] = (),
    mask: tuple[np.ndarray, Grid] | None = None,
) -> Roll | None:
    """The roll the scene's horizontal lines show, or None (see `roll_of_horizon`, `horizontal_lines`)."""
    return roll_of_horizon(horizontal_lines(image_bgr, people, mask))
