"""BodyPix on real photos: masks against ground truth, people, keypoints, landmarks."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from guide.analyze import analyze_photo, parse_still, still_resolution
from guide.images import Photo, read_photo
from guide.metrics import mask_iou, pennfudan_samples
from guide.instances import give_legs_to_front, merge_same_head
from guide.parse import parse
from guide.poses import Pose

from conftest import PENNFUDAN, PEOPLE, photos_in

# Measured on this machine (bench/model.py has the full table): mean IoU over the
# 170 Penn-Fudan images with the default model at still resolution and threshold
# 0.7 is 0.809; the floor leaves room for numeric noise, not for a regression.
PENNFUDAN_MEAN_IOU_FLOOR = 0.78


def _analyze(model, path):  # type: ignore[no-untyped-def]
    return analyze_photo(model, read_photo(path))


def test_pennfudan_person_mask_iou(model) -> None:  # type: ignore[no-untyped-def]
    ious = []
    for sample in pennfudan_samples(PENNFUDAN):
        image = cv2.imread(str(sample.image_path))
        raw = model.predict(image, still_resolution(*image.shape[:2]))
        ious.append(mask_iou(parse(raw).mask, sample.person_mask))
    assert len(ious) == 170
    assert np.mean(ious) >= PENNFUDAN_MEAN_IOU_FLOOR, f"mean IoU {np.mean(ious):.3f}"
    assert np.percentile(ious, 10) > 0.5  # no systematic collapse on a tail of images


@pytest.mark.parametrize("path", photos_in("full_body"), ids=lambda p: p.name)
def test_full_body_photo_has_an_uncut_subject(model, path) -> None:  # type: ignore[no-untyped-def]
    result = _analyze(model, path)
    assert result.parse.subject is not None
    marks = result.landmarks[result.parse.subject]
    assert marks.head_top and marks.chin and marks.feet
    assert marks.head_top[1] < marks.chin[1] < marks.feet[1]
    assert marks.cut == [], marks.cut
    # The head is a small part of a standing body, the feet far below the chin.
    body = marks.feet[1] - marks.head_top[1]
    assert 0.05 < (marks.chin[1] - marks.head_top[1]) / body < 0.35


@pytest.mark.parametrize("category,cut", [("cropped_feet", "feet"), ("cropped_knees", "feet"), ("cropped_waist", "feet")])
def test_cropped_photos_report_the_cut(model, category, cut) -> None:  # type: ignore[no-untyped-def]
    for path in photos_in(category):
        result = _analyze(model, path)
        assert result.parse.subject is not None
        assert cut in result.landmarks[result.parse.subject].cut, path.name


def test_cut_feet_lie_where_the_legs_leave_the_frame(model) -> None:  # type: ignore[no-untyped-def]
    """Everyone whose feet the frame cuts has them at the bottom edge, never higher up: the skiing child's red
    glove is labelled a foot, and her "feet" were at her chest (y 254 of 513) while her shins ran off the frame."""
    result = _analyze(model, PEOPLE / "tfjs_posenet_multi_skiing.jpg")
    cut = [m for m in result.landmarks if "feet" in m.cut]
    assert len(cut) >= 2  # the adult and the child
    assert all(m.feet is not None and m.feet[1] == result.parse.height for m in cut)


def test_no_person_photo(model) -> None:  # type: ignore[no-untyped-def]
    """The `no_person` street scene holds one small pedestrian by a van (x~230, y~140-210
    in its 850x425 frame: the model is right to see him); nobody of portrait size.
    Its right half, without him, must give nobody at all."""
    (path,) = photos_in("no_person")
    result = _analyze(model, path)
    for person in result.parse.people:
        assert (person.bbox[3] - person.bbox[1]) < 0.25 * result.parse.height
        assert person.bbox[2] < 300
    right = read_photo(path)
    right.image = np.ascontiguousarray(right.image[:, 425:])
    assert analyze_photo(model, right).parse.people == []


def test_blank_and_animal_frames_have_no_subject_of_size(model) -> None:  # type: ignore[no-untyped-def]
    blank = Photo(PEOPLE / "blank", np.full((480, 640, 3), 128, np.uint8), 640, 480, 1.0)
    assert analyze_photo(model, blank).parse.people == []


@pytest.mark.parametrize("path", photos_in("multi_person"), ids=lambda p: p.name)
def test_multi_person_photos_give_several_people(model, path) -> None:  # type: ignore[no-untyped-def]
    result = _analyze(model, path)
    assert len(result.parse.people) >= 2
    # Instance masks are disjoint and lie inside the person mask.
    inst = result.parse.instances
    assert np.all(result.parse.mask[inst >= 0])
    areas = [p.mask_area for p in result.parse.people]
    assert areas == [int(np.count_nonzero(inst == i)) for i in range(len(areas))]


def test_pascal_group_separates_the_riders(model) -> None:  # type: ignore[no-untyped-def]
    result = _analyze(model, PEOPLE / "tfjs_pascal.jpg")
    assert len(result.parse.people) >= 4
    centres = sorted((p.bbox[0] + p.bbox[2]) / 2 for p in result.parse.people)
    assert min(np.diff(centres)) > 30  # distinct people side by side, not one split in two


def test_keypoints_fall_on_their_own_person(model) -> None:  # type: ignore[no-untyped-def]
    checked = 0
    for path in photos_in("full_body") + photos_in("multi_person"):
        result = _analyze(model, path)
        for person in result.parse.people:
            own = result.parse.person_mask(person.index).astype(np.uint8)
            height = person.bbox[3] - person.bbox[1]
            r = max(3, int(0.06 * height))
            near = cv2.dilate(own, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * r + 1, 2 * r + 1))) > 0
            confident = person.keypoints[person.keypoints[:, 2] >= 0.6]
            if len(confident) < 5:
                continue
            xs = np.clip(confident[:, 0].round().astype(int), 0, result.parse.width - 1)
            ys = np.clip(confident[:, 1].round().astype(int), 0, result.parse.height - 1)
            assert np.mean(near[ys, xs]) >= 0.8, (path.name, person.index)
            checked += 1
    assert checked >= 15


def test_quantized_and_float_variants_agree(model) -> None:  # type: ignore[no-untyped-def]
    from guide.model.bodypix import load_model

    other = load_model("mobilenet-050-stride16-float")
    for name in ("tfjs_pose.jpg", "mmfashion_01_4_full.jpg"):
        photo = read_photo(PEOPLE / name)
        a, b = analyze_photo(model, photo), analyze_photo(other, photo)
        assert mask_iou(a.parse.mask, b.parse.mask) > 0.85
        ta, tb = a.landmarks[a.parse.subject], b.landmarks[b.parse.subject]
        height = ta.feet[1] - ta.head_top[1]
        assert abs(ta.head_top[1] - tb.head_top[1]) < 0.05 * height
        assert abs(ta.feet[1] - tb.feet[1]) < 0.05 * height


def _pose(points: dict[int, tuple[float, float]], score: float = 0.5) -> Pose:
    kp = np.zeros((17, 3), np.float32)
    for k, (x, y) in points.items():
        kp[k] = (x, y, 0.9)
    return Pose(kp, score)


def test_two_skeletons_on_one_head_and_shoulders_are_one_person() -> None:
    head = {1: (48, 10), 2: (52, 10), 3: (44, 12), 4: (56, 12)}
    upper = _pose({**head, 5: (40, 30), 7: (38, 50), 9: (36, 70)}, 0.6)  # head, shoulder, arm
    lower = _pose({**head, 5: (41, 31), 6: (60, 30), 11: (44, 80), 15: (45, 150)}, 0.4)  # head, body, legs
    (one,) = merge_same_head([upper, lower])
    assert one.score == 0.6
    assert (one.keypoints[[1, 5, 6, 7, 9, 11, 15], 2] > 0.3).all()  # both halves' keypoints
    # One ear peak, two people: the decoder grew both skeletons through it, their shoulders part.
    beside = _pose({**head, 5: (70, 32), 6: (95, 34), 11: (75, 85), 15: (80, 150)}, 0.4)
    assert len(merge_same_head([upper, beside])) == 2


def test_people_sharing_a_face_keypoint_keep_their_own_masks(model) -> None:  # type: ignore[no-untyped-def]
    """PennPed00071: two walkers' skeletons pass through the same ear peaks; joined as one person
    (on the face alone) the farther walker's instance vanished (IoU 0.60 -> 0)."""
    sample = next(s for s in pennfudan_samples(PENNFUDAN) if s.image_path.stem == "PennPed00071")
    body, _ = parse_still(model, cv2.imread(str(sample.image_path)))
    for t in range(1, int(sample.instances.max()) + 1):
        truth = sample.instances == t
        best = max(mask_iou(body.person_mask(i), truth) for i in range(len(body.people)))
        assert best >= 0.6, f"person {t}: best instance IoU {best:.2f}"


def test_legs_on_the_front_persons_bones_are_theirs() -> None:
    """A walker (torso 40 px) and a passer-by behind (torso 24 px) whose skeleton ends on the walker's foot."""
    walker = _pose({5: (40, 20), 6: (60, 20), 11: (42, 60), 12: (58, 60), 14: (60, 100), 16: (62, 140)}, 0.7)
    passer = _pose({5: (75, 70), 6: (90, 70), 11: (76, 94), 12: (88, 94), 14: (70, 120), 16: (64, 140)}, 0.6)
    labels = np.full((170, 120), -1, np.int8)
    labels[10:130, 35:66] = 0  # the walker, down to their shin
    labels[60:150, 66:95] = 1  # the passer-by ...
    labels[130:150, 57:66] = 1  # ... and the walker's foot, which their long offsets gave away
    parts = np.full(labels.shape, 12, np.int8)  # torso
    parts[100:130] = 20  # lower legs
    parts[130:150] = 23  # feet
    out = give_legs_to_front(labels, parts, [walker, passer])
    assert (out[130:150, 57:66] == 0).all()  # the walker's foot, on their own shin's line, is theirs again
    assert (out[130:150, 80:95] == 1).all()  # the passer-by's own feet, off the walker's bones, stay
    # A smaller person whose feet are lower in the picture (a child in front of an adult) keeps their legs.
    child = _pose({5: (75, 70), 6: (90, 70), 11: (76, 94), 12: (88, 94), 14: (70, 130), 16: (64, 160)}, 0.6)
    assert (give_legs_to_front(labels, parts, [walker, child]) == labels).all()
    # The same skeleton with few pixels of its own (grown across two people) is in front of nobody.
    labels[20:130, 35:66] = 1
    assert (give_legs_to_front(labels, parts, [walker, passer]) == labels).all()
