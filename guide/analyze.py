"""Photo -> model -> parse -> landmarks, and the JSON record `guide analyze` prints."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from guide.errors import GuideError
from guide.geometry import resample
from guide.images import Photo, free_path, write_image_atomic
from guide.light import measure_light
from guide.mask_edges import mirror_mean, mirrored_window, snap_edges
from guide.measure import Landmarks, landmarks
from guide.model.bodypix import BodyPix
from guide.parse import DEFAULT_THRESHOLD, BodyParse, parse
from guide.regions import refine
from guide.subject import pick_subject, sharpness

# Stills: the model sees up to this many pixels on the long side (upscaling small photos
# too: BodyPix finds more of a small person at a larger internal resolution).
STILL_INPUT_SIDE = 801
# Stills: poses decoded at most (the live loop keeps `parse`'s 10). A crowd has more people than ten, and
# one left undecoded loses their head or legs to a neighbour's instance (PennPed00009, a crowd of 11: a
# head top 50% of the height too low, and another 7.5% too high; Penn-Fudan mean IoU 0.806 -> 0.807).
STILL_MAX_PEOPLE = 20


def still_resolution(height: int, width: int, input_side: int = STILL_INPUT_SIDE) -> float:
    """Internal resolution for a still photo: its long side maps to `input_side` pixels."""
    return min(2.0, input_side / max(height, width))


@dataclass
class Analysis:
    photo: Photo
    parse: BodyParse
    landmarks: list[Landmarks]
    resolution: float


def parse_still(
    model: BodyPix,
    image_bgr: np.ndarray,
    resolution: float | None = None,
    *,
    threshold: float = DEFAULT_THRESHOLD,
    keep_probability: bool = False,
    outline: bool = True,
) -> tuple[BodyParse, float]:
    """A still at full quality: the whole photo at still resolution, and mirrored (the two
    person logit maps averaged), then its people who were small there again on crops
    (`guide.regions.refine`), then the mask's edge snapped to the photo's edges
    (`guide.mask_edges`). Arrays at the photo's size.

    `outline=False` skips the mirrored pass and the snapping, for callers that read
    landmarks and sizes, not the outline (calibrate): the two about double a
    12 MP reference's analysis (bench/calibrate.py: 11.6 -> 7.0 photos/s, under its
    8) and move the head top and feet by little (Penn-Fudan p90 3.8/4.0% -> 3.9/3.7%).
    A given `resolution` forces a single plain pass at that resolution. Returns
    the parse and the whole-photo pass's resolution.
    """
    h, w = image_bgr.shape[:2]
    res = resolution if resolution is not None else still_resolution(h, w)
    raw = model.predict(image_bgr, res)
    traced = resolution is None and outline  # the mirrored pass and the edge snapping
    source = raw
    if traced:
        # The photo mirrored too, the two person logit maps averaged: an edge nearer the true one.
        flipped = model.predict(np.ascontiguousarray(image_bgr[:, ::-1]), window=mirrored_window(raw.window))
        source = mirror_mean(raw, flipped)
    body = parse(source, threshold=threshold, max_people=STILL_MAX_PEOPLE, keep_probability=keep_probability or traced,
                 find_missed=True)
    if traced:
        # The feet reach down to the model's 0.5 edge (`guide.measure`): the single pass's, as that was
        # measured on. The mean of two reaches further down pale shoes on a pale floor (mmfashion_01_4_full.jpg:
        # 3 px more, into "feet cut"), for a Penn-Fudan feet p90 of 3.5% instead of 3.7% (bench/instances.py).
        body.edge = resample(raw.segment_logits_input, raw.window, body.grid) > 0.0
    if resolution is None:
        refine(model, image_bgr, body, raw.window.scale, threshold=threshold)
    if traced:
        if body.people:
            snap_edges(body, image_bgr, raw.output_stride / raw.window.scale, threshold)
        if not keep_probability:
            body.probability = None
    if len(body.people) > 1:  # who the photo is of: in focus counts too, where the pixels can say
        own = body.instances if body.instances.shape == image_bgr.shape[:2] else None  # image-sized: stills
        sharp = [sharpness(image_bgr, p, own) for p in body.people]
        body.subject = pick_subject(body.people, body.width, body.height, sharp, own)
    return body, res


def analyze_photo(
    model: BodyPix,
    photo: Photo,
    resolution: float | None = None,
    threshold: float = DEFAULT_THRESHOLD,
    *,
    outline: bool = True,
) -> Analysis:
    """`parse_still` and everyone's landmarks; `outline=False` where only landmarks and sizes are read."""
    body, res = parse_still(model, photo.image, resolution, threshold=threshold, outline=outline)
    marks = [landmarks(body, i) for i in range(len(body.people))]
    return Analysis(photo, body, marks, res)


def _point(p: tuple[float, float] | None, scale: float) -> list[float] | None:
    return None if p is None else [round(p[0] * scale, 1), round(p[1] * scale, 1)]


def to_record(analysis: Analysis, model_name: str = "") -> dict[str, Any]:
    """The JSON object for one image; coordinates in original-image pixels."""
    from guide.body import KEYPOINT_NAMES

    s = analysis.photo.scale
    body = analysis.parse
    people = []
    for person, marks in zip(body.people, analysis.landmarks):
        people.append(
            {
                "score": round(person.score, 4),
                "bbox": [round(v * s, 1) for v in person.bbox],
                "mask_area": int(round(person.mask_area * s * s)),
                "head_top": _point(marks.head_top, s),
                "chin": _point(marks.chin, s),
                "feet": _point(marks.feet, s),
                "keypoints": {
                    name: [round(float(x) * s, 1), round(float(y) * s, 1), round(float(sc), 4)]
                    for name, (x, y, sc) in zip(KEYPOINT_NAMES, person.keypoints)
                },
                "cut": marks.cut,
                "missing": marks.missing,
            }
        )
    light = measure_light(analysis.photo.image, body) if body.subject is not None else None
    return {
        "image": str(analysis.photo.path),
        "width": analysis.photo.original_width,
        "height": analysis.photo.original_height,
        "subject": body.subject,
        "people": people,
        "model": model_name,
        "internal_resolution": round(analysis.resolution, 4),
        "light": asdict(light) if light is not None else None,
    }


def summary_line(record: dict[str, Any]) -> str:
    """One human line per image for the plain (non-JSON) output."""
    n = len(record["people"])
    head = f"{record['image']}  {record['width']}x{record['height']}  {n} {'person' if n == 1 else 'people'}"
    wrote = [record[k] for k in ("instances", "mask", "annotated") if k in record]
    written = f"; wrote {', '.join(wrote)}" if wrote else ""
    if record["subject"] is None:
        return head + written
    p = record["people"][record["subject"]]

    def y(v: list[float] | None) -> str:
        return "-" if v is None else f"{v[1]:.0f}"

    cut = ", ".join(p["cut"]) or "nothing"
    return (
        f"{head}; subject #{record['subject']} score {p['score']:.2f}: head top y={y(p['head_top'])}, "
        f"chin y={y(p['chin'])}, feet y={y(p['feet'])}; cut: {cut}{written}"
    )


def output_path(folder: Path, photo: Photo, suffix: str, taken: set[Path]) -> Path:
    """`folder/<stem><suffix>`, refusing paths in `taken` (the run's inputs and earlier outputs); a file
    an earlier run left there is kept and the next free name (`<stem><suffix>-2`) is used instead.

    The path is added to `taken`, so two photos with the same name in
    different folders cannot overwrite each other's results.
    """
    target = folder / f"{photo.path.stem}{suffix}"
    resolved = target.resolve()
    if resolved in taken or resolved == photo.path.resolve():
        raise GuideError(f"{target}: would overwrite an input photo or an earlier output of this run; choose another folder")
    target = free_path(folder, photo.path.stem, suffix)
    taken.add(target.resolve())
    return target


def write_mask(folder: Path, analysis: Analysis, taken: set[Path]) -> Path:
    """`<stem>.png`: 255 where any person is, 0 elsewhere, the size of the original photo."""
    photo = analysis.photo
    mask: np.ndarray = analysis.parse.mask.astype(np.uint8) * 255
    if mask.shape != (photo.original_height, photo.original_width):
        mask = cv2.resize(mask, (photo.original_width, photo.original_height), interpolation=cv2.INTER_NEAREST)
    target = output_path(folder, photo, ".png", taken)
    write_image_atomic(target, mask)
    return target


def write_instances(folder: Path, analysis: Analysis, taken: set[Path]) -> Path:
    """`<stem>_instances.png`: 0 where nobody is, i + 1 on people[i]'s pixels, the size of the original photo."""
    photo = analysis.photo
    labels: np.ndarray = (analysis.parse.instances.astype(np.int16) + 1).clip(0, 255).astype(np.uint8)
    if labels.shape != (photo.original_height, photo.original_width):
        labels = cv2.resize(labels, (photo.original_width, photo.original_height), interpolation=cv2.INTER_NEAREST)
    target = output_path(folder, photo, "_instances.png", taken)
    write_image_atomic(target, labels)
    return target


def write_annotation(folder: Path, analysis: Analysis, taken: set[Path]) -> Path:
    from guide.overlay import annotate

    target = output_path(folder, analysis.photo, "_annotated.jpg", taken)
    write_image_atomic(target, annotate(analysis.photo.image, analysis.parse), [cv2.IMWRITE_JPEG_QUALITY, 92])
    return target
