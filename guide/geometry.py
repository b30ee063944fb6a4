"""Rasters laid over an image: the model's input, a crop around a person, a parse's arrays.

Every per-pixel array in guide (model input, person mask, part map, a crop's
results) covers some rectangle of the original image at some scale. A `Grid`
says which: it is the one place that knows how a raster's pixels map to image
pixels, so nothing else does letterbox or crop arithmetic of its own.

Conventions (as in `guide.measure`): *edge* coordinates put pixel i between
i and i + 1, so the image spans [0, width] x [0, height]; *centre* coordinates
put pixel i at i (keypoints use these). Coordinates are (x, y).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import cv2
import numpy as np


@dataclass(frozen=True)
class Grid:
    """A `width` x `height` raster over an image of `image_width` x `image_height`.

    Raster edge (u, v) lies at image edge (x0 + u / scale_x, y0 + v / scale_y).
    The raster may reach past the image (the model's letterbox padding, a crop
    at the border); what lies outside the image is padding.
    """

    width: int
    height: int
    x0: float
    y0: float
    scale_x: float
    scale_y: float
    image_width: int
    image_height: int

    @classmethod
    def identity(cls, image_width: int, image_height: int) -> Grid:
        """The image's own pixels."""
        return cls(image_width, image_height, 0.0, 0.0, 1.0, 1.0, image_width, image_height)

    @classmethod
    def over(cls, box: tuple[float, float, float, float], width: int, height: int, image_size: tuple[int, int]) -> Grid:
        """A `width` x `height` raster spanning `box` (x0, y0, x1, y1 image edges)."""
        x0, y0, x1, y1 = box
        return cls(width, height, float(x0), float(y0), width / (x1 - x0), height / (y1 - y0), *image_size)

    @property
    def scale(self) -> float:
        """Raster pixels per image pixel (the mean of the two axes; they differ by a rounding at most)."""
        return 0.5 * (self.scale_x + self.scale_y)

    @property
    def box(self) -> tuple[float, float, float, float]:
        """The image rectangle the raster spans (edges, padding included)."""
        return (self.x0, self.y0, self.x0 + self.width / self.scale_x, self.y0 + self.height / self.scale_y)

    def to_image(self, u: Any, v: Any) -> tuple[Any, Any]:
        """Raster edge coordinates -> image edge coordinates."""
        return self.x0 + np.asarray(u) / self.scale_x, self.y0 + np.asarray(v) / self.scale_y

    def to_grid(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Image edge coordinates -> raster edge coordinates."""
        return (np.asarray(x) - self.x0) * self.scale_x, (np.asarray(y) - self.y0) * self.scale_y

    def points_to_image(self, u: Any, v: Any) -> tuple[Any, Any]:
        """Raster pixel-centre coordinates -> image pixel-centre coordinates."""
        x, y = self.to_image(np.asarray(u) + 0.5, np.asarray(v) + 0.5)
        return x - 0.5, y - 0.5

    def points_to_grid(self, x: Any, y: Any) -> tuple[Any, Any]:
        """Image pixel-centre coordinates -> raster pixel-centre coordinates."""
        u, v = self.to_grid(np.asarray(x) + 0.5, np.asarray(y) + 0.5)
        return u - 0.5, v - 0.5

    def inside(self) -> tuple[int, int, int, int]:
        """Raster pixels (u0, v0, u1, v1, end-exclusive) whose centres lie on the image."""
        u0, v0 = self.to_grid(0.0, 0.0)
        u1, v1 = self.to_grid(float(self.image_width), float(self.image_height))
        return (
            max(0, math.ceil(float(u0) - 0.5)),
            max(0, math.ceil(float(v0) - 0.5)),
            min(self.width, math.ceil(float(u1) - 0.5)),
            min(self.height, math.ceil(float(v1) - 0.5)),
        )

    def sub(self, u0: int, v0: int, u1: int, v1: int) -> Grid:
        """The part of this raster from pixel (u0, v0) to (u1, v1), end-exclusive."""
        x0, y0 = self.to_image(u0, v0)
        size = (self.image_width, self.image_height)
        return Grid(u1 - u0, v1 - v0, float(x0), float(y0), self.scale_x, self.scale_y, *size)

    def rows_cols(self, box: tuple[float, float, float, float]) -> tuple[int, int, int, int]:
        """Raster pixel range (u0, v0, u1, v1) covering the image rectangle `box`, clipped to the raster."""
        u0, v0 = self.to_grid(box[0], box[1])
        u1, v1 = self.to_grid(box[2], box[3])
        return (
            max(0, int(math.floor(float(u0)))),
            max(0, int(math.floor(float(v0)))),
            min(self.width, int(math.ceil(float(u1)))),
            min(self.height, int(math.ceil(float(v1)))),
        )

    def same_pixels(self, other: Grid) -> tuple[int, int] | None:
        """(du, dv) if `other`'s pixels are this raster's pixels shifted by whole pixels, else None."""
        if not (
            np.isclose(self.scale_x, other.scale_x, rtol=1e-9, atol=0)
            and np.isclose(self.scale_y, other.scale_y, rtol=1e-9, atol=0)
        ):
            return None
        du, dv = self.to_grid(other.x0, other.y0)
        if abs(du - round(du)) > 1e-6 or abs(dv - round(dv)) > 1e-6:
            return None
        return int(round(du)), int(round(dv))


def resample(
    values: np.ndarray, src: Grid, dst: Grid, *, nearest: bool = False, fill: float | None = None
) -> np.ndarray:
    """`values` (on `src`) read on the `dst` raster.

    Bilinear, or nearest for labels. Outside `src` the border is repeated, or
    `fill` is used when given. When `dst` is `src` shifted by whole pixels at
    the same scale (a sub-rectangle) this is a plain copy of the slice.
    """
    shift = src.same_pixels(dst)
    if shift is not None:
        du, dv = shift
        if 0 <= du and 0 <= dv and du + dst.width <= src.width and dv + dst.height <= src.height:
            return values[dv : dv + dst.height, du : du + dst.width].copy()
    # dst pixel centre -> image -> src pixel centre, per axis: u_src = a * u_dst + b.
    ax, ay = src.scale_x / dst.scale_x, src.scale_y / dst.scale_y
    bx = (dst.x0 - src.x0) * src.scale_x + 0.5 * ax - 0.5
    by = (dst.y0 - src.y0) * src.scale_y + 0.5 * ay - 0.5
    matrix = np.array([[ax, 0.0, bx], [0.0, ay, by]], dtype=np.float64)
    flags = (cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR) | cv2.WARP_INVERSE_MAP
    if fill is None:
        return cv2.warpAffine(values, matrix, (dst.width, dst.height), flags=flags, borderMode=cv2.BORDER_REPLICATE)
    return cv2.warpAffine(
        values, matrix, (dst.width, dst.height), flags=flags, borderMode=cv2.BORDER_CONSTANT, borderValue=fill
    )


def expand_box(
    box: tuple[float, float, float, float], *, top: float, bottom: float, sides: float, min_aspect: float = 0.0
) -> tuple[float, float, float, float]:
    """`box` grown by fractions of its height above, below and on each side; at least `min_aspect` wide/high."""
    x0, y0, x1, y1 = box
    h = max(1.0, y1 - y0)
    x0, x1 = x0 - sides * h, x1 + sides * h
    y0, y1 = y0 - top * h, y1 + bottom * h
    want = min_aspect * (y1 - y0)
    if x1 - x0 < want:
        cx = 0.5 * (x0 + x1)
        x0, x1 = cx - want / 2, cx + want / 2
    return x0, y0, x1, y1


def iou(a: tuple[float, float, float, float], b: tuple[float, float, float, float]) -> float:
    """Intersection over union of two (x0, y0, x1, y1) boxes."""
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    if w <= 0 or h <= 0:
        return 0.0
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0
