"""`guide live` as a user runs it: inputs that exclude each other, nothing overwritten, auto-capture on a file."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import cv2

from helpers import lone_pedestrians, place_person, run_guide, write_clip

from conftest import DATA

CLIP = DATA / "video" / "tfjs_pose_dance.mp4"


def test_camera_and_source_exclude_each_other_and_negative_cameras_are_refused(tmp_path: Path) -> None:
    both = run_guide("live", "--camera", "1", "--source", str(CLIP), "--no-window")
    assert both.returncode == 2 and "--camera and --source" in both.stderr
    negative = run_guide("live", "--camera", "-1", "--no-window", "--max-frames", "1")
    assert negative.returncode == 2 and len(negative.stderr.strip().splitlines()) == 1



def test_an_image_folder_reports_unreadable_photos_and_fails_when_none_is_readable(tmp_path: Path) -> None:
    folder = tmp_path / "frames"
    folder.mkdir()
    (folder / "a_broken.jpg").write_bytes(b"not a jpeg")
    env = {"GUIDE_PROFILE_DIR": str(tmp_path / "none")}
    only_bad = run_guide("live", "--source", str(folder), "--no-window", env=env)
    assert only_bad.returncode == 2, only_bad.stderr
    assert [line for line in only_bad.stderr.splitlines() if "error" in line] == [
        f"guide: error: {folder}: no readable images ({folder / 'a_broken.jpg'}: not an image file, or a format "
        "this build cannot read)"]
    assert "Traceback" not in only_bad.stderr
    shutil.copy(DATA / "people" / "tfjs_pose.jpg", folder / "b_person.jpg")
    mixed = run_guide("live", "--source", str(folder), "--no-window", "--log", str(tmp_path / "log.jsonl"), env=env)
    assert mixed.returncode == 0, mixed.stderr
    assert f"guide: skipped {folder / 'a_broken.jpg'}" in mixed.stderr and "1 frames, 1 analysed" in mixed.stderr
    assert len((tmp_path / "log.jsonl").read_text().splitlines()) == 1

def test_a_second_run_never_overwrites_the_first_recording_or_log(tmp_path: Path) -> None:
    out, log = tmp_path / "out.mp4", tmp_path / "frames.jsonl"
    env = {"GUIDE_PROFILE_DIR": str(tmp_path / "none")}
    def record(frames: int):  # type: ignore[no-untyped-def]
        args = ("--no-window", "--record", str(out), "--log", str(log), "--max-frames", str(frames))
        return run_guide("live", "--source", str(CLIP), *args, env=env)

    first = record(3)
    assert first.returncode == 0, first.stderr
    before = (out.read_bytes(), log.read_text())
    second = record(5)
    assert second.returncode == 0, second.stderr
    assert (out.read_bytes(), log.read_text()) == before
    assert (tmp_path / "out-2.mp4").is_file() and len((tmp_path / "frames-2.jsonl").read_text().splitlines()) == 5
    assert "frames-2.jsonl" in second.stderr and "out-2.mp4" in second.stderr
    assert "built-in framing rules" in second.stderr  # and it says which framing it uses


def test_a_folder_given_for_the_recording_or_log_is_one_line_and_nothing_is_written(tmp_path: Path) -> None:
    """`--log .` wrote a file named "-2" into the folder (its name is empty, and the folder exists)."""
    env = {"GUIDE_PROFILE_DIR": str(tmp_path / "none")}
    for option, example in (("--log", "frames.jsonl"), ("--record", "live.mp4")):
        run = run_guide("live", "--source", str(CLIP), "--no-window", option, ".", "--max-frames", "2", env=env, cwd=tmp_path)
        assert run.returncode == 2, run.stderr
        assert run.stderr.strip().splitlines()[-1] == f"guide: error: . is a folder: give a file name, for example {example}"
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_auto_capture_fires_on_a_video_file(tmp_path: Path) -> None:
    """A clip of the profile's own reference for 14 s of its own time: captured once the countdown ends.

    The reference's camera height is the profile's taste; seeing the same picture, live assumes the
    camera is at eye level (guide.perspective) and may ask to raise or lower it, until it sees that
    nothing moves (guide.followup): then hold, and the countdown.
    """
    placed = place_person(lone_pedestrians()[4], 0.6, (640, 480))
    refs = tmp_path / "refs"
    refs.mkdir()
    cv2.imwrite(str(refs / "me.jpg"), placed.image)
    env = {"GUIDE_PROFILE_DIR": str(tmp_path / "profiles")}
    made = run_guide("calibrate", str(refs), "--name", "me", env=env)
    assert made.returncode == 0, made.stderr
    clip = write_clip(tmp_path / "still.avi", [placed.image] * 140, fps=10.0)
    log = tmp_path / "frames.jsonl"
    run = run_guide(
        "live",
        "--source",
        str(clip),
        "--no-window",
        "--profile",
        "me",
        "--auto-capture",
        "--captures",
        str(tmp_path / "captures"),
        "--log",
        str(log),
        env=env,
    )
    assert run.returncode == 0, run.stderr
    assert [r["advice"][0]["action"] for r in map(json.loads, log.read_text().splitlines())][-1] == "hold"
    names = sorted(p.name for p in (tmp_path / "captures").iterdir())
    # Captured once the countdown ended (and again after each further hold and countdown: 4 s each, 14 s clip).
    assert names[:2] == ["capture_0001.jpg", "capture_0001.json"] and len(names) in (2, 4, 6), names
    assert "no auto-capture" not in run.stderr
    # The same clip stopped half a second before that capture: the run says why there is none.
    fired = json.loads((tmp_path / "captures" / "capture_0001.json").read_text())["frame"]
    short = run_guide("live", "--source", str(clip), "--no-window", "--profile", "me", "--auto-capture",
                      "--captures", str(tmp_path / "short"), "--max-frames", str(fired - 5), env=env)
    assert short.returncode == 0 and not (tmp_path / "short").exists()
    assert "no auto-capture: the run ended during the countdown" in short.stderr, short.stderr


def test_a_walker_is_never_read_as_a_rolled_camera(tmp_path: Path) -> None:
    """The street clip: a level camera, a woman walking. Her axis, upright at mid-stride only, swings with her gait;
    read as the camera's roll (until 2026-11-23) it asked to level the camera on 65 of the first 150 frames."""
    log = tmp_path / "frames.jsonl"
    run = run_guide("live", "--source", str(DATA / "video" / "openpose_street_walk.avi"), "--no-window",
                    "--log", str(log), "--max-frames", "150", env={"GUIDE_PROFILE_DIR": str(tmp_path / "none")})
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert len(lines) == 150 and sum(1 for r in lines if r["people"]) > 100  # she is followed
    assert not [r["frame"] for r in lines if any(a["action"] == "level_camera" for a in r["advice"])]
