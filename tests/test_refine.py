"""Stills: small people are looked at again on a crop; crops map back to the image exactly."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from guide.analyze import analyze_photo, parse_still, still_resolution
from guide.geometry import Grid
from guide.images import read_photo
from guide.measure import landmarks
from guide.metrics import mask_iou, pennfudan_samples
from guide.model.bodypix import crop_window
from guide.parse import parse
from guide.regions import best_match, needs_refining, person_box
from helpers import lone_pedestrians, place_person

from conftest import PENNFUDAN, photos_in


def worst_error(body, placed) -> float:  # type: ignore[no-untyped-def]
    assert body.subject is not None
    marks = landmarks(body, body.subject)
    assert marks.head_top is not None and marks.feet is not None
    return max(abs(marks.head_top[1] - placed.head_top), abs(marks.feet[1] - placed.feet)) / placed.height


@pytest.mark.parametrize("share", [0.2, 0.45, 0.9])
def test_stills_measure_people_of_every_size(model, share: float) -> None:  # type: ignore[no-untyped-def]
    """People at 20-90% of a 2000x1500 photo: head top and feet within 1.5% of their height (median).

    Small ones only get there through the crop: the single pass is clearly worse at 20%.
    """
    people = lone_pedestrians()
    refined, single = [], []
    for person in people[:: len(people) // 8][:8]:
        placed = place_person(person, share, (2000, 1500))
        refined.append(worst_error(parse_still(model, placed.image)[0], placed))
        if share < 0.3:
            single.append(worst_error(parse_still(model, placed.image, still_resolution(1500, 2000))[0], placed))
    assert np.median(refined) <= 0.015, refined
    if single:
        assert np.median(refined) < 0.75 * np.median(single)


def test_crop_results_map_back_onto_whole_image_results(model) -> None:  # type: ignore[no-untyped-def]
    """A crop at the whole-image pass's own scale gives the same landmarks, on every large full-body subject."""
    checked = 0
    for path in photos_in("full_body"):
        image = read_photo(path).image
        h, w = image.shape[:2]
        raw = model.predict(image, still_resolution(h, w))
        whole = parse(raw)
        assert whole.subject is not None, path.name
        subject = whole.people[whole.subject]
        if subject.bbox[3] - subject.bbox[1] < 0.5 * h:
            continue  # large people only: small ones are what the crops are for
        # A crop of the whole-image pass's own input raster, starting on its stride grid (so the network
        # samples the same places), with room around the person: only the geometry differs.
        stride, full = model.output_stride, raw.window
        u0, v0, u1, v1 = full.rows_cols(crop_window(person_box(subject), stride, (w, h), scale=full.scale).box)
        u0, v0 = max(0, u0 // stride - 2) * stride, max(0, v0 // stride - 2) * stride
        u1, v1 = min(full.width, u1 + 2 * stride), min(full.height, v1 + 2 * stride)
        u1, v1 = u0 + (u1 - u0 - 1) // stride * stride + 1, v0 + (v1 - v0 - 1) // stride * stride + 1
        sub = full.sub(u0, v0, u1, v1)
        x0, y0 = round(sub.x0), round(sub.y0)
        window = Grid.over(
            (x0, y0, x0 + round(sub.width / full.scale_x), y0 + round(sub.height / full.scale_y)),
            sub.width,
            sub.height,
            (w, h),
        )
        crop = parse(model.predict(image, window=window))
        match = best_match(crop.people, subject)
        assert match is not None, path.name
        a, b = landmarks(whole, whole.subject), landmarks(crop, match)
        height = a.feet[1] - a.head_top[1]
        # Head top and feet (what body fill, headroom and footroom are made of) within 1% of the height. The
        # chin is one part border (lowest face pixel): the network moves it a few pixels with the context.
        for name, share in (("head_top", 0.01), ("feet", 0.01), ("chin", 0.03)):
            pa, pb = getattr(a, name), getattr(b, name)
            if pa is None:
                continue
            assert pb is not None and abs(pa[1] - pb[1]) <= share * height + 1, (path.name, name, pa, pb)
        # A subject the decoder missed in the whole image has a rough skeleton from the mask (the pitcher in
        # tfjs_posenet_baseball.jpg): no geometry to compare keypoints on.
        if not subject.from_mask:
            near = crop.people[match].keypoints[:, 2] > 0.5
            offsets = np.abs(crop.people[match].keypoints[near, :2] - subject.keypoints[near, :2])
            assert np.median(offsets) < 0.01 * height + 1, path.name
        checked += 1
    assert checked >= 5


def test_large_people_are_not_run_twice(model) -> None:  # type: ignore[no-untyped-def]
    placed = place_person(lone_pedestrians()[0], 0.8, (1000, 750))
    raw = model.predict(placed.image, still_resolution(750, 1000))
    assert needs_refining(parse(raw), raw.window.scale) == []


def test_resolution_forces_one_pass(model) -> None:  # type: ignore[no-untyped-def]
    """`--resolution` is one pass at that resolution, as before: same mask as parsing the raw output."""
    placed = place_person(lone_pedestrians()[2], 0.2, (2000, 1500))
    photo = read_photo(photos_in("full_body")[0])
    photo.image = placed.image
    forced = analyze_photo(model, photo, resolution=0.4)
    assert np.array_equal(forced.parse.mask, parse(model.predict(placed.image, 0.4)).mask)
    refined = analyze_photo(model, photo)
    assert not np.array_equal(refined.parse.mask, forced.parse.mask)


def test_small_people_beside_a_larger_subject_are_refined_too(model) -> None:  # type: ignore[no-untyped-def]
    """FudanPed00021: two walkers 66 and 75 px tall beside a subject of 200. Refined only within 60% of
    the subject's height, the smaller's head top was 4.5% of her height too low; refined too, it is
    right. The other's crop decodes her in two pieces: her whole-photo self stays (without the
    agreement check her instance kept a third of her, IoU 0.25)."""
    sample = next(s for s in pennfudan_samples(PENNFUDAN) if s.image_path.stem == "FudanPed00021")
    body, _ = parse_still(model, cv2.imread(str(sample.image_path)))
    for t in (2, 3):
        truth = sample.instances == t
        ious = [mask_iou(body.person_mask(i), truth) for i in range(len(body.people))]
        assert max(ious) >= 0.6, (t, max(ious))
    rows = np.flatnonzero((sample.instances == 3).any(axis=1))
    top, feet = float(rows[0]), float(rows[-1] + 1)
    ious = [mask_iou(body.person_mask(i), sample.instances == 3) for i in range(len(body.people))]
    found = landmarks(body, int(np.argmax(ious))).head_top
    assert found is not None and abs(found[1] - top) <= 0.03 * (feet - top), (found, top)
