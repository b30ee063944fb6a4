"""The live loop's parts, each alone, without the model: auto-capture, fps meter, log, view, recorder."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from guide.geometry import Grid
from guide.guidance import HOLD, Advice, Guidance
from guide.live import Analysis, FpsMeter
from guide.sinks import AutoCapture, FrameLog, Recorder, View, view_grid
from guide.parse import BodyParse
from guide.sources import Frame


def analysis(t: float, action: str = "hold", *, grid: Grid | None = None) -> Analysis:
    image = np.zeros((480, 640, 3), np.uint8)
    grid = grid or Grid.identity(640, 480)
    mask = np.zeros((grid.height, grid.width), bool)
    mask[grid.height // 4 : 3 * grid.height // 4, grid.width // 3 : 2 * grid.width // 3] = True
    parse = BodyParse(
        640, 480, mask, np.where(mask, 12, -1).astype(np.int8), np.where(mask, 0, -1).astype(np.int8), grid=grid
    )
    advice = [HOLD] if action == "hold" else [Advice(action, 0.1, action)]
    guidance = Guidance(80, advice, (200, 100, 440, 460), None)
    return Analysis(Frame(image, int(t * 10), t), parse, None, None, guidance, 12.5, 3, (100, 50, 500, 470), 2)


def test_auto_capture_holds_then_counts_down_then_fires_once() -> None:
    auto = AutoCapture(hold_seconds=1.0, countdown_seconds=2.0)
    assert not auto.update(analysis(0.0)) and auto.seconds_left(0.0) is None
    assert not auto.update(analysis(1.2))  # held long enough: the countdown starts
    assert auto.seconds_left(2.2) == pytest.approx(1.0)
    assert auto.update(analysis(3.3))
    assert auto.seconds_left(3.3) is None  # fired: starts over
    assert not auto.update(analysis(3.4, "step_back"))


def test_auto_capture_resets_when_framing_is_lost() -> None:
    auto = AutoCapture(hold_seconds=1.0, countdown_seconds=1.0)
    auto.update(analysis(0.0))
    auto.update(analysis(1.0))
    auto.update(analysis(1.5, "aim_up"))
    assert auto.seconds_left(1.6) is None and not auto.update(analysis(2.1))


def test_fps_meter() -> None:
    meter = FpsMeter(window=5)
    assert meter.fps == 0.0
    meter._times.extend([0.0, 0.1, 0.2, 0.3])
    assert abs(meter.fps - 10.0) < 1e-9


def test_frame_log_writes_subject_and_roi(tmp_path: Path) -> None:
    log = FrameLog(tmp_path / "deep" / "frames.jsonl")
    log.write(analysis(0.5), 30.0)
    log.close()
    (line,) = (tmp_path / "deep" / "frames.jsonl").read_text().splitlines()
    record = json.loads(line)
    assert record["subject_id"] == 3 and record["roi"] == [100, 50, 500, 470] and record["people"] == 2
    assert record["advice"] == [{"action": "hold", "amount": 0.0, "text": "Hold still"}]


def test_the_log_writes_an_aim_made_with_another_as_also(tmp_path: Path) -> None:
    log = FrameLog(tmp_path / "frames.jsonl")
    record = analysis(0.5, "aim_down")
    side = Advice("aim_left", 0.05, "Aim left a little")
    record.guidance.advice = [Advice("aim_down", 0.19, "Aim down by about 19% of the frame and left a little", side)]
    log.write(record, 30.0)
    log.close()
    (line,) = (tmp_path / "frames.jsonl").read_text().splitlines()
    (ask,) = json.loads(line)["advice"]
    assert ask["action"] == "aim_down" and ask["also"] == {"action": "aim_left", "amount": 0.05}


def test_a_diagonal_aim_draws_a_diagonal_arrow() -> None:
    """Aim down and left in one motion: the arrow's upper half lies right of its lower half (the tail up at
    the right, the head down at the left); an aim down alone is straight."""
    from guide.overlay import draw_guidance

    def slant(advice: Advice) -> float:
        out = draw_guidance(np.zeros((480, 640, 3), np.uint8), Guidance(40, [advice], None, None), None)
        ys, xs = np.nonzero((out[:80, :62] != 0).any(axis=2))  # the glyph, left of the text
        middle = (ys.min() + ys.max()) / 2
        return float(xs[ys < middle].mean() - xs[ys > middle].mean())

    assert abs(slant(Advice("aim_down", 0.1, "Aim down"))) < 1.0
    assert slant(Advice("aim_down", 0.1, "Aim down and left", Advice("aim_left", 0.05, "Aim left"))) > 5.0
    assert slant(Advice("aim_up", 0.1, "Aim up and left", Advice("aim_left", 0.05, "Aim left"))) < -5.0


def test_view_draws_a_crop_parse_where_it_lies_and_scales_big_frames() -> None:
    crop = Grid.over((320, 240, 640, 480), 160, 120, (640, 480))  # the bottom-right quarter, at half size
    view = View()
    a = analysis(0.0, grid=crop)
    view.update(a)
    out = view.render(a.frame.image, a, 30.0)
    assert out.shape == (480, 640, 3)
    tinted = out.max(axis=2) > 0
    assert tinted[300:420, 430:530].mean() > 0.9  # the crop's mask, in the crop's part of the frame
    assert not tinted[150:250, 20:150].any()  # nothing drawn away from the crop, the labels and the target box
    big = np.zeros((1080, 1920, 3), np.uint8)
    assert view.render(big, None, 30.0).shape[:2] == (540, 960)
    assert view_grid(640, 480).scale == 1.0


def test_recorder_writes_the_view(tmp_path: Path) -> None:
    recorder = Recorder(tmp_path / "out.mp4", 10.0)
    for _ in range(3):
        recorder.write(np.full((120, 160, 3), 128, np.uint8))
    recorder.close()
    cap = cv2.VideoCapture(str(tmp_path / "out.mp4"))
    assert int(cap.get(cv2.CAP_PROP_FRAME_COUNT)) == 3


def test_long_instructions_fit_the_frame_at_webcam_and_phone_sizes() -> None:
    from guide.overlay import draw_guidance

    long = [
        Advice("level_camera", 5.0, "Level the camera (turn it anticlockwise)"),
        Advice("lower_camera", 0.05, "Lower the camera, a little more than a step, please"),
    ]
    for w, h in ((640, 480), (480, 640), (1920, 1080)):
        scene = np.full((h, w, 3), 128, np.uint8)
        out = draw_guidance(scene, Guidance(40, long, None, None), 30.0)
        assert np.array_equal(out[:, -6:], scene[:, -6:]), (w, h)  # nothing runs off the right edge
        assert (out[: h // 4] != 128).any(axis=2).mean() > 0.02  # and the text is there


def test_a_long_instruction_wraps_and_keeps_every_word() -> None:
    from guide.overlay import wrap

    text = "Step closer to about 48% of the distance"
    lines = wrap(text, 1.3, 360)
    assert len(lines) == 2 and " ".join(lines) == text
    assert wrap("Hold still", 1.3, 360) == ["Hold still"]


def test_tiny_frames_and_frames_of_other_sizes_are_handled(tmp_path: Path) -> None:
    from guide.overlay import paste_thumbnail

    tiny = np.zeros((40, 40, 3), np.uint8)
    assert paste_thumbnail(tiny, np.full((480, 640, 3), 200, np.uint8)).shape == tiny.shape
    recorder = Recorder(tmp_path / "mixed.mp4", 10.0)
    recorder.write(np.full((120, 160, 3), 128, np.uint8))
    recorder.write(np.full((240, 200, 3), 128, np.uint8))  # an image folder of mixed sizes
    recorder.close()
    assert int(cv2.VideoCapture(str(tmp_path / "mixed.mp4")).get(cv2.CAP_PROP_FRAME_COUNT)) == 2


def test_instructions_move_to_the_bottom_rather_than_cover_the_subjects_head() -> None:
    from guide.overlay import draw_guidance, instructions_low

    asks = Guidance(40, [Advice("step_back", 0.2, "Step back about a step"), Advice("move_left", 0.1, "Move left a little")],
                    None, None)
    scene = np.full((480, 640, 3), 128, np.uint8)
    changed = lambda out: (out != 128).any(axis=2)  # noqa: E731
    free = changed(draw_guidance(scene, asks, 30.0))
    assert free[:100, :200].mean() > 0.05  # the instructions are at the top
    assert not instructions_low(scene.shape, asks, (560.0, 10.0, 630.0, 120.0))  # a head to their right: stay
    head = (60.0, 10.0, 160.0, 120.0)  # a head in the top-left corner, where they would go
    assert instructions_low(scene.shape, asks, head)
    moved = changed(draw_guidance(scene, asks, 30.0, low=True))
    assert not moved[10:120, 60:160].any()  # the head is left clear
    assert moved[240:440, :300].mean() > 0.05  # and they are read near the bottom, above the status line
    assert not instructions_low(scene.shape, asks, (60.0, 10.0, 160.0, 470.0))  # in the way at both: the top
    assert instructions_low(scene.shape, asks, (30.0, 5.0, 80.0, 60.0), scale=2.0)  # boxes are in frame pixels


def test_a_crop_says_what_it_is() -> None:
    """A phone held upright with a landscape-only profile: the shaded bands around the landscape crop say why."""
    from guide.overlay import draw_guidance

    scene = np.full((960, 540, 3), 150, np.uint8)
    crop = (0, 328, 540, 632)  # a 16:9 crop in a 9:16 frame
    out = draw_guidance(scene, Guidance(40, [Advice("step_back", 0.2, "Step back")], None, crop), 30.0)
    below = out[632 + 5 : 632 + 80, :]
    assert below.max() > 200 and (below == 150 // 3).mean() > 0.5  # light text on the shaded band


def test_the_view_places_the_instructions_at_once_then_moves_them_only_after_a_few_frames_that_want_it() -> None:
    from guide.measure import Landmarks
    from guide.sinks import SWITCH_FRAMES, View

    asks = Guidance(40, [Advice("step_back", 0.2, "Step back about a step")], None, None)
    high, clear = Landmarks((110.0, 20.0), (110.0, 90.0), None), Landmarks((500.0, 200.0), (500.0, 260.0), None)
    view = View()

    class Seen:  # the parts of an Analysis the placement reads
        def __init__(self, marks: Landmarks) -> None:
            self.marks, self.guidance = marks, asks

    places = [view._instructions_low((480, 640, 3), Seen(m), 1.0) for m in [high] * 10 + [clear, high, clear] + [clear] * 10]  # type: ignore[arg-type]
    assert all(places[:13])  # off the head from the first frame; a head that comes and goes does not make them jump
    assert places[13 : 10 + SWITCH_FRAMES] == [True] * (SWITCH_FRAMES - 3) and not places[-1]
    later = View()
    places = [later._instructions_low((480, 640, 3), Seen(m), 1.0) for m in [clear] * 3 + [high] * 10]  # type: ignore[arg-type]
    assert places[: 3 + SWITCH_FRAMES - 1] == [False] * (3 + SWITCH_FRAMES - 1) and places[3 + SWITCH_FRAMES - 1]


def _countdown_pixels(image: np.ndarray, a: Analysis, seconds: float) -> tuple[np.ndarray, View]:
    """Where the countdown changed the view (the same analysis drawn with and without it), and its View."""
    views = [View(), View()]
    for view in views:
        view.update(a)
    plain = views[0].render(image, a, 30.0)
    shown = views[1].render(image, a, 30.0, countdown=seconds)
    return np.abs(shown.astype(int) - plain.astype(int)).max(axis=2) > 0, views[1]


def _held(a: Analysis) -> Analysis:
    from dataclasses import replace

    return replace(a, guidance=replace(a.guidance, advice=[HOLD], score=95))  # as shown while a countdown runs


def test_the_countdown_is_drawn_beside_the_people_not_over_them(model) -> None:  # type: ignore[no-untyped-def]
    """The dancer in the middle of the frame: the capture countdown was drawn mid-frame, on her body, at the
    moment the user looks at how she will come out. It goes beside her; on the street clip (1280x720, shown at
    960x540) also beside the passers-by the crop around the subject leaves out."""
    from guide.live import Analyzer, LiveOptions
    from helpers import SHARED

    for clip, size in (("tfjs_pose_dance.mp4", (640, 480)), ("openpose_street_walk.avi", None)):
        cap = cv2.VideoCapture(str(SHARED / "data" / "video" / clip))
        ok, image = cap.read()
        assert ok
        image = cv2.resize(image, size, interpolation=cv2.INTER_AREA) if size else image
        analyzer = Analyzer(model, None, LiveOptions(window=False))
        for i in range(5):
            a = _held(analyzer(Frame(image, i, i / 30)))
        digit, view = _countdown_pixels(image, a, 2.4)
        assert digit.sum() > 500, clip  # drawn, large
        cols = np.flatnonzero(digit.any(axis=0))
        people = view.tint.alpha
        assert people is not None and (people > 0.5).any()
        assert not (people[:, cols.min() : cols.max() + 1] > 0.5).any(), clip  # in columns no person covers
        scale = people.shape[1] / image.shape[1]
        for x0, _, x1, _ in a.others:  # nor anyone outside the crop
            assert x1 * scale < cols.min() or x0 * scale > cols.max(), (clip, a.others, cols.min(), cols.max())
    assert a.others  # the street clip has passers-by outside the crop: the last check did check something


def test_the_countdown_keeps_its_side_while_it_fits_there() -> None:
    """A subject in the middle leaves two free sides nearly as wide: a few pixels of mask jitter flipped the
    digit 400 px from side to side frame after frame. It stays where it is while it fits there."""
    from guide.overlay import beside_people

    covered = np.zeros(640, bool)
    covered[237:400] = True  # 237 free columns left, 240 right
    first = beside_people(covered, 120)
    assert first is not None and first > 400
    for shift in (-3, 3, -5, 2):  # the right side now a little narrower, then wider again
        jitter = np.zeros(640, bool)
        jitter[237 + shift : 400 + shift] = True
        assert beside_people(jitter, 120, first) == first
    crowded = np.zeros(640, bool)
    crowded[237:580] = True  # someone walks in on the right: it moves left
    moved = beside_people(crowded, 120, first)
    assert moved is not None and moved < 237
    assert beside_people(np.ones(640, bool), 120, first) is None  # nowhere free: the caller's corner
