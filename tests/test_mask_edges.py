"""Stills: the person mask from the photo and its mirror image, snapped to the photo's edges."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from guide.analyze import parse_still, still_resolution
from guide.body import FACE_PARTS, FEET_PARTS
from guide.mask_edges import BAND, mirror_mean, mirrored_window, remask, snap_edges, snap_probability
from guide.metrics import mask_iou, pennfudan_samples
from guide.model.bodypix import crop_window, letterbox_for, prepare_input
from guide.parse import BodyParse, Person, parse

from conftest import PENNFUDAN

# Lone Penn-Fudan people whose instance masks the plain single pass drew loosely (mean IoU 0.821
# with the ground truth at 8409a67; 0.865 with the mirror mean and snapping).
LOOSE = ("PennPed00094", "FudanPed00013", "PennPed00077", "PennPed00032")


def _sample(stem: str):  # type: ignore[no-untyped-def]
    return next(s for s in pennfudan_samples(PENNFUDAN) if s.image_path.stem == stem)


def _best_iou(body: BodyParse, truth: np.ndarray) -> float:
    return max(mask_iou(body.person_mask(i), truth) for i in range(len(body.people)))


def test_the_mirrored_window_shows_the_flipped_photo_pixel_for_pixel() -> None:
    image = cv2.imread(str(_sample("PennPed00046").image_path))  # 534x348: the letterbox pads left and right
    h, w = image.shape[:2]
    flipped = np.ascontiguousarray(image[:, ::-1])
    windows = [
        letterbox_for(h, w, still_resolution(h, w), 16),
        crop_window((20.0, 30.0, 170.0, 340.0), 16, (w, h), scale=1.3),  # a crop padded past the left edge
    ]
    for window in windows:
        plain = prepare_input(image, window).astype(int)
        mirrored = prepare_input(flipped, mirrored_window(window)).astype(int)
        assert np.abs(plain - mirrored[:, ::-1]).max() <= 1  # resampling rounds, nothing shifts


def test_the_mirror_mean_lies_on_the_plain_pass_grid(model) -> None:  # type: ignore[no-untyped-def]
    image = cv2.imread(str(_sample("PennPed00094").image_path))
    h, w = image.shape[:2]
    raw = model.predict(image, still_resolution(h, w))
    flipped = model.predict(np.ascontiguousarray(image[:, ::-1]), window=mirrored_window(raw.window))
    both = mirror_mean(raw, flipped)
    assert both.segments.shape == raw.segments.shape and both.window == raw.window
    # The two passes agree about where the person is: mirrored back they overlap, shifted by a cell they do not.
    a, b = raw.segments > 0, flipped.segments[:, ::-1] > 0
    assert mask_iou(a, b) > 0.8 > mask_iou(a, np.roll(b, 1, axis=1))
    assert np.allclose(both.segments, 0.5 * (raw.segments + flipped.segments[:, ::-1]))


def test_lone_people_get_masks_closer_to_the_truth(model) -> None:  # type: ignore[no-untyped-def]
    ious = {}
    for stem in LOOSE:
        sample = _sample(stem)
        body, _ = parse_still(model, cv2.imread(str(sample.image_path)))
        ious[stem] = _best_iou(body, sample.instances == 1)
    assert np.mean(list(ious.values())) >= 0.85, {k: round(v, 3) for k, v in ious.items()}


@pytest.mark.parametrize("stem", ["PennPed00052", "FudanPed00021"])
def test_snapping_leaves_the_face_and_feet_as_the_model_drew_them(model, stem) -> None:  # type: ignore[no-untyped-def]
    """White shoes on pale pavement (PennPed00052, FudanPed00021): snapped to colour they vanished,
    and the feet rose to the ankles (7-9% of the person's height)."""
    image = cv2.imread(str(_sample(stem).image_path))
    h, w = image.shape[:2]
    res = still_resolution(h, w)
    raw = model.predict(image, res)
    body = parse(raw, keep_probability=True, find_missed=True)
    before_mask, before_parts = body.mask.copy(), body.parts.copy()
    snap_edges(body, image, raw.output_stride / raw.window.scale, 0.7)
    ends = np.isin(before_parts, FACE_PARTS + FEET_PARTS)
    assert ends.any() and np.array_equal(body.mask[ends], before_mask[ends])
    assert np.array_equal(body.parts[ends], before_parts[ends])
    assert not np.array_equal(body.mask, before_mask)  # elsewhere the edge moved
    assert ((body.instances >= 0) <= body.mask).all() and ((body.parts >= 0) == body.mask).all()


def test_snap_probability_changes_only_the_uncertain_band() -> None:
    image = cv2.imread(str(_sample("PennPed00094").image_path))
    h, w = image.shape[:2]
    yy, xx = np.mgrid[:h, :w]
    # A soft disc (a blurred edge, as the model's upsampled one) around the middle of the photo.
    p = (1 / (1 + np.exp((np.hypot(yy - h / 2, xx - w / 2) - 0.3 * h) / 4.0))).astype(np.float32)
    q = snap_probability(image, p, 5)
    band = (p > BAND[0]) & (p < BAND[1])
    assert np.array_equal(q[~band], p[~band]) and (q >= 0).all() and (q <= 1).all()
    assert np.abs(q - p)[band].max() > 0.1


def test_remask_gives_new_pixels_to_the_nearest_person() -> None:
    mask = np.zeros((40, 60), bool)
    mask[10:30, 5:20] = True
    mask[10:30, 35:50] = True
    instances = np.full(mask.shape, -1, np.int8)
    instances[10:30, 5:20], instances[10:30, 35:50] = 0, 1
    parts = np.where(mask, 12, -1).astype(np.int8)
    people = [Person(i, 0.9, np.zeros((17, 3)), (0.0, 0.0, 1.0, 1.0), 1) for i in range(2)]
    body = BodyParse(60, 40, mask, parts, instances, people)
    wider = mask.copy()
    wider[10:30, 20:24] = True  # grows the left person rightwards
    wider[10:30, 31:35] = True  # and the right one leftwards
    wider[10:12, 5:20] = False  # and the left one loses two rows
    remask(body, wider)
    assert (body.instances[10:30, 20:24] == 0).all() and (body.instances[10:30, 31:35] == 1).all()
    assert (body.instances[10:12, 5:20] == -1).all() and (body.parts[10:12, 5:20] == -1).all()
    assert body.people[0].bbox == (5.0, 10.0, 24.0, 30.0) and body.people[1].bbox == (31.0, 10.0, 50.0, 30.0)
    assert (body.people[0].mask_area, body.people[1].mask_area) == (18 * 15 + 20 * 4, 20 * 19)
