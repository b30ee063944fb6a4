"""Following up on asks: an ask that changes nothing twice is dropped with its reason; proportions at first sight."""

from __future__ import annotations

import pytest

from guide.followup import ASK_SECONDS, FIRST_SIGHT_FRAMES, FollowUp
from guide.guidance import HOLD, Action, Advice, Guidance
from guide.measure import Framing
from guide.perspective import HAND_HELD, View, measured_ratio
from guide.smoothing import AdviceStabilizer


def _raw(action: str, error: float, key: str, score: int = 60) -> Guidance:
    advice = [HOLD] if action == "hold" else [Advice(Action(action), 0.2, f"do {action}")]
    return Guidance(score, advice, None, None, errors={key: error, "center_x": 0.2})


def _loop(fu: FollowUp, raws: list[Guidance], t0: float = 0.0, fps: float = 10.0) -> list[Guidance]:
    """Runs raw guidance through follow-up and stabilizer as live.Analyzer does; returns what was shown."""
    st, shown = AdviceStabilizer(), []
    for i, raw in enumerate(raws):
        t = t0 + i / fps
        g = st.update(fu.filter(raw, t), t)
        fu.observe(g, t)
        shown.append(g)
    return shown


def test_an_ask_that_changes_nothing_twice_is_dropped_with_why() -> None:
    fu = FollowUp()
    fu.see(1, None)
    frames = int(3 * ASK_SECONDS * 10) + 5
    shown = _loop(fu, [_raw("lower_camera", 2.0, "camera_height") for _ in range(frames)])
    actions = [g.advice[0].action for g in shown]
    assert actions[0] == "lower_camera" and actions[-1] == "hold"
    # asked for two whole periods, then dropped
    assert actions.count("lower_camera") == pytest.approx(2 * ASK_SECONDS * 10, abs=6)
    last = shown[-1]
    assert [d.action for d in last.dropped] == ["lower_camera", "raise_camera"]
    assert "nothing changed" in last.dropped[0].reason
    assert "Lower the camera" in last.advice[0].text  # the overlay says which ask stopped, and why
    assert last.score >= 85  # its error no longer counts


def test_an_ask_that_is_being_followed_is_kept() -> None:
    fu = FollowUp()
    fu.see(1, None)
    frames = int(3 * ASK_SECONDS * 10)
    raws = [_raw("step_closer", -3.0 + 2.5 * i / frames, "body_fill") for i in range(frames)]
    shown = _loop(fu, raws)
    assert all(g.advice[0].action == "step_closer" and not g.dropped for g in shown)


def test_a_dropped_ask_returns_for_a_new_subject_or_a_big_change() -> None:
    fu = FollowUp()
    fu.see(1, None)
    n = int(3 * ASK_SECONDS * 10) + 5
    _loop(fu, [_raw("aim_up", -1.5, "vertical") for _ in range(n)])
    assert fu.filter(_raw("aim_up", -1.5, "vertical"), 99.0).advice[0].action == "hold"
    assert fu.filter(_raw("aim_up", -4.0, "vertical"), 99.1).advice[0].action == "aim_up"  # moved a lot
    fu2 = FollowUp()
    fu2.see(1, None)
    _loop(fu2, [_raw("aim_up", -1.5, "vertical") for _ in range(n)])
    fu2.see(2, None)  # someone else
    assert fu2.filter(_raw("aim_up", -1.5, "vertical"), 99.0).advice[0].action == "aim_up"


def test_a_dropped_ask_never_turns_a_message_into_hold() -> None:
    fu = FollowUp()
    fu.see(1, None)
    _loop(fu, [_raw("lower_camera", 2.0, "camera_height") for _ in range(int(3 * ASK_SECONDS * 10) + 5)])
    raw = Guidance(
        40, [Advice(Action.LOWER_CAMERA, 0.2, "x")], None, None, "can't see the feet", {"camera_height": 2.0}
    )
    g = fu.filter(raw, 99.0)
    assert g.advice == [] and g.message == "can't see the feet"


def test_own_proportions_at_first_sight() -> None:
    view = View(0.1, 0.9, 0.75)
    ratio = measured_ratio(0.19, HAND_HELD, view)
    fr = Framing(
        head_ratio=ratio,
        body_fill=0.8,
        headroom=0.1,
        footroom=0.1,
        center_x=0.5,
        tilt_deg=0.0,
        orientation="portrait",
        aspect_ratio=0.75,
    )
    fu = FollowUp()
    for i in range(FIRST_SIGHT_FRAMES - 1):
        fu.see(3, fr)
    assert fu.own_ratio is None
    fu.see(3, fr)
    assert fu.own_ratio == pytest.approx(0.19)
    fu.see(3, Framing(**{**fr.values(), "head_ratio": 0.1}, orientation="portrait", aspect_ratio=0.75))
    assert fu.own_ratio == pytest.approx(0.19)  # learnt once, not as the camera moves
    fu.see(4, fr)
    assert fu.own_ratio is None  # a new subject: learnt again


HOLD_GUIDANCE = Guidance(100, [HOLD], None, None, errors={})


def _level(tilt: float | None) -> Guidance:
    errors = {} if tilt is None else {"tilt_deg": tilt}
    return Guidance(60, [Advice(Action.LEVEL_CAMERA, 5.0, "Level the camera")], None, None, errors=errors)


def test_a_body_axis_level_ask_is_asked_one_period_even_when_its_reading_comes_and_goes() -> None:
    """TS1 in bench/closed_loop.py: a person standing 8 degrees off plumb was asked three turns in a row; the
    axis is read on every other frame only (upright flickers), which used to restart the period each time."""
    f = FollowUp()
    f.see(1, None)
    t = 0.0
    while t < ASK_SECONDS + 0.2:
        reading = 2.0 if round(t * 15) % 2 == 0 else None
        f.observe(_level(reading), t, weak_level=reading is not None)
        t += 1 / 15
    assert Action.LEVEL_CAMERA in [d.action for d in f.filter(_level(2.0), t, weak_level=True).dropped]


def test_a_body_axis_level_ask_followed_within_its_period_is_not_asked_again() -> None:
    """A turn made within the ask's period (the ask gone after a second, another ask first) uses up the body
    axis's one turn: the next body-axis level ask is dropped at once, not shown for a period first (TS1 in
    bench/closed_loop.py: three turns, one after each other move)."""
    f = FollowUp()
    f.see(1, None)
    aim = Guidance(60, [Advice(Action.AIM_DOWN, 0.1, "Aim down")], None, None, errors={"vertical": 2.0})
    t = 0.0
    for _ in range(15):  # one second of the level ask, then it is followed
        f.observe(_level(1.5), t, weak_level=True)
        t += 1 / 15
    for _ in range(15):  # the next ask
        f.observe(aim, t, weak_level=True)
        t += 1 / 15
    f.observe(_level(1.2), t, weak_level=True)  # the body's lean again
    dropped = f.filter(_level(1.2), t + 1 / 15, weak_level=True).dropped
    assert [d.reason for d in dropped] == ["the rest may be how they stand"]


def test_a_level_ask_dropped_as_the_body_s_lean_comes_back_when_the_scene_reads_the_roll() -> None:
    """frisbee_2 in bench/closed_loop.py: after its one body-axis turn, a level ask that began on a frame the body
    alone read was dropped at once ("how they stand"), and stayed dropped while the fence's verticals read the
    camera 3.8 degrees rolled on the frames after. The scene's reading is the camera's roll: it is asked."""
    f = FollowUp()
    f.see(1, None)
    t = 0.0
    for _ in range(15):  # the body axis's one turn, followed
        f.observe(_level(1.5), t, weak_level=True)
        t += 1 / 15
    f.observe(HOLD_GUIDANCE, t)
    t += 1 / 15
    f.observe(_level(1.9), t, weak_level=True)  # a frame the verticals missed: dropped as the body's lean
    assert [d.reason for d in f.filter(_level(1.9), t + 1 / 15, weak_level=True).dropped] == [
        "the rest may be how they stand"
    ]
    level = f.filter(_level(0.2), t + 2 / 15, weak_level=False)  # the verticals read level: nothing to ask
    assert [d.reason for d in level.dropped] == ["the rest may be how they stand"]  # (lifted, it flashed back)
    shown = f.filter(_level(1.9), t + 3 / 15, weak_level=False)  # the verticals read it: the camera's roll
    assert not shown.dropped and shown.advice[0].action == Action.LEVEL_CAMERA
    # A drop for another reason stays while the scene reads the same roll.
    g = FollowUp()
    g.see(1, None)
    for i in range(int(2 * ASK_SECONDS * 15) + 2):
        g.observe(_level(1.9), i / 15, weak_level=False)  # asked twice, nothing changed
    assert [d.reason for d in g.filter(_level(1.9), 5.0, weak_level=False).dropped] == ["asked twice, nothing changed"]


def test_a_scene_level_ask_is_not_capped() -> None:
    f = FollowUp()
    f.see(1, None)
    for i in range(int(3 * ASK_SECONDS * 15)):
        f.observe(_level(2.0 - i * 0.05), i / 15, weak_level=False)  # followed: the reading moves
    assert not f.filter(_level(1.0), 10.0).dropped


def test_a_stale_move_leaves_while_two_other_asks_take_turns_first() -> None:
    st = AdviceStabilizer(min_frames=4, min_seconds=0.4)
    aim = Guidance(50, [Advice(Action.AIM_DOWN, 0.05, "Aim down")], None, None)
    st.update(aim, 0.0)
    shown = []
    for i in range(1, 12):
        one = Advice(Action.LEVEL_CAMERA if i % 2 else Action.AIM_LEFT, 0.1, "x")
        shown.append(st.update(Guidance(50, [one], None, None), i / 15).advice[0].action)
    assert shown[-1] != Action.AIM_DOWN  # before: "aim down" with its old amount stayed on screen


def _turn(tilt: float) -> Guidance:
    way = "clockwise" if tilt > 0 else "anticlockwise"
    return Guidance(60, [Advice(Action.LEVEL_CAMERA, 2.0, f"Level the camera (turn it {way})")], None, None,
                    errors={"tilt_deg": tilt})


def test_a_level_ask_that_turns_back_twice_near_level_is_dropped() -> None:
    """S7 in bench/closed_loop.py (seed 3): the horizon read 1.9 degrees, then -2.9, then the verticals 3.2, with
    the camera at 0.9, -0.3 and 2.5: turned clockwise, anticlockwise and clockwise again. The second change of way
    near level drops the ask, and the hold that follows says why; a reading past TURNS_NEAR brings it back."""
    look = 15  # frames of a look at 10 fps, then the turn
    fu = FollowUp()
    fu.see(1, None)
    shown = _loop(fu, [_turn(3.0)] * look + [_turn(-0.3)] * 3 + [_turn(-1.4)] * look + [_turn(1.6)] * look)
    ways = [g.advice[0].text for g in shown]
    assert "clockwise" in ways[0] and "anticlockwise" in ways[look + 10]  # the overshoot is put right first
    assert [d.action for d in shown[-1].dropped] == [Action.LEVEL_CAMERA]
    assert "it read both ways" in shown[-1].advice[0].text  # said, on the hold that follows
    assert fu.filter(_turn(1.6), 9.0).advice[0].action == "hold"
    assert fu.filter(_turn(2.5), 9.1).advice[0].action == "level_camera"  # rolled past it: asked again


@pytest.mark.parametrize(
    "raws",
    [
        [_turn(1.0)] * 15 + [_turn(-2.5)] * 15 + [_turn(1.6)] * 15,  # the other way 5 degrees off: rolled
        [_turn(1.0)] * 15 + [_turn(-1.4)] * 15 + [Guidance(95, [HOLD], None, None, errors={"tilt_deg": 0.2})] * 15
        + [_turn(1.6)] * 15,  # level was reached between: the next turn starts afresh
        [_turn(1.0)] * 15 + [_turn(-1.4)] * 15 + [_raw("aim_down", 4.0 - i / 30, "vertical") for i in range(120)]
        + [_turn(1.6)] * 15,  # long after the first (other asks between)
        [_turn(0.9)] * 15 + [_turn(-0.5)] * 15 + [_turn(0.9)] * 15,  # a reading inside the band asks no way
        [_turn(1.0)] * 15 + [_turn(-1.4)] * 15 + [_turn(3.0 - i / 10) for i in range(15)],  # bumped, then levelled
    ],
    ids=["far", "hold between", "long after", "inside the band", "followed back"],
)
def test_a_level_ask_that_changes_way_is_kept_where_it_is_no_back_and_forth(raws: list[Guidance]) -> None:
    fu = FollowUp()
    fu.see(1, None)
    last = _loop(fu, raws)[-1]
    assert last.advice[0].action == "level_camera" and not last.dropped
