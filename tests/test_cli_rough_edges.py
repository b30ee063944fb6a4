"""Rough edges of issue 11: rival calibrations, earlier outputs taken for photos, contact sheets,
switches in --help, `profiles show`, where profiles live, nearly-square frames."""

from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import pytest
from typer.testing import CliRunner

from guide.cli import app
from guide.errors import GuideError
from guide.measure import orientation_of
from guide.profile import SCHEMA_VERSION, STALE_LOCK_SECONDS, Profile, profile_slot, save_profile

from conftest import PEOPLE

runner = CliRunner()


def run(*args: str, env: dict[str, str | None] | None = None):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), env=env, catch_exceptions=False)


@pytest.fixture(scope="module")
def calibrated(tmp_path_factory: pytest.TempPathFactory) -> dict:  # type: ignore[type-arg]
    """One real `guide calibrate --json` over refs holding a portrait output of one of them."""
    root = tmp_path_factory.mktemp("calibrated")
    refs = root / "refs"
    refs.mkdir()
    for name in ("tfjs_pose.jpg", "mmpose_S7_Greeting.55011271_000396.jpg"):  # S7 is 1000x1002
        shutil.copy(PEOPLE / name, refs / name)
    shutil.copy(PEOPLE / "tfjs_pose.jpg", refs / "tfjs_pose_portrait.jpg")  # an earlier `guide portrait`
    (refs / "broken.jpg").write_bytes(b"\xff\xd8\xff garbage")
    env = {"GUIDE_PROFILE_DIR": str(root / "calibration")}
    result = run("calibrate", str(refs), "--name", "anna", "--json", env=env)
    assert result.exit_code == 0, result.stderr
    return {"root": root, "refs": refs, "env": env, "summary": json.loads(result.stdout)}


def _profile(name: str = "anna", model: str = "") -> Profile:
    """A valid profile to save; the content does not matter to the save rules."""
    return Profile.from_dict({"schema_version": SCHEMA_VERSION, "name": name, "primary": "square", "model": model,
                              "groups": {"square": {"count": 1, "aspect_ratio": 1.0, "measurements": {}}}})


# --- 1. two calibrations of one name -------------------------------------------------------


def test_a_profile_saved_by_another_run_meanwhile_is_never_replaced(tmp_path: Path) -> None:
    for before in (None, b'{"older": true}\n'):
        folder = tmp_path / ("fresh" if before is None else "older")
        folder.mkdir()
        if before is not None:
            (folder / "anna.json").write_bytes(before)
        mine = profile_slot("anna", folder)  # this run starts reading photos
        rival = profile_slot("anna", folder)  # and so does another one
        path, _ = save_profile(_profile(model="rival"), slot=rival)  # the other finishes first
        rivals = path.read_bytes()
        with pytest.raises(GuideError, match="saved by another run"):
            save_profile(_profile(model="mine"), slot=mine)
        assert path.read_bytes() == rivals
        expected = ["anna.json"] + (["replaced"] if before is not None else [])  # the older file kept aside
        assert sorted(p.name for p in folder.iterdir()) == expected  # and no lock left behind


def test_an_unchanged_profile_is_replaced_and_the_older_one_kept(tmp_path: Path) -> None:
    path, kept = save_profile(_profile(), tmp_path)
    assert kept is None
    first = path.read_bytes()
    for model in ("newer", "newest"):  # twice: the second replacement keeps its own copy too
        slot = profile_slot("anna", tmp_path)
        path, kept = save_profile(_profile(model=model), slot=slot)
        assert json.loads(path.read_text())["model"] == model
        assert kept is not None and kept.parent == tmp_path / "replaced" and kept.name.startswith("anna-")
    older = sorted((tmp_path / "replaced").iterdir(), key=lambda p: p.stat().st_mtime_ns)
    assert [p.read_bytes() for p in older][0] == first and len(older) == 2
    assert json.loads(older[1].read_text())["model"] == "newer"


def test_a_held_lock_refuses_the_save_and_a_stale_one_is_taken_over(tmp_path: Path) -> None:
    lock = tmp_path / "anna.json.lock"
    lock.write_text("12345\n")  # another run is between its check and its replace
    with pytest.raises(GuideError, match="being saved by another run"):
        save_profile(_profile(), tmp_path)
    assert not (tmp_path / "anna.json").exists() and lock.exists()  # theirs, left alone
    old = time.time() - STALE_LOCK_SECONDS - 60
    os.utime(lock, (old, old))  # left by a run killed while saving
    path, _ = save_profile(_profile(), tmp_path)
    assert path.exists() and not lock.exists()


def test_calibrate_while_another_run_saves_is_one_line_and_keeps_theirs(tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    refs.mkdir()
    shutil.copy(PEOPLE / "tfjs_pose.jpg", refs / "a.jpg")
    folder = tmp_path / "calibration"
    folder.mkdir()
    theirs = json.dumps(_profile("default").to_dict()).encode()
    (folder / "default.json").write_bytes(theirs)
    (folder / "default.json.lock").write_text("12345\n")
    result = run("calibrate", str(refs), env={"GUIDE_PROFILE_DIR": str(folder)})
    assert result.exit_code == 2
    assert result.stderr.startswith("guide: error: profile not saved: ") and result.stderr.count("\n") == 1
    assert "another run" in result.stderr and "saved:" not in result.stdout
    assert (folder / "default.json").read_bytes() == theirs
    assert not (folder / "default_sheet.png").exists()


# --- 2. earlier outputs are not photos -----------------------------------------------------


def test_portrait_of_only_earlier_outputs_says_so_and_exits_1(tmp_path: Path) -> None:
    for name in ("a_portrait.jpg", "a_portrait-2.jpg", "b_portrait.jpg"):
        shutil.copy(PEOPLE / "tfjs_posenet_frisbee_2.jpg", tmp_path / name)
    before = sorted(p.name for p in tmp_path.iterdir())
    result = run("portrait", str(tmp_path), "--out", str(tmp_path / "out"))
    assert result.exit_code == 1  # as for a folder holding no photos
    assert result.stderr.startswith("guide: error: nothing to do: skipped 3 earlier guide outputs (3 *_portrait*)")
    assert result.stderr.count("\n") == 1 and result.stdout == ""
    assert sorted(p.name for p in tmp_path.iterdir()) == before  # nothing written, --out not even created


def test_calibrate_does_not_learn_from_its_own_portrait_outputs(calibrated: dict) -> None:  # type: ignore[type-arg]
    summary = calibrated["summary"]
    by_file = {f["file"]: f for f in summary["files"]}
    assert by_file["tfjs_pose_portrait.jpg"]["reason"] == "guide_output"
    assert by_file["tfjs_pose_portrait.jpg"]["accepted"] is False and "framing" not in by_file["tfjs_pose_portrait.jpg"]
    assert summary["accepted"] == 2 and summary["photos"] == 4
    assert summary["groups"]["landscape"]["count"] == 1  # tfjs_pose.jpg once, not twice


# --- 3. contact sheets ---------------------------------------------------------------------


def test_a_sheet_that_could_not_be_written_is_not_reported(tmp_path: Path) -> None:
    refs = tmp_path / "refs"
    refs.mkdir()
    shutil.copy(PEOPLE / "tfjs_pose.jpg", refs / "a.jpg")
    env = {"GUIDE_PROFILE_DIR": str(tmp_path / "calibration")}
    sheet = tmp_path / ("s" * 250 + ".png")  # a fine name, but its temporary file's name is too long
    result = run("calibrate", str(refs), "--sheet", str(sheet), env=env)
    assert result.exit_code == 1, result.stderr
    assert "contact sheet:" not in result.stdout and result.stdout.rstrip().endswith("no contact sheet")
    lines = [line for line in result.stderr.splitlines() if not line.startswith("guide: note:")]  # one photo: noted
    assert len(lines) == 1 and lines[0].startswith("guide: error: contact sheet not written: "), result.stderr
    assert (tmp_path / "calibration" / "default.json").exists() and not sheet.exists()
    result = run("calibrate", str(refs), "--sheet", str(sheet), "--json", env=env)
    assert result.exit_code == 1 and json.loads(result.stdout)["sheet"] is None


def test_a_sheet_into_a_file_is_refused_before_any_work(tmp_path: Path) -> None:
    blocker = tmp_path / "outfile"
    blocker.write_text("x")
    env = {"GUIDE_PROFILE_DIR": str(tmp_path / "calibration")}
    result = run("calibrate", str(PEOPLE), "--sheet", str(blocker / "x.png"), env=env)
    assert result.exit_code == 2 and result.stderr.count("\n") == 1
    assert result.stderr.startswith(f"guide: error: --sheet {blocker / 'x.png'}: {blocker} is a file")
    assert not (tmp_path / "calibration").exists()


def test_sheet_help_matches_the_default(calibrated: dict) -> None:  # type: ignore[type-arg]
    help_text = " ".join(run("calibrate", "--help").stdout.replace("│", " ").split())
    assert "Without --sheet: NAME_sheet.png beside the profile" in help_text
    assert "--sheet PATH" in help_text
    profile_dir = Path(calibrated["env"]["GUIDE_PROFILE_DIR"])
    assert calibrated["summary"]["sheet"] == str(profile_dir / "anna_sheet.png")
    assert (profile_dir / "anna_sheet.png").stat().st_size > 1000


# --- 4. switches in --help -----------------------------------------------------------------


@pytest.mark.parametrize("command", [["analyze"], ["calibrate"], ["models"], ["profiles"], ["profiles", "show"],
                                     ["portrait"]])
def test_switches_show_as_plain_flags_in_help(command: list[str]) -> None:
    result = run(*command, "--help")
    assert result.exit_code == 0
    rows = [line for line in result.stdout.splitlines() if "--json" in line or "--force" in line]
    assert rows, result.stdout
    for row in rows:
        assert "<bool>" not in row, row


# --- 5. profiles show ----------------------------------------------------------------------


def test_profiles_show_is_a_readable_summary_and_json_on_request(calibrated: dict) -> None:  # type: ignore[type-arg]
    env = calibrated["env"]
    path = Path(env["GUIDE_PROFILE_DIR"]) / "anna.json"
    result = run("profiles", "show", "anna", env=env)
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0] == f"profile anna: {path}"
    assert "mobilenet-075-stride16-quant2" in lines[1] and str(calibrated["refs"]) in lines[1]
    assert "2 photos used, 2 skipped (1 guide_output, 1 unreadable)" in lines[2]
    table = [line.split() for line in lines if line.startswith(("  square ", "  landscape "))]
    assert {row[1] for row in table} >= {"head_ratio", "body_fill", "headroom", "footroom", "center_x"}
    assert len(lines) < 25 and not result.stdout.lstrip().startswith("{")
    raw = run("profiles", "show", "anna", "--json", env=env)
    assert json.loads(raw.stdout) == json.loads(path.read_text())
    missing = run("profiles", "show", "nobody", env=env)
    assert missing.exit_code == 2 and missing.stderr.count("\n") == 1


# --- 6. where profiles live ----------------------------------------------------------------


def test_profiles_says_which_folder_it_reads(calibrated: dict, tmp_path: Path,  # type: ignore[type-arg]
                                             monkeypatch: pytest.MonkeyPatch) -> None:
    env = calibrated["env"]
    listed = run("profiles", env=env)
    assert listed.stdout.splitlines()[0].startswith(f"profiles in {env['GUIDE_PROFILE_DIR']} ")
    assert json.loads(run("profiles", "--json", env=env).stdout)[0]["path"] == str(
        Path(env["GUIDE_PROFILE_DIR"]) / "anna.json")
    monkeypatch.chdir(tmp_path)  # the default folder is relative to where guide runs: say which it is
    empty = run("profiles", env={"GUIDE_PROFILE_DIR": None})
    assert empty.exit_code == 0 and f"no profiles in {tmp_path / 'calibration'} yet" in empty.stdout


# --- 7. nearly-square frames ---------------------------------------------------------------


def test_nearly_square_frames_are_square() -> None:
    assert orientation_of(1000, 1002) == orientation_of(1002, 1000) == orientation_of(1000, 1020) == "square"
    assert orientation_of(1000, 1000) == orientation_of(1, 1) == "square"
    assert orientation_of(1000, 1021) == "portrait" and orientation_of(1021, 1000) == "landscape"
    assert orientation_of(1080, 1350) == "portrait" and orientation_of(640, 480) == "landscape"  # 4:5, 4:3


def test_a_1000x1002_reference_joins_the_square_group(calibrated: dict) -> None:  # type: ignore[type-arg]
    by_file = {f["file"]: f for f in calibrated["summary"]["files"]}
    assert by_file["mmpose_S7_Greeting.55011271_000396.jpg"]["orientation"] == "square"
    assert set(calibrated["summary"]["groups"]) == {"landscape", "square"}
