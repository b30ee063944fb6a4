"""Grids, windows and crops: pure geometry, no model weights."""

from __future__ import annotations

import numpy as np
import pytest

from guide.geometry import Grid, expand_box, iou, resample
from guide.model.bodypix import crop_window, letterbox_for, prepare_input
from guide.tracking import crop_shapes


def test_grid_round_trips_edges_and_points() -> None:
    g = Grid.over((-10.0, 20.0, 330.0, 275.0), 171, 129, (320, 240))
    x, y = np.array([0.0, 17.5, 319.0]), np.array([0.0, 100.0, 239.0])
    assert np.allclose(g.to_image(*g.to_grid(x, y)), (x, y))
    assert np.allclose(g.points_to_image(*g.points_to_grid(x, y)), (x, y))
    # Pixel centres and edges differ by half a pixel on each raster.
    assert np.allclose(g.points_to_grid(0.0, 0.0)[0], g.to_grid(0.5, 0.5)[0] - 0.5)


@pytest.mark.parametrize("size", [(300, 1000), (1000, 300), (480, 640)])
def test_inside_excludes_letterbox_padding(size: tuple[int, int]) -> None:
    h, w = size
    box = letterbox_for(h, w, 0.5, 16)
    u0, v0, u1, v1 = box.inside()
    assert (box.x0 < 0) == (u0 > 0) and (box.y0 < 0) == (v0 > 0)
    # The first and last inside pixels' centres fall on the image's first and last pixels.
    x0, y0 = box.points_to_image(u0, v0)
    x1, y1 = box.points_to_image(u1 - 1, v1 - 1)
    assert -1.1 < x0 < 1.1 and -1.1 < y0 < 1.1
    assert w - 2.1 < x1 < w + 0.1 and h - 2.1 < y1 < h + 0.1


def test_resample_of_a_sub_grid_is_a_slice_and_matches_the_warp() -> None:
    rng = np.random.default_rng(0)
    values = rng.random((60, 80)).astype(np.float32)
    src = Grid.over((0, 0, 160, 120), 80, 60, (160, 120))
    sub = src.sub(10, 5, 50, 45)
    assert np.array_equal(resample(values, src, sub), values[5:45, 10:50])
    # The same sub-raster, nudged by a hair so the slice path is not taken, gives the same values.
    nudged = Grid(sub.width, sub.height, sub.x0 + 1e-4, sub.y0, sub.scale_x, sub.scale_y, 160, 120)
    assert np.allclose(resample(values, src, nudged), values[5:45, 10:50], atol=1e-3)


def test_resample_to_the_image_then_back_keeps_labels() -> None:
    labels = np.zeros((31, 41), np.int8)
    labels[10:20, 5:30] = 3
    window = letterbox_for(120, 160, 0.25, 10)
    image = Grid.identity(160, 120)
    on_image = resample(labels[: window.height, : window.width], window, image, nearest=True)
    back = resample(on_image, image, window, nearest=True)
    inner = (slice(11, 19), slice(6, 29))
    assert np.all(back[inner] == 3)


@pytest.mark.parametrize("box", [(100, 50, 180, 400), (0, 0, 60, 470), (600, 300, 639, 479), (-20, -20, 700, 500)])
def test_crop_windows_hold_the_box_at_the_asked_scale(box: tuple[float, float, float, float]) -> None:
    size = (640, 480)
    window = crop_window(box, 16, size, scale=1.3)
    assert (window.width - 1) % 16 == 0 and (window.height - 1) % 16 == 0
    assert abs(window.scale_x - 1.3) < 0.02 and abs(window.scale_y - 1.3) < 0.02
    x0, y0, x1, y1 = window.box
    # The box is inside the window wherever it is inside the image.
    assert x0 <= max(0, box[0]) + 1 and x1 >= min(640, box[2]) - 1
    assert y0 <= max(0, box[1]) + 1 and y1 >= min(480, box[3]) - 1
    # The window only pads where the image ends.
    if x1 - x0 <= 640:
        assert 0 <= x0 and x1 <= 640
    image = np.zeros((480, 640, 3), np.uint8)
    assert prepare_input(image, window).shape == (window.height, window.width, 3)


def test_fixed_size_crops_fit_the_box() -> None:
    for shape in crop_shapes(16):
        window = crop_window((200, 100, 280, 400), 16, (640, 480), input_size=shape)
        assert (window.width, window.height) == shape
        x0, y0, x1, y1 = window.box
        assert x0 <= 200 and 280 <= x1 and y0 <= 100 and 400 <= y1


def test_crop_input_reads_the_right_pixels() -> None:
    """A crop's model input holds the image's pixels where its grid says they are."""
    image = np.zeros((480, 640, 3), np.uint8)
    image[200:260, 300:340] = (0, 0, 255)  # a red block (BGR)
    window = crop_window((280, 180, 360, 280), 16, (640, 480), scale=2.0)
    rgb = prepare_input(image, window)
    u0, v0 = window.to_grid(300, 200)
    u1, v1 = window.to_grid(340, 260)
    inner = rgb[int(v0) + 2 : int(v1) - 2, int(u0) + 2 : int(u1) - 2]
    assert inner.size and np.all(inner[:, :, 0] > 200)  # red, now first (RGB)
    assert rgb[: int(v0) - 2, :, 0].max() < 30


def test_box_helpers() -> None:
    assert iou((0, 0, 10, 10), (5, 0, 15, 10)) == pytest.approx(1 / 3)
    assert iou((0, 0, 1, 1), (2, 2, 3, 3)) == 0
    x0, y0, x1, y1 = expand_box((10, 10, 20, 110), top=0.1, bottom=0.2, sides=0.0, min_aspect=0.5)
    assert (y0, y1) == (0, 130) and x1 - x0 == pytest.approx(65)
