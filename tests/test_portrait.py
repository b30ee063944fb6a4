"""Portrait mode on the real model, with exact ground truth: the PIFu person pasted onto real backgrounds."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image
from typer.testing import CliRunner

from guide import portrait as P
from guide.analyze import still_resolution
from guide.cli import app
from guide.matte import estimate_foreground
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


def plain_wall(height: int, width: int, seed: int = 0) -> np.ndarray:
    """A light grey studio wall: a gentle vignette and sensor noise, nothing else."""
    y, x = np.mgrid[:height, :width]
    r = np.hypot((x - width / 2) / width, (y - height / 2) / height)
    base = 236.0 - 18.0 * r
    noise = np.random.default_rng(seed).normal(0.0, 1.5, (height, width, 3))
    return np.clip(base[:, :, None] + noise + np.float32([2, 0, -2]), 0, 255).astype(np.uint8)


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
    focus = P.focus_plane(body)
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


def lowpass_shift(before: np.ndarray, after: np.ndarray, people: np.ndarray) -> float:
    """Mean |low-pass(after) - low-pass(before)| (levels) farther than the low-pass reaches from any person."""
    sigma = 0.03 * max(before.shape[:2])
    far = cv2.distanceTransform((~people).astype(np.uint8), cv2.DIST_L2, 5) > 2 * sigma
    lp = [cv2.GaussianBlur(x.astype(np.float32), (0, 0), sigma) for x in (before, after)]
    return float(np.abs(lp[1] - lp[0])[far].mean())


@pytest.mark.parametrize("name", ["mmfashion_01_4_full.jpg", "tfjs_posenet_person_bench.jpg"])
def test_blur_keeps_the_backgrounds_colour(model, name: str) -> None:  # type: ignore[no-untyped-def]
    """A white studio wall once turned yellow-green, sunlit leaves 20 levels brighter: a lens adds no light."""
    image = cv2.imread(str(PEOPLE / name))
    body = body_of(model, image)
    out, alpha = P.render_with_matte(image, body, settings=P.STILL)
    assert lowpass_shift(image, out, (alpha > 0.02) | body.mask) <= 3.0


def test_only_small_clipped_highlights_are_boosted_and_keep_their_hue() -> None:
    image = np.full((400, 400, 3), 60, np.uint8)
    image[:, 250:] = 252  # a large clipped area (a bright sky, a white wall)
    image[99:101, 99:101] = (40, 120, 255)  # a small orange light, red channel clipped
    out = P.lens_blur(image, None, P.DEFAULT_STRENGTH, None, P.STILL).astype(int)
    assert np.abs(out[:, 320:] - 252).max() <= 1  # the large area keeps its level
    spot = out[95:105, 95:105].reshape(-1, 3).mean(axis=0)
    plain = P.lens_blur(image, None, P.DEFAULT_STRENGTH, None, replace(P.STILL, highlight_gain=1.0)).astype(int)
    assert spot[2] > plain[95:105, 95:105, 2].mean() + 15  # boosted into a bright disc
    assert spot[2] > spot[1] > spot[0]  # still orange: red over green over blue


def test_floor_at_the_feet_is_sharp_and_the_far_background_blurred(model) -> None:  # type: ignore[no-untyped-def]
    image = cv2.imread(str(PEOPLE / "tfjs_pose.jpg"))  # standing on a yoga mat on a beach
    body = body_of(model, image)
    plane = P.focus_plane(body)
    assert plane is not None and 625 < plane.feet_y < 662, plane  # the feet (and the mat's near edge)
    out, alpha = P.render_with_matte(image, body, settings=P.STILL)
    background = alpha < 0.01
    feet = int(plane.feet_y)
    at_feet, far = np.zeros_like(background), np.zeros_like(background)
    at_feet[feet - 6 : feet + 3] = True
    far[: int(plane.horizon_y)] = True
    assert np.abs(out.astype(int) - image.astype(int))[at_feet & background].mean() < 2.0  # the mat and sand: sharp
    assert high_freq(out, far & background) < 0.3 * high_freq(image, far & background)
    fractions = plane.blur_fraction(np.array([plane.feet_y, (plane.feet_y + plane.horizon_y) / 2, plane.horizon_y - 1]))
    assert fractions[0] == 0.0 and 0.3 < fractions[1] < 0.7 and fractions[2] == 1.0


def test_new_background_on_a_plain_wall_has_no_halo(model, person) -> None:  # type: ignore[no-untyped-def]
    """On a plain light wall the model's edge lay 15-25 px outside the body: a light halo on a new background."""
    photo, truth = paste(plain_wall(850, 850), person, 200, 100, 600)
    body = body_of(model, photo)
    colour = np.array([255, 0, 255], np.uint8)
    out = P.render_with_matte(photo, body, background=np.full((4, 4, 3), colour), settings=P.STILL)[0]
    dist = cv2.distanceTransform((~truth).astype(np.uint8), cv2.DIST_L2, 5)
    ring = (dist >= 4) & (dist <= 24)
    stays = np.abs(out.astype(int) - colour).max(axis=2)[ring] <= 16
    assert stays.mean() >= 0.9, stays.mean()
    inner = cv2.erode(truth.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert np.abs(out.astype(int) - photo.astype(int)).max(axis=2)[inner].mean() < 1.0  # the person is all there


def test_edge_colours_are_the_persons_own(person) -> None:  # type: ignore[no-untyped-def]
    """Soft edge pixels mix the old background in; the foreground estimate takes it back out."""
    img, mask = person
    city = cv2.imread(str(PEOPLE / "tfjs_cityscapes.jpg"))
    back = cv2.resize(city[:, :425], (mask.shape[1], mask.shape[0])).astype(np.float32) / 255
    fore = img.astype(np.float32) / 255
    alpha = np.clip(cv2.GaussianBlur(mask.astype(np.float32), (0, 0), 2.0), 0, 1)
    photo = np.clip((alpha[:, :, None] * fore + (1 - alpha[:, :, None]) * back) * 255 + 0.5, 0, 255).astype(np.uint8)
    soft = (alpha > 0.05) & (alpha < 0.95) & mask
    est = estimate_foreground(photo, alpha, 20)
    err_est = np.abs(est - fore)[soft].mean()
    err_none = np.abs(photo / 255.0 - fore)[soft].mean()
    assert err_est < 0.7 * err_none, (err_est, err_none)


def test_preview_blur_is_fast_and_keeps_the_person(model) -> None:  # type: ignore[no-untyped-def]
    import time

    frame = cv2.resize(cv2.imread(str(PEOPLE / "tfjs_pose.jpg")), (960, 640), interpolation=cv2.INTER_AREA)
    raw = model.predict(frame, 0.5)
    from guide.parse import model_grid

    body = parse(raw, keep_probability=True, grid=model_grid(raw))  # the live loop's model-raster parse
    out = P.preview_blur(frame, body.probability)
    assert out.shape == frame.shape and out.dtype == np.uint8
    t0 = time.perf_counter()
    for _ in range(5):
        P.preview_blur(frame, body.probability)
    assert (time.perf_counter() - t0) / 5 < 0.1
    person = cv2.resize(body.mask.astype(np.uint8), (960, 640), interpolation=cv2.INTER_NEAREST) > 0
    core = cv2.erode(person.astype(np.uint8), np.ones((21, 21), np.uint8)) > 0
    assert np.abs(out.astype(int) - frame.astype(int)).max(axis=2)[core].mean() < 3
