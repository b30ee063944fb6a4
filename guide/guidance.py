"""The live mode's guidance engine: framing measurements + a target -> score and advice.

Pure functions over `Framing`/`Landmarks` (guide.measure). The target comes from a
calibration profile (guide.calibration) or from built-in full-body framing rules.
Advice tells the person holding the camera what to do, most important first:
get the whole body in, then size, vertical placement, horizontal placement,
camera height, level.

Units: vertical values are fractions of the frame height, `center_x` a fraction
of the frame width, tilt in degrees, boxes in frame pixels (x0, y0, x1, y1).
When a crop is in use (the profile's orientation differs from the camera's),
every fraction is of the *crop*, and boxes are still in frame pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Any

from guide.measure import Framing, Landmarks, orientation_of

ACTIONS = (
    "step_back",
    "step_closer",
    "aim_up",
    "aim_down",
    "aim_left",
    "aim_right",
    "raise_camera",
    "lower_camera",
    "level_camera",
    "hold",
)
TEXT = {
    "step_back": "Step back",
    "step_closer": "Step closer",
    "aim_up": "Aim up",
    "aim_down": "Aim down",
    "aim_left": "Aim left",
    "aim_right": "Aim right",
    "raise_camera": "Raise the camera",
    "lower_camera": "Lower the camera",
    "level_camera": "Level the camera",
    "hold": "Hold still",
}
NO_ONE = "no one in frame"

# Tolerance = max(TOL_K * MAD, floor). MAD is already scaled to a standard deviation,
# and is 0 for a one-photo profile, so the floors are what a single reference gets.
TOL_K = 1.5
TOL_FLOOR = {
    "body_fill": 0.04,  # frame heights: ~1/10 of a typical full-body size
    "headroom": 0.03,  # frame heights
    "footroom": 0.03,  # frame heights
    "center_x": 0.04,  # frame widths
    "head_ratio": 0.02,  # of body height: a camera-height change of roughly a head's height
    "tilt_deg": 5.0,  # degrees: the hip-shoulder axis wobbles a few degrees with pose
}
# Built-in rules per orientation: (headroom, footroom); body fill is what is left.
BUILTIN_ROOM = {"portrait": (0.10, 0.06), "landscape": (0.12, 0.08), "square": (0.11, 0.07)}
BUILTIN_TOL = {"body_fill": 0.08, "headroom": 0.05, "footroom": 0.04, "center_x": 0.05, "tilt_deg": 5.0}
THIRDS = (1 / 3, 0.5, 2 / 3)  # built-in: subject on a third or centred
TYPICAL_HEAD_RATIO = 0.17  # head top to chin over body height, standing adult (measured 0.16-0.19)
TYPICAL_WIDTH_RATIO = 0.3  # body width over body height, when the person's own is unknown
MAX_ADVICE = 3
# Score = 100 * exp(-SCORE_K * worst^2), worst = largest error in tolerances: 85 at the
# edge of tolerance, 52 at twice it; anything cut counts as CUT_ERROR tolerances.
SCORE_K = math.log(100 / 85)
CUT_ERROR = 3.0


@dataclass
class Advice:
    """One thing to do. `amount` is how far off, positive: fraction of the frame for
    size and placement, body-height fraction for head_ratio, degrees for level."""

    action: str
    amount: float
    text: str


HOLD = Advice("hold", 0.0, TEXT["hold"])


@dataclass
class Target:
    """What framing is wanted: measurement name -> (value, tolerance), in Framing's units.

    `center_choices`: acceptable horizontal positions (the nearest one is aimed
    for); empty means only `values["center_x"]`. `orientation`/`aspect_ratio` are
    those of the frames the target was learned on; `needs_crop` says they differ
    from the camera's, so guidance is towards a crop of that aspect ratio.
    """

    values: dict[str, tuple[float, float]]
    orientation: str
    aspect_ratio: float  # width / height
    source: str  # "profile NAME" or "built-in"
    center_choices: tuple[float, ...] = ()
    needs_crop: bool = False


@dataclass
class Guidance:
    """What the overlay shows for one frame."""

    score: int  # 0..100
    advice: list[Advice]  # most important first; [HOLD] when all is within tolerance
    target_box: tuple[int, int, int, int] | None  # frame pixels: where the person should stand
    crop: tuple[int, int, int, int] | None  # frame pixels: the profile-aspect crop, if any
    message: str | None = None  # e.g. NO_ONE
    errors: dict[str, float] = field(default_factory=dict)  # signed error / tolerance per check


# --- targets -------------------------------------------------------------------------


def tolerance(name: str, mad: float) -> float:
    return max(TOL_K * mad, TOL_FLOOR[name])


def target_from_profile(profile: dict[str, Any], orientation: str) -> Target:
    """The profile's group for the camera's orientation, else its primary group (with a crop).

    Wanted values are the medians, except tilt: the wanted tilt is 0 (a level
    camera) and the profile's typical lean only widens the tolerance.
    """
    groups = profile["groups"]
    if not groups:
        raise ValueError(f"profile {profile.get('name')!r} has no framing groups")
    key = orientation if orientation in groups else (profile.get("primary") or next(iter(groups)))
    group = groups[key]
    values: dict[str, tuple[float, float]] = {}
    for name, stats in group["measurements"].items():
        if name not in TOL_FLOOR:
            continue
        tol = tolerance(name, float(stats.get("mad", 0.0)))
        if name == "tilt_deg":
            values[name] = (0.0, max(tol, abs(float(stats["median"]))))
        else:
            values[name] = (float(stats["median"]), tol)
    return Target(
        values=values,
        orientation=key,
        aspect_ratio=float(group["aspect_ratio"]),
        source=f"profile {profile.get('name', '?')}",
        needs_crop=key != orientation,
    )


def builtin_target(orientation: str, aspect_ratio: float) -> Target:
    """Full body, feet near the bottom with a little room, modest headroom, on a third or centred."""
    head, foot = BUILTIN_ROOM.get(orientation, BUILTIN_ROOM["square"])
    values = {
        "headroom": (head, BUILTIN_TOL["headroom"]),
        "footroom": (foot, BUILTIN_TOL["footroom"]),
        "body_fill": (1.0 - head - foot, BUILTIN_TOL["body_fill"]),
        "center_x": (0.5, BUILTIN_TOL["center_x"]),
        "tilt_deg": (0.0, BUILTIN_TOL["tilt_deg"]),
    }
    return Target(values, orientation, aspect_ratio, "built-in", center_choices=THIRDS)


# --- crop ------------------------------------------------------------------------------


def crop_for(target: Target, width: int, height: int) -> tuple[int, int, int, int] | None:
    """Largest centred box of the target's aspect ratio inside the frame, when orientations differ."""
    if target.orientation == orientation_of(width, height) or target.aspect_ratio <= 0:
        return None
    if width / height > target.aspect_ratio:  # frame wider than wanted: full height
        cw, ch = max(1, round(height * target.aspect_ratio)), height
    else:
        cw, ch = width, max(1, round(width / target.aspect_ratio))
    x0, y0 = (width - cw) // 2, (height - ch) // 2
    return x0, y0, x0 + cw, y0 + ch


def reframe(fr: Framing, crop: tuple[int, int, int, int], width: int, height: int) -> Framing:
    """A full-frame Framing re-expressed relative to `crop` (pure geometry on the fractions).

    Head ratio and tilt do not change. A negative headroom / footroom means the
    crop cuts the head / feet; `advise` treats that as cut.
    """
    x0, y0, x1, y1 = crop
    cw, ch = x1 - x0, y1 - y0

    def vert(v: float | None, offset: float) -> float | None:
        return None if v is None else (v * height - offset) / ch

    return Framing(
        head_ratio=fr.head_ratio,
        body_fill=None if fr.body_fill is None else fr.body_fill * height / ch,
        headroom=vert(fr.headroom, y0),
        footroom=vert(fr.footroom, height - y1),
        center_x=None if fr.center_x is None else (fr.center_x * width - x0) / cw,
        tilt_deg=fr.tilt_deg,
        orientation=orientation_of(cw, ch),
        aspect_ratio=cw / ch,
        confidence=dict(fr.confidence),
    )


def framing_in_crop(
    marks: Landmarks,
    center_x_px: float | None,
    tilt_deg: float | None,
    crop: tuple[int, int, int, int],
    frame: tuple[int, int],
    confidence: dict[str, float] | None = None,
) -> Framing:
    """The subject's Framing relative to `crop`, from full-frame landmarks (pixels).

    Same definitions as guide.measure.framing. A part the *frame* cuts is None,
    as there; a part only the *crop* cuts gives a negative headroom / footroom,
    which `advise` treats as cut. `frame` is (width, height), unused but for
    symmetry with `reframe`.
    """
    x0, y0, x1, y1 = crop
    cw, ch = x1 - x0, y1 - y0
    top = marks.head_top[1] if marks.head_top and "head" not in marks.cut else None
    chin = marks.chin[1] if marks.chin else None
    feet = marks.feet[1] if marks.feet and "feet" not in marks.cut else None
    ratio = fill = None
    if top is not None and feet is not None and feet > top:
        fill = (feet - top) / ch
        if chin is not None and top < chin < feet:
            ratio = (chin - top) / (feet - top)
    return Framing(
        head_ratio=ratio,
        body_fill=fill,
        headroom=None if top is None else (top - y0) / ch,
        footroom=None if feet is None else (y1 - feet) / ch,
        center_x=None if center_x_px is None else (center_x_px - x0) / cw,
        tilt_deg=tilt_deg,
        orientation=orientation_of(cw, ch),
        aspect_ratio=cw / ch,
        confidence=dict(confidence or {}),
    )


# --- advice ----------------------------------------------------------------------------


def how_far(action: str, amount: float, distance_ratio: float | None = None) -> str:
    """How much to do, in words a person can act on ("" when it cannot be said).

    `amount` is in the action's units (see `Advice`). For a step,
    `distance_ratio` is the wanted distance over the present one (the body's
    size in the picture goes as one over the distance); the step itself
    cannot be said in metres without knowing how far away the person is.
    """
    amount = abs(amount)
    if action in ("step_back", "step_closer"):
        if distance_ratio is None:
            return ""
        if abs(distance_ratio - 1.0) < 0.15:
            return "a little"
        if distance_ratio > 1.0:
            return f"to about {distance_ratio:.1f}x the distance"
        return f"to about {distance_ratio:.0%} of the distance"
    if action in ("aim_up", "aim_down", "aim_left", "aim_right"):
        return "a little" if amount < 0.1 else f"by about {amount:.0%} of the frame"
    if action in ("raise_camera", "lower_camera"):
        return "a little" if amount < 2 * TOL_FLOOR["head_ratio"] else "a lot"
    if action == "level_camera":
        return f"by about {amount:.0f} degrees"
    return ""


def _advice(action: str, amount: float, note: str = "", distance_ratio: float | None = None) -> Advice:
    far = how_far(action, amount, distance_ratio)
    if action == "level_camera" and note:  # "Level the camera (turn it clockwise by about 4 degrees)"
        text = f"{TEXT[action]} ({note} {far})"
    else:
        text = TEXT[action] + (f" {far}" if far else "") + (f" ({note})" if note else "")
    return Advice(action, round(abs(amount), 4), text)


def _nearest_center(target: Target, center_x: float | None) -> float | None:
    if target.center_choices:
        if center_x is None:
            return 0.5
        return min(target.center_choices, key=lambda c: abs(c - center_x))
    value = target.values.get("center_x")
    return value[0] if value else None


def _room(target: Target) -> tuple[float, float, float, float, float, float]:
    """Wanted (headroom, footroom, body_fill) and their tolerances, filling gaps from each other."""
    v = target.values
    head, t_head = v.get("headroom", (0.1, TOL_FLOOR["headroom"]))
    foot, t_foot = v.get("footroom", (0.06, TOL_FLOOR["footroom"]))
    fill, t_fill = v.get("body_fill", (max(0.1, 1.0 - head - foot), TOL_FLOOR["body_fill"]))
    return head, foot, fill, t_head, t_foot, t_fill


def _cut_advice(
    head_cut: bool, feet_cut: bool, fr: Framing, marks: Landmarks, target: Target, ch: float
) -> list[Advice]:
    """The body is not all in: step back, or aim where there is room for the missing part."""
    head, foot, fill, t_head, t_foot, t_fill = _room(target)
    if head_cut and feet_cut:
        return [_advice("step_back", max(1.0 - fill, t_fill), "head and feet cut")]
    if feet_cut:
        hr = fr.headroom
        if hr is None:
            return [_advice("step_back", t_fill, "feet cut")]
        est = 1.0 - hr  # the visible part alone: a lower bound on the body's size
        ratio = target.values.get("head_ratio", (TYPICAL_HEAD_RATIO, 0.0))[0]
        if marks.chin and marks.head_top and marks.chin[1] > marks.head_top[1] and ratio > 0:
            est = max(est, (marks.chin[1] - marks.head_top[1]) / ch / ratio)
        if est > fill + t_fill or hr - head <= t_head:
            return [_advice("step_back", max(est - fill, t_fill), "feet cut")]
        return [_advice("aim_down", max(hr + est + foot - 1.0, t_foot), "feet cut")]
    fo = fr.footroom
    if fo is None:
        return [_advice("step_back", t_fill, "head cut")]
    est = 1.0 - fo
    if est > fill + t_fill or fo - foot <= t_foot:
        return [_advice("step_back", max(est - fill, t_fill), "head cut")]
    return [_advice("aim_up", fo - foot, "head cut")]


def _target_box(
    fr: Framing, target: Target, center: float | None, box: tuple[int, int, int, int], body_width_px: float | None
) -> tuple[int, int, int, int]:
    """Where the person should stand, head top to feet, in frame pixels."""
    x0, y0, x1, y1 = box
    cw, ch = x1 - x0, y1 - y0
    head, foot, fill, *_ = _room(target)
    cy = (head + 1.0 - foot) / 2 * ch
    tall = fill * ch
    ratio = TYPICAL_WIDTH_RATIO
    if body_width_px and fr.body_fill:
        ratio = body_width_px / (fr.body_fill * ch)
    cx = (center if center is not None else 0.5) * cw
    half_w = ratio * tall / 2
    return (round(x0 + cx - half_w), round(y0 + cy - tall / 2), round(x0 + cx + half_w), round(y0 + cy + tall / 2))


def advise(
    fr: Framing | None,
    marks: Landmarks | None,
    target: Target,
    width: int,
    height: int,
    body_width_px: float | None = None,
) -> Guidance:
    """Score and advice for one frame, from measurements (smoothed or not).

    `fr` may be the full-frame Framing or one already re-expressed in the crop
    (`framing_in_crop`/`reframe`); which one is told by its aspect ratio.
    `marks` are full-frame landmarks (their `cut`/`missing` are used).
    `body_width_px` (e.g. the person's mask bbox width) sizes the target box;
    without it a typical width-to-height ratio is used.
    """
    crop = crop_for(target, width, height)
    if fr is None or marks is None:
        return Guidance(0, [], None, crop, NO_ONE)
    box = crop or (0, 0, width, height)
    ch = box[3] - box[1]
    if crop is not None and abs(fr.aspect_ratio - width / height) < abs(fr.aspect_ratio - (box[2] - box[0]) / ch):
        fr = reframe(fr, crop, width, height)
    head_cut = "head" in marks.cut or (fr.headroom is not None and fr.headroom < 0)
    feet_cut = "feet" in marks.cut or (fr.footroom is not None and fr.footroom < 0)
    if head_cut or feet_cut:  # measurements that span the missing part mean nothing now
        fr = replace(fr, body_fill=None, head_ratio=None,
                     headroom=None if head_cut else fr.headroom, footroom=None if feet_cut else fr.footroom)
    head, foot, fill, t_head, t_foot, t_fill = _room(target)
    v = target.values
    advice: list[Advice] = []
    errors: dict[str, float] = {}

    if head_cut or feet_cut:
        advice += _cut_advice(head_cut, feet_cut, fr, marks, target, ch)
        errors["cut"] = CUT_ERROR
    else:
        if fr.body_fill is not None and "body_fill" in v:
            d = fr.body_fill - fill
            errors["body_fill"] = d / t_fill
            if abs(d) > t_fill:
                ratio = fr.body_fill / fill if fill > 0 else None  # wanted distance / present distance
                advice.append(_advice("step_back" if d > 0 else "step_closer", d, distance_ratio=ratio))
        offsets, tols = [], []  # body centre below the wanted centre, from either end
        if fr.headroom is not None and "headroom" in v:
            offsets.append(fr.headroom - head)
            tols.append(t_head)
        if fr.footroom is not None and "footroom" in v:
            offsets.append(foot - fr.footroom)
            tols.append(t_foot)
        if offsets:
            dy, tol = sum(offsets) / len(offsets), sum(tols) / len(tols)
            errors["vertical"] = dy / tol
            if abs(dy) > tol:  # too low in the frame: turn the camera down so the subject moves up
                advice.append(_advice("aim_down" if dy > 0 else "aim_up", dy))

    center = _nearest_center(target, fr.center_x)
    if fr.center_x is not None and center is not None and "center_x" in v:
        dx, tol = fr.center_x - center, v["center_x"][1]
        errors["center_x"] = dx / tol
        if abs(dx) > tol:  # too far right: turn the camera right so the subject moves left
            advice.append(_advice("aim_right" if dx > 0 else "aim_left", dx))
    if fr.head_ratio is not None and "head_ratio" in v:
        want, tol = v["head_ratio"]
        d = fr.head_ratio - want
        errors["head_ratio"] = d / tol
        if abs(d) > tol:  # low camera: longer legs, smaller ratio
            advice.append(_advice("raise_camera" if d < 0 else "lower_camera", d))
    if fr.tilt_deg is not None and "tilt_deg" in v:
        want, tol = v["tilt_deg"]
        d = fr.tilt_deg - want
        errors["tilt_deg"] = d / tol
        if abs(d) > tol:  # leaning right in the image: the camera is rolled anticlockwise
            advice.append(_advice("level_camera", d, "turn it clockwise" if d > 0 else "turn it anticlockwise"))

    worst = max((abs(e) for e in errors.values()), default=CUT_ERROR)
    score = int(round(100 * math.exp(-SCORE_K * worst * worst)))
    unseen = [p for p in ("head", "feet") if p in marks.missing and p not in marks.cut]
    message = None
    if unseen:  # cannot confirm the framing: never "hold"
        message = f"can't see the {' and '.join(unseen)}"
        score = min(score, 50)
    elif not advice:
        advice = [HOLD]
    return Guidance(score, advice[:MAX_ADVICE], _target_box(fr, target, center, box, body_width_px), crop, message,
                    {k: round(e, 3) for k, e in errors.items()})


def no_one(crop: tuple[int, int, int, int] | None = None) -> Guidance:
    return Guidance(0, [], None, crop, NO_ONE)
