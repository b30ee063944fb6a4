"""A framing profile: the typed object, its checks, and its file under `calibration/`.

`Profile.from_dict` checks a profile once, at the door (users can edit these
files): schema version, known measurement names, finite numbers within the
range each measurement can take. A problem names the file and the field.
`to_dict` writes the same JSON layout as always. Saving is atomic, under a
lock, and never replaces a profile another run saved meanwhile.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from guide.errors import GuideError, InputError, OutputError
from guide.images import free_path, write_bytes_atomic
from guide.measure import FRAMING_FIELDS

SCHEMA_VERSION = 1
ORIENTATIONS = ("portrait", "landscape", "square")
# The values each measurement can take (a median or a bound outside them is a damaged file).
RANGES = {
    "head_ratio": (0.0, 1.0),
    "body_fill": (0.0, 1.5),
    "headroom": (-1.0, 1.0),
    "footroom": (-1.0, 1.0),
    "center_x": (-0.5, 1.5),
    "tilt_deg": (-90.0, 90.0),
}


class ProfileError(InputError):
    """A profile file that cannot be used as it is."""


def _number(value: Any, where: str, low: float = -math.inf, high: float = math.inf) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ProfileError(f"{where}: not a number ({value!r})")
    if not math.isfinite(value):
        raise ProfileError(f"{where}: {value} is not a finite number")
    if not low <= value <= high:
        raise ProfileError(f"{where}: {value} is outside {low:g}..{high:g}")
    return float(value)


def round_floats(value: Any) -> Any:
    if isinstance(value, float):
        return round(value, 5)
    if isinstance(value, dict):
        return {k: round_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [round_floats(v) for v in value]
    return value


@dataclass(frozen=True)
class Stats:
    """Robust statistics of one measurement over the accepted photos (see `calibration.robust_stats`)."""

    median: float
    mad: float  # median absolute deviation, scaled to a standard deviation
    min: float
    max: float
    n: int

    @classmethod
    def from_dict(cls, data: Any, where: str, value_range: tuple[float, float] = (-math.inf, math.inf)) -> Stats:
        if not isinstance(data, dict):
            raise ProfileError(f"{where}: not an object")
        low, high = value_range
        median = _number(data.get("median"), f"{where}.median", low, high)
        smallest = _number(data.get("min", median), f"{where}.min", low, median)
        largest = _number(data.get("max", median), f"{where}.max", median, high)
        n = _number(data.get("n"), f"{where}.n", 1)
        if n != int(n):
            raise ProfileError(f"{where}.n: {n} is not a whole number of photos")
        return cls(
            median=median,
            mad=_number(data.get("mad"), f"{where}.mad", 0.0, high - low if math.isfinite(high - low) else math.inf),
            min=smallest,
            max=largest,
            n=int(n),
        )

    def to_dict(self) -> dict[str, float]:
        return {"median": self.median, "mad": self.mad, "min": self.min, "max": self.max, "n": self.n}


FEWEST_TYPICAL = 3  # photos of one orientation before their median is a typical framing, not one photo's


@dataclass
class FramingGroup:
    """The framing learnt from the photos of one orientation."""

    count: int
    aspect_ratio: float  # width / height of those photos
    measurements: dict[str, Stats]  # FRAMING_FIELDS name -> statistics
    people: Stats | None = None  # group profiles: how many people the group photos hold
    camera_height: Stats | None = None  # where the camera was, / the person's height (guide.perspective)
    extra: dict[str, Any] = field(default_factory=dict)  # keys this version does not know, kept as they are

    @classmethod
    def from_dict(cls, data: Any, where: str) -> FramingGroup:
        if not isinstance(data, dict):
            raise ProfileError(f"{where}: not an object")
        measurements = data.get("measurements")
        if not isinstance(measurements, dict):
            raise ProfileError(f"{where}.measurements: missing")
        stats = {}
        for name, value in measurements.items():
            if name not in FRAMING_FIELDS:
                raise ProfileError(f"{where}.measurements.{name}: unknown measurement")
            stats[name] = Stats.from_dict(value, f"{where}.measurements.{name}", RANGES[name])
        people, height = data.get("people"), data.get("camera_height")
        known = {"count", "aspect_ratio", "measurements", "people", "camera_height"}
        return cls(
            count=int(_number(data.get("count"), f"{where}.count", 1)),
            aspect_ratio=_number(data.get("aspect_ratio"), f"{where}.aspect_ratio", 0.05, 20.0),
            measurements=stats,
            people=None if people is None else Stats.from_dict(people, f"{where}.people", (1.0, 1000.0)),
            camera_height=None if height is None else Stats.from_dict(height, f"{where}.camera_height", (0.0, 1.1)),
            extra={k: v for k, v in data.items() if k not in known},
        )

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "count": self.count,
            "aspect_ratio": self.aspect_ratio,
            "measurements": {k: s.to_dict() for k, s in self.measurements.items()},
        }
        if self.people is not None:
            out["people"] = self.people.to_dict()
        if self.camera_height is not None:
            out["camera_height"] = self.camera_height.to_dict()
        return {**out, **self.extra}


@dataclass
class Profile:
    """A user's framing taste: one `FramingGroup` per orientation of their reference photos."""

    name: str
    groups: dict[str, FramingGroup]
    primary: str  # the orientation most photos had: used for frames of an orientation not learnt
    group: bool = False  # learnt from group photos (`guide calibrate --group`)
    model: str = ""
    source: str = ""
    created: str = ""
    photos: list[dict[str, Any]] = field(default_factory=list)  # per reference: file, verdict, framing

    @property
    def kind(self) -> str:
        return "group" if self.group else "single-person"

    def thin_groups(self, fewest: int = FEWEST_TYPICAL) -> dict[str, int]:
        """Orientations learnt from fewer than `fewest` photos, and how many: their one or two photos' framing is
        the target as it is, however unusual (one street photo made a landscape target "aim left 24%")."""
        return {key: g.count for key, g in self.groups.items() if g.count < fewest}

    def framing_group(self, orientation: str) -> tuple[str, FramingGroup]:
        """The group for frames of `orientation`, else the primary one (whose crop is then used)."""
        key = orientation if orientation in self.groups else self.primary
        return key, self.groups[key]

    @classmethod
    def from_dict(cls, data: Any, where: str = "profile") -> Profile:
        if not isinstance(data, dict):
            raise ProfileError(f"{where}: not a guide profile")
        if data.get("schema_version") != SCHEMA_VERSION:
            raise ProfileError(f"{where}: not a guide profile of schema version {SCHEMA_VERSION}")
        groups = data.get("groups")
        if not isinstance(groups, dict) or not groups:
            raise ProfileError(f"{where}: groups: no framing groups")
        parsed = {}
        for key, value in groups.items():
            if key not in ORIENTATIONS:
                raise ProfileError(f"{where}: groups.{key}: not an orientation ({', '.join(ORIENTATIONS)})")
            parsed[key] = FramingGroup.from_dict(value, f"{where}: groups.{key}")
        primary = data.get("primary")
        if primary not in parsed:
            raise ProfileError(f"{where}: primary: {primary!r} is not one of the groups")
        group = data.get("group", False)
        if not isinstance(group, bool):
            raise ProfileError(f"{where}: group: must be true or false")
        photos = data.get("photos", [])
        return cls(
            name=str(data.get("name", "")),
            groups=parsed,
            primary=str(primary),
            group=group,
            model=str(data.get("model", "")),
            source=str(data.get("source", "")),
            created=str(data.get("created", "")),
            photos=[p for p in photos if isinstance(p, dict)] if isinstance(photos, list) else [],
        )

    def to_dict(self) -> dict[str, Any]:
        return round_floats({
            "schema_version": SCHEMA_VERSION,
            "name": self.name,
            "created": self.created,
            "model": self.model,
            "source": self.source,
            "group": self.group,
            "primary": self.primary,
            "groups": {k: g.to_dict() for k, g in self.groups.items()},
            "photos": self.photos,
        })

    def photo_counts(self) -> tuple[int, dict[str, int]]:
        """(photos used, skipped photos per reason) from the photo list (which users may edit)."""
        used, skipped = 0, dict[str, int]()
        for entry in self.photos:
            if entry.get("accepted") is True:
                used += 1
            else:
                reason = str(entry.get("reason") or "unknown")
                skipped[reason] = skipped.get(reason, 0) + 1
        return used, skipped

    def summary_rows(self) -> list[tuple[str, str, str, str, int]]:
        """(orientation, measurement, typical, spread, n) rows for the learned-framing table."""
        rows = []
        for orientation, group in self.groups.items():
            if group.people is not None:
                rows.append((orientation, "people", f"{group.people.median:.1f}", f"±{group.people.mad:.1f}",
                             group.people.n))
            for name, s in group.measurements.items():
                unit = "deg" if name == "tilt_deg" else ""
                rows.append((orientation, name, f"{s.median:.3f}{unit}", f"±{s.mad:.3f}{unit}", s.n))
            if group.camera_height is not None:
                c = group.camera_height
                rows.append((orientation, "camera_height", f"{c.median:.2f}", f"±{c.mad:.2f}", c.n))
        return rows


# --- on disk ---------------------------------------------------------------------------

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


REPLACED_DIR = "replaced"  # beside the profiles: older profiles a calibration replaced, one file each


def save_profile(
    profile: Profile, folder: Path | None = None, *, slot: ProfileSlot | None = None
) -> tuple[Path, Path | None]:
    """Write `<name>.json` atomically; returns its path and where the profile it replaced is kept (None: none).

    A calibration run by mistake (the wrong folder, a typo) must not cost the
    user their taste: the older file moves to `replaced/<name>-<time>.json`
    before the new one is written. With the `slot` taken when the run began, a
    profile another run saved since is never replaced (GuideError): of two runs
    for one name, only one may say "saved".
    """
    slot = slot or profile_slot(profile.name, folder)
    path = slot.path
    kept = None
    with _profile_lock(path):
        now = _file_state(path)
        if now is not None and now != slot.seen:
            raise OutputError(
                f"{path} was saved by another run while this one was reading photos "
                f"(two `guide calibrate --name {profile.name}` at once?); it is kept: run again to replace it"
            )
        if now is not None:
            kept = _keep_older(path)
        write_bytes_atomic(path, (json.dumps(profile.to_dict(), indent=2) + "\n").encode())
    return path, kept


def _keep_older(path: Path) -> Path:
    """Copy the profile about to be replaced to a new file under `replaced/` (named by its save time)."""
    try:
        data = path.read_bytes()
        stamp = time.strftime("%Y%m%d-%H%M%S", time.localtime(path.stat().st_mtime))
    except OSError as exc:
        raise OutputError(f"{path}: cannot read the older profile to keep it ({exc.strerror or exc})") from None
    kept = free_path(path.parent / REPLACED_DIR, f"{path.stem}-{stamp}", ".json")
    write_bytes_atomic(kept, data)
    return kept


def load_profile(name: str, folder: Path | None = None) -> Profile:
    path = profile_path(name, folder)
    if not path.is_file():
        raise InputError(f"no profile named {name!r} in {path.parent.resolve()} (`guide profiles` lists them)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ProfileError(f"{path}: not a readable profile ({exc})") from None
    try:
        return Profile.from_dict(data, str(path))
    except ProfileError as exc:
        raise ProfileError(f"damaged profile {exc.message}; run `guide calibrate` again") from None


def list_profiles(folder: Path | None = None) -> list[dict[str, Any]]:
    """Summaries of the saved profiles (unreadable files are listed with an error)."""
    folder = folder or profiles_dir()
    out: list[dict[str, Any]] = []
    for path in sorted(folder.glob("*.json")) if folder.is_dir() else []:
        try:
            profile = load_profile(path.stem, folder)
        except GuideError as exc:
            out.append({"name": path.stem, "error": exc.message})
            continue
        out.append({
            "name": path.stem, "path": str(path), "created": profile.created, "model": profile.model,
            "kind": profile.kind, "photos": len(profile.photos),
            "accepted": {g: profile.groups[g].count for g in profile.groups},
        })
    return out
