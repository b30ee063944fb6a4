"""Reading photos the way a user's files really come: any mode, rotated, huge, broken.

Everything returns OpenCV-style BGR `uint8` (H, W, 3) arrays, upright as the
photo is displayed (EXIF orientation applied). Images larger than `max_pixels`
are decoded downscaled (JPEG draft mode where possible) so memory stays bounded;
the caller gets the factor back to report coordinates in original pixels.
"""

from __future__ import annotations

import os
import re
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError
from pillow_heif import register_heif_opener

from guide.errors import GuideError, ImageError, OutputError

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff", ".heic", ".heif"}
DEFAULT_MAX_PIXELS = 16_000_000  # decode larger photos downscaled
Image.MAX_IMAGE_PIXELS = 1_000_000_000  # refuse only absurd headers (decompression bombs)

register_heif_opener()  # phone photos: HEIC/HEIF open like any other format


@dataclass
class Photo:
    """A decoded photo: `image` is what analysis runs on, `scale` maps it to the original.

    Original-pixel coordinate = working coordinate * `scale` (1.0 unless the
    photo was larger than the decode limit).
    """

    path: Path
    image: np.ndarray  # BGR uint8, upright
    original_width: int
    original_height: int
    scale: float
    exif: bytes | None = None


def _to_uint8_rgb(img: Image.Image) -> np.ndarray:
    """Any Pillow mode as RGB uint8: 16-bit and float images are scaled, alpha is dropped."""
    if img.mode in ("I;16", "I;16B", "I;16L", "I;16N", "I", "F"):
        arr = np.asarray(img).astype(np.float64)
        if img.mode.startswith("I;16"):
            arr = arr / 257.0
        else:
            lo, hi = float(np.min(arr)), float(np.max(arr))
            arr = (arr - lo) * (255.0 / (hi - lo)) if hi > lo else np.zeros_like(arr)
        gray = np.clip(np.rint(arr), 0, 255).astype(np.uint8)
        return np.repeat(gray[:, :, None], 3, axis=2)
    if img.mode == "RGB":
        return np.asarray(img)
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        # Transparent pixels show white, as a viewer shows them on a light page.
        rgba = img.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        return np.asarray(Image.alpha_composite(white, rgba).convert("RGB"))
    return np.asarray(img.convert("RGB"))


def read_photo(path: str | Path, max_pixels: int = DEFAULT_MAX_PIXELS) -> Photo:
    """Decode a photo file, or raise ImageError with a one-line reason."""
    path = Path(path)
    if not path.exists():
        raise ImageError(f"{path}: no such file")
    if path.is_dir():
        raise ImageError(f"{path}: is a folder with no photos in it")
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ImageError(f"{path}: cannot read ({exc.strerror})") from None
    if size == 0:
        raise ImageError(f"{path}: empty file (0 bytes)")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img: Image.Image = Image.open(path)
            original_w, original_h = img.size
            exif = img.info.get("exif")
            if img.format == "JPEG" and original_w * original_h > max_pixels:
                factor = (original_w * original_h / max_pixels) ** 0.5
                img.draft("RGB", (int(original_w / factor), int(original_h / factor)))
            img.load()
            img = ImageOps.exif_transpose(img) or img
    except FileNotFoundError:
        raise ImageError(f"{path}: vanished while being read") from None
    except UnidentifiedImageError:
        raise ImageError(f"{path}: not an image file, or a format this build cannot read") from None
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ImageError(f"{path}: corrupt or truncated image: {reason}") from None  # PIL's reason has brackets
    if img.width < 1 or img.height < 1:
        raise ImageError(f"{path}: image has no pixels")
    rgb = _to_uint8_rgb(img)
    # After exif_transpose a 90-degree rotation swaps the original size.
    if (img.width > img.height) != (original_w > original_h) and original_w != original_h:
        original_w, original_h = original_h, original_w
    h, w = rgb.shape[:2]
    if h * w > max_pixels:
        factor = (h * w / max_pixels) ** 0.5
        rgb = cv2.resize(rgb, (max(1, round(w / factor)), max(1, round(h / factor))), interpolation=cv2.INTER_AREA)
        h, w = rgb.shape[:2]
    bgr = cv2.cvtColor(np.ascontiguousarray(rgb), cv2.COLOR_RGB2BGR)
    return Photo(path, bgr, original_w, original_h, original_w / w, exif)


def list_images(paths: list[Path], recursive: bool = True) -> list[Path]:
    """Expand folders into the image files inside them (sorted); files pass through.

    A folder without images stays in the list, so reading it reports the problem.
    """
    out: list[Path] = []
    for path in paths:
        if path.is_dir():
            pattern = "**/*" if recursive else "*"
            found = sorted(p for p in path.glob(pattern) if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            out.extend(found or [path])
        else:
            out.append(path)
    return out


# Names guide gives its outputs: `<stem>_portrait.jpg`, `<stem>_matte.png`, `<stem>_annotated.jpg`,
# and their `-2`, `-3`, ... variants. (Contact sheets are left out: calibration rejects them anyway.)
_OWN_OUTPUT = re.compile(r"_(portrait|matte|annotated)(?:-\d+)?$")


def output_kind(path: Path) -> str | None:
    """"portrait", "matte" or "annotated" when `path` is named like an output of guide, else None.

    A later run over the same folder must not take its own results for photos:
    portrait mode would blur a blurred copy, calibration would count a photo twice.
    """
    match = _OWN_OUTPUT.search(path.stem)
    return match.group(1) if match else None


def describe_outputs(paths: list[Path]) -> str:
    """"3 earlier guide outputs (2 *_portrait*, 1 *_matte*)": what was left alone, in a user's words."""
    counts: dict[str, int] = {}
    for path in paths:
        kind = output_kind(path) or "other"
        counts[kind] = counts.get(kind, 0) + 1
    kinds = ", ".join(f"{n} *_{kind}*" for kind, n in counts.items())
    return f"{len(paths)} earlier guide output{'s' if len(paths) != 1 else ''} ({kinds})"


def pick_photos(paths: list[Path]) -> tuple[list[Path], list[Path]]:
    """(photos to work on, earlier outputs left alone) from the files and folders a user named.

    Inside a folder, files named like guide's own outputs (`*_portrait.jpg`,
    `*_matte.png`, `*_annotated.jpg`, ...) are results of an earlier run, not
    photos; a file named on the command line is always taken.
    """
    named = set(paths)
    photos: list[Path] = []
    skipped: list[Path] = []
    for path in list_images(paths):
        (skipped if path not in named and output_kind(path) else photos).append(path)
    return photos, skipped


def check_output_folder(folder: Path) -> None:
    """Create `folder` if needed; GuideError if it cannot hold new files."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder} exists and is not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder}: cannot create folder ({exc.strerror or exc})") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{folder}: folder is not writable")


def write_image_atomic(path: Path, image: np.ndarray, params: list[int] | None = None) -> None:
    """Encode with OpenCV and move into place, so a reader never sees half a file."""
    try:
        ok, data = cv2.imencode(path.suffix or ".png", image, params or [])
    except cv2.error:
        ok = False
    if not ok:
        raise GuideError(f"{path}: cannot encode image as {path.suffix}")
    write_bytes_atomic(path, data.tobytes())


def write_bytes_atomic(path: Path, data: bytes) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
        try:
            umask = os.umask(0)
            os.umask(umask)
            os.fchmod(fd, 0o666 & ~umask)  # mkstemp makes 0600; outputs are ordinary files
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as exc:
        raise GuideError(f"{path}: cannot write ({exc.strerror or exc})") from None


def free_path(folder: Path, stem: str, suffix: str) -> Path:
    """`folder/<stem><suffix>`, or `<stem><suffix minus .ext>-2.ext`, `-3`, ...: never an existing file."""
    target = folder / f"{stem}{suffix}"
    base, dot, ext = suffix.rpartition(".")  # not os.path.splitext: it reads ".png" as a name with no extension
    base, ext = (base, dot + ext) if dot else (suffix, "")
    n = 2
    while target.exists() or target.is_symlink():
        target = folder / f"{stem}{base}-{n}{ext}"
        n += 1
    return target
