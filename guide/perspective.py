"""Camera height from the head-to-body ratio: a pinhole camera looking at a standing person.

The measured head ratio, (chin - head top) / (feet - head top) in the picture,
mixes two things: the person's own proportions (children and adults differ by
far more than any camera can change) and perspective. A camera held high looks
down: the head is nearer than the feet, so it comes out larger and the ratio
rises; a low camera makes the legs longer and the ratio smaller.

The model: a person of height 1 standing upright, head top at 1, chin at
1 - `r` (`r`, their own head share, is what a camera at mid-body height and
far away would measure), feet at 0; a pinhole camera at height `c` (a fraction
of the person's height) and distance `d`, pitched by any angle. Where head top
and feet fall in the picture (headroom, footroom) and the lens's field of view
fix the angle the body spans; with `c` that fixes `d` and the pitch, and the
chin's row then gives `r` (or, knowing `r`, the ratio gives `c`). The field of
view is a typical phone's main camera (26 mm equivalent, 4:3 sensor); the
distance comes out of the body fill, so nothing here needs metres.

Numbers (portrait frame, body fill 0.8, so about 1.6 person heights away):
a true r = 0.15 measures ~0.175 from eye height and ~0.145 from waist height.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

HALF_DIAGONAL_TAN = 21.63 / 26.0  # tan of half the diagonal field of view: a 26 mm-equivalent lens
HAND_HELD = 0.83  # camera height / the person's height when hand-held at eye level (1.45 m for 1.75 m)
TYPICAL_OWN_RATIO = 0.15  # a standing adult's own head share as BodyPix measures it (hair to chin)
# Where a camera can be held, as a fraction of the person's height: words a person can act on.
HEIGHT_WORDS = (
    (1.05, "above head height"),
    (0.92, "eye height"),
    (0.72, "chest height"),
    (0.58, "waist height"),
    (0.45, "hip height"),
    (0.28, "knee height"),
    (0.10, "just above the ground"),
)
LOWEST, HIGHEST = 0.10, 1.05  # heights a hand-held camera can reach (ground to just above the head)


@dataclass(frozen=True)
class View:
    """Where the body lies in the picture: rows as fractions of the frame height (0 = top)."""

    top: float  # head top
    feet: float  # bottom of the feet
    aspect_ratio: float  # frame width / height

    @property
    def half_tan(self) -> float:
        """tan of half the vertical field of view, for a frame of this aspect ratio."""
        return HALF_DIAGONAL_TAN / math.sqrt(1.0 + self.aspect_ratio**2)

    def up(self, row: float) -> float:
        """A row as the tangent of its angle above the optical axis (the frame's centre row)."""
        return (1.0 - 2.0 * row) * self.half_tan


def _pose(view: View, c: float) -> tuple[float, float]:
    """Distance and pitch (radians, up positive) of a camera at height `c` that sees the body as `view` says."""
    a_top, a_feet = math.atan(view.up(view.top)), math.atan(view.up(view.feet))
    span = max(1e-6, a_top - a_feet)  # the angle the body spans
    # atan((1 - c) / d) + atan(c / d) = span  =>  d^2 - d / tan(span) - c (1 - c) = 0
    k = 1.0 / math.tan(span) if span < math.pi / 2 else 0.0
    d = 0.5 * (k + math.sqrt(max(0.0, k * k + 4.0 * c * (1.0 - c))))
    d = max(d, 1e-3)
    pitch = math.atan((1.0 - c) / d) - a_top
    return d, pitch


def measured_ratio(own: float, c: float, view: View) -> float:
    """The head ratio a person of own head share `own` shows to a camera at height `c`."""
    d, pitch = _pose(view, c)
    u_top, u_feet = view.up(view.top), view.up(view.feet)
    u_chin = math.tan(math.atan((1.0 - own - c) / d) - pitch)
    return (u_top - u_chin) / max(1e-9, u_top - u_feet)


def own_ratio(measured: float, c: float, view: View) -> float:
    """The person's own head share, from a measured ratio and a known camera height `c`."""
    d, pitch = _pose(view, c)
    u_top, u_feet = view.up(view.top), view.up(view.feet)
    u_chin = u_top - measured * (u_top - u_feet)
    return 1.0 - c - d * math.tan(math.atan(u_chin) + pitch)


def camera_height(measured: float, own: float, view: View, low: float = 0.0, high: float = 1.1) -> float:
    """The camera height (fraction of the person's height) at which `own` measures `measured`.

    The ratio grows with the camera's height up to about head height (above
    it, at close range, the head is seen from above and shrinks again); the
    answer is clamped to [low, high] when the measurement lies beyond what any
    height in between gives.
    """
    lo, hi = low, high
    if measured_ratio(own, lo, view) >= measured:
        return lo
    if measured_ratio(own, hi, view) <= measured:
        return hi
    for _ in range(40):
        mid = 0.5 * (lo + hi)
        if measured_ratio(own, mid, view) < measured:
            lo = mid
        else:
            hi = mid
    return 0.5 * (lo + hi)


def sensitivity(own: float, c: float, view: View, step: float = 0.05) -> float:
    """How much the measured ratio changes per unit of camera height (person heights), around `c`."""
    return (measured_ratio(own, c + step, view) - measured_ratio(own, c - step, view)) / (2 * step)


def height_words(c: float) -> str:
    """The nearest height a person can name ("waist height")."""
    return min(HEIGHT_WORDS, key=lambda hw: abs(hw[0] - c))[1]
