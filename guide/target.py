"""What framing is wanted: the target, from a calibration profile or the built-in rules, and the
crop of the profile's aspect ratio when the camera's orientation differs from it.

`guide.guidance` measures the present framing against a `Target`; the live
analyzer fixes one per session (`guide.analyzer`). Units as in guidance: vertical
values are fractions of the frame height (of the crop's, with a crop),
`center_x` of its width, tilt in degrees, boxes in frame pixels.
"""

from __future__ import annotations

from dataclasses import dataclass

from guide import perspective
from guide.measure import Framing, Landmarks, orientation_of
from guide.profile import Profile, Stats

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
# Camera height, a fraction of the subject's height: within this of the wanted height is fine (about one
# named height, e.g. chest to waist, ~25 cm for an adult).
CAMERA_HEIGHT_TOL = 0.12


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
    # Wanted camera height as a fraction of the subject's height, and its tolerance (guide.perspective);
    # None: camera height is not guided.
    camera_height: tuple[float, float] | None = None
    # The measured tilt is a person's body axis, not the scene's verticals (guide.level): a weak cue.
    weak_tilt: bool = False


# --- from a profile, or the built-in rules ----------------------------------------------


def tolerance(name: str, mad: float) -> float:
    return max(TOL_K * mad, TOL_FLOOR[name])


def target_from_profile(profile: Profile, orientation: str) -> Target:
    """The profile's group for the camera's orientation, else its primary group (with a crop).

    Wanted values are the medians, except tilt: the wanted tilt is 0 (a level
    camera) and the profile's typical lean only widens the tolerance; and the
    head ratio, which is the reference people's proportions as much as the
    camera's height: the camera height the profile's `camera_height` term
    holds is wanted instead (a profile without it: the one its median framing
    gives, see guide.perspective).
    """
    key, group = profile.framing_group(orientation)
    values: dict[str, tuple[float, float]] = {}
    for name, stats in group.measurements.items():
        if name not in TOL_FLOOR or name == "head_ratio":
            continue
        tol = tolerance(name, stats.mad)
        if name == "tilt_deg":
            values[name] = (0.0, max(tol, abs(stats.median)))
        else:
            values[name] = (stats.median, tol)
    return Target(
        values=values,
        orientation=key,
        aspect_ratio=group.aspect_ratio,
        source=f"profile {profile.name}",
        needs_crop=key != orientation,
        camera_height=None if profile.group else _profile_camera_height(
            group.camera_height, group.measurements, group.aspect_ratio
        ),
    )


def _profile_camera_height(
    term: Stats | None, stats: dict[str, Stats], aspect_ratio: float
) -> tuple[float, float] | None:
    """(wanted camera height, tolerance) from a profile group: its `camera_height` term, else its medians."""
    if term is not None:
        want = min(perspective.HIGHEST, max(perspective.LOWEST, term.median))
        return want, max(CAMERA_HEIGHT_TOL, TOL_K * term.mad)
    if not all(k in stats for k in ("head_ratio", "headroom", "footroom")):
        return None
    view = perspective.View(stats["headroom"].median, 1.0 - stats["footroom"].median, aspect_ratio)
    c = perspective.camera_height(stats["head_ratio"].median, perspective.TYPICAL_OWN_RATIO, view)
    return min(perspective.HIGHEST, max(perspective.LOWEST, c)), CAMERA_HEIGHT_TOL


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
