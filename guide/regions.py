"""Subject-centred inference: look again, closer, at the people who matter.

BodyPix measures a person well when they are a few hundred pixels tall in its
input; a person at 30% of a webcam frame or 20% of a phone photo is far less.
The pattern of pose trackers fixes that: a whole-image pass finds people, then
the model runs again on a crop around a person, scaled so they are
`PERSON_HEIGHT` pixels tall, and the crop's results are mapped back into the
image (the crop's `Grid` does the mapping). `refine` does this for stills;
`guide.tracking` does it frame after frame for live.
"""

from __future__ import annotations

from dataclasses import replace

import cv2
import numpy as np

from guide.body import KEYPOINT_ID
from guide.geometry import Grid, expand_box, iou
from guide.measure import torso_axis
from guide.model.bodypix import BodyPix, crop_window
from guide.parse import DEFAULT_THRESHOLD, BodyParse, Person, parse, pick_subject

# Person height in model-input pixels for the refined pass. Chosen with
# bench/sizes.py: head-top and feet errors stop improving above ~250 px, and
# the cost grows with its square.
PERSON_HEIGHT = 288
# Room around the person's box in the crop, as fractions of their height: a
# raised arm, a step, or the motion between two live frames stays inside.
MARGIN_TOP, MARGIN_BOTTOM, MARGIN_SIDES = 0.15, 0.12, 0.15
# Stills: people at least this tall relative to the subject are refined too (at most MAX_REFINED in all,
# the subject first, then by mask area). Everyone small: bench/instances.py, Penn-Fudan (people 20-330 px
# tall), 0.6 and 4 / everyone and 8: head-top p90 3.4% / 3.3%, feet p90 3.7% / 3.6% (people under 100 px:
# their head tops 2-7 px too low on the whole-photo pass), mean IoU 0.807 both.
COMPANION_HEIGHT = 0.0
MAX_REFINED = 8
# A refined person replaces their whole-photo self only where the two masks agree this much (IoU): a
# small person's crop can decode them in pieces, two skeletons on one walker, the one matched holding
# half of them (FudanPed00021, FudanPed00046: IoU against the truth 0.74 -> 0.26; with everyone refined
# and no such check, Penn-Fudan mean IoU 0.807 -> 0.803).
PASTE_MIN_IOU = 0.4
MIN_KEYPOINT_SCORE = 0.3


def person_box(person: Person) -> tuple[float, float, float, float]:
    """The person's mask box, grown to hold their confident keypoints (a hand the mask missed)."""
    x0, y0, x1, y1 = person.bbox
    kp = person.keypoints[person.keypoints[:, 2] >= MIN_KEYPOINT_SCORE]
    if len(kp):
        x0, y0 = min(x0, float(kp[:, 0].min())), min(y0, float(kp[:, 1].min()))
        x1, y1 = max(x1, float(kp[:, 0].max()) + 1), max(y1, float(kp[:, 1].max()) + 1)
    return x0, y0, x1, y1


def crop_box(box: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The image rectangle a crop around `box` shows: the box with its margins, at least half as wide as tall."""
    return expand_box(box, top=MARGIN_TOP, bottom=MARGIN_BOTTOM, sides=MARGIN_SIDES, min_aspect=0.5)


def refined_window(
    box: tuple[float, float, float, float],
    image_size: tuple[int, int],
    stride: int,
    *,
    person_height: float = PERSON_HEIGHT,
    input_size: tuple[int, int] | None = None,
) -> Grid:
    """The model window for a person in `box`: margins around it, the person `person_height` px tall.

    With `input_size` (width, height) the window has that size and the box is
    fitted in it (live: one TFLite interpreter for every frame).
    """
    shown = crop_box(box)
    if input_size is not None:
        return crop_window(shown, stride, image_size, input_size=input_size)
    scale = person_height / max(1.0, box[3] - box[1])
    return crop_window(shown, stride, image_size, scale=scale)


def torso_length(person: Person) -> float | None:
    """Mid-shoulder to mid-hip distance (image px), or None: a size that mask merges and leg occlusion leave alone."""
    axis = torso_axis(person.keypoints)
    return None if axis is None else float(np.hypot(*(axis[0] - axis[1])))


def overlap(a: Person, b: Person) -> float:
    """Where two detections agree, in [0, 1]: box overlap and keypoint agreement, averaged.

    Keypoint agreement is COCO's object keypoint similarity with a flat
    tolerance of 10% of the person's height, over keypoints both see.
    """
    box_overlap = iou(a.bbox, b.bbox)
    both = (a.keypoints[:, 2] >= MIN_KEYPOINT_SCORE) & (b.keypoints[:, 2] >= MIN_KEYPOINT_SCORE)
    if np.count_nonzero(both) < 3:
        return box_overlap
    height = max(8.0, a.bbox[3] - a.bbox[1], b.bbox[3] - b.bbox[1])
    d2 = ((a.keypoints[both, :2] - b.keypoints[both, :2]) ** 2).sum(axis=1)
    oks = float(np.mean(np.exp(-d2 / (2 * (0.1 * height) ** 2))))
    return 0.5 * (box_overlap + oks)


def same_size(a: Person, b: Person) -> float:
    """1 when two detections are of one size (within 1.25x), falling to 0 at 1.5x.

    Either cue may say so: box heights (which a mask merged with a neighbour
    or hidden legs change) or torso lengths (which a skeleton mixed between two
    people changes). A person does not change size by half between two looks;
    a passer-by closer to the camera differs in both.
    """
    by_box = size_agreement(a.bbox[3] - a.bbox[1], b.bbox[3] - b.bbox[1])
    ta, tb = torso_length(a), torso_length(b)
    return max(by_box, size_agreement(ta, tb)) if ta and tb else by_box


def size_agreement(a: float, b: float) -> float:
    """1 when two lengths agree within 1.25x, falling to 0 at 1.5x."""
    ratio = max(a, b, 1.0) / max(1.0, min(a, b))
    return float(np.clip((1.5 - ratio) / 0.25, 0.0, 1.0))


def similarity(a: Person, b: Person) -> float:
    """How likely two detections are the same person, in [0, 1]: `overlap` times `same_size`."""
    return overlap(a, b) * same_size(a, b)


def appearance(image_bgr: np.ndarray, person: Person) -> np.ndarray | None:
    """A colour signature of the person's torso: a normalised hue-saturation histogram, or None if unseen.

    Cheap (the torso box, sampled at 24x24), and telling two people apart by
    their clothes where their boxes and skeletons overlap.
    """
    kp = person.keypoints
    ids = [KEYPOINT_ID[n] for n in ("left_shoulder", "right_shoulder", "left_hip", "right_hip")]
    seen = kp[ids][kp[ids, 2] >= MIN_KEYPOINT_SCORE]
    if len(seen) < 3:
        return None
    x0, y0 = seen[:, :2].min(axis=0)
    x1, y1 = seen[:, :2].max(axis=0)
    w, h = x1 - x0, y1 - y0
    x0, x1, y0, y1 = x0 + 0.15 * w, x1 - 0.15 * w, y0 + 0.1 * h, y1 - 0.1 * h
    ih, iw = image_bgr.shape[:2]
    c0, r0, c1, r1 = max(0, int(x0)), max(0, int(y0)), min(iw, int(np.ceil(x1))), min(ih, int(np.ceil(y1)))
    if c1 - c0 < 2 or r1 - r0 < 2:
        return None
    patch = cv2.resize(image_bgr[r0:r1, c0:c1], (24, 24), interpolation=cv2.INTER_AREA)
    hist = cv2.calcHist([cv2.cvtColor(patch, cv2.COLOR_BGR2HSV)], [0, 1], None, [12, 4], [0, 180, 0, 256])
    return (hist / max(1.0, float(hist.sum()))).astype(np.float32)


def same_look(a: np.ndarray | None, b: np.ndarray | None) -> float:
    """Histogram overlap of two `appearance` signatures in [0, 1] (0.5 when either is unknown)."""
    if a is None or b is None:
        return 0.5
    return float(np.sqrt(a * b).sum())  # Bhattacharyya coefficient


def best_match(
    people: list[Person], wanted: Person, min_similarity: float = 0.3, scores: list[float] | None = None
) -> int | None:
    """Index of the person in `people` that is `wanted` seen again, or None.

    `scores` replaces the geometric `similarity` when the caller has a better one.
    """
    scores = scores if scores is not None else [similarity(p, wanted) for p in people]
    if not scores or max(scores) < min_similarity:
        return None
    return int(np.argmax(scores))


def needs_refining(body: BodyParse, seen_scale: float, person_height: float = PERSON_HEIGHT) -> list[int]:
    """The people worth a closer look: the subject and anyone at least COMPANION_HEIGHT of their height
    (0: everyone), when small in the model's input; at most MAX_REFINED, the subject first.

    `seen_scale` is the whole-image pass's model pixels per image pixel.
    """
    if body.subject is None:
        return []
    subject_height = body.people[body.subject].bbox[3] - body.people[body.subject].bbox[1]
    order = sorted(range(len(body.people)), key=lambda i: (i != body.subject, -body.people[i].mask_area))
    chosen = []
    for i in order:
        height = body.people[i].bbox[3] - body.people[i].bbox[1]
        if i != body.subject and height < COMPANION_HEIGHT * subject_height:
            continue
        if height * seen_scale < 0.9 * person_height:
            chosen.append(i)
        if len(chosen) == MAX_REFINED:
            break
    return chosen


def _paste(body: BodyParse, index: int, crop: BodyParse, match: int, region: tuple[int, int, int, int]) -> None:
    """Person `index` of `body` becomes person `match` of `crop` (same pixels, `region` of body's raster)."""
    u0, v0, u1, v1 = region
    inst = body.instances[v0:v1, u0:u1]
    mask = body.mask[v0:v1, u0:u1]
    parts = body.parts[v0:v1, u0:u1]
    new = crop.instances == match
    old = inst == index
    # The crop can tell this person from those it decoded too; pixels of anyone it did not
    # (cut by its edge, or missed) stay theirs (bench/instances.py: small people's crops took
    # the pixels of a large neighbour they overlap).
    unseen = [k for k, person in enumerate(body.people)
              if k != index and best_match(crop.people, person) is None]
    if unseen:
        new &= ~np.isin(inst, unseen)
    others_before = np.bincount(inst[new & (inst >= 0) & ~old].astype(np.intp), minlength=len(body.people))
    lost = old & ~new
    inst[lost] = -1
    mask[lost] = crop.mask[lost]
    parts[lost] = crop.parts[lost]
    inst[new] = index
    mask[new] = True
    parts[new] = crop.parts[new]
    near = cv2.dilate((old | new).astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    if body.probability is not None and crop.probability is not None:
        body.probability[v0:v1, u0:u1][near] = crop.probability[near]
    if body.edge is not None and crop.edge is not None:
        body.edge[v0:v1, u0:u1][near] = crop.edge[near]
    got = crop.people[match]
    body.people[index] = replace(got, index=index)
    for k in map(int, np.flatnonzero(others_before)):  # people whose pixels the refined person took
        person = body.people[k]
        taken = int(round(others_before[k] / body.grid.scale**2))
        body.people[k] = replace(person, mask_area=max(0, person.mask_area - taken))


def _agreement(body: BodyParse, index: int, crop: BodyParse, match: int, region: tuple[int, int, int, int]) -> float:
    """IoU of person `index`'s pixels in `region` of `body`'s raster and person `match`'s in `crop` (on that region)."""
    u0, v0, u1, v1 = region
    old = body.instances[v0:v1, u0:u1] == index
    new = crop.instances == match
    return float(np.count_nonzero(old & new)) / max(1, int(np.count_nonzero(old | new)))


def refine(
    model: BodyPix,
    image_bgr: np.ndarray,
    body: BodyParse,
    seen_scale: float,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    person_height: float = PERSON_HEIGHT,
) -> BodyParse:
    """`body` with its subject (and the others `needs_refining` names) re-measured on crops where they were small.

    Each such person is run again on a crop scaled so they are
    `person_height` model pixels tall, parsed straight onto `body`'s raster
    inside the crop, and their pixels, parts, keypoints and box replaced,
    where the crop's mask of them agrees with the whole photo's
    (`PASTE_MIN_IOU`). Changes `body` in place and returns it.
    """
    size = (body.width, body.height)
    for index in needs_refining(body, seen_scale, person_height):
        wanted = body.people[index]
        window = refined_window(person_box(wanted), size, model.output_stride, person_height=person_height)
        region = body.grid.rows_cols(window.box)
        if region[2] <= region[0] or region[3] <= region[1]:
            continue
        raw = model.predict(image_bgr, window=window)
        crop = parse(raw, threshold, keep_probability=body.probability is not None, grid=body.grid.sub(*region),
                     find_missed=True)
        match = best_match(crop.people, wanted)
        if match is None or _agreement(body, index, crop, match, region) < PASTE_MIN_IOU:
            continue
        _paste(body, index, crop, match, region)
    body.subject = pick_subject(body.people, body.width, body.height)
    return body
