"""Live subject-centred inference on real people: sizes, passers-by, leaving and coming back, cost."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from guide.live import Analyzer, LiveOptions
from guide.measure import framing
from guide.sources import Frame
from helpers import SHARED, lone_pedestrians, padded_scene, place_person, run_guide, street_clip, walk, write_clip


def guide(*args: str):  # type: ignore[no-untyped-def]
    return run_guide(*args, env={"GUIDE_PROFILE_DIR": "/nonexistent-guide-profiles"})


def sample_people(n: int) -> list:  # type: ignore[type-arg]
    people = lone_pedestrians()
    return list(people[:: len(people) // n][:n])


def held(model, image: np.ndarray, frames: int = 6) -> list:  # type: ignore[no-untyped-def, type-arg]
    """The live analyzer's view of one still scene held for a few frames."""
    analyzer = Analyzer(model, None, LiveOptions(window=False))
    return [analyzer(Frame(image, i, i / 30)) for i in range(frames)]


@pytest.mark.parametrize("share", [0.25, 0.4, 0.6, 0.9])
def test_live_finds_people_at_every_size(live_model, share: float) -> None:  # type: ignore[no-untyped-def]
    """People from a quarter of the frame height to nine tenths are found, with the right body fill."""
    good = total = 0
    for person in sample_people(8):
        placed = place_person(person, share, (640, 480))
        truth = placed.height / 480
        for analysis in held(live_model, placed.image):
            body = analysis.parse
            fr = framing(body, body.subject, analysis.marks) if body.subject is not None else None
            good += fr is not None and fr.body_fill is not None and abs(fr.body_fill / truth - 1) <= 0.15
            total += 1
    assert good / total >= 0.9, f"{good}/{total} frames right at {share:.0%} of the frame height"


def test_live_cost_does_not_grow_with_the_camera(live_model) -> None:  # type: ignore[no-untyped-def]
    """The same scene at 640x480 and at 1920x1080: the rasters the model and parse work on are the same size."""
    import cv2

    person = sample_people(4)[1]
    small = place_person(person, 0.5, (640, 480), centre_x=0.5).image
    big = cv2.resize(small[60:420], (1920, 1080), interpolation=cv2.INTER_CUBIC)  # 16:9 band, scaled up
    a, b = held(live_model, small, 3)[-1], held(live_model, big, 3)[-1]
    assert a.roi is not None and b.roi is not None
    assert 0.66 < b.parse.mask.size / a.parse.mask.size < 1.5
    # And they agree on the framing.
    assert abs(a.framing.body_fill * 480 / 360 - b.framing.body_fill) < 0.05


def test_passer_by_does_not_take_the_subjects_place(tmp_path: Path) -> None:
    """A taller passer-by walks in front of the subject: the log keeps one subject_id, and its body fill."""
    people = lone_pedestrians()
    clip = write_clip(
        tmp_path / "pass.avi", street_clip(people[3], [0.4] * 30, passer=people[10], passer_xs=walk(1.1, -0.1, 30))
    )
    log = tmp_path / "frames.jsonl"
    result = guide("live", "--source", str(clip), "--no-window", "--log", str(log))
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    ids = [r["subject_id"] for r in lines]
    assert ids[0] is not None and {i for i in ids if i is not None} == {ids[0]}
    assert sum(i is None for i in ids) <= 6  # hidden behind the passer-by for a moment at most
    fills = [r["framing"]["body_fill"] for r in lines if r["framing"] and r["framing"]["body_fill"]]
    assert max(fills) < 0.68  # never the passer-by's 0.75
    assert all(abs(r["framing"]["body_fill"] - 0.5) < 0.05 for r in lines[-4:])
    for r in lines:
        assert set(r) >= {"subject_id", "roi"}
        if r["roi"] is not None:
            x0, y0, x1, y1 = r["roi"]
            assert 0 <= x0 < x1 <= 640 and 0 <= y0 < y1 <= 480


def test_subject_who_leaves_and_comes_back_is_found_again(live_model) -> None:  # type: ignore[no-untyped-def]
    people = lone_pedestrians()
    xs: list[float | None] = [*walk(0.5, 1.3, 10), *([None] * 8), *walk(1.3, 0.5, 12)]
    frames = street_clip(people[5], xs)
    analyzer = Analyzer(live_model, None, LiveOptions(window=False))
    found = [analyzer(Frame(f, i, i / 10)).subject_id for i, f in enumerate(frames)]
    assert found[0] is not None and all(i is None for i in found[12:18])
    back = next(i for i, x in enumerate(xs) if i > 18 and x is not None and x <= 0.9)  # whole body in view again
    assert any(i is not None for i in found[back : back + 3]), found
    assert all(i is not None for i in found[-4:])


def test_someone_too_close_and_cut_by_the_frame_is_still_the_subject(live_model) -> None:  # type: ignore[no-untyped-def]
    """Head cut by the top of the frame: they are told to step back or aim up, never 'no one in frame'."""
    told = []
    for person in sample_people(6):
        placed = place_person(person, 1.1, (640, 480), feet_at=0.97)
        guidance = held(live_model, placed.image)[-1].guidance
        told.append(guidance.advice[0].action if guidance.advice else guidance.message)
    assert sum(a in ("step_back", "aim_up") for a in told) >= 5, told


def _view(image: np.ndarray, centre: tuple[float, float], height: float, roll: float) -> np.ndarray:
    """A 640x480 camera view inside `image` as bench/closed_loop.py's virtual camera made it until 2026-11-24
    (the same arithmetic and scene, to the byte; `--scene faded` now): centre and height in image pixels,
    rolled `roll` degrees."""
    scene, pad = padded_scene(image)
    scale, a = height / 480, np.radians(-roll)
    c, s = np.cos(a) * scale, np.sin(a) * scale
    x, y = centre[0] + pad, centre[1] + pad
    m = np.array([[c, -s, x - c * 320 + s * 240], [s, c, y - s * 320 - c * 240]])
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    return cv2.warpAffine(scene, m, (640, 480), flags=flags, borderMode=cv2.BORDER_REPLICATE)


def test_a_subject_whose_first_whole_frame_box_is_too_tall_is_kept(live_model) -> None:  # type: ignore[no-untyped-def]
    """TS2 on a green screen, a view at the photo's left edge: the search pass's mask runs on into the green
    floor cloth (a box 1.5x too tall), and every right-sized sighting after it failed the size check: the
    subject was "no one in frame" from the second frame on. The first crop's size now replaces it.
    The view is bench/closed_loop.py's seed 2, third start; the bleed needs it to the byte (a copy a grey
    level off in places was not enough), so another TensorFlow or OpenCV may make this test pass on the old
    code too, never fail on this one."""
    photo = cv2.imread(str(SHARED / "data" / "people" / "mmpose_TS2_001850.jpg"))
    image = _view(photo, (2399.4598265071245 - 2048, 3247.326911534498 - 2048), 1322.508157702872, -6.529576777688982)
    seen = held(live_model, image, frames=8)
    assert all(a.subject_id is not None for a in seen), [a.guidance.message for a in seen]


@pytest.mark.parametrize("later, same", [(1.0, True), (4.0, False)])
def test_the_subject_keeps_their_id_across_a_step_closer(live_model, later: float, same: bool) -> None:  # type: ignore[no-untyped-def]
    """The user steps closer with the camera off them for a second: the same person, twice the size, is the
    same subject, and the follow-up (a body-axis turn already made, an ask already dropped) goes on with them.
    Until 2026-11-24 a size change past 1.5x made them someone new (bench/closed_loop.py: 43 of 300 starts).
    Back only after RETURN_SECONDS, someone twice the size is someone new, as before."""
    person = sample_people(6)[2]
    far = place_person(person, 0.4, (640, 480), feet_at=0.8).image
    near = place_person(person, 0.8, (640, 480), feet_at=0.9).image
    analyzer = Analyzer(live_model, None, LiveOptions(window=False))
    before = [analyzer(Frame(far, i, i / 15)).subject_id for i in range(8)]
    after = [analyzer(Frame(near, 8 + i, 7 / 15 + later + i / 15)).subject_id for i in range(8)]
    assert before[0] is not None and set(before) == {before[0]}, before
    assert all(i is not None for i in after[1:]), after
    assert (set(after[1:]) == {before[0]}) == same, (before, after)
