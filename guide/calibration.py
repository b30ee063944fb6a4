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
import time
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

from guide.analyze import Analysis, analyze_photo
from guide.errors import GuideError, ImageError, InputError, OutputError
from guide.images import Photo, output_kind, read_photo, write_bytes_atomic
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
    "guide_output",
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
    "guide_output": "an earlier output of guide, not a photo",
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
    """The one folder calibrate writes and profiles and live read: GUIDE_PROFILE_DIR, else `calibration/`.

    The default is relative to the current folder, so the CLI shows it wherever it matters.
    """
    return Path(os.environ.get("GUIDE_PROFILE_DIR") or "calibration").expanduser()


def profile_path(name: str, folder: Path | None = None) -> Path:
    if not _NAME.match(name) or name.endswith(".json"):
        raise InputError(
            f"profile name {name!r} is not allowed: use letters, digits, '.', '_' or '-' (no slashes), "
            "at most 64 characters"
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


STALE_LOCK_SECONDS = 300.0  # a save holds its lock for milliseconds: an older lock was left by a killed run

FileState = tuple[int, int, int]  # (inode, size, mtime in ns): an atomic replace always changes it


@dataclass(frozen=True)
class ProfileSlot:
    """Where a run will save its profile, and the file that was there when the run began (None: none)."""

    path: Path
    seen: FileState | None


def _file_state(path: Path) -> FileState | None:
    try:
        st = path.stat()
    except OSError:  # absent, or unreachable: the write itself then reports why
        return None
    return (st.st_ino, st.st_size, st.st_mtime_ns)


def profile_slot(name: str, folder: Path | None = None) -> ProfileSlot:
    """Take this when a calibration starts, and give it to `save_profile` at the end.

    A calibration takes minutes; another run for the same name may save in
    between. Remembering the file as it was lets the later save notice that.
    """
    path = profile_path(name, folder)
    return ProfileSlot(path, _file_state(path))


@contextmanager
def _profile_lock(path: Path) -> Iterator[None]:
    """Hold `<name>.json.lock` (created exclusively) while a profile is compared and replaced."""
    lock = path.with_name(path.name + ".lock")
    taken = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for _ in range(3):
            try:
                fd = os.open(lock, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                try:
                    age = time.time() - lock.stat().st_mtime
                except FileNotFoundError:
                    continue  # released meanwhile
                if age <= STALE_LOCK_SECONDS:
                    raise OutputError(
                        f"{path} is being saved by another run right now (two `guide calibrate --name {path.stem}` "
                        f"at once?); that run's profile is kept (if no other calibrate is running, delete {lock})"
                    ) from None
                lock.unlink(missing_ok=True)  # left behind by a run killed while saving
                continue
            try:
                with os.fdopen(fd, "w") as fh:
                    fh.write(f"{os.getpid()}\n")  # who holds it, for a person looking
            except OSError:
                lock.unlink(missing_ok=True)
                raise
            taken = _file_state(lock)
            break
        else:
            raise OutputError(f"{path}: could not take {lock}; try again")
    except OSError as exc:
        raise OutputError(f"{path}: cannot write ({exc.strerror or exc})") from None
    try:
        yield
    finally:
        if taken is not None and _file_state(lock) == taken:  # never remove a lock another run took over
            lock.unlink(missing_ok=True)


def save_profile(
    profile: dict[str, Any], folder: Path | None = None, *, slot: ProfileSlot | None = None
) -> tuple[Path, bool]:
    """Write `<name>.json` atomically; returns the path and whether an older profile was replaced.

    With the `slot` taken when the run began, a profile another run saved since
    is never replaced (GuideError): of two runs for one name, only one may say "saved".
    """
    slot = slot or profile_slot(profile["name"], folder)
    path = slot.path
    with _profile_lock(path):
        now = _file_state(path)
        if now is not None and now != slot.seen:
            raise OutputError(
                f"{path} was saved by another run while this one was reading photos "
                f"(two `guide calibrate --name {profile['name']}` at once?); it is kept: run again to replace it"
            )
        write_bytes_atomic(path, (json.dumps(profile, indent=2) + "\n").encode())
    return path, now is not None


def load_profile(name: str, folder: Path | None = None) -> dict[str, Any]:
    path = profile_path(name, folder)
    if not path.is_file():
        raise InputError(f"no profile named {name!r} in {path.parent.resolve()} (`guide profiles` lists them)")
    try:
        profile = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: not a readable profile ({exc})") from None
    if not isinstance(profile, dict) or profile.get("schema_version") != SCHEMA_VERSION:
        raise InputError(f"{path}: not a guide profile of schema version {SCHEMA_VERSION}")
    problem = _profile_problem(profile)
    if problem:
        raise InputError(f"{path}: damaged profile ({problem}); run `guide calibrate` again")
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
        row: dict[str, Any] = {"name": path.stem, "path": str(path), "created": profile.get("created"),
                               "model": profile.get("model"), "photos": len(profile.get("photos", [])),
                               "accepted": counts}
        out.append(row)
    return out


def photo_counts(profile: dict[str, Any]) -> tuple[int, dict[str, int]]:
    """(photos used, skipped photos per reason) from a profile's photo list (which users may edit)."""
    photos = profile.get("photos")
    used, skipped = 0, dict[str, int]()
    for entry in photos if isinstance(photos, list) else []:
        if not isinstance(entry, dict):
            continue
        if entry.get("accepted") is True:
            used += 1
        else:
            reason = str(entry.get("reason") or "unknown")
            skipped[reason] = skipped.get(reason, 0) + 1
    return used, skipped


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
    model: BodyPix, files: list[Path], root: Path, on_done: Callable[[Verdict, Analysis | None], None] | None = None
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
                verdict = Verdict(name, False, "guide_output", detail=f"a *_{kind}* file")
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
