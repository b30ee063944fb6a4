"""The right subject, passers-by ignored, group photos, and the typed profile (issue: bystander-proof)."""

from __future__ import annotations

import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from guide import calibration as cal
from guide.analyze import analyze_photo
from guide.group import find_group
from guide.images import Photo, read_photo
from guide.metrics import instance_boxes
from guide.parse import Person
from guide.profile import Profile, ProfileError, load_profile
from guide.subject import pick_subject, split_others

from helpers import lone_pedestrians, passerby_scene, run_guide, write_clip

from conftest import PENNFUDAN, PEOPLE

# Penn-Fudan photos of two or three pedestrians of similar size walking side by side, all in the frame.
GROUPS = ("FudanPed00012.png", "FudanPed00019.png", "FudanPed00056.png", "PennPed00030.png")


def person(index: int, box: tuple[float, float, float, float], score: float = 0.8) -> Person:
    x0, y0, x1, y1 = box
    return Person(index, score, np.zeros((17, 3)), box, int((x1 - x0) * (y1 - y0) * 0.5))


# --- who the photo is of ---------------------------------------------------------------


def test_the_subject_is_the_near_person_not_the_largest_blob() -> None:
    # A tall passer-by cut by the frame's side, a subject in the middle with the lowest feet.
    people = [person(0, (0, 20, 260, 470)), person(1, (270, 60, 400, 470)), person(2, (450, 120, 500, 300))]
    assert pick_subject(people, 640, 480) == 1
    # Of two alike, the one standing lower (nearer) and nearer the middle.
    people = [person(0, (100, 100, 180, 400)), person(1, (300, 80, 380, 420))]
    assert pick_subject(people, 640, 480) == 1
    # Sharpness breaks a tie.
    people = [person(0, (200, 80, 280, 420)), person(1, (360, 80, 440, 420))]
    assert pick_subject(people, 640, 480, sharp=[1.0, 3.0]) == 1
    assert pick_subject([], 640, 480) is None


def test_companions_stand_beside_the_subject_at_their_size_and_chain_along_a_row() -> None:
    row = [person(i, (40 + 110 * i, 100, 140 + 110 * i, 420)) for i in range(4)]
    far_behind = person(4, (560, 60, 600, 200))  # small, feet far higher: further back
    companions, passers = split_others([*row, far_behind], 1)
    assert sorted(companions) == [0, 2, 3] and passers == [4]
    child = person(1, (160, 220, 230, 420))  # beside the parent, but half their height
    assert split_others([row[0], child], 0) == ([], [1])


# --- calibrate: passers-by and groups on real photos -----------------------------------


@pytest.fixture(scope="module")
def groups(model):  # type: ignore[no-untyped-def]
    return {name: analyze_photo(model, read_photo(PENNFUDAN / "PNGImages" / name)) for name in GROUPS}


def _truth_boxes(name: str) -> list[tuple[int, int, int, int]]:
    return instance_boxes(cv2.imread(str(PENNFUDAN / "PedMasks" / name.replace(".png", "_mask.png")), cv2.IMREAD_UNCHANGED))


def test_companions_of_similar_size_are_several_people_unless_group_mode(groups) -> None:  # type: ignore[no-untyped-def]
    for name, analysis in groups.items():
        alone = cal.judge(analysis, name)
        assert alone.reason == "several_people", (name, alone)
        together = cal.judge(analysis, name, group=True)
        truth = _truth_boxes(name)
        assert together.accepted and together.members == len(truth), (name, together)
        found = find_group(analysis.parse, analysis.landmarks)
        assert found is not None and found.marks.head_top and found.marks.feet
        height = max(b[3] for b in truth) - min(b[1] for b in truth)
        assert abs(found.marks.head_top[1] - min(b[1] for b in truth)) <= 0.03 * height, name
        assert abs(found.marks.feet[1] - max(b[3] for b in truth)) <= 0.03 * height, name


def test_a_lone_person_is_no_group_photo(model) -> None:  # type: ignore[no-untyped-def]
    analysis = analyze_photo(model, read_photo(PEOPLE / "tfjs_pose.jpg"))
    assert cal.judge(analysis, "a").accepted
    assert cal.judge(analysis, "a", group=True).reason == "one_person"


def test_seated_people_beside_a_standing_subject_are_passers_by(model) -> None:  # type: ignore[no-untyped-def]
    analysis = analyze_photo(model, read_photo(PEOPLE / "openpose_COCO_val2014_000000000241.jpg"))
    verdict = cal.judge(analysis, "living_room.jpg")  # his feet touch the bottom edge: judged on that alone
    assert verdict.reason == "feet_cut" and verdict.passers_by == 2 and verdict.members == 1


@pytest.mark.parametrize("subject,passer", [("FudanPed00010", "FudanPed00002"), ("FudanPed00011", "FudanPed00066")])
def test_a_passer_by_behind_keeps_a_good_reference_good(model, subject: str, passer: str) -> None:  # type: ignore[no-untyped-def]
    lone = {c.name: c for c in lone_pedestrians()}
    def judge(image: np.ndarray) -> cal.Verdict:
        photo = Photo(Path(f"{subject}.png"), image, image.shape[1], image.shape[0], 1.0)
        return cal.judge(analyze_photo(model, photo, outline=False), photo.path.name)

    alone = judge(lone[subject].image)
    crowded = judge(passerby_scene(lone[subject], lone[passer], 0.6, 0.2, 0.05).image)
    assert alone.accepted and crowded.accepted, (alone, crowded)
    assert crowded.passers_by == 1 and alone.passers_by == 0
    assert cal.describe(crowded).startswith("accepted; 1 passer-by ignored")
    assert cal.verdict_record(crowded)["passers_by"] == 1


# --- the profile checks itself at the door ---------------------------------------------


def _profile_dict(**measurement: float) -> dict:  # type: ignore[type-arg]
    stats = {"median": 0.2, "mad": 0.01, "min": 0.1, "max": 0.3, "n": 3, **measurement}
    return {"schema_version": 1, "name": "anna", "primary": "portrait",
            "groups": {"portrait": {"count": 3, "aspect_ratio": 0.75, "measurements": {"head_ratio": stats}}}}


@pytest.mark.parametrize(("field", "value", "says"), [
    ("median", math.nan, "not a finite number"),
    ("mad", math.inf, "not a finite number"),
    ("median", 4.0, "outside 0..1"),
    ("n", "three", "not a number"),
    ("n", 2.5, "not a whole number"),
    ("min", 0.5, "outside 0..0.2"),  # a smallest value above the median
])
def test_bad_numbers_in_a_profile_name_the_file_and_field(tmp_path: Path, field: str, value: object, says: str) -> None:
    (tmp_path / "anna.json").write_text(json.dumps(_profile_dict(**{field: value})))  # json writes NaN, Infinity
    with pytest.raises(ProfileError) as caught:
        load_profile("anna", tmp_path)
    message = caught.value.message
    assert str(tmp_path / "anna.json") in message and f"head_ratio.{field}" in message and says in message
    assert "\n" not in message


def test_a_profile_round_trips_and_keeps_what_it_does_not_know() -> None:
    data = _profile_dict()
    data["groups"]["portrait"]["future_key"] = {"x": 1}
    profile = Profile.from_dict(data)
    assert not profile.group and profile.kind == "single-person"
    again = Profile.from_dict(profile.to_dict())
    assert again == profile and again.to_dict()["groups"]["portrait"]["future_key"] == {"x": 1}


# --- the CLI: calibrate --group, live --group, analyze --instances -----------------------


def test_group_calibration_then_live_group_guidance(tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    refs.mkdir()
    for name in GROUPS[:3]:
        (refs / name).write_bytes((PENNFUDAN / "PNGImages" / name).read_bytes())
    env = {"GUIDE_PROFILE_DIR": str(tmp_path / "profiles")}
    made = run_guide("calibrate", str(refs), "--name", "family", "--group", "--json", env=env)
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    assert summary["group"] is True and summary["accepted"] == 3
    by_file = {f["file"]: f for f in summary["files"]}
    assert [by_file[name]["members"] for name in GROUPS[:3]] == [len(_truth_boxes(name)) for name in GROUPS[:3]]
    assert all("passers_by" in f for f in summary["files"])
    profile = load_profile("family", tmp_path / "profiles")
    assert profile.group and profile.groups[profile.primary].people is not None

    # The same scene in a 1280x720 frame whose bottom cuts everyone's feet, then the whole scene.
    scene = cv2.imread(str(PENNFUDAN / "PNGImages" / GROUPS[2]))
    frame = np.full((720, 1280, 3), 90, np.uint8)
    small = cv2.resize(scene, (round(scene.shape[1] * 600 / scene.shape[0]), 600))
    x = (1280 - small.shape[1]) // 2
    cut = frame.copy()
    cut[200:720, x : x + small.shape[1]] = small[:520]  # the bottom 80 px of the scene are off the frame
    whole = frame.copy()
    whole[60:660, x : x + small.shape[1]] = small
    clip = write_clip(tmp_path / "group.avi", [cut] * 3 + [whole] * 3, fps=10.0)
    log = tmp_path / "frames.jsonl"
    run = run_guide("live", "--source", str(clip), "--no-window", "--group", "--profile", "family",
                    "--log", str(log), env=env)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 6 and all(len(line["group"]) == 3 for line in lines)
    for line in lines[:3]:  # the whole-frame look and the crops after it (padded below the frame) alike
        assert any("feet cut: persons 1, 2 and 3" in a["text"] for a in line["advice"]), line
    assert not any("cut" in a["text"] for a in lines[-1]["advice"]), lines[-1]

    # A group profile without --group, and a single-person one with it: one clear line each.
    single = run_guide("live", "--source", str(clip), "--no-window", "--profile", "family", env=env)
    assert single.returncode == 2 and "group photos" in single.stderr and len(single.stderr.strip().splitlines()) == 1


def test_instances_png_labels_each_person(tmp_path: Path) -> None:
    out = tmp_path / "inst"
    result = run_guide("analyze", str(PEOPLE / "tfjs_pascal.jpg"), "--json", "--instances", str(out))
    assert result.returncode == 0, result.stderr
    record = json.loads(result.stdout)
    labels = cv2.imread(record["instances"], cv2.IMREAD_UNCHANGED)
    assert labels.shape == (record["height"], record["width"])
    assert set(np.unique(labels)) == set(range(len(record["people"]) + 1))
    for i, p in enumerate(record["people"]):
        ys, xs = np.nonzero(labels == i + 1)
        x0, y0, x1, y1 = p["bbox"]
        assert abs(xs.min() - x0) <= 2 and abs(ys.max() + 1 - y1) <= 2
    first = Path(record["instances"]).read_bytes()
    again = run_guide("analyze", str(PEOPLE / "tfjs_pascal.jpg"), "--json", "--instances", str(out))
    assert again.returncode == 0, again.stderr
    assert Path(record["instances"]).read_bytes() == first  # a second run keeps the first's file
    assert Path(json.loads(again.stdout)["instances"]).name == "tfjs_pascal_instances-2.png"


def test_live_group_keeps_saying_whose_feet_are_cut_on_its_crops(tmp_path: Path) -> None:
    """Person 2's legs run off the bottom mid-stride (a raised foot is in view): cut on every frame, not
    only on the whole-frame look; the crops after it are padded below the frame."""
    scene = cv2.imread(str(PENNFUDAN / "PNGImages" / "FudanPed00001.png"))[100:470]
    clip = write_clip(tmp_path / "cut.avi", [scene] * 6, fps=10.0)
    log = tmp_path / "frames.jsonl"
    run = run_guide("live", "--source", str(clip), "--no-window", "--group", "--log", str(log),
                    env={"GUIDE_PROFILE_DIR": str(tmp_path / "none")})
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert any(line["roi"] is not None for line in lines)  # the crops were used
    for line in lines:
        assert "feet cut: person 2" in line["advice"][0]["text"], line
