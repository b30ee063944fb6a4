"""Learning a user's favourite framing from reference photos, and storing it as a profile.

A reference photo is usable when it shows one clear, standing, whole person of
a reasonable size; each rule that fails gives a reason a person can act on. The
framings of the usable photos are aggregated robustly (median and MAD) per
frame orientation, since portrait and landscape shots are framed differently.
Profiles are JSON files under `calibration/`, written atomically.
"""

from __future__ import annotations

import statistics
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from enum import StrEnum
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from guide import perspective
from guide.analyze import Analysis, analyze_photo
from guide.body import KEYPOINT_ID
from guide.errors import ImageError, InputError
from guide.group import find_group, group_framing
from guide.images import Photo, output_kind, read_photo
from guide.measure import FRAMING_FIELDS, Framing, framing
from guide.model.bodypix import BodyPix
from guide.profile import SCHEMA_VERSION, Profile, round_floats

class Reason(StrEnum):
    """Why a reference photo was skipped (the JSON writes these strings)."""

    NO_PERSON = "no_person"
    SEVERAL_PEOPLE = "several_people"
    ONE_PERSON = "one_person"
    HEAD_CUT = "head_cut"
    FEET_CUT = "feet_cut"
    TOO_SMALL = "too_small"
    NOT_STANDING = "not_standing"
    LOW_CONFIDENCE = "low_confidence"
    UNREADABLE = "unreadable"
    GUIDE_OUTPUT = "guide_output"


REASONS = tuple(Reason)
REASON_TEXT = {
    Reason.NO_PERSON: "no person in the photo",
    Reason.SEVERAL_PEOPLE: "several people of similar size side by side (for group photos use --group)",
    Reason.ONE_PERSON: "only one person: not a group photo",
    Reason.HEAD_CUT: "the head is cut off by the frame",
    Reason.FEET_CUT: "the feet are cut off by the frame",
    Reason.TOO_SMALL: "the person is too small in the frame",
    Reason.NOT_STANDING: "the person is not standing (feet not below the hips)",
    Reason.LOW_CONFIDENCE: "the model is not sure about this person",
    Reason.UNREADABLE: "the file cannot be read as an image",
    Reason.GUIDE_OUTPUT: "an earlier output of guide, not a photo",
}

# Thresholds of the usable-photo rules.
MIN_PERSON_AREA = 0.005  # people covering less of the frame are passers-by, not subjects
MIN_BODY_FILL = 0.25  # subject height as a fraction of the frame height
MIN_THIGH_DROP = 0.45  # thigh's vertical drop over the shin's, for an upright leg
MAX_HEAD_RATIO = 0.4  # standing adults are 0.1-0.25 (children up to ~0.3)
MIN_SCORE = 0.3  # confidence in the person: the mean score of their head and torso keypoints (`person_score`)
CALIBRATION_MAX_PIXELS = 1_000_000  # decode references at <= 1 MP (JPEG draft mode): the model sees ~800 px


@dataclass
class Verdict:
    """One reference photo's outcome."""

    file: str
    accepted: bool
    reason: Reason | None  # None when accepted
    framing: Framing | None = None
    people: int = 0  # people of a size that counts (`MIN_PERSON_AREA`)
    detail: str = ""
    passers_by: int = 0  # people in the photo ignored as not part of it
    members: int = 0  # the subject and companions (group mode: the group's size)


def leg_straightness(kp: Any, min_score: float = 0.1) -> list[float]:
    """Per visible leg: the thigh's vertical drop over the shin's.

    About 1 for a standing leg (knee halfway between hip and ankle), near 0
    when the thigh is horizontal, as when sitting. The scores asked of the
    keypoints are low on purpose: any sign of one straight leg is enough.
    """
    out = []
    for side in ("left", "right"):
        hip, knee, ankle = (kp[KEYPOINT_ID[f"{side}_{j}"]] for j in ("hip", "knee", "ankle"))
        if min(hip[2], knee[2], ankle[2]) >= min_score and ankle[1] - knee[1] > 1:
            out.append(float((knee[1] - hip[1]) / (ankle[1] - knee[1])))
    return out


# What makes a person a person to the model: face, ears, shoulders and hips. The legs are judged by
# the standing rule and the feet landmark.
CORE_KEYPOINTS = ("nose", "left_eye", "right_eye", "left_ear", "right_ear",
                  "left_shoulder", "right_shoulder", "left_hip", "right_hip")


def person_score(kp: Any) -> float:
    """How sure the model is of a person: the mean score of their head and torso keypoints, in [0, 1].

    The pose score averages all 17 keypoints, legs included, and a passer-by
    beside the subject's legs lowers the leg keypoints' scores (bench/instances.py:
    PennPed00091, score 0.31 alone, 0.29 with a child walking past their feet,
    so the same photo flipped to low confidence). Head and torso stay what they were.
    """
    return float(sum(float(kp[KEYPOINT_ID[n]][2]) for n in CORE_KEYPOINTS) / len(CORE_KEYPOINTS))


def is_standing(kp: Any, head_ratio: float | None) -> bool:
    """Standing: the head is a small part of the body's height and some leg is upright."""
    if head_ratio is not None and head_ratio > MAX_HEAD_RATIO:
        return False  # crouching or lying: the head spans most of the body's height
    legs = leg_straightness(kp)
    return not legs or max(legs) >= MIN_THIGH_DROP


def judge(analysis: Analysis, file: str, group: bool = False) -> Verdict:
    """Apply the usable-photo rules, in the order a person would fix them.

    The subject is who the photographer meant (`guide.subject.pick_subject`);
    people clearly smaller or away from them are passers-by and ignored.
    Companions (similar size, side by side) make a group photo: skipped
    without `group`, framed together with it.
    """
    body = analysis.parse
    frame_area = body.width * body.height
    counted = [p.index for p in body.people if p.mask_area >= MIN_PERSON_AREA * frame_area]
    if not counted:
        return Verdict(file, False, Reason.NO_PERSON, people=len(body.people))
    subject = body.subject if body.subject in counted else counted[0]
    found = find_group(body, analysis.landmarks, subject, among=counted, children=group)
    assert found is not None
    size = len(found.members)
    passers_by = len(body.people) - size  # the small ones too: a figure far down the street passes by
    verdict = Verdict(file, False, None, people=len(counted), passers_by=passers_by, members=size)
    if size > 1 and not group:
        verdict.reason, verdict.detail = Reason.SEVERAL_PEOPLE, f"{size} people side by side"
        return verdict
    if size < 2 and group:
        verdict.reason = Reason.ONE_PERSON
        return verdict
    own = analysis.landmarks[subject]
    verdict.framing = group_framing(body, found, analysis.landmarks) if group else framing(body, subject, own)
    marks = found.marks if group else own
    if "feet" in marks.cut:
        verdict.reason, verdict.detail = Reason.FEET_CUT, found.who("feet") if group else ""
    elif "head" in marks.cut:
        verdict.reason, verdict.detail = Reason.HEAD_CUT, found.who("head") if group else ""
    elif marks.head_top is None or marks.feet is None:
        verdict.reason, verdict.detail = Reason.LOW_CONFIDENCE, "head or feet not found"
    else:
        height = marks.feet[1] - marks.head_top[1]
        least_sure = min(person_score(body.people[i].keypoints) for i in found.members)
        if height <= 0 or not is_standing(body.people[subject].keypoints, framing(body, subject, own).head_ratio):
            verdict.reason = Reason.NOT_STANDING
        elif height / body.height < MIN_BODY_FILL:
            verdict.reason = Reason.TOO_SMALL
            verdict.detail = f"{100 * height / body.height:.0f}% of the frame height"
        elif least_sure < MIN_SCORE:
            verdict.reason = Reason.LOW_CONFIDENCE
            verdict.detail = f"head and torso score {least_sure:.2f}"
    verdict.accepted = verdict.reason is None
    return verdict


# --- aggregation --------------------------------------------------------------------


def robust_stats(values: list[float]) -> dict[str, float]:
    """Median, MAD scaled to a standard deviation (x1.4826), range and count."""
    med = statistics.median(values)
    mad = statistics.median(abs(v - med) for v in values) * 1.4826
    return {"median": med, "mad": mad, "min": min(values), "max": max(values), "n": len(values)}


def aggregate(framings: list[Framing]) -> dict[str, Any]:
    """Per orientation: robust statistics of every measurement that was taken."""
    groups: dict[str, Any] = {}
    for orientation in ("portrait", "landscape", "square"):
        members = [f for f in framings if f.orientation == orientation]
        if not members:
            continue
        stats = {}
        for name in FRAMING_FIELDS:
            values = [v for f in members if (v := getattr(f, name)) is not None]
            if values:
                stats[name] = robust_stats(values)
        groups[orientation] = {
            "count": len(members),
            "aspect_ratio": statistics.median(f.aspect_ratio for f in members),
            "measurements": stats,
        }
        heights = [c for f in members if (c := reference_camera_height(f)) is not None]
        if heights:  # the camera-angle part of the taste, apart from the reference people's proportions
            groups[orientation]["camera_height"] = robust_stats(heights)
    return groups


def reference_camera_height(fr: Framing) -> float | None:
    """Where the camera was, as a fraction of the person's height (guide.perspective), for a typical person.

    None when the photo does not show head ratio, headroom and footroom.
    """
    if fr.head_ratio is None or fr.headroom is None or fr.footroom is None:
        return None
    view = perspective.View(fr.headroom, 1.0 - fr.footroom, fr.aspect_ratio)
    c = perspective.camera_height(fr.head_ratio, perspective.TYPICAL_OWN_RATIO, view)
    return min(perspective.HIGHEST, max(perspective.LOWEST, c))


def build_profile(
    name: str, model_name: str, verdicts: list[Verdict], source: str, *, group: bool = False
) -> Profile:
    """The profile of the accepted verdicts (`ValueError` if none was accepted)."""
    kept = [v for v in verdicts if v.accepted and v.framing is not None]
    if not kept:
        raise ValueError("a profile needs at least one accepted photo")
    groups = aggregate([v.framing for v in kept if v.framing is not None])
    if group:  # how many people the group photos of each orientation hold; camera height is one person's
        for orientation, stats in groups.items():
            stats.pop("camera_height", None)
            sizes = [float(v.members) for v in kept if v.framing is not None and v.framing.orientation == orientation]
            stats["people"] = robust_stats(sizes)
    photos = []
    for v in verdicts:
        entry: dict[str, Any] = {"file": v.file, "accepted": v.accepted, "reason": v.reason}
        if v.passers_by:
            entry["passers_by"] = v.passers_by
        if v.members > 1:
            entry["members"] = v.members
        if v.framing is not None:
            entry["framing"] = v.framing.values()
            entry["orientation"] = v.framing.orientation
            entry["aspect_ratio"] = v.framing.aspect_ratio
            entry["confidence"] = v.framing.confidence
        photos.append(entry)
    return Profile.from_dict(
        {
            "schema_version": SCHEMA_VERSION,
            "name": name,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model": model_name,
            "source": source,
            "group": group,
            "primary": max(groups, key=lambda g: groups[g]["count"]),
            "groups": groups,
            "photos": photos,
        }
    )


# --- running over a folder ----------------------------------------------------------


def reference_files(folder: Path) -> list[Path]:
    """Image files under `folder`, recursively; non-image files are ignored."""
    from guide.images import IMAGE_SUFFIXES

    if not folder.exists():
        raise InputError(f"{folder}: no such folder")
    if not folder.is_dir():
        raise InputError(f"{folder}: is not a folder (calibrate reads a folder of reference photos)")
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not p.is_dir())
    if not files:
        raise InputError(f"{folder}: holds no photos (.jpg, .png, .webp, .heic, ...)")
    return files


def _read(path: Path) -> Photo | ImageError:
    try:
        return read_photo(path, max_pixels=CALIBRATION_MAX_PIXELS)
    except ImageError as exc:
        return exc


def analyze_references(
    model: BodyPix,
    files: list[Path],
    root: Path,
    on_done: Callable[[Verdict, Analysis | None], None] | None = None,
    *,
    group: bool = False,
) -> Iterator[tuple[Verdict, Analysis | None]]:
    """Judge every reference photo; the next photo decodes while the model runs on this one.

    Files named like guide's own outputs (`*_portrait.jpg`, ...) are skipped unread:
    a portrait made from a reference would count that photo twice.
    """
    photos = iter([p for p in files if output_kind(p) is None])
    with ThreadPoolExecutor(max_workers=1) as pool:
        first = next(photos, None)
        pending: Future[Photo | ImageError] | None = pool.submit(_read, first) if first else None
        for path in files:
            name = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
            kind = output_kind(path)
            if kind is not None:
                verdict = Verdict(name, False, Reason.GUIDE_OUTPUT, detail=f"a *_{kind}* file")
                if on_done:
                    on_done(verdict, None)
                yield verdict, None
                continue
            assert pending is not None
            photo = pending.result()
            following = next(photos, None)
            pending = pool.submit(_read, following) if following else None
            if isinstance(photo, ImageError):
                reason = photo.message.removeprefix(f"{path}: ")
                verdict, analysis = Verdict(name, False, Reason.UNREADABLE, detail=reason), None
            else:
                analysis = analyze_photo(model, photo, outline=False)  # landmarks and sizes: no outline needed
                verdict = judge(analysis, name, group)
            if on_done:
                on_done(verdict, analysis)
            yield verdict, analysis


def describe(verdict: Verdict) -> str:
    if verdict.accepted and verdict.framing is not None:
        f = verdict.framing
        parts = [f"{k}={v:.2f}" for k, v in f.values().items() if v is not None]
        head = "accepted"
        if verdict.members > 1:
            head += f"; a group of {verdict.members}"
        if verdict.passers_by:
            head += f"; {verdict.passers_by} passer{'s' if verdict.passers_by > 1 else ''}-by ignored"
        return f"{head}: " + ", ".join(parts)
    text = REASON_TEXT.get(verdict.reason, verdict.reason or "") if verdict.reason else ""
    return f"skipped: {text}" + (f" ({verdict.detail})" if verdict.detail else "")


def verdict_record(verdict: Verdict) -> dict[str, Any]:
    record: dict[str, Any] = {"file": verdict.file, "accepted": verdict.accepted, "reason": verdict.reason,
                              "passers_by": verdict.passers_by}
    if verdict.members > 1:
        record["members"] = verdict.members
    if verdict.framing is not None:
        record["framing"] = round_floats(verdict.framing.values())
        record["orientation"] = verdict.framing.orientation
    if verdict.detail:
        record["detail"] = verdict.detail
    return record
