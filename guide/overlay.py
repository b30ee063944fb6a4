"""Drawing a BodyParse over a photo: part tint, skeleton, landmark lines.

Each annotator is a small class with its settings in `__init__` and one method,
`annotate(scene, parse) -> image`, so they compose in a list (the shape
roboflow/supervision uses). Scenes are BGR uint8 images; annotators return a new
image and leave the input untouched.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, Sequence

import cv2
import numpy as np

from guide.body import KEYPOINT_ID, SKELETON
from guide.geometry import Grid, resample
from guide.measure import Landmarks, landmarks
from guide.parse import BodyParse

if TYPE_CHECKING:
    from guide.guidance import Advice

# One colour per body part (BGR), a rainbow around the body as BodyPix's demos use.
PART_COLOURS = np.array(
    [
        (127, 64, 110), (143, 54, 143), (173, 45, 176), (197, 48, 201), (215, 59, 225), (228, 76, 246),
        (240, 96, 255), (240, 115, 255), (230, 135, 255), (214, 155, 255), (196, 172, 255), (174, 189, 255),
        (149, 206, 252), (128, 219, 232), (102, 230, 204), (80, 239, 176), (65, 242, 145), (59, 240, 114),
        (63, 232, 87), (79, 217, 65), (98, 198, 54), (117, 178, 49), (135, 158, 52), (150, 138, 64),
    ],
    dtype=np.uint8,
)  # fmt: skip
SUBJECT_COLOUR = (0, 220, 255)
OTHER_COLOUR = (200, 200, 200)
LINE_COLOURS = {"head top": (60, 60, 255), "chin": (255, 160, 40), "feet": (40, 200, 40)}


class Annotator(Protocol):
    def annotate(self, scene: np.ndarray, parse: BodyParse) -> np.ndarray: ...


class PartTint:
    """Tints every person pixel with its body part's colour."""

    def __init__(self, opacity: float = 0.55) -> None:
        self.opacity = opacity

    def annotate(self, scene: np.ndarray, parse: BodyParse) -> np.ndarray:
        out = scene.copy()
        on = parse.parts >= 0
        if on.any():
            colours = PART_COLOURS[parse.parts[on]].astype(np.float32)
            out[on] = (scene[on] * (1 - self.opacity) + colours * self.opacity).astype(np.uint8)
        return out


class Skeleton:
    """Keypoints and the bones between them; the subject in yellow, others in grey."""

    def __init__(self, min_score: float = 0.3, thickness: int | None = None) -> None:
        self.min_score = min_score
        self.thickness = thickness

    def annotate(self, scene: np.ndarray, parse: BodyParse) -> np.ndarray:
        out = scene.copy()
        t = self.thickness or max(2, round(min(scene.shape[:2]) / 250))
        for person in parse.people:
            colour = SUBJECT_COLOUR if person.index == parse.subject else OTHER_COLOUR
            kp = person.keypoints
            for a, b in SKELETON:
                pa, pb = kp[KEYPOINT_ID[a]], kp[KEYPOINT_ID[b]]
                if pa[2] >= self.min_score and pb[2] >= self.min_score:
                    cv2.line(out, _pt(pa), _pt(pb), colour, t, cv2.LINE_AA)
            for x, y, s in kp:
                if s >= self.min_score:
                    cv2.circle(out, _pt((x, y)), t + 2, (0, 0, 0), -1, cv2.LINE_AA)
                    cv2.circle(out, _pt((x, y)), t + 1, colour, -1, cv2.LINE_AA)
        return out


class LandmarkLines:
    """Horizontal lines at the subject's head top, chin and feet, labelled, plus cut warnings."""

    def __init__(self, all_people: bool = False) -> None:
        self.all_people = all_people

    def annotate(self, scene: np.ndarray, parse: BodyParse) -> np.ndarray:
        out = scene.copy()
        indices = range(len(parse.people)) if self.all_people else ([parse.subject] if parse.subject is not None else [])
        for i in indices:
            self._draw(out, parse, landmarks(parse, i))
        return out

    def _draw(self, out: np.ndarray, parse: BodyParse, marks: Landmarks) -> None:
        scale = max(0.45, min(out.shape[:2]) / 900)
        t = max(1, round(scale * 2))
        for label, point in (("head top", marks.head_top), ("chin", marks.chin), ("feet", marks.feet)):
            if point is None:
                continue
            y = int(round(min(point[1], parse.height - 1)))
            colour = LINE_COLOURS[label]
            cv2.line(out, (0, y), (parse.width - 1, y), colour, t, cv2.LINE_AA)
            draw_label(out, label, (6, max(14, y - 6)), colour, scale)
        if marks.cut:
            draw_label(out, "cut: " + ", ".join(marks.cut), (6, parse.height - 10), (0, 0, 255), scale)


def draw_label(
    img: np.ndarray,
    text: str,
    org: tuple[int, int],
    colour: tuple[int, int, int],
    scale: float,
    max_width: int | None = None,
) -> None:
    """Text on a dimmed band with a one-pixel shadow, readable on any background (a white wall, the sky).

    With `max_width` (pixels) the text is made smaller to fit, down to 60%,
    then shortened in the middle with an ellipsis. (A thicker dark copy as an
    outline is avoided: OpenCV 5's fonts advance further when thicker, which
    leaves a misaligned ghost.)
    """
    font = cv2.FONT_HERSHEY_SIMPLEX
    t = max(1, round(scale * 2))
    width = cv2.getTextSize(text, font, scale, t)[0][0]
    if max_width is not None and width > max_width:
        scale = max(0.6 * scale, scale * max_width / width)
        t = max(1, round(scale * 2))
        full, keep = text, len(text)
        while keep > 6 and cv2.getTextSize(text, font, scale, t)[0][0] > max_width:
            keep -= 1
            text = _middle(full, keep)
    (tw, th), base = cv2.getTextSize(text, font, scale, t)
    pad = max(2, th // 4)
    x0, y0 = max(0, org[0] - pad), max(0, org[1] - th - pad)
    x1, y1 = min(img.shape[1], org[0] + tw + pad), min(img.shape[0], org[1] + base + pad)
    if x1 > x0 and y1 > y0:
        img[y0:y1, x0:x1] = img[y0:y1, x0:x1] // 2
    shadow = max(1, t // 2)
    cv2.putText(img, text, (org[0] + shadow, org[1] + shadow), font, scale, (0, 0, 0), t, cv2.LINE_AA)
    cv2.putText(img, text, org, font, scale, colour, t, cv2.LINE_AA)


def beside_people(covered: np.ndarray, width: int, keep: int | None = None) -> int | None:
    """Where to centre something `width` pixels wide in a picture's columns so that it covers no person
    (`covered`: one bool per column): at `keep` while it still fits there (a digit that jumped sides with a few
    pixels of mask jitter, 400 px on the street clip), else in the middle of the widest free run of columns;
    None if it fits nowhere. A countdown drawn mid-frame sat on the subject's chest."""
    half = (width + 1) // 2
    if keep is not None and keep - half >= 0 and keep + half <= len(covered) and not covered[keep - half : keep + half].any():
        return keep
    free = np.concatenate([[False], ~covered, [False]])
    edges = np.flatnonzero(np.diff(free.astype(np.int8)))  # starts and ends of the free runs, alternately
    starts, ends = edges[0::2], edges[1::2]
    if not len(starts):
        return None
    best = int(np.argmax(ends - starts))
    return int((starts[best] + ends[best]) // 2) if ends[best] - starts[best] >= width else None


def wrap(text: str, scale: float, width: int) -> list[str]:
    """`text` as one line, or two split at a space, so that it fits `width` pixels if it can."""
    if _text_width(text, scale) <= width or " " not in text:
        return [text]
    words = text.split(" ")
    splits = [(" ".join(words[:k]), " ".join(words[k:])) for k in range(1, len(words))]
    widths = [max(_text_width(a, scale), _text_width(b, scale)) for a, b in splits]
    best = min(range(len(splits)), key=lambda k: widths[k])  # the most even split: both lines as short as can be
    return list(splits[best])


def _middle(text: str, keep: int) -> str:
    """`text` cut to `keep` characters by taking out its middle ("mmpose_S5_Sit...002061.jpg")."""
    if len(text) <= keep:
        return text
    head = (keep - 2) // 2
    return text[:head] + ".." + text[len(text) - (keep - 2 - head) :]


def _pt(p: Sequence[float]) -> tuple[int, int]:
    return int(round(p[0])), int(round(p[1]))


def annotate(scene: np.ndarray, parse: BodyParse, annotators: Sequence[Annotator] | None = None) -> np.ndarray:
    """The analyze picture: part tint, skeleton and the subject's landmark lines."""
    for annotator in annotators or (PartTint(), Skeleton(), LandmarkLines()):
        scene = annotator.annotate(scene, parse)
    return scene


def thumbnail(scene: np.ndarray, parse: BodyParse | None, height: int = 240) -> np.ndarray:
    """A small copy of `scene` with the subject's landmark lines drawn at thumbnail scale."""
    scale = height / scene.shape[0]
    thumb = cv2.resize(scene, (max(1, round(scene.shape[1] * scale)), height), interpolation=cv2.INTER_AREA)
    if parse is None or parse.subject is None:
        return thumb
    marks = landmarks(parse, parse.subject)
    for label, point in (("head top", marks.head_top), ("chin", marks.chin), ("feet", marks.feet)):
        if point is not None:
            y = int(round(min(point[1] * scale, height - 1)))
            cv2.line(thumb, (0, y), (thumb.shape[1] - 1, y), LINE_COLOURS[label], 2, cv2.LINE_AA)
    return thumb


def contact_sheet(tiles: Sequence[tuple[np.ndarray, str, bool]], columns: int = 5, tile_height: int = 240) -> np.ndarray:
    """Thumbnails in a grid, each captioned; accepted ones framed green, skipped ones red."""
    if not tiles:
        return np.full((tile_height, tile_height, 3), 32, np.uint8)
    width = max(t[0].shape[1] for t in tiles)
    cell_w, cell_h = min(width, int(tile_height * 1.6)) + 8, tile_height + 34
    rows = (len(tiles) + columns - 1) // columns
    sheet = np.full((rows * cell_h, min(columns, len(tiles)) * cell_w, 3), 32, np.uint8)
    for i, (thumb, caption, ok) in enumerate(tiles):
        r, c = divmod(i, columns)
        y, x = r * cell_h + 4, c * cell_w + 4
        th = thumb[:, : cell_w - 8]
        sheet[y : y + th.shape[0], x : x + th.shape[1]] = th
        colour = (60, 200, 60) if ok else (60, 60, 230)
        cv2.rectangle(sheet, (x - 2, y - 2), (x + th.shape[1] + 1, y + th.shape[0] + 1), colour, 2)
        draw_label(sheet, caption, (x, y + tile_height + 22), colour, 0.45, max_width=cell_w - 10)
    return sheet


# --- live guidance ------------------------------------------------------------------

# Arrow direction on screen for each action (dx, dy); None: drawn another way.
_ARROWS = {
    "aim_up": (0, -1), "aim_down": (0, 1), "aim_left": (-1, 0), "aim_right": (1, 0),
    "raise_camera": (0, -1), "lower_camera": (0, 1),
}  # fmt: skip
GOOD = (60, 220, 60)
BAD = (40, 170, 255)


class MaskTint:
    """The person's outline tinted, blended over time so it does not flicker."""

    def __init__(self, colour: tuple[int, int, int] = (255, 160, 40), opacity: float = 0.35, memory: float = 0.3) -> None:
        self.colour, self.opacity, self.memory = colour, opacity, memory
        self._alpha: np.ndarray | None = None

    @property
    def alpha(self) -> np.ndarray | None:
        """The blended person mask (float32 in [0, 1]) on the scene's raster, or None before the first update."""
        return self._alpha

    def update(self, mask: np.ndarray | None, shape: tuple[int, int]) -> None:
        """A new person mask of the scene's `shape` (or None: nobody)."""
        current = np.zeros(shape, np.float32) if mask is None else mask.astype(np.float32)
        self._blend(current)

    def update_from(self, parse: BodyParse, scene: Grid) -> None:
        """A new parse, whatever its raster: its mask is read on the `scene` raster (zero outside its grid)."""
        self._blend(resample(parse.mask.astype(np.float32), parse.grid, scene, fill=0.0))

    def _blend(self, current: np.ndarray) -> None:
        if self._alpha is None or self._alpha.shape != current.shape:
            self._alpha = current
        else:
            cv2.addWeighted(self._alpha, self.memory, current, 1 - self.memory, 0, dst=self._alpha)

    def annotate(self, scene: np.ndarray) -> np.ndarray:
        if self._alpha is None or self._alpha.shape != scene.shape[:2]:
            return scene
        rows = np.flatnonzero(self._alpha.max(axis=1) > 0.01)
        if rows.size == 0:
            return scene
        cols = np.flatnonzero(self._alpha[rows[0] : rows[-1] + 1].max(axis=0) > 0.01)
        y0, y1, x0, x1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
        out = scene.copy()  # blend only inside the tinted box: the rest of a big frame is untouched
        a = (self._alpha[y0:y1, x0:x1] * self.opacity)[:, :, None]
        region = out[y0:y1, x0:x1].astype(np.float32)
        out[y0:y1, x0:x1] = (region + (np.array(self.colour, np.float32) - region) * a).astype(np.uint8)
        return out


def _arrow(
    img: np.ndarray, centre: tuple[int, int], direction: tuple[float, float], length: int, colour: tuple[int, int, int]
) -> None:
    norm = float(np.hypot(*direction)) or 1.0
    dx, dy = (v / norm * length / 2 for v in direction)
    start = (round(centre[0] - dx), round(centre[1] - dy))
    end = (round(centre[0] + dx), round(centre[1] + dy))
    cv2.arrowedLine(img, start, end, (0, 0, 0), max(6, length // 6) + 4, cv2.LINE_AA, tipLength=0.4)
    cv2.arrowedLine(img, start, end, colour, max(6, length // 6), cv2.LINE_AA, tipLength=0.4)


def _step_glyph(img: np.ndarray, centre: tuple[int, int], size: int, outward: bool, colour: tuple[int, int, int]) -> None:
    """Four arrows pointing out (step back: make the person smaller) or in (step closer)."""
    for direction in ((1, 1), (-1, 1), (1, -1), (-1, -1)):
        far = (centre[0] + direction[0] * size, centre[1] + direction[1] * size)
        near = (centre[0] + direction[0] * size // 3, centre[1] + direction[1] * size // 3)
        a, b = (near, far) if outward else (far, near)
        cv2.arrowedLine(img, a, b, (0, 0, 0), max(4, size // 8) + 3, cv2.LINE_AA, tipLength=0.45)
        cv2.arrowedLine(img, a, b, colour, max(4, size // 8), cv2.LINE_AA, tipLength=0.45)


def draw_guidance(  # type: ignore[no-untyped-def]
    scene: np.ndarray, guidance, fps: float | None = None, show_help: bool = False, *, scale: float = 1.0,
    low: bool = False,
) -> np.ndarray:
    """Target box, crop, the one or two most important instructions with arrows, score and fps.

    `scale` is scene pixels per frame pixel, for a scene that is the frame
    scaled down (the guidance's boxes are in frame pixels). With `low` the
    instructions sit at the bottom of the picture, above the status line (see
    `instructions_low`).
    """
    out = scene.copy()
    h, w = out.shape[:2]
    unit = max(0.6, min(h, w) / 480)
    advice = list(getattr(guidance, "advice", []) or [])
    holding = bool(advice) and advice[0].action == "hold"
    colour = GOOD if holding else BAD
    crop = getattr(guidance, "crop", None)
    if crop is not None:
        x0, y0, x1, y1 = (int(round(v * scale)) for v in crop)
        shade = out.copy()
        shade[:, :x0] = shade[:, :x0] // 3
        shade[:, x1:] = shade[:, x1:] // 3
        shade[:y0] = shade[:y0] // 3
        shade[y1:] = shade[y1:] // 3
        out = shade
        cv2.rectangle(out, (x0, y0), (x1 - 1, y1 - 1), (220, 220, 220), 1, cv2.LINE_AA)
        _explain_crop(out, (x0, y0, x1, y1), unit)
    box = getattr(guidance, "target_box", None)
    if box is not None:
        x0, y0, x1, y1 = (int(round(v * scale)) for v in box)
        cv2.rectangle(out, (x0, y0), (x1, y1), (0, 0, 0), max(3, round(4 * unit)), cv2.LINE_AA)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, max(2, round(2.5 * unit)), cv2.LINE_AA)
    keys = _KEYS if show_help else ()
    message = getattr(guidance, "message", None)
    block = _instructions(advice, message, unit, w)
    top = _low_top(block, h, unit, keys) if low else 0
    for y, x, size, text, action, first in block:
        y += top
        ink = colour if first else (235, 235, 235)
        if action is not None:
            _glyph(out, action, (int(16 * unit) + size // 2, y - size // 3), size, colour)
        draw_label(out, text, (x, y), ink, (1.3 if first else 0.9) * unit, max_width=w - x - int(8 * unit))
    score = getattr(guidance, "score", None)
    status = f"match {score:3d}" if score is not None and not message else ""
    if fps is not None:
        status += f"   {fps:4.1f} fps"
    draw_label(out, status.strip(), (int(16 * unit), h - int(16 * unit)), (235, 235, 235), 0.7 * unit)
    for i, text in enumerate(keys):
        draw_label(out, text, (int(16 * unit), h - int((50 + 26 * (len(keys) - 1 - i)) * unit)), (235, 235, 235),
                   0.6 * unit)
    return out


def _explain_crop(out: np.ndarray, crop: tuple[int, int, int, int], unit: float) -> None:
    """Say what the shaded crop is, in the shaded band below it (else above): the profile has no framing for
    this orientation, so the picture is guided inside its own shape; a phone held upright with a landscape
    profile was told "Step back (head and feet cut)" with nothing saying why."""
    h, w = out.shape[:2]
    x0, y0, x1, y1 = crop
    kind = "landscape" if x1 - x0 > 1.02 * (y1 - y0) else "portrait" if y1 - y0 > 1.02 * (x1 - x0) else "square"
    text = f"The profile frames {kind} pictures: turn the camera"
    line = int(28 * unit)
    if h - y1 >= 3 * line:  # below, clear of the status line
        y = y1 + line
    elif y0 >= 2 * line:
        y = y0 - line // 3
    else:  # bands left and right only: along the crop's top edge, inside it
        y = y0 + line
    draw_label(out, text, (x0 + int(8 * unit), y), (235, 235, 235), 0.7 * unit, max_width=x1 - x0 - int(16 * unit))


_KEYS = ("SPACE capture", "Q / ESC quit", "M mask tint", "B portrait preview", "H help")


def instructions_low(  # type: ignore[no-untyped-def]
    shape: tuple[int, ...], guidance, avoid: tuple[float, float, float, float], *, scale: float = 1.0,
    show_help: bool = False,
) -> bool:
    """Should the instructions go to the bottom of the picture: at the top they would cover `avoid`
    (frame pixels, the subject's head) and at the bottom they would not."""
    h, w = shape[:2]
    unit = max(0.6, min(h, w) / 480)
    block = _instructions(list(getattr(guidance, "advice", []) or []), getattr(guidance, "message", None), unit, w)
    if not block:
        return False
    height = _block_height(block, unit)
    width = max(x + _text_width(text, 1.3 * unit if first else 0.9 * unit) for _, x, _, text, _, first in block)
    head = tuple(v * scale for v in avoid)
    top = _low_top(block, h, unit, _KEYS if show_help else ())
    return _overlaps(head, (0, 0, width, height)) and not _overlaps(head, (0, top, width, top + height))


def _block_height(block: Sequence[Line], unit: float) -> int:
    return max(y for y, *_ in block) + int(12 * unit)


def _low_top(block: Sequence[Line], h: int, unit: float, keys: Sequence[str]) -> int:
    """How far down the instructions start when they sit above the status line and the key help."""
    footer = int((50 + 26 * len(keys)) * unit)
    return max(0, h - footer - _block_height(block, unit)) if block else 0


Line = tuple[int, int, int, str, "str | None", bool]  # baseline y, text x, glyph size, text, glyph action, first ask


def _instructions(advice: Sequence, message: str | None, unit: float, w: int) -> list[Line]:  # type: ignore[type-arg]
    """The instruction lines laid out from the top of the picture: the first ask large, the second smaller.

    A long instruction takes two lines and never loses its number; each ask's
    first line carries its glyph (an arrow, a step, a level arc, a dot for hold).
    """
    lines = [message] if message else [a.text for a in advice[:2]]
    out: list[Line] = []
    y = int(46 * unit)
    for i, text in enumerate(lines):
        first = i == 0
        size = int(38 * unit) if first else int(26 * unit)
        x = int(16 * unit)
        action = glyph_name(advice[i]) if i < len(advice) and not message else None
        if action is not None:
            x += size + int(12 * unit)
        for k, part in enumerate(wrap(text, (1.3 if first else 0.9) * unit, w - x - int(8 * unit))):
            out.append((y, x, size, part, action if k == 0 else None, first))
            y += int((44 if first else 34) * unit)
        y += int(4 * unit)
    return out


def glyph_name(advice: Advice) -> str:
    """The glyph's name: the action, or both of an aim made with another ("aim_up+aim_left": a diagonal arrow)."""
    return f"{advice.action}+{advice.also.action}" if advice.also is not None else str(advice.action)


def _glyph(out: np.ndarray, action: str, centre: tuple[int, int], size: int, colour: tuple[int, int, int]) -> None:
    """The sign before an instruction; an action without one (avoid_backlight, say) gets none."""
    parts = action.split("+")
    if all(p in _ARROWS for p in parts):
        _arrow(out, centre, (sum(_ARROWS[p][0] for p in parts), sum(_ARROWS[p][1] for p in parts)), size, colour)
    elif action in ("step_back", "step_closer"):
        _step_glyph(out, centre, size // 2, action == "step_back", colour)
    elif action == "level_camera":
        cv2.ellipse(out, centre, (size // 2, size // 2), 0, 200, 340, colour, max(3, size // 8), cv2.LINE_AA)
    elif action == "hold":
        cv2.circle(out, centre, size // 2, colour, -1, cv2.LINE_AA)


def _text_width(text: str, scale: float) -> int:
    return int(cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, scale, max(1, round(scale * 2)))[0][0])


def _overlaps(a: Sequence[float], b: Sequence[float]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def draw_members(
    scene: np.ndarray,
    boxes: Sequence[tuple[float, float, float, float]],
    cut: Sequence[bool] = (),
    *,
    scale: float = 1.0,
) -> np.ndarray:
    """Group mode: each member's box, numbered as the advice names them (1, 2, ...).

    Members whose head or feet the frame cuts (`cut[i]`) are drawn in the
    warning colour. Boxes are frame pixels; `scale` is scene pixels per frame pixel.
    """
    out = scene.copy()
    unit = max(0.6, min(out.shape[:2]) / 480)
    for i, box in enumerate(boxes):
        x0, y0, x1, y1 = (int(round(v * scale)) for v in box)
        colour = BAD if i < len(cut) and cut[i] else (235, 235, 235)
        cv2.rectangle(out, (x0, y0), (x1, y1), (0, 0, 0), max(2, round(2 * unit)), cv2.LINE_AA)
        cv2.rectangle(out, (x0, y0), (x1, y1), colour, 1, cv2.LINE_AA)
        draw_label(out, str(i + 1), (x0 + int(4 * unit), max(int(20 * unit), y0 + int(20 * unit))), colour, 0.6 * unit)
    return out


def paste_thumbnail(scene: np.ndarray, thumb: np.ndarray, label: str = "saved") -> np.ndarray:
    """A small picture of the last capture in the bottom-right corner."""
    out = scene.copy()
    h, w = out.shape[:2]
    th = min(max(40, h // 4), h - 12)
    if th < 1 or w < 24:
        return out  # no room for it
    small = cv2.resize(thumb, (max(1, round(thumb.shape[1] * th / thumb.shape[0])), th), interpolation=cv2.INTER_AREA)
    small = small[:, : w // 2]
    y0, x0 = h - th - 10, w - small.shape[1] - 10
    out[y0 : y0 + th, x0 : x0 + small.shape[1]] = small
    cv2.rectangle(out, (x0 - 2, y0 - 2), (x0 + small.shape[1] + 1, y0 + th + 1), GOOD, 2)
    draw_label(out, label, (x0, y0 - 8), GOOD, 0.6)
    return out
