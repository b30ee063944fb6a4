"""`guide analyze` and friends as a user runs them, bad input included."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from guide.cli import app

from conftest import MODELS, PEOPLE, REPO

runner = CliRunner()


def run(*args: str):  # type: ignore[no-untyped-def]
    return runner.invoke(app, list(args), catch_exceptions=False)


@pytest.fixture(scope="module")
def bad_inputs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("bad")
    good = PEOPLE / "tfjs_posenet_frisbee_2.jpg"
    data = good.read_bytes()
    files = {
        "missing": d / "missing.jpg",
        "directory": d / "a_folder.jpg",
        "zero": d / "zero.jpg",
        "corrupt": d / "corrupt.jpg",
        "truncated_jpeg": d / "truncated.jpg",
        "truncated_png": d / "truncated.png",
        "text": d / "notes.png",
    }
    files["directory"].mkdir()
    files["zero"].write_bytes(b"")
    files["corrupt"].write_bytes(b"\xff\xd8\xff\xe0" + os.urandom(3000))
    files["truncated_jpeg"].write_bytes(data[: len(data) // 2])
    png = cv2.imencode(".png", cv2.imread(str(good)))[1].tobytes()
    files["truncated_png"].write_bytes(png[: len(png) // 2])
    files["text"].write_text("not an image")
    return files


@pytest.fixture(scope="module")
def odd_images(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Readable images in the modes phones and editors produce."""
    d = tmp_path_factory.mktemp("odd")
    rgb = Image.open(PEOPLE / "tfjs_posenet_frisbee_2.jpg").convert("RGB")
    out = {"gray": d / "gray.png", "sixteen": d / "sixteen.png", "rgba": d / "rgba.png", "tiny": d / "tiny.png"}
    rgb.convert("L").save(out["gray"])
    arr16 = (np.asarray(rgb.convert("L")).astype(np.uint16) * 257)
    Image.fromarray(arr16).save(out["sixteen"])
    rgba = rgb.convert("RGBA")
    rgba.putalpha(200)
    rgba.save(out["rgba"])
    Image.new("RGB", (1, 1), (10, 20, 30)).save(out["tiny"])
    return out


def test_version_and_help() -> None:
    result = run("--version")
    assert result.exit_code == 0 and result.stdout.startswith("guide ")
    result = run("--help")
    assert result.exit_code == 0 and "analyze" in result.stdout and "models" in result.stdout


def test_models_lists_variants_and_local_copies() -> None:
    result = run("models", "--json")
    assert result.exit_code == 0
    rows = {r["name"]: r for r in json.loads(result.stdout)}
    assert rows["mobilenet-075-stride16-quant2"]["default"] is True
    assert rows["mobilenet-075-stride16-quant2"]["local"] == str(MODELS / "mobilenet-075-stride16-quant2")
    assert rows["resnet50-stride16-float"]["local"] is None
    assert "resnet50-stride16-float" in run("models").stdout


def test_analyze_json_masks_and_annotation(tmp_path: Path) -> None:
    photos = [PEOPLE / "tfjs_pose.jpg", PEOPLE / "tfjs_pascal.jpg", PEOPLE / "tfjs_cityscapes.jpg"]
    result = run("analyze", *map(str, photos), "--json", "--masks", str(tmp_path / "m"), "--annotate", str(tmp_path / "a"))
    assert result.exit_code == 0, result.stderr
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["image"] for r in records] == [str(p) for p in photos]
    pose = records[0]
    assert (pose["width"], pose["height"]) == (1000, 667) and pose["subject"] == 0
    person = pose["people"][0]
    for key in ("score", "bbox", "mask_area", "head_top", "chin", "feet", "keypoints", "cut"):
        assert key in person
    assert len(person["keypoints"]) == 17 and len(person["keypoints"]["nose"]) == 3
    assert person["head_top"][1] < person["chin"][1] < person["feet"][1] and person["cut"] == []
    assert len(records[1]["people"]) >= 4
    for photo in photos:
        mask = cv2.imread(str(tmp_path / "m" / f"{photo.stem}.png"), cv2.IMREAD_UNCHANGED)
        image = cv2.imread(str(photo))
        assert mask.shape == image.shape[:2] and set(np.unique(mask)) <= {0, 255}
        assert (tmp_path / "a" / f"{photo.stem}_annotated.jpg").stat().st_size > 10_000
    ann = cv2.imread(str(tmp_path / "a" / "tfjs_pose_annotated.jpg"))
    assert np.mean(np.abs(ann.astype(int) - cv2.imread(str(photos[0])).astype(int))) > 3  # something drawn
    assert (pose["mask"], pose["annotated"]) == (str(tmp_path / "m" / "tfjs_pose.png"), str(tmp_path / "a" / "tfjs_pose_annotated.jpg"))


def test_analyze_names_the_pictures_it_wrote_and_a_second_run_keeps_the_first(tmp_path: Path) -> None:
    """A second run writes <stem>_annotated-2.jpg beside the first: the plain line says where."""
    photo, out = PEOPLE / "tfjs_pose.jpg", tmp_path / "out"
    first = run("analyze", str(photo), "--annotate", str(out))
    assert first.exit_code == 0 and first.stdout.strip().endswith(f"; wrote {out / 'tfjs_pose_annotated.jpg'}")
    kept = (out / "tfjs_pose_annotated.jpg").read_bytes()
    second = run("analyze", str(photo), "--annotate", str(out), "--masks", str(out))
    assert second.exit_code == 0
    assert second.stdout.strip().endswith(f"; wrote {out / 'tfjs_pose.png'}, {out / 'tfjs_pose_annotated-2.jpg'}")
    assert (out / "tfjs_pose_annotated.jpg").read_bytes() == kept and (out / "tfjs_pose_annotated-2.jpg").exists()


def test_bad_inputs_each_give_one_line_and_the_rest_still_run(bad_inputs: dict[str, Path], tmp_path: Path) -> None:
    good = PEOPLE / "tfjs_posenet_frisbee_2.jpg"
    args = [str(p) for p in bad_inputs.values()] + [str(good)]
    result = run("analyze", *args, "--json", "--masks", str(tmp_path / "masks"))
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == len(bad_inputs), result.stderr
    assert all(line.startswith("guide: error: ") for line in lines)
    assert "Traceback" not in result.stderr
    assert "no such file" in lines[0] and "folder with no photos" in lines[1] and "empty file" in lines[2]
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["image"] for r in records] == [str(good)]
    assert (tmp_path / "masks" / f"{good.stem}.png").exists()


def test_odd_but_valid_images_are_analyzed(odd_images: dict[str, Path]) -> None:
    result = run("analyze", *map(str, odd_images.values()), "--json")
    assert result.exit_code == 0, result.stderr
    records = {Path(r["image"]).stem: r for r in map(json.loads, result.stdout.splitlines())}
    assert set(records) == set(odd_images)
    for name in ("gray", "sixteen", "rgba"):
        assert records[name]["subject"] is not None, name
    assert records["tiny"]["people"] == [] and (records["tiny"]["width"], records["tiny"]["height"]) == (1, 1)


def test_huge_image_is_processed_downscaled_and_reported_in_original_pixels(tmp_path: Path) -> None:
    src = cv2.imread(str(PEOPLE / "tfjs_posenet_frisbee_2.jpg"))
    big = cv2.resize(src, (10_000, 10_000), interpolation=cv2.INTER_LINEAR)
    path = tmp_path / "huge.jpg"
    cv2.imwrite(str(path), big, [cv2.IMWRITE_JPEG_QUALITY, 80])
    del big
    result = run("analyze", str(path), "--json", "--masks", str(tmp_path))
    assert result.exit_code == 0, result.stderr
    record = json.loads(result.stdout)
    assert (record["width"], record["height"]) == (10_000, 10_000)
    small = json.loads(run("analyze", str(PEOPLE / "tfjs_posenet_frisbee_2.jpg"), "--json").stdout)
    ratio = 10_000 / 513
    big_p, small_p = record["people"][record["subject"]], small["people"][small["subject"]]
    assert abs(big_p["feet"][1] - small_p["feet"][1] * ratio) < 0.03 * 10_000
    assert cv2.imread(str(tmp_path / "huge.png"), cv2.IMREAD_GRAYSCALE).shape == (10_000, 10_000)


def test_missing_model_exits_2_with_one_line(tmp_path: Path) -> None:
    env = {**os.environ, "GUIDE_MODEL_DIR": str(tmp_path / "none"), "GUIDE_CACHE_DIR": str(tmp_path / "cache"),
           "GUIDE_MODEL_URL_BASE": "http://127.0.0.1:9"}
    if (REPO / "models" / "mobilenet-075-stride16-quant2").exists():
        pytest.skip("this checkout caches the default model in models/")
    result = subprocess.run(
        [sys.executable, "-m", "guide", "analyze", str(PEOPLE / "tfjs_pose.jpg")],
        capture_output=True, text=True, env=env, cwd=tmp_path, timeout=300,
    )
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("guide: error: ")
    assert "GUIDE_MODEL_DIR" in result.stderr


def test_short_shard_in_model_dir_exits_2(tmp_path: Path) -> None:
    folder = tmp_path / "mobilenet-075-stride16-quant2"
    shutil.copytree(MODELS / folder.name, folder)
    shard = folder / "group1-shard1of1.bin"
    shard.chmod(0o644)
    shard.write_bytes(shard.read_bytes()[:1000])
    result = run("analyze", str(PEOPLE / "tfjs_pose.jpg"), "--model", str(folder))
    assert result.exit_code == 2
    # A variant's folder is checked against the published digests first; elsewhere the manifest's byte counts.
    assert result.stderr.strip().count("\n") == 0 and "fails its sha256 check" in result.stderr


def test_wrong_options_are_refused() -> None:
    assert run("analyze", str(PEOPLE / "tfjs_pose.jpg"), "--resolution", "7").exit_code == 2
    assert run("analyze", str(PEOPLE / "tfjs_pose.jpg"), "--model", "no-such-variant").exit_code == 2
    assert run("analyze").exit_code == 2


def test_console_script_runs_as_module() -> None:
    result = subprocess.run([sys.executable, "-m", "guide", "--version"], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0 and result.stdout.startswith("guide ")


def test_exif_rotated_photo_is_analyzed_upright(tmp_path: Path) -> None:
    """A phone photo stored sideways with EXIF orientation 6 is measured as displayed."""
    upright = Image.open(PEOPLE / "tfjs_pose.jpg").convert("RGB")
    stored = upright.transpose(Image.Transpose.ROTATE_90)  # what the sensor wrote
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    path = tmp_path / "phone.jpg"
    stored.save(path, exif=exif, quality=92)
    rotated = json.loads(run("analyze", str(path), "--json").stdout)
    plain = json.loads(run("analyze", str(PEOPLE / "tfjs_pose.jpg"), "--json").stdout)
    assert (rotated["width"], rotated["height"]) == (plain["width"], plain["height"]) == (1000, 667)
    a, b = rotated["people"][rotated["subject"]], plain["people"][plain["subject"]]
    assert abs(a["head_top"][1] - b["head_top"][1]) < 15 and abs(a["feet"][1] - b["feet"][1]) < 15


def test_folder_argument_is_expanded(tmp_path: Path) -> None:
    for name in ("tfjs_posenet_frisbee.jpg", "tfjs_posenet_frisbee_2.jpg"):
        shutil.copy(PEOPLE / name, tmp_path / name)
    (tmp_path / "notes.txt").write_text("skip me")
    result = run("analyze", str(tmp_path), "--json")
    assert result.exit_code == 0
    assert [Path(json.loads(line)["image"]).name for line in result.stdout.splitlines()] == [
        "tfjs_posenet_frisbee.jpg", "tfjs_posenet_frisbee_2.jpg"]


def test_a_folder_s_earlier_annotations_are_skipped_and_bad_output_folders_stop_before_work(tmp_path: Path) -> None:
    """Annotating into the photos' own folder, then analysing the folder again: the picture drawn last time is
    not a photo. An output folder that cannot be made is exit 2 before any photo is analysed."""
    shutil.copy(PEOPLE / "tfjs_posenet_frisbee.jpg", tmp_path / "a.jpg")
    assert run("analyze", str(tmp_path), "--annotate", str(tmp_path)).exit_code == 0
    assert (tmp_path / "a_annotated.jpg").exists()
    again = run("analyze", str(tmp_path), "--json")
    assert again.exit_code == 0 and "skipped 1 earlier guide output" in again.stderr
    assert [Path(json.loads(line)["image"]).name for line in again.stdout.splitlines()] == ["a.jpg"]
    (tmp_path / "afile").write_text("x")
    blocked = run("analyze", str(tmp_path / "a.jpg"), "--json", "--masks", str(tmp_path / "afile" / "sub"))
    assert blocked.exit_code == 2 and blocked.stdout == "" and "cannot create folder" in blocked.stderr


def test_outputs_never_overwrite_inputs_or_each_other(tmp_path: Path) -> None:
    """Masks into the photos' own folder: `a.jpg` must not write over the input `a.png`."""
    src = tmp_path / "in"
    (src / "sub").mkdir(parents=True)
    shutil.copy(PEOPLE / "tfjs_posenet_frisbee.jpg", src / "a.jpg")
    png = src / "a.png"
    cv2.imwrite(str(png), cv2.imread(str(PEOPLE / "tfjs_posenet_frisbee_2.jpg")))
    before = png.read_bytes()
    shutil.copy(PEOPLE / "tfjs_posenet_frisbee_2.jpg", src / "sub" / "a.jpg")
    result = run("analyze", str(src), "--json", "--masks", str(src))
    assert result.exit_code == 1
    assert png.read_bytes() == before
    assert "would overwrite" in result.stderr
    assert len(result.stdout.splitlines()) == 3  # all three photos still analyzed and reported


@pytest.mark.parametrize("args", [["analyze", "--bogus", "x"], ["analyze"], ["portrait", "x.jpg", "--strength", "0"],
                                  ["live", "--resolution", "9"], ["calibrate"]])
def test_usage_mistakes_are_one_line_from_the_console_script(args: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "guide", *args], capture_output=True, text=True, timeout=120)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("guide: error: "), result.stderr
    assert "--help" in result.stderr
