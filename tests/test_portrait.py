"""Portrait mode on the real model, with exact ground truth: the PIFu person pasted onto real backgrounds."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from guide import portrait as P
from guide.analyze import still_resolution
from guide.cli import app
from guide.metrics import mask_iou, pennfudan_samples
from guide.parse import BodyParse, parse

from conftest import DATA, PENNFUDAN, PEOPLE

PIFU = DATA / "pifu"
runner = CliRunner()


def body_of(model, image: np.ndarray) -> BodyParse:  # type: ignore[no-untyped-def]
    return parse(model.predict(image, still_resolution(*image.shape[:2])), keep_probability=True)


@pytest.fixture(scope="module")
def person() -> tuple[np.ndarray, np.ndarray]:
    """The PIFu person cropped to its exact mask (the PNG's background is black, the mask is exact)."""
    rgb = np.asarray(Image.open(PIFU / "ryota.png").convert("RGB"))
    mask = np.asarray(Image.open(PIFU / "ryota_mask.png")) > 0
    ys, xs = np.nonzero(mask)
    box = slice(ys.min(), ys.max() + 1), slice(xs.min(), xs.max() + 1)
    return cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR)[box], mask[box]


def paste(background: np.ndarray, person: tuple[np.ndarray, np.ndarray], x: int, y: int, height: int):  # type: ignore[no-untyped-def]
    img, mask = person
    width = round(mask.shape[1] * height / mask.shape[0])
    img = cv2.resize(img, (width, height), interpolation=cv2.INTER_AREA)
    mask = cv2.resize(mask.astype(np.uint8), (width, height), interpolation=cv2.INTER_NEAREST) > 0
    out, truth = background.copy(), np.zeros(background.shape[:2], bool)
    out[y : y + height, x : x + width][mask] = img[mask]
    truth[y : y + height, x : x + width] = mask
    return out, truth


def backgrounds() -> list[tuple[np.ndarray, int, int, int]]:
    """(background, x, y, person height): real street photos, several places and sizes."""
    city = cv2.imread(str(PEOPLE / "tfjs_cityscapes.jpg"))
    right = cv2.resize(city[:, city.shape[1] // 2 :], (850, 850), interpolation=cv2.INTER_LINEAR)
    wide = cv2.resize(city, (1280, 640), interpolation=cv2.INTER_LINEAR)
    return [(right, 100, 200, 600), (right, 500, 350, 450), (wide, 850, 150, 420)]


def high_freq(image: np.ndarray, where: np.ndarray) -> float:
    gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(np.mean(cv2.Laplacian(gray, cv2.CV_32F)[where] ** 2))


@pytest.mark.parametrize("case", range(3))
def test_pasted_person_sharp_background_blurred_without_halo(model, person, case: int) -> None:  # type: ignore[no-untyped-def]
    background, x, y, height = backgrounds()[case]
    photo, truth = paste(background, person, x, y, height)
    body = body_of(model, photo)
    out, alpha = P.render_with_matte(photo, body, settings=P.STILL)
    assert out.shape == photo.shape and out.dtype == np.uint8

    # Interior (4 px in from the exact outline) unchanged.
    inner = cv2.erode(truth.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    diff = np.abs(out.astype(int) - photo.astype(int)).max(axis=2)[inner]
    assert diff.mean() < 0.5 and np.mean(diff == 0) > 0.95, (diff.mean(), np.mean(diff == 0))

    # Far background strongly smoothed.
    dist = cv2.distanceTransform((~truth).astype(np.uint8), cv2.DIST_L2, 5)
    far = dist > 60
    assert high_freq(out, far) < 0.15 * high_freq(photo, far)

    # Halo: 3..30 px outside the person the output should be a blur of the background alone.
    # People in the background photo itself stay sharp by design: leave their surroundings out.
    own = cv2.dilate(body_of(model, background).mask.astype(np.uint8), np.ones((31, 31), np.uint8)) > 0
    ring = (dist >= 3) & (dist <= 30) & ~own
    focus = P.focus_line(body)
    truth_bg = P.lens_blur(background, None, P.DEFAULT_STRENGTH, focus, P.STILL).astype(np.float32)
    naive_bg = P.lens_blur(photo, None, P.DEFAULT_STRENGTH, focus, P.STILL)
    naive = P.composite(photo, naive_bg, P.full_matte(alpha))

    def err(img: np.ndarray) -> float:
        return float(np.mean(np.abs(img.astype(np.float32) - truth_bg)[ring]))

    assert err(out) <= 0.5 * err(naive), (err(out), err(naive))
    # The blur alone, with the exact matte: no trace of the person in the background.
    exact = P.full_matte(truth.astype(np.float32))
    ours_exact = P.composite(photo, P.lens_blur(photo, truth.astype(np.float32), P.DEFAULT_STRENGTH, focus, P.STILL), exact)
    naive_exact = P.composite(photo, naive_bg, exact)
    assert err(ours_exact) <= 0.25 * err(naive_exact), (err(ours_exact), err(naive_exact))

    # The refined matte fits the exact outline at least as well as the model's mask (away from other people).
    keep = ~own | truth
    assert mask_iou((alpha > 0.5) & keep, truth) >= mask_iou(body.mask & keep, truth) - 0.005


def test_refined_matte_iou_on_pennfudan_at_least_raw(model) -> None:  # type: ignore[no-untyped-def]
    raw, refined = [], []
    for sample in pennfudan_samples(PENNFUDAN)[::10]:
        image = cv2.imread(str(sample.image_path))
        body = body_of(model, image)
        raw.append(mask_iou(body.mask, sample.person_mask))
        refined.append(mask_iou(P.matte_for(image, body, P.STILL).alpha > 0.5, sample.person_mask))
    assert np.mean(refined) >= np.mean(raw), (np.mean(refined), np.mean(raw))


def test_every_person_stays_sharp_in_a_group_photo(model) -> None:  # type: ignore[no-untyped-def]
    image = cv2.imread(str(PEOPLE / "tfjs_pascal.jpg"))
    body = body_of(model, image)
    assert len(body.people) >= 4
    out = P.render_portrait(image, body, settings=P.LIVE)  # the live settings work on stills too
    changed = np.abs(out.astype(int) - image.astype(int)).max(axis=2) > 2
    for i in range(len(body.people)):
        core = cv2.erode(body.person_mask(i).astype(np.uint8), np.ones((15, 15), np.uint8)) > 0
        if core.sum() > 200:
            assert changed[core].mean() < 0.02, i
    assert changed[~cv2.dilate(body.mask.astype(np.uint8), np.ones((41, 41), np.uint8)).astype(bool)].mean() > 0.3


def test_bright_point_becomes_a_bright_disc() -> None:
    image = np.full((400, 400, 3), 20, np.uint8)
    image[198:202, 198:202] = 255
    radius = P.DEFAULT_STRENGTH / 100 * 400 / 2  # 6 px
    out = P.lens_blur(image, None, P.DEFAULT_STRENGTH, None, P.STILL).astype(int)[:, :, 1]
    y, x = np.mgrid[:400, :400]
    r = np.hypot(x - 199.5, y - 199.5)
    inside, outside = out[r < 0.6 * radius], out[(r > 1.5 * radius) & (r < 3 * radius)]
    assert inside.min() > 40  # linear light + highlight boost: a visible disc, not a faint smudge
    assert inside.max() - inside.min() < 0.35 * (inside.mean() - 20)  # flat top (a Gaussian would peak)
    assert np.abs(outside - 20).max() <= 3  # hard-ish rim


def test_fit_background_covers_without_stretching() -> None:
    back = np.zeros((100, 400, 3), np.uint8)
    back[:, :, 0] = np.arange(400)[None, :] * 255 // 399
    back[40:60, 190:210] = 255
    fitted = P.fit_background(back, 300, 300)
    assert fitted.shape == (300, 300, 3)
    square = fitted[120:180, 120:180, 1] > 128  # the 20x20 square, scaled 3x, still square and centred
    ys, xs = np.nonzero(square)
    assert abs((ys.max() - ys.min()) - (xs.max() - xs.min())) <= 2


def test_cli_writes_beside_keeps_exif_and_never_overwrites(tmp_path: Path) -> None:
    src = Image.open(PEOPLE / "tfjs_pose.jpg")
    exif = Image.Exif()
    exif[0x010F] = "TestMaker"
    exif[0x0112] = 6  # stored sideways: shown rotated 90 degrees clockwise
    photo = tmp_path / "shot.jpg"
    src.transpose(Image.Transpose.ROTATE_90).save(photo, quality=95, exif=exif.tobytes())
    gray, rgba = tmp_path / "gray.png", tmp_path / "rgba.png"
    src.convert("L").save(gray)
    src.convert("RGBA").save(rgba)
    for _ in range(2):
        result = runner.invoke(app, ["portrait", str(photo), str(gray), str(rgba)], catch_exceptions=False)
        assert result.exit_code == 0, result.stderr
    for name in ("shot_portrait.jpg", "shot_portrait-2.jpg", "gray_portrait.jpg", "rgba_portrait-2.jpg"):
        assert (tmp_path / name).exists(), name
    out = Image.open(tmp_path / "shot_portrait.jpg")
    assert out.size == src.size  # upright, as the input is displayed
    assert out.getexif()[0x010F] == "TestMaker" and out.getexif().get(0x0112, 1) == 1
    assert out.info.get("progression") is None and Image.open(tmp_path / "gray_portrait.jpg").size == src.size


def test_cli_bad_input(tmp_path: Path) -> None:
    good = PEOPLE / "tfjs_pose.jpg"
    corrupt = tmp_path / "corrupt.jpg"
    corrupt.write_bytes(b"\xff\xd8\xff\xe0" + bytes(2000))
    city = cv2.imread(str(PEOPLE / "tfjs_cityscapes.jpg"))
    empty = tmp_path / "empty_street.jpg"
    cv2.imwrite(str(empty), city[:150, 500:])  # building fronts, nobody
    out = tmp_path / "new" / "deeper"
    result = runner.invoke(
        app, ["portrait", str(corrupt), str(empty), str(good), "--out", str(out), "--mask-out", str(out / "m"),
              "--background", str(PEOPLE / "tfjs_cityscapes.jpg"), "--strength", "5"],
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    lines = result.stderr.strip().splitlines()
    errors = [line for line in lines if line.startswith("guide: error: ")]
    assert len(errors) == 2 and "Traceback" not in result.stderr, result.stderr
    assert "corrupt" in errors[0] and "no person" in errors[1]
    assert sorted(p.name for p in out.iterdir() if p.is_file()) == ["tfjs_pose_portrait.jpg"]
    matte = cv2.imread(str(out / "m" / "tfjs_pose_matte.png"), cv2.IMREAD_UNCHANGED)
    assert matte.shape == (667, 1000) and matte.dtype == np.uint8 and 0 < matte.mean() < 128

    result = runner.invoke(app, ["portrait", str(empty), "--out", str(out), "--force"], catch_exceptions=False)
    assert result.exit_code == 0 and (out / "empty_street_portrait.jpg").exists()

    blocker = tmp_path / "a_file"
    blocker.write_text("x")
    for args in (["--out", str(blocker)], ["--background", str(corrupt)]):
        result = runner.invoke(app, ["portrait", str(good), *args], catch_exceptions=False)
        assert result.exit_code == 2 and result.stderr.startswith("guide: error: "), args
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    result = runner.invoke(app, ["portrait", str(good), "--strength", "0"], catch_exceptions=False)
    assert result.exit_code == 2 and "Traceback" not in result.stderr  # refused by the option parser


@pytest.mark.parametrize("size", [(1000, 2049), (2049, 700), (1537, 1537), (1, 1), (3, 4000)])
def test_odd_frame_sizes_render(model, size) -> None:  # type: ignore[no-untyped-def]
    """Sides one pixel past a tile multiple once left a tile without matte pixels."""
    from guide.parse import parse as parse_raw

    h, w = size
    image = cv2.resize(cv2.imread(str(PEOPLE / "tfjs_posenet_frisbee.jpg")), (w, h), interpolation=cv2.INTER_AREA)
    body = parse_raw(model.predict(image, 0.5), keep_probability=True)
    out = P.render_portrait(image, body)
    assert out.shape == image.shape and out.dtype == np.uint8


def test_rerun_on_a_folder_skips_its_own_outputs(tmp_path: Path) -> None:
    import shutil

    shutil.copy(PEOPLE / "tfjs_posenet_frisbee_2.jpg", tmp_path / "park.jpg")
    runner = CliRunner()
    assert runner.invoke(app, ["portrait", str(tmp_path)]).exit_code == 0
    again = runner.invoke(app, ["portrait", str(tmp_path)])
    assert again.exit_code == 0 and again.stderr == "guide: skipped 1 earlier guide output (1 *_portrait*)\n"
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["park.jpg", "park_portrait-2.jpg", "park_portrait.jpg"], names
