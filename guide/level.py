"""Is the camera level? Read from the scene's straight lines, not from how the person stands.

A person leans, bends, squats and skis; none of that says anything about the
camera. Walls, door frames, poles and window edges do: with a level camera they
are vertical in the picture (tilting the camera up or down makes them converge
symmetrically, which leaves their median direction vertical). `scene_roll`
finds long, nearly vertical line segments away from the people and returns
their length-weighted median lean, or None when the scene shows too few of
them or they disagree. `camera_roll` adds the person's body axis only when they
stand upright, and says nothing when the two disagree.

Angles are degrees, positive when the picture's verticals lean towards its
right at the top, which is what a camera rolled anticlockwise shows (the same
sign as `guide.measure.Framing.tilt_deg`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Sequence

import cv2
import numpy as np

from guide.body import KEYPOINT_ID

WORK_WIDTH = 320  # lines are found on the frame scaled to this width: cheap, and enough for long edges
MAX_LEAN = 20.0  # degrees from vertical a segment may lean and still count as a vertical of the scene
MIN_LENGTH = 0.12  # segments at least this share of the picture's height
MIN_TOTAL = 0.6  # their lengths must add up to this share of the height
LEVEL_TOLERANCE = 2.0  # degrees of roll that "level" allows when the scene shows the verticals
MAX_SPREAD = 2.5  # degrees: the verticals must agree (weighted MAD) to be trusted
DISAGREE = 4.0  # degrees between the scene and an upright body that make both suspect
_LSD = cv2.createLineSegmentDetector()  # sub-pixel segments: their angles are good to a fraction of a degree


@dataclass(frozen=True)
class Roll:
    """The camera's roll in degrees, how sure (0..1), and what it was read from ("scene", "body")."""

    degrees: float
    confidence: float
    source: str


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cum = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cum, 0.5 * cum[-1])])


def scene_roll(image_bgr: np.ndarray, people: Sequence[tuple[float, float, float, float]] = ()) -> Roll | None:
    """The roll the scene's vertical lines show, or None if they are too few or disagree.

    Segments in `people`'s boxes (x0, y0, x1, y1, image pixels) are left out:
    a leaning person is not a wall.
    """
    h, w = image_bgr.shape[:2]
    scale = min(1.0, WORK_WIDTH / w)
    small = cv2.resize(image_bgr, (max(1, round(w * scale)), max(1, round(h * scale))), interpolation=cv2.INTER_AREA)
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    sh, sw = gray.shape
    segments = _LSD.detect(gray)[0]
    if segments is None:
        return None
    x0, y0, x1, y1 = np.asarray(segments, np.float64).reshape(-1, 4).T
    mx, my = (x0 + x1) / (2 * scale), (y0 + y1) / (2 * scale)  # segment middles, image pixels
    on_someone = np.zeros(mx.shape, bool)
    for bx0, by0, bx1, by1 in people:
        on_someone |= (mx >= bx0) & (mx <= bx1) & (my >= by0) & (my <= by1)
    x0, y0, x1, y1 = x0[~on_someone], y0[~on_someone], x1[~on_someone], y1[~on_someone]
    dx, dy = x1 - x0, y1 - y0
    flip = dy > 0  # orient every segment bottom -> top
    dx[flip], dy[flip] = -dx[flip], -dy[flip]
    lean = np.degrees(np.arctan2(dx, -dy))  # 0 = vertical, positive = top towards the right
    length = np.hypot(dx, dy)
    long_enough = length >= MIN_LENGTH * sh
    lean, length = lean[long_enough], length[long_enough]
    keep = np.abs(lean) <= MAX_LEAN
    if np.count_nonzero(keep) < 3 or length[keep].sum() < MIN_TOTAL * sh:
        return None
    lean, length = lean[keep], length[keep]
    roll = _weighted_median(lean, length)
    spread = _weighted_median(np.abs(lean - roll), length)
    if spread > MAX_SPREAD:
        return None
    confidence = float(min(1.0, length.sum() / (3 * sh)) * (1.0 - spread / (2 * MAX_SPREAD)))
    return Roll(roll, confidence, "scene")


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
    both = [point(n) for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    if all(p is not None for p in both):
        ls, rs, lh, rh = both  # type: ignore[misc]
        shoulder, hip = (ls + rs) / 2, (lh + rh) / 2
        ankle = sum(point(f"{side}_ankle") for side in legs) / len(legs)  # type: ignore[misc]
    else:
        side = legs[0]
        shoulder, hip, ankle = point(f"{side}_shoulder"), point(f"{side}_hip"), point(f"{side}_ankle")
        if shoulder is None or hip is None or ankle is None:
            return False
    torso, leg = shoulder - hip, hip - ankle
    return bool(torso[1] < 0 and leg[1] < 0 and angle(torso, leg) <= 10)  # not lying, not bending


def camera_roll(scene: Roll | None, body_lean: float | None, upright: bool) -> Roll | None:
    """What to tell the user about level: the scene's roll; an upright body's axis where the
    scene shows nothing; nothing at all where the two disagree or neither is there."""
    body = Roll(body_lean, 0.5, "body") if body_lean is not None and upright else None
    if scene is None:
        return body
    if body is not None and abs(scene.degrees - body.degrees) > DISAGREE:
        return None
    return scene
