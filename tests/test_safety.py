"""Damaged or impossible input, as a user meets it (issue 11): one line and an exit code,
never a traceback, a crash, a half-written folder or a quiet wrong answer."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

from conftest import DATA, MODELS, PEOPLE

VIDEO = DATA / "video"


def run_guide(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "guide", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=300, check=False)


def error_lines(stderr: str) -> list[str]:
    """The `guide: error:` lines; anything from FFmpeg or a traceback fails the caller's check."""
    assert "Traceback" not in stderr, stderr
    assert not [line for line in stderr.splitlines() if re.search(r"^\[\w+ @ 0x|@ 0x[0-9a-f]+\]", line)], stderr
    return [line for line in stderr.splitlines() if line.startswith("guide: error:")]


def test_video_damaged_midway_stops_with_one_line_naming_the_frame(tmp_path: Path) -> None:
    """A middle chunk zeroed: the frames before it are analysed and logged, then one error, exit 1."""
    data = bytearray((VIDEO / "tfjs_pose_squats.mp4").read_bytes())  # 65 frames
    middle = len(data) // 2
    data[middle : middle + 50_000] = bytes(50_000)
    clip, log = tmp_path / "clip.mp4", tmp_path / "frames.jsonl"
    clip.write_bytes(bytes(data))
    result = run_guide("live", "--source", str(clip), "--no-window", "--log", str(log), "--resolution", "0.25",
                       env={"GUIDE_PROFILE_DIR": str(tmp_path / "profiles")})
    assert result.returncode == 1, result.stderr
    [line] = error_lines(result.stderr)
    found = re.fullmatch(rf"guide: error: {re.escape(str(clip))}: cannot decode frame (\d+) of 65 "
                         r"\(the file is damaged\); stopped after (\d+) frames", line)
    assert found, line
    failed, before = int(found[1]), int(found[2])
    assert failed == before + 1 and 0 < before < 65
    assert [json.loads(r)["frame"] for r in log.read_text().splitlines()] == list(range(before))


def test_shard_damaged_in_place_stops_analyze_with_exit_2(tmp_path: Path) -> None:
    """The reported symptom: a same-size damaged shard made `guide analyze` answer "0 people", exit 0."""
    name = "mobilenet-075-stride16-quant2"
    folder = tmp_path / "models" / name
    shutil.copytree(MODELS / name, folder)
    shard = folder / "group1-shard1of1.bin"
    shard.chmod(0o644)
    data = bytearray(shard.read_bytes())
    data[500_000:500_100] = bytes(100)
    shard.write_bytes(bytes(data))
    result = run_guide("analyze", str(PEOPLE / "tfjs_pose.jpg"), env={"GUIDE_MODEL_DIR": str(folder.parent)})
    assert result.returncode == 2, result.stderr
    assert error_lines(result.stderr) == [
        (f"guide: error: weight shard {shard} fails its sha256 check (the file is damaged); "
         f"replace it with a fresh copy of {name}")
    ]
    assert result.stdout == ""


def test_export_under_a_file_is_one_line_and_leaves_nothing(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "sm"
    result = run_guide("export", str(target))
    assert result.returncode == 2, result.stderr  # could not write where asked
    assert error_lines(result.stderr) == [
        f"guide: error: cannot write SavedModel to {target}: {target.parent} is a file, not a folder"
    ]
    assert [p.name for p in tmp_path.iterdir()] == ["file"]


def test_negative_camera_index_is_refused_before_opencv_sees_it() -> None:
    """OpenCV segfaults on camera -1 here, so this runs in a child: a regression must not kill the session."""
    code = (
        "from guide.errors import GuideError\n"
        "from guide.sources import CameraSource\n"
        "try:\n"
        "    CameraSource(-1)\n"
        "except GuideError as exc:\n"
        "    print(type(exc).__name__, exc)\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, (result.returncode, result.stderr)
    assert result.stdout == "InputError camera index -1 is negative: cameras are numbered from 0\n"


def test_a_taken_name_gets_the_next_number_before_its_extension(tmp_path: Path) -> None:
    """`guide analyze --masks` writes `<stem>.png`: a second run's mask was `<stem>.png-2`, which no viewer
    opens as a picture (os.path.splitext reads ".png" as a name without an extension)."""
    from guide.images import free_path

    for suffix, second in ((".png", "a-2.png"), ("_instances.png", "a_instances-2.png"), ("", "a-2")):
        (tmp_path / f"a{suffix}").write_bytes(b"x")
        assert free_path(tmp_path, "a", suffix).name == second
