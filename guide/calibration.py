"""Learning a user's favourite framing from reference photos, and storing it as a profile.

A reference photo is usable when it shows one clear, standing, whole person of
a reasonable size; each rule that fails gives a reason a person can act on. The
framings of the usable photos are aggregated robustly (median and MAD) per
frame orientation, since portrait and landscape shots are framed differently.
Profiles are JSON files under `calibration/`, written atomically.
"""

from __future__ import annotations

import json
import os
import re
import statistics
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from guide.analyze import Analysis, analyze_photo
from guide.errors import GuideError, ImageError
from guide.images import Photo, read_photo, write_bytes_atomic
from guide.measure import FRAMING_FIELDS, Framing, framing
from guide.model.bodypix import BodyPix

SCHEMA_VERSION = 1
REASONS = (
    "no_person",
    "several_people",
    "head_cut",
    "feet_cut",
    "too_small",
    "not_standing",
    "low_confidence",
    "unreadable",
)
REASON_TEXT = {
    "no_person": "no person in the photo",
    "several_people": "several people and none stands out as the subject",
    "head_cut": "the head is cut off by the frame",
    "feet_cut": "the feet are cut off by the frame",
    "too_small": "the person is too small in the frame",
    "not_standing": "the person is not standing (feet not below the hips)",
    "low_confidence": "the model is not sure about this person",
    "unreadable": "the file cannot be read as an image",
}

# Thresholds of the usable-photo rules.
MIN_PERSON_AREA = 0.005  # people covering less of the frame are passers-by, not subjects
DOMINANCE = 3.0  # the subject's mask must be this many times the next person's
MIN_BODY_FILL = 0.25  # subject height as a fraction of the frame height
MIN_THIGH_DROP = 0.45  # thigh's vertical drop over the shin's, for an upright leg
MAX_HEAD_RATIO = 0.4  # standing adults are 0.1-0.25 (children up to ~0.3)
MIN_SCORE = 0.3  # pose confidence
CALIBRATION_MAX_PIXELS = 1_000_000  # decode references at <= 1 MP (JPEG draft mode): the model sees ~800 px


@dataclass
class Verdict:
    """One reference photo's outcome."""

    file: str
    accepted: bool
    reason: str | None  # one of REASONS when not accepted
    framing: Framing | None = None
    people: int = 0
    detail: str = ""


def leg_straightness(kp: Any, min_score: float = 0.1) -> list[float]:
    """Per visible leg: the thigh's vertical drop over the shin's.

    About 1 for a standing leg (knee halfway between hip and ankle), near 0
    when the thigh is horizontal, as when sitting. The scores asked of the
    keypoints are low on purpose: any sign of one straight leg is enough.
    """
    from guide.body import KEYPOINT_ID

    out = []
    for side in ("left", "right"):
        hip, knee, ankle = (kp[KEYPOINT_ID[f"{side}_{j}"]] for j in ("hip", "knee", "ankle"))
        if min(hip[2], knee[2], ankle[2]) >= min_score and ankle[1] - knee[1] > 1:
            out.append(float((knee[1] - hip[1]) / (ankle[1] - knee[1])))
    return out


def is_standing(kp: Any, head_ratio: float | None) -> bool:
    """Standing: the head is a small part of the body's height and some leg is upright."""
    if head_ratio is not None and head_ratio > MAX_HEAD_RATIO:
        return False  # crouching or lying: the head spans most of the body's height
    legs = leg_straightness(kp)
    return not legs or max(legs) >= MIN_THIGH_DROP


def judge(analysis: Analysis, file: str) -> Verdict:
    """Apply the usable-photo rules, in the order a person would fix them."""
    body = analysis.parse
    frame_area = body.width * body.height
    people = [p for p in body.people if p.mask_area >= MIN_PERSON_AREA * frame_area]
    if not people:
        return Verdict(file, False, "no_person", people=len(body.people))
    people.sort(key=lambda p: -p.mask_area)
    subject = people[0]
    if len(people) > 1 and subject.mask_area < DOMINANCE * people[1].mask_area:
        return Verdict(file, False, "several_people", people=len(people))
    marks = analysis.landmarks[subject.index]
    fr = framing(body, subject.index, marks)
    verdict = Verdict(file, False, None, fr, len(people))
    if "feet" in marks.cut:
        verdict.reason = "feet_cut"
    elif "head" in marks.cut:
        verdict.reason = "head_cut"
    elif marks.head_top is None or marks.feet is None:
        verdict.reason = "low_confidence"
        verdict.detail = "head or feet not found"
    else:
        body_height = marks.feet[1] - marks.head_top[1]
        if body_height <= 0 or not is_standing(subject.keypoints, fr.head_ratio):
            verdict.reason = "not_standing"
        elif body_height / body.height < MIN_BODY_FILL:
            verdict.reason = "too_small"
            verdict.detail = f"{100 * body_height / body.height:.0f}% of the frame height"
        elif subject.score < MIN_SCORE:
            verdict.reason = "low_confidence"
            verdict.detail = f"pose score {subject.score:.2f}"
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
    return groups


# --- profiles on disk ---------------------------------------------------------------

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


def profiles_dir() -> Path:
    return Path(os.environ.get("GUIDE_PROFILE_DIR", "calibration"))


def profile_path(name: str, folder: Path | None = None) -> Path:
    if not _NAME.match(name) or name.endswith(".json"):
        raise GuideError(
            f"profile name {name!r} is not allowed: use letters, digits, '.', '_' or '-' (no slashes), "
            "at most 64 characters",
            exit_code=2,
        )
    return (folder or profiles_dir()) / f"{name}.json"


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, dict):
        return {k: _round(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_round(v) for v in value]
    return value


def build_profile(name: str, model_name: str, verdicts: list[Verdict], source: str) -> dict[str, Any]:
    accepted = [v.framing for v in verdicts if v.accepted and v.framing is not None]
    groups = aggregate(accepted)
    primary = max(groups, key=lambda g: groups[g]["count"]) if groups else None
    photos = []
    for v in verdicts:
        entry: dict[str, Any] = {"file": v.file, "accepted": v.accepted, "reason": v.reason}
        if v.framing is not None:
            entry["framing"] = v.framing.values()
            entry["orientation"] = v.framing.orientation
            entry["aspect_ratio"] = v.framing.aspect_ratio
            entry["confidence"] = v.framing.confidence
        photos.append(entry)
    return _round(
        {
            "schema_version": SCHEMA_VERSION,
            "name": name,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "model": model_name,
            "source": source,
            "primary": primary,
            "groups": groups,
            "photos": photos,
        }
    )


def save_profile(profile: dict[str, Any], folder: Path | None = None) -> tuple[Path, bool]:
    """Write `<name>.json` atomically; returns the path and whether an older profile was replaced."""
    path = profile_path(profile["name"], folder)
    replaced = path.exists()
    write_bytes_atomic(path, (json.dumps(profile, indent=2) + "\n").encode())
    return path, replaced


def load_profile(name: str, folder: Path | None = None) -> dict[str, Any]:
    path = profile_path(name, folder)
    if not path.is_file():
        raise GuideError(f"no profile named {name!r} in {path.parent} (`guide profiles` lists them)", exit_code=2)
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GuideError(f"{path}: not a readable profile ({exc})", exit_code=2) from None
    if not isinstance(profile, dict) or profile.get("schema_version") != SCHEMA_VERSION:
        raise GuideError(f"{path}: not a guide profile of schema version {SCHEMA_VERSION}", exit_code=2)
    problem = _profile_problem(profile)
    if problem:
        raise GuideError(f"{path}: damaged profile ({problem}); run `guide calibrate` again", exit_code=2)
    return profile


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _profile_problem(profile: dict[str, Any]) -> str | None:
    """What is wrong with a profile's structure, or None: users can edit these files."""
    groups = profile.get("groups")
    if not isinstance(groups, dict) or not groups:
        return "no framing groups"
    if profile.get("primary") not in groups:
        return "primary group missing"
    for name, group in groups.items():
        if not isinstance(group, dict) or not _is_number(group.get("count")) or not _is_number(group.get("aspect_ratio")):
            return f"group {name!r} lacks count or aspect_ratio"
        measurements = group.get("measurements")
        if not isinstance(measurements, dict):
            return f"group {name!r} has no measurements"
        for field_name, stats in measurements.items():
            if field_name not in FRAMING_FIELDS or not isinstance(stats, dict):
                return f"unknown measurement {field_name!r}"
            if not all(_is_number(stats.get(k)) for k in ("median", "mad", "n")):
                return f"{name}/{field_name} lacks median, mad or n"
    return None


def list_profiles(folder: Path | None = None) -> list[dict[str, Any]]:
    """Summaries of the saved profiles (unreadable files are listed with an error)."""
    folder = folder or profiles_dir()
    out = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            profile = load_profile(path.stem, folder)
        except GuideError as exc:
            out.append({"name": path.stem, "error": exc.message})
            continue
        counts = {g: profile["groups"][g]["count"] for g in profile["groups"]}
        out.append({"name": path.stem, "created": profile.get("created"), "model": profile.get("model"),
                    "photos": len(profile.get("photos", [])), "accepted": counts})
    return out


# --- running over a folder ----------------------------------------------------------


def reference_files(folder: Path) -> list[Path]:
    """Image files under `folder`, recursively; non-image files are ignored."""
    from guide.images import IMAGE_SUFFIXES

    if not folder.exists():
        raise GuideError(f"{folder}: no such folder", exit_code=2)
    if not folder.is_dir():
        raise GuideError(f"{folder}: is not a folder (calibrate reads a folder of reference photos)", exit_code=2)
    files = sorted(p for p in folder.rglob("*") if p.suffix.lower() in IMAGE_SUFFIXES and not p.is_dir())
    if not files:
        raise GuideError(f"{folder}: holds no photos (.jpg, .png, .webp, .heic, ...)", exit_code=2)
    return files


def _read(path: Path) -> Photo | ImageError:
    try:
        return read_photo(path, max_pixels=CALIBRATION_MAX_PIXELS)
    except ImageError as exc:
        return exc


def analyze_references(
    model: BodyPix, files: list[Path], root: Path, on_done: Callable[[Verdict, Analysis | None], None] | None = None
) -> Iterator[tuple[Verdict, Analysis | None]]:
    """Judge every reference photo; the next photo decodes while the model runs on this one."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pending: Future[Photo | ImageError] | None = pool.submit(_read, files[0]) if files else None
        for i, path in enumerate(files):
            assert pending is not None
            photo = pending.result()
            pending = pool.submit(_read, files[i + 1]) if i + 1 < len(files) else None
            name = str(path.relative_to(root)) if path.is_relative_to(root) else str(path)
            if isinstance(photo, ImageError):
                reason = photo.message.removeprefix(f"{path}: ")
                verdict, analysis = Verdict(name, False, "unreadable", detail=reason), None
            else:
                analysis = analyze_photo(model, photo)
                verdict = judge(analysis, name)
            if on_done:
                on_done(verdict, analysis)
            yield verdict, analysis


def summary_rows(profile: dict[str, Any]) -> list[tuple[str, str, str, str, int]]:
    """(orientation, measurement, typical, spread, n) rows for the learned-framing table."""
    rows = []
    for orientation, group in profile["groups"].items():
        for name, s in group["measurements"].items():
            unit = "deg" if name == "tilt_deg" else ""
            rows.append((orientation, name, f"{s['median']:.3f}{unit}", f"±{s['mad']:.3f}", int(s["n"])))
    return rows


def describe(verdict: Verdict) -> str:
    if verdict.accepted and verdict.framing is not None:
        f = verdict.framing
        parts = [f"{k}={v:.2f}" for k, v in f.values().items() if v is not None]
        return "accepted: " + ", ".join(parts)
    text = REASON_TEXT.get(verdict.reason or "", verdict.reason or "")
    return f"skipped: {text}" + (f" ({verdict.detail})" if verdict.detail else "")


def verdict_record(verdict: Verdict) -> dict[str, Any]:
    record: dict[str, Any] = {"file": verdict.file, "accepted": verdict.accepted, "reason": verdict.reason}
    if verdict.framing is not None:
        record["framing"] = _round(verdict.framing.values())
        record["orientation"] = verdict.framing.orientation
    if verdict.detail:
        record["detail"] = verdict.detail
    return record
