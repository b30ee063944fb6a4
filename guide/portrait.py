"""Portrait mode: the people sharp, the background blurred the way a fast lens blurs it.

Three steps on a BGR uint8 photo plus its BodyParse:

1. Matte (`guide.matte`): the model's person probability, tightened from
   colour where the background is plain, snapped to the photo's edges with a
   guided filter fitted at a reduced resolution and applied at full resolution.
2. Background (`guide.bokeh`): a disc ("bokeh") kernel in linear light, as a
   normalised convolution in which the people weigh nothing, colour-true (only
   small clipped highlights are boosted), its size growing with distance from
   the focal plane that runs through the subject's feet (`focus_plane`).
   Or a new background, with the person's edge colours unmixed from the old.
3. Composite. out = alpha * photo + (1 - alpha) * background, at full
   resolution; where alpha is 1 the photo's pixels come through unchanged.

Optionally the subject is lifted first when backlit (`guide.light`).

Units: `strength` is the disc *diameter* in percent of the image's long side
(3 -> a 58 px disc on a 1920x1080 photo). Alphas are float32 in [0, 1].
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from io import BytesIO
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

from guide import bokeh
from guide.bokeh import FocusPlane, disc_kernel
from guide.errors import ImageError, InputError
from guide.images import Photo, free_path, read_photo, write_bytes_atomic, write_image_atomic
from guide.light import Light, Relight, measure_light
from guide.light import relight as lift
from guide.matte import Matte, estimate_foreground, full_matte, refine_matte
from guide.measure import landmarks
from guide.parse import BodyParse

__all__ = ["FocusPlane", "Matte", "disc_kernel", "full_matte"]

DEFAULT_STRENGTH = 3.0  # disc diameter, % of the long side
MAX_STRENGTH = 15.0
JPEG_QUALITY = 95
PORTRAIT_MAX_PIXELS = 50_000_000  # decode limit for portraits (analysis uses 16 MP)
MIN_PERSON_FRACTION = 0.002  # a mask smaller than this share of the image is "no person"


@dataclass(frozen=True)
class PortraitSettings:
    """How a portrait is rendered. The defaults are for stills; `LIVE` trades matte detail for speed."""

    strength: float = DEFAULT_STRENGTH  # disc diameter, % of the image's long side
    matte_side: int = 640  # long side (px) at which the guided filter's coefficients are fitted
    matte_radius: float = 0.010  # guided filter window radius, fraction of the long side
    matte_eps: float = 1e-3  # guided filter regulariser, in (intensity 0..1)^2: larger = smoother
    matte_snap: float = 0.1  # filtered alpha below this is 0, above 1 - this is 1 (the filter's faint tails)
    matte_contrast: float = 4.0  # probability steepened about 0.5 before filtering (1 = as the model says)
    matte_tight: bool = True  # re-estimate the uncertain band from colour on plain backgrounds
    matte_center: float = 0.5  # probability taken as the edge (0.6 fits Penn-Fudan better but eats into a pasted body)
    blur_radius_low: float = 8.0  # disc radius (px) on the reduced grid the blur runs on (about: a whole reduction)
    depth: bool = True  # blur by distance from the focal plane through the subject's feet
    horizon_guess: float = 0.75  # with one person: horizon this share of their height above the feet
    depth_of_field: float = 0.05  # defocus still seen as sharp, fraction of the full blur
    highlight_gain: float = 4.0  # linear-light multiplier of small clipped highlights
    linear_light: bool = True  # blur in linear light (False: the live preview's single sRGB blur)


STILL = PortraitSettings()
LIVE = PortraitSettings(matte_side=384, blur_radius_low=8.0)
PREVIEW = PortraitSettings(matte_side=256, matte_tight=False, blur_radius_low=6.0, depth=False, linear_light=False)


# --- matte and focal plane ------------------------------------------------------------------

def matte_for(image_bgr: np.ndarray, parse: BodyParse, settings: PortraitSettings = STILL) -> Matte:
    """Refined matte of every person in `parse` (the model's person channel covers them all)."""
    prob = parse.probability if parse.probability is not None else parse.mask.astype(np.float32)
    if prob.shape != image_bgr.shape[:2]:
        raise ValueError(f"parse is {prob.shape}, image is {image_bgr.shape[:2]}")
    return refine_matte(image_bgr, prob.astype(np.float32, copy=False), settings.matte_side, settings.matte_radius,
                        settings.matte_eps, settings.matte_snap, settings.matte_contrast, settings.matte_tight,
                        settings.matte_center)


def _standing(parse: BodyParse, index: int) -> tuple[float, float] | None:
    """(feet row, height in rows) of person `index` when both their head top and feet are in the frame."""
    marks = landmarks(parse, index)
    if marks.feet is None or marks.head_top is None or marks.cut:
        return None
    height = marks.feet[1] - marks.head_top[1]
    return (marks.feet[1], height) if height > 0.05 * parse.height else None


def focus_plane(parse: BodyParse, settings: PortraitSettings = STILL) -> FocusPlane | None:
    """The in-focus ground through the subject's feet, or None when their feet are not in the frame.

    The horizon is where the camera's height meets the people: with two or
    more whole people of clearly different sizes it is fitted from their feet
    rows and heights (people of one height: feet_y = horizon_y + height / k);
    otherwise it is guessed at `settings.horizon_guess` of the subject's height
    above their feet (a camera at chest height).
    """
    if parse.subject is None or parse.subject >= len(parse.people):
        return None
    standing = [_standing(parse, i) for i in range(len(parse.people))]  # landmarks are the costly part: once each
    subject = standing[parse.subject]
    if subject is None:
        marks = landmarks(parse, parse.subject)
        if marks.feet is None or "feet" in marks.cut:
            return None
        y0 = parse.people[parse.subject].bbox[1]
        subject = (marks.feet[1], marks.feet[1] - y0)
    feet_y, height = subject
    horizon = feet_y - settings.horizon_guess * height
    others = [p for p in standing if p is not None]
    if len(others) >= 2:
        ys, hs = np.array(others).T
        if hs.max() > 1.3 * hs.min():
            slope, y_h = np.polyfit(hs, ys, 1)  # feet_y = y_h + height * slope
            if slope > 0 and 0.3 <= (feet_y - y_h) / height <= 1.5:
                horizon = float(y_h)
    return FocusPlane(float(feet_y), float(horizon), settings.depth_of_field)


def focus_line(parse: BodyParse) -> float | None:
    """y (pixel edge) of the subject's feet, where the ground is in focus; None if not in the frame."""
    plane = focus_plane(parse)
    return None if plane is None else plane.feet_y


# --- background -----------------------------------------------------------------------------

def lens_blur(
    image_bgr: np.ndarray,
    person_low: np.ndarray | None = None,
    strength: float = DEFAULT_STRENGTH,
    plane: FocusPlane | None = None,
    settings: PortraitSettings = STILL,
) -> np.ndarray:
    """The background as a fast lens would render it (`guide.bokeh.lens_blur`), BGR uint8, full resolution.

    `strength` is the disc diameter at infinity in percent of the long side;
    `person_low` an alpha (any resolution) of what must not leak into the
    blur; `plane` the in-focus ground (None: one blur everywhere).
    """
    h, w = image_bgr.shape[:2]
    radius_full = strength / 100.0 * max(h, w) / 2.0
    return bokeh.lens_blur(image_bgr, person_low, radius_full, plane if settings.depth else None,
                           settings.blur_radius_low, settings.highlight_gain, settings.linear_light)


# --- composite ------------------------------------------------------------------------------

def fit_background(background_bgr: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale to cover height x width (aspect kept, never stretched), then crop the centre."""
    bh, bw = background_bgr.shape[:2]
    s = max(width / bw, height / bh)
    nw, nh = max(width, round(bw * s)), max(height, round(bh * s))
    interp = cv2.INTER_AREA if s < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(background_bgr, (nw, nh), interpolation=interp)
    x0, y0 = (nw - width) // 2, (nh - height) // 2
    return np.ascontiguousarray(scaled[y0 : y0 + height, x0 : x0 + width])


def edge_foreground(image_bgr: np.ndarray, matte: Matte) -> np.ndarray:
    """The person's own colours (uint8 BGR) where the matte is soft; the photo elsewhere.

    Foreground estimation (`guide.matte.estimate_foreground`) runs only on the
    box around the matte's edge tiles, padded by its reach.
    """
    out = image_bgr.copy()
    ty, tx = np.nonzero(matte.tiles == 2)
    if ty.size == 0:
        return out
    h, w = image_bgr.shape[:2]
    t = matte.tile
    radius = max(8, round(0.03 * max(h, w)))
    y0, y1 = max(0, ty.min() * t - 2 * radius), min(h, (ty.max() + 1) * t + 2 * radius)
    x0, x1 = max(0, tx.min() * t - 2 * radius), min(w, (tx.max() + 1) * t + 2 * radius)
    fore = estimate_foreground(image_bgr[y0:y1, x0:x1], matte.alpha[y0:y1, x0:x1], radius)
    out[y0:y1, x0:x1] = np.clip(fore * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return out


def composite(image_bgr: np.ndarray, background_bgr: np.ndarray, matte: Matte,
              foreground: np.ndarray | None = None) -> np.ndarray:
    """alpha * front + (1 - alpha) * background, uint8; where alpha is 1 the image's pixels come through exactly.

    `front` is the photo, or in edge tiles `foreground` when given (the
    person's own colours, `edge_foreground`: a new background then shows no
    fringe of the old one).
    """
    out = background_bgr.copy()
    t = matte.tile
    for ty, tx in zip(*np.nonzero(matte.tiles)):
        ys, xs = slice(ty * t, ty * t + t), slice(tx * t, tx * t + t)
        if matte.tiles[ty, tx] == 1:
            out[ys, xs] = image_bgr[ys, xs]
            continue
        a = matte.alpha[ys, xs]
        front = image_bgr[ys, xs] if foreground is None else foreground[ys, xs]
        out[ys, xs] = cv2.blendLinear(front, background_bgr[ys, xs], a, 1.0 - a)
    return out


def render_with_matte(
    image_bgr: np.ndarray,
    parse: BodyParse,
    strength: float = DEFAULT_STRENGTH,
    background: np.ndarray | None = None,
    settings: PortraitSettings = STILL,
    relight: Relight | str = Relight.OFF,
    light: Light | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """`render_portrait`, also returning the full-resolution alpha matte (float32 in [0, 1]). `light`: the
    photo's `measure_light`, when the caller has it already."""
    if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
        raise ValueError(f"want a BGR uint8 (H, W, 3) image, got {image_bgr.dtype} {image_bgr.shape}")
    h, w = image_bgr.shape[:2]
    matte = matte_for(image_bgr, parse, settings)
    if relight != Relight.OFF:
        image_bgr = lift(image_bgr, matte.alpha, light or measure_light(image_bgr, parse), relight)
    if background is not None:
        if background.ndim == 2:
            background = cv2.cvtColor(background, cv2.COLOR_GRAY2BGR)
        back = fit_background(background[:, :, :3], h, w)
        return composite(image_bgr, back, matte, edge_foreground(image_bgr, matte)), matte.alpha
    plane = focus_plane(parse, settings) if settings.depth else None
    back = lens_blur(image_bgr, matte.low, strength, plane, settings)
    return composite(image_bgr, back, matte), matte.alpha


def render_portrait(
    image_bgr: np.ndarray,
    parse: BodyParse,
    strength: float = DEFAULT_STRENGTH,
    background: np.ndarray | None = None,
    settings: PortraitSettings = LIVE,
    relight: Relight | str = Relight.OFF,
) -> np.ndarray:
    """Portrait of one frame: people sharp, background lens-blurred (or replaced by `background`).

    BGR uint8 in and out, same size. `parse` must be on the frame's grid
    (`parse(raw, keep_probability=True)` gives the soft matte its best start;
    without the probability the hard mask is refined instead). The default
    settings are the live ones; stills pass `STILL`. `relight` is "auto"
    (lift a backlit subject), "on" (lift whenever darker than wanted) or "off".
    """
    return render_with_matte(image_bgr, parse, strength, background, settings, relight)[0]


def preview_blur(frame_bgr: np.ndarray, person: np.ndarray, strength: float = DEFAULT_STRENGTH,
                 settings: PortraitSettings = PREVIEW) -> np.ndarray:
    """A live preview of portrait mode: the background blurred behind `person`, BGR uint8, the frame's size.

    `person` is the person probability or mask (float or bool, any raster
    size: the live loop's model-raster parse is fine), stretched over the
    frame. No guided filter at full size and no depth: a softened probability
    is the matte and one disc blur on a small grid the background, so a 960 px
    frame costs a few ms (`bench/portrait.py` measures it). Captures still
    render at still quality.
    """
    h, w = frame_bgr.shape[:2]
    p = person.astype(np.float32, copy=False)
    side = settings.matte_side
    s = min(1.0, side / max(h, w))
    mw, mh = max(1, round(w * s)), max(1, round(h * s))
    low = cv2.resize(p, (mw, mh), interpolation=cv2.INTER_LINEAR)
    matte = refine_matte(cv2.resize(frame_bgr, (mw, mh), interpolation=cv2.INTER_AREA), low, side,
                         settings.matte_radius, settings.matte_eps, settings.matte_snap, settings.matte_contrast, False)
    alpha = cv2.resize(matte.alpha, (w, h), interpolation=cv2.INTER_LINEAR)
    back = lens_blur(frame_bgr, matte.alpha, strength, None, settings)
    return cv2.blendLinear(frame_bgr, back, alpha, 1.0 - alpha)


def has_person(parse: BodyParse, min_fraction: float = MIN_PERSON_FRACTION) -> bool:
    return bool(np.count_nonzero(parse.mask) >= max(16, min_fraction * parse.mask.size))


# --- files ----------------------------------------------------------------------------------

def _upright_exif(exif: bytes | None) -> bytes | None:
    """The photo's EXIF with Orientation reset to 1: the pixels we write are already upright."""
    if not exif:
        return None
    try:
        data = Image.Exif()
        data.load(exif)
        data[0x0112] = 1
        return data.tobytes()
    except Exception:  # noqa: BLE001 - broken EXIF is dropped, not fatal
        return None


def encode_jpeg(image_bgr: np.ndarray, exif: bytes | None = None, quality: int = JPEG_QUALITY) -> bytes:
    buf = BytesIO()
    rgb = Image.fromarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
    kwargs = {"exif": exif} if exif else {}
    rgb.save(buf, "JPEG", quality=quality, subsampling=0 if quality >= 90 else 2, **kwargs)
    return buf.getvalue()


def read_background(path: Path) -> np.ndarray:
    """The `--background` picture; one that cannot be read stops the run before it starts."""
    try:
        return read_photo(path, max_pixels=PORTRAIT_MAX_PIXELS).image
    except ImageError as exc:
        raise InputError(f"--background {exc.message}") from None


@dataclass
class PortraitResult:
    photo: Photo
    output: Path | None  # None: no person found and not forced
    mask: Path | None
    people: int
    lifted: bool = False  # `--relight auto` found the subject backlit and lifted them (`guide.light`)


def portrait_photo(
    model,  # type: ignore[no-untyped-def]  # guide.model.bodypix.BodyPix
    path: Path,
    out_dir: Path | None = None,
    strength: float = DEFAULT_STRENGTH,
    background: np.ndarray | None = None,
    mask_dir: Path | None = None,
    force: bool = False,
    settings: PortraitSettings = STILL,
    relight: Relight | str = Relight.AUTO,
) -> PortraitResult:
    """Read `path`, find the people, write `<stem>_portrait.jpg` (and `<stem>_matte.png`) next to it or in `out_dir`.

    `relight`: "auto" lifts a backlit subject, "on" lifts any subject darker
    than wanted, "off" never (`guide.light`). Raises GuideError for an
    unreadable photo, a photo with no person (unless `force`: then the whole
    photo is blurred), an unknown `relight` and an unwritable destination.
    """
    from guide.analyze import parse_still

    if not 0 < strength <= MAX_STRENGTH:
        raise InputError(f"strength must be in (0, {MAX_STRENGTH:g}], got {strength:g}")
    if relight not in tuple(Relight):
        raise InputError(f"relight must be one of {', '.join(Relight)}, got {relight!r}")
    photo = read_photo(path, max_pixels=PORTRAIT_MAX_PIXELS)
    image = photo.image
    h, w = image.shape[:2]
    body, _ = parse_still(model, image, keep_probability=True)
    people = len(body.people)
    if not has_person(body):
        if not force:
            raise ImageError(f"{path}: no person found; nothing written (--force blurs the whole photo)")
        body.mask[:] = False
        body.probability = np.zeros((h, w), np.float32)
        body.subject = None
        people = 0
    settings = replace(settings, strength=strength)
    # Said to the user, since a lift can be wrong (a dark-skinned subject in dark clothes before a white wall).
    light = measure_light(image, body) if people and relight == Relight.AUTO else None
    lifted = light is not None and light.backlit
    out, alpha = render_with_matte(image, body, strength, background, settings, relight if people else Relight.OFF,
                                   light)
    if (photo.original_width, photo.original_height) != (w, h):  # decoded downscaled: give back the full size
        size = (photo.original_width, photo.original_height)
        out = cv2.resize(out, size, interpolation=cv2.INTER_CUBIC)
        alpha = cv2.resize(alpha, size, interpolation=cv2.INTER_LINEAR)
    folder = out_dir if out_dir is not None else path.parent
    target = free_path(folder, path.stem, "_portrait.jpg")
    write_bytes_atomic(target, encode_jpeg(out, _upright_exif(photo.exif)))
    mask_path = None
    if mask_dir is not None:
        mask_path = free_path(mask_dir, path.stem, "_matte.png")
        write_image_atomic(mask_path, np.clip(alpha * 255.0 + 0.5, 0, 255).astype(np.uint8))
    return PortraitResult(photo, target, mask_path, people, lifted)
