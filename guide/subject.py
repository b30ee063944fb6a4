"""Who the photo is of, and who else is in it: the subject, companions and passers-by.

Plain functions over `Person` boxes (image pixels, (x, y)). Standing people on
level ground give away their distance: the nearer one is taller in the picture
and their feet are lower. A photographer also puts the subject near the middle,
in full and in focus. Passers-by are everyone else who is clearly smaller, or
far from the subject; companions stand next to the subject at a similar size.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import cv2
import numpy as np

if TYPE_CHECKING:  # parse imports this module
    from guide.parse import Person

# A companion is at least this tall relative to the subject (a child beside a parent is
# about 0.6-0.7 of their height; a passer-by a few metres behind is about 0.5-0.7).
COMPANION_HEIGHT = 0.8
# ...and stands at most this many subject heights away, horizontally, from the subject's box
# (people walking together on Penn-Fudan's streets keep up to ~1.3 heights apart)...
COMPANION_GAP = 1.5
# ...and their feet are level with the subject's within this fraction of the subject's height
# (someone further back stands higher in the picture; a stride moves the feet by ~0.15).
COMPANION_FEET = 0.25
# Group photos: a child beside the subject, this tall at least, close, feet level (a smaller adult a
# few metres behind stands higher in the picture).
CHILD_HEIGHT, CHILD_GAP, CHILD_FEET = 0.5, 0.25, 0.06
SHARP_HEIGHT = 160  # people are compared for sharpness at this height in pixels


def height(p: Person) -> float:
    return p.bbox[3] - p.bbox[1]


# Cut by the side of the frame: the person's pixels run along the image's left or right edge for at
# least this share of their height. A hand or an elbow brushing the edge is no cut; a body half
# out of the picture runs along it from shoulder to hip at least.
SIDE_CUT_SHARE = 0.25


def _touches_side(p: Person, width: int, instances: np.ndarray | None = None) -> bool:
    """Cut by the side of the frame: by the box, or, given `instances` (image-sized person index
    per pixel), by the person's own pixels along the edge (`SIDE_CUT_SHARE` of their height)."""
    if not (p.bbox[0] <= 1 or p.bbox[2] >= width - 1):
        return False
    if instances is None or instances.shape[1] != width:
        return True
    along = max(int(np.count_nonzero(instances[:, 0] == p.index)), int(np.count_nonzero(instances[:, -1] == p.index)))
    return along >= SIDE_CUT_SHARE * height(p)


def sharpness(image_bgr: np.ndarray, person: Person, instances: np.ndarray | None = None) -> float:
    """Mean absolute Laplacian over the person, seen at a common height (`SHARP_HEIGHT`).

    Scaling every person to one height compares focus rather than distance: a
    sharp small person stays sharp, a defocused near one stays soft.
    `instances` (person index per pixel, image-sized, optional) keeps the
    background and other people out.
    """
    x0, y0, x1, y1 = (int(round(v)) for v in person.bbox)
    h, w = image_bgr.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(w, x1), min(h, y1)
    if x1 - x0 < 4 or y1 - y0 < 8:
        return 0.0
    grey = cv2.cvtColor(image_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    scale = SHARP_HEIGHT / (y1 - y0)
    size = (max(4, round((x1 - x0) * scale)), SHARP_HEIGHT)
    grey = cv2.resize(grey, size, interpolation=cv2.INTER_AREA)
    edges = np.abs(cv2.Laplacian(grey.astype(np.float32), cv2.CV_32F))
    if instances is not None:
        own = (instances[y0:y1, x0:x1] == person.index).astype(np.uint8)
        inside = cv2.resize(own, size, interpolation=cv2.INTER_NEAREST) > 0
        inside = cv2.erode(inside.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0  # not the outline
        if inside.sum() >= 16:
            return float(edges[inside].mean())
    return float(edges.mean())


def subject_weights(
    people: list[Person],
    width: int,
    height_px: int,
    sharp: list[float] | None = None,
    instances: np.ndarray | None = None,
) -> list[float]:
    """How much each person looks like the subject (higher: more); see `pick_subject`."""
    if not people:
        return []
    tallest = max(height(p) for p in people) or 1.0
    lowest_feet = max(p.bbox[3] for p in people)
    alone_at_side = [_touches_side(p, width, instances) for p in people]
    best_sharp = max(sharp) if sharp else 0.0
    out = []
    for i, p in enumerate(people):
        w = height(p) / tallest  # nearer people are taller...
        w *= 1.0 - min(0.5, (lowest_feet - p.bbox[3]) / height_px)  # ...and stand lower
        cx = (p.bbox[0] + p.bbox[2]) / 2 / width - 0.5
        cy = (p.bbox[1] + p.bbox[3]) / 2 / height_px - 0.5
        w *= 1.0 - 0.5 * min(1.0, math.hypot(cx, cy) / math.hypot(0.5, 0.5))
        if alone_at_side[i] and not all(alone_at_side):
            w *= 0.7  # cut by the side of the frame: walking through, or half out of the picture
        if sharp and best_sharp > 0:
            w *= 0.7 + 0.3 * sharp[i] / best_sharp
        out.append(w)
    return out


def pick_subject(
    people: list[Person],
    width: int,
    height_px: int,
    sharp: list[float] | None = None,
    instances: np.ndarray | None = None,
) -> int | None:
    """The person a photographer means, or None for nobody.

    The tallest, with the lowest feet, near the centre, in full and (when
    `sharp`, one `sharpness` per person, is given) in focus. Keypoint-free on
    purpose: a person seen from behind is still a subject. With `instances`
    (image-sized person index per pixel: stills) "in full" reads their own
    pixels at the frame's sides (`SIDE_CUT_SHARE`), not only their box.
    """
    weights = subject_weights(people, width, height_px, sharp, instances)
    return int(np.argmax(weights)) if weights else None


def is_companion(person: Person, subject: Person, children: bool = False) -> bool:
    """Standing next to the subject at a similar size: part of the picture, not passing by.

    With `children` (group photos) someone shorter, down to `CHILD_HEIGHT` of
    the subject, counts too when they stand right beside them, feet level.
    """
    h = height(subject)
    if h <= 0:
        return False
    gap = max(0.0, max(person.bbox[0], subject.bbox[0]) - min(person.bbox[2], subject.bbox[2]))
    feet = abs(person.bbox[3] - subject.bbox[3])
    if height(person) >= COMPANION_HEIGHT * h:
        return gap <= COMPANION_GAP * h and feet <= COMPANION_FEET * h
    return children and height(person) >= CHILD_HEIGHT * h and gap <= CHILD_GAP * h and feet <= CHILD_FEET * h


def split_others(people: list[Person], subject: int, children: bool = False) -> tuple[list[int], list[int]]:
    """(companions, passers-by) among everyone but `subject`, as indices into `people`.

    Companions chain: someone next to a companion of the subject is one too, so
    a row of similar people is one group however long it is. `children`: see
    `is_companion`.
    """
    companions = [subject]
    rest = [i for i in range(len(people)) if i != subject]
    shortest = (CHILD_HEIGHT if children else COMPANION_HEIGHT) * height(people[subject])
    grew = True
    while grew:
        grew = False
        for i in list(rest):
            if height(people[i]) >= shortest and any(is_companion(people[i], people[c], children) for c in companions):
                companions.append(i)
                rest.remove(i)
                grew = True
    return companions[1:], rest
