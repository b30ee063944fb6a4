"""The live guidance engine: advice per measurement and its priority, crops, smoothing,
hysteresis, and the direction of the advice on a real photo moved around in the frame."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import cv2
import numpy as np
import pytest

from guide import calibration as cal
from guide.analyze import analyze_photo
from guide.guidance import HOLD, HOLD_BAND, NO_ONE, TEXT, Action, Advice, Guidance, advise
from guide.target import TOL_FLOOR, builtin_target, crop_for, framing_in_crop, reframe, target_from_profile
from guide.images import Photo, read_photo
from guide.measure import Framing, Landmarks, framing, orientation_of
from guide.perspective import TYPICAL_OWN_RATIO, View, camera_height, own_ratio
from guide.smoothing import AdviceStabilizer, FramingSmoother, OneEuroFilter

from conftest import PEOPLE

W, H = 800, 1000  # synthetic portrait frame


def scene(
    top: float | None = 200.0,
    feet: float | None = 800.0,
    cx: float = 0.5,
    ratio: float = 0.17,
    tilt: float | None = 0.0,
    cut: tuple[str, ...] = (),
    w: int = W,
    h: int = H,
) -> tuple[Framing, Landmarks]:
    """A person's Framing and Landmarks as guide.measure would report them (pixel edges)."""
    top_px = 0.0 if "head" in cut else top
    feet_px = float(h) if "feet" in cut else feet
    chin = None
    if top_px is not None and feet_px is not None:
        chin = top_px + ratio * (feet_px - top_px)
    marks = Landmarks(
        None if top_px is None else (cx * w, top_px),
        None if chin is None else (cx * w, chin),
        None if feet_px is None else (cx * w, feet_px),
        list(cut),
        [p for p, v in (("head", top), ("feet", feet)) if v is None and p not in cut],
    )
    t = top_px if "head" not in cut else None
    f = feet_px if "feet" not in cut else None
    whole = t is not None and f is not None
    fr = Framing(
        head_ratio=ratio if whole else None,
        body_fill=(f - t) / h if whole else None,
        headroom=None if t is None else t / h,
        footroom=None if f is None else (h - f) / h,
        center_x=cx,
        tilt_deg=tilt,
        orientation=orientation_of(w, h),
        aspect_ratio=w / h,
    )
    return fr, marks


def profile_of(*framings: Framing, name: str = "test") -> dict:
    verdicts = [cal.Verdict(f"{i}.jpg", True, None, fr) for i, fr in enumerate(framings)]
    return cal.build_profile(name, "model", verdicts, "refs")


@pytest.fixture(scope="module")
def target():  # type: ignore[no-untyped-def]
    """A one-photo profile: head top at 20%, feet at 80% of the height, centred, level."""
    return target_from_profile(profile_of(scene()[0]), "portrait")


# Someone whose own proportions measure 0.17 at the profile's camera height (guide.perspective).
_VIEW = View(0.2, 0.8, W / H)
OWN = own_ratio(0.17, camera_height(0.17, TYPICAL_OWN_RATIO, _VIEW), _VIEW)


def first(g: Guidance) -> str:
    return g.advice[0].action


# --- one action per measurement, and their order -------------------------------------------


@pytest.mark.parametrize(
    "kwargs, action",
    [
        ({}, "hold"),
        ({"top": 150, "feet": 850}, "step_back"),  # 70% of the height instead of 60%
        ({"top": 250, "feet": 750}, "step_closer"),
        ({"top": 100, "feet": 700}, "aim_up"),  # subject high in the frame: move it down
        ({"top": 300, "feet": 900}, "aim_down"),
        ({"cx": 0.6}, "aim_right"),  # subject right of where wanted: move it left
        ({"cx": 0.4}, "aim_left"),
        ({"ratio": 0.13}, "raise_camera"),  # legs look long: the camera is low
        ({"ratio": 0.21}, "lower_camera"),
        ({"tilt": 9.0}, "level_camera"),
        ({"tilt": -9.0}, "level_camera"),
    ],
)
def test_each_measurement_gives_its_action(target, kwargs, action) -> None:  # type: ignore[no-untyped-def]
    # Camera height is guided once the person's proportions are known (other checks keep the ratio fixed
    # while the body moves in the frame, which the perspective model reads as another camera height).
    g = advise(*scene(**kwargs), target, W, H, own_ratio=OWN if "ratio" in kwargs else None)
    assert first(g) == action, g
    assert g.message is None
    if action == "hold":
        assert g.advice == [HOLD] and g.score >= 85
    else:
        assert len(g.advice) == 1 and g.advice[0].amount > 0 and g.score < 85
        assert isinstance(g.advice[0], Advice) and g.advice[0].text


def test_small_changes_within_tolerance_hold(target) -> None:  # type: ignore[no-untyped-def]
    g = advise(*scene(top=185, feet=800, cx=0.53, ratio=0.176, tilt=4.0), target, W, H, own_ratio=OWN)
    assert g.advice == [HOLD]


def test_camera_height_is_not_guided_before_the_persons_proportions_are_known(target) -> None:  # type: ignore[no-untyped-def]
    g = advise(*scene(ratio=0.21), target, W, H)
    assert g.advice == [HOLD] and "camera_height" not in g.errors


def test_camera_height_is_asked_as_a_height_to_reach(target) -> None:  # type: ignore[no-untyped-def]
    g = advise(*scene(ratio=0.21), target, W, H, own_ratio=OWN)
    assert g.advice[0].action == Action.LOWER_CAMERA
    assert g.advice[0].text.startswith("Lower the camera to ") and g.advice[0].text.endswith(" height")


def test_actions_are_strings_in_json_and_backlight_comes_after_framing() -> None:
    assert json.dumps([Action.STEP_BACK, Action.HOLD]) == '["step_back", "hold"]'
    assert [a.value for a in Action][:9] == ["step_back", "step_closer", "aim_up", "aim_down", "aim_left",
                                             "aim_right", "raise_camera", "lower_camera", "level_camera"]
    order = list(Action)
    assert order.index(Action.AVOID_BACKLIGHT) > order.index(Action.LEVEL_CAMERA)
    assert TEXT[Action.AVOID_BACKLIGHT] == "Turn so the light falls on the face"
    assert json.dumps(asdict(HOLD)) == '{"action": "hold", "amount": 0.0, "text": "Hold still", "also": null}'


@pytest.mark.parametrize("error", [0.1, 0.3, 0.5])
def test_a_move_never_lands_past_the_tolerance_even_done_with_a_will(error: float) -> None:
    """Built-in target, person too small by `error` of the frame: doing 120% of the ask lands past the wanted
    fill by no more than the hold band (no new ask, inside the tolerance), and doing all of it lands inside."""
    target = builtin_target("landscape", 4 / 3)
    want, tol = target.values["body_fill"]
    fill = want - error
    fr = Framing(head_ratio=0.17, body_fill=fill, headroom=0.5 - fill / 2, footroom=0.5 - fill / 2, center_x=0.5,
                 tilt_deg=0.0, orientation="landscape", aspect_ratio=4 / 3)
    marks = Landmarks((320.0, fr.headroom * 480), (320.0, 200.0), (320.0, (1 - fr.footroom) * 480))
    step = advise(fr, marks, target, 640, 480).advice[0]
    assert step.action == "step_closer"
    assert fill + 1.2 * step.amount - want <= HOLD_BAND * tol + 1e-9
    assert abs(fill + step.amount - want) <= tol


def test_a_step_closer_that_would_cut_the_feet_waits_for_an_aim() -> None:
    """Small and low in the frame: stepping closer first would push the feet out (the picture grows
    about its centre), which then asks to step back: aim down first, by what puts them right after the step."""
    target = builtin_target("landscape", 4 / 3)
    fr = Framing(head_ratio=0.17, body_fill=0.5, headroom=0.45, footroom=0.05, center_x=0.5, tilt_deg=0.0,
                 orientation="landscape", aspect_ratio=4 / 3)
    marks = Landmarks((320.0, 216.0), (320.0, 257.0), (320.0, 456.0))
    g = advise(fr, marks, target, 640, 480)
    assert [a.action for a in g.advice[:2]] == ["aim_down", "step_closer"]
    aim, step = g.advice[0].amount, g.advice[1].amount
    zoom = (0.5 + step) / 0.5
    centre = 0.45 + 0.25 - aim  # the body's centre after the aim ...
    after = 0.5 + (centre - 0.5) * zoom  # ... and after the step
    assert after == pytest.approx((0.12 + 1 - 0.08) / 2, abs=0.01)


def test_the_aim_before_a_step_closer_also_puts_them_where_they_belong_after_the_step() -> None:
    """Small, low and near the left third: the step closer (about 2x) would push them out to a sixth. The aim
    down that makes room for it goes left too, in the same motion, by what lands them on the third after the
    step; no other aim left is asked meanwhile."""
    target = builtin_target("landscape", 4 / 3)
    fr = Framing(head_ratio=0.17, body_fill=0.4, headroom=0.5, footroom=0.1, center_x=0.36, tilt_deg=0.0,
                 orientation="landscape", aspect_ratio=4 / 3)
    marks = Landmarks((230.0, 240.0), (230.0, 270.0), (230.0, 432.0))
    g = advise(fr, marks, target, 640, 480)
    aim, step = g.advice[:2]
    assert (aim.action, step.action) == ("aim_down", "step_closer") and aim.also is not None
    assert aim.also.action == "aim_left" and "left" in aim.text and "room for the step" in aim.text
    assert not any(a.action in ("aim_left", "aim_right") for a in g.advice)
    zoom = (0.4 + step.amount) / 0.4
    after = 0.5 + (0.36 + aim.also.amount - 0.5) * zoom  # aimed left, the picture shows them further right
    assert after == pytest.approx(1 / 3, abs=0.01)
    centred = advise(replace(fr, center_x=0.5), Landmarks((320.0, 240.0), (320.0, 270.0), (320.0, 432.0)),
                     target, 640, 480)
    assert centred.advice[0].also is None  # in the middle, the step keeps them there
    # Near enough that the step alone lands them on the third: no side part, and no aim right sized for now
    # (it would put them on the third before the step and at a sixth after it).
    near = advise(replace(fr, center_x=0.40), Landmarks((256.0, 240.0), (256.0, 270.0), (256.0, 432.0)),
                  target, 640, 480)
    assert near.advice[0].also is None and [a.action for a in near.advice] == ["aim_down", "step_closer"]


def test_no_aim_left_or_right_of_its_own_while_a_step_closer_is_asked() -> None:
    """Where they stand after a step closer depends on the step (the picture grows about its centre): an aim
    sized now, done with the step, lands wrong; it is asked once the step is made."""
    target = builtin_target("landscape", 4 / 3)
    fr = Framing(head_ratio=0.17, body_fill=0.5, headroom=0.25, footroom=0.25, center_x=0.42, tilt_deg=0.0,
                 orientation="landscape", aspect_ratio=4 / 3)
    marks = Landmarks((269.0, 120.0), (269.0, 161.0), (269.0, 360.0))
    assert [a.action for a in advise(fr, marks, target, 640, 480).advice] == ["step_closer"]
    there = replace(fr, body_fill=0.8, headroom=0.12, footroom=0.08)
    marks = Landmarks((269.0, 58.0), (269.0, 123.0), (269.0, 442.0))
    assert [a.action for a in advise(there, marks, target, 640, 480).advice] == ["aim_left"]


def test_a_step_closer_that_would_leave_the_feet_at_the_edge_waits_for_an_aim_too() -> None:
    """The closed loop's tfjs_pose start (seed 1): feet 9% above the bottom, a little step closer asked
    first; done with a will it left them 2% from the edge, read as cut: step back, then closer again."""
    target = builtin_target("landscape", 4 / 3)
    fr = Framing(head_ratio=0.17, body_fill=0.70, headroom=0.21, footroom=0.09, center_x=0.5, tilt_deg=0.0,
                 orientation="landscape", aspect_ratio=4 / 3)
    marks = Landmarks((320.0, 0.21 * 480), (320.0, 0.33 * 480), (320.0, 0.91 * 480))
    g = advise(fr, marks, target, 640, 480)
    assert [a.action for a in g.advice[:2]] == ["aim_down", "step_closer"]
    assert "room for the step" in g.advice[0].text


def test_amounts_are_in_the_measurements_units(target) -> None:  # type: ignore[no-untyped-def]
    """The error, or a little less when doing 120% of it would land past the hold band beyond."""
    # centre tolerance 0.04, placement 0.03 (the mean of head and foot room's): 120% of a large ask lands 0.034
    # and 0.0255 past; 120% of a moderate one (all of it) lands inside that
    assert advise(*scene(cx=0.8), target, W, H).advice[0].amount == pytest.approx((0.3 + 0.034) / 1.2, abs=1e-4)
    assert advise(*scene(cx=0.62), target, W, H).advice[0].amount == pytest.approx(0.12, abs=1e-4)
    assert advise(*scene(top=400, feet=1000), target, W, H).advice[0].amount == pytest.approx((0.2 + 0.0255) / 1.2, abs=1e-4)
    assert advise(*scene(top=300, feet=900), target, W, H).advice[0].amount == pytest.approx(0.1, abs=1e-4)
    assert advise(*scene(tilt=-12.0), target, W, H).advice[0].amount == pytest.approx(12.0)
    assert advise(*scene(cx=0.58), target, W, H).advice[0].amount == pytest.approx(0.08)  # small: all of it


def test_priority_whole_body_then_level_size_vertical_horizontal_height(target) -> None:  # type: ignore[no-untyped-def]
    wrong = dict(top=350, feet=850, cx=0.65, ratio=0.12, tilt=12.0)  # small, low, right, low camera, rolled
    fixed = dict(top=200, feet=800, cx=0.5, ratio=0.17, tilt=0.0)
    g = advise(*scene(**wrong, cut=("feet",)), target, W, H)
    assert first(g) in ("step_back", "aim_down") and g.score <= 25  # nothing cut comes first
    # Level before the rest (a roll turns the picture about its centre: it moves what an aim placed).
    order = ["step_closer", "aim_down", "aim_right", "raise_camera"]
    for i, name in enumerate(["size", "vertical", "cx", "ratio", "tilt"]):
        g = advise(*scene(**wrong), target, W, H, own_ratio=OWN)
        want = (["level_camera"] if name != "tilt" or wrong["tilt"] else []) + order[i : i + 2]
        assert [a.action for a in g.advice] == want[:3], (name, g.advice)
        # fix this problem, keep the others
        if name == "size":
            wrong["top"], wrong["feet"] = 400, 1000  # right size (60%), still low
        elif name == "vertical":
            wrong["top"], wrong["feet"] = 200, 800
        else:
            wrong[name] = fixed[name]
    assert advise(*scene(**wrong), target, W, H, own_ratio=OWN).advice == [HOLD]


@pytest.mark.parametrize(
    "kwargs, action",
    [
        ({"top": 500, "feet": None, "cut": ("feet",)}, "aim_down"),  # feet cut, plenty of headroom
        ({"top": 20, "feet": None, "cut": ("feet",)}, "step_back"),  # feet cut, no room above
        ({"top": 500, "feet": None, "ratio": 0.25, "cut": ("feet",)}, "step_back"),  # big head: body too big
        ({"top": None, "feet": 700, "cut": ("head",)}, "step_back"),  # 70% visible already: too big
        ({"top": None, "feet": 550, "cut": ("head",)}, "aim_up"),  # head cut, plenty of room below
        ({"top": None, "feet": 980, "cut": ("head",)}, "step_back"),  # head cut, feet at the bottom
        ({"top": None, "feet": None, "cut": ("head", "feet")}, "step_back"),
    ],
)
def test_cut_body_steps_back_or_aims_at_room(target, kwargs, action) -> None:  # type: ignore[no-untyped-def]
    fr, marks = scene(**kwargs)
    if "feet" in kwargs.get("cut", ()) and kwargs.get("top") is not None:
        top = kwargs["top"]  # chin from the head size implied by `ratio` on a 600 px body
        marks.chin = (W / 2, top + kwargs.get("ratio", 0.17) * 600)
    g = advise(fr, marks, target, W, H)
    assert first(g) == action, g
    assert g.score <= 25 and g.advice[0].amount > 0


def test_a_head_cut_steps_back_by_the_body_its_chin_implies(target) -> None:  # type: ignore[no-untyped-def]
    """Head cut, chin and feet seen: chin to feet is the body less its head (TYPICAL_HEAD_RATIO), so the step
    brings the whole body to the wanted fill, not just the part in view (which left a person at 1.03
    tolerances too big, and "hold" there: bench/closed_loop.py)."""
    fr, marks = scene(top=None, feet=900, cut=("head",))
    marks.chin = (W / 2, 100.0)  # 800 px chin to feet: a body of 800 / 0.83 = 964 px, 96% of the height
    fill = target.values["body_fill"][0]
    g = advise(fr, marks, target, W, H)
    assert first(g) == "step_back" and g.advice[0].amount == pytest.approx(0.8 / 0.83 - fill, abs=0.002), g
    marks.chin = None  # nothing but the part in view (90% of the height) to size the step by
    assert advise(fr, marks, target, W, H).advice[0].amount == pytest.approx(0.9 - fill, abs=0.002)


def test_unseen_feet_never_hold(target) -> None:  # type: ignore[no-untyped-def]
    g = advise(*scene(feet=None), target, W, H)
    assert g.message == "can't see the feet" and all(a.action != "hold" for a in g.advice)
    assert g.score <= 50


def test_no_one_in_frame(target) -> None:  # type: ignore[no-untyped-def]
    g = advise(None, None, target, W, H)
    assert g.message == NO_ONE and g.advice == [] and g.score == 0 and g.target_box is None


def test_target_box_is_where_the_person_should_stand(target) -> None:  # type: ignore[no-untyped-def]
    g = advise(*scene(top=300, feet=900, cx=0.7), target, W, H, body_width_px=150)
    x0, y0, x1, y1 = g.target_box
    assert (y0, y1) == (200, 800)  # the profile's head top and feet
    assert (x0 + x1) / 2 == pytest.approx(400, abs=1)
    assert x1 - x0 == pytest.approx(150, abs=1)  # same width-to-height as the person now


# --- targets and tolerances -----------------------------------------------------------------


def test_tolerances_come_from_the_profile_spread() -> None:
    framings = [scene(top=t, feet=800)[0] for t in (150, 180, 200, 220, 250)]
    target = target_from_profile(profile_of(*framings), "portrait")
    fills = [f.body_fill for f in framings]
    mad = cal.robust_stats(fills)["mad"]
    assert target.values["body_fill"] == pytest.approx((0.6, 1.5 * mad), abs=1e-4)
    assert target.values["footroom"][1] == TOL_FLOOR["footroom"]  # no spread: the floor
    assert target.values["tilt_deg"] == (0.0, TOL_FLOOR["tilt_deg"])
    assert target.source == "profile test" and not target.needs_crop


def test_builtin_rules_accept_thirds_and_centre() -> None:
    target = builtin_target("portrait", 0.75)
    assert target.source == "built-in" and "head_ratio" not in target.values
    base = dict(top=100, feet=940)  # headroom 0.10, footroom 0.06
    for cx in (1 / 3, 0.5, 2 / 3, 0.31, 0.69):
        assert advise(*scene(cx=cx, **base), target, W, H).advice == [HOLD], cx
    assert first(advise(*scene(cx=0.42, **base), target, W, H)) == "aim_left"
    assert first(advise(*scene(cx=0.9, **base), target, W, H)) == "aim_right"
    assert first(advise(*scene(top=200, feet=800), target, W, H)) == "step_closer"
    landscape = builtin_target("landscape", 16 / 9)
    assert crop_for(landscape, 1280, 720) is None


def test_other_orientation_guides_towards_a_crop_of_the_profiles_aspect(target) -> None:  # type: ignore[no-untyped-def]
    profile = profile_of(scene()[0])  # portrait only, 4:5
    t = target_from_profile(profile, "landscape")
    assert t.orientation == "portrait" and t.needs_crop and t.aspect_ratio == pytest.approx(0.8)
    fw, fh = 1280, 720
    crop = crop_for(t, fw, fh)
    assert crop == (352, 0, 928, 720)  # 576 x 720 = 4:5, centred, full height
    assert crop_for(t, 720, 1280) is None
    # The person as the profile wants, inside the crop: hold; the box is in frame pixels.
    fr, marks = scene(top=144, feet=576, cx=0.5, w=fw, h=fh)
    g = advise(fr, marks, t, fw, fh)
    assert g.advice == [HOLD] and g.crop == crop
    x0, y0, x1, y1 = g.target_box
    assert crop[0] < x0 < x1 < crop[2] and (y0, y1) == (144, 576)
    # At 0.4 of the frame the person is left of the crop's centre: aim left.
    assert first(advise(*scene(top=144, feet=576, cx=0.4, w=fw, h=fh), t, fw, fh)) == "aim_left"
    fr, marks = scene(top=144, feet=576, cx=0.4, w=fw, h=fh)
    inside = reframe(fr, crop, fw, fh)
    assert inside.center_x == pytest.approx((0.4 * fw - 352) / 576)
    assert inside.orientation == "portrait" and inside.body_fill == pytest.approx(0.6)
    # The same from landmarks, as the live loop does; advise takes either without cropping twice.
    from_marks = framing_in_crop(marks, 0.4 * fw, fr.tilt_deg, crop, (fw, fh))
    for name in ("head_ratio", "body_fill", "headroom", "footroom", "center_x", "tilt_deg"):
        assert getattr(from_marks, name) == pytest.approx(getattr(inside, name)), name
    assert advise(from_marks, marks, t, fw, fh).advice == advise(fr, marks, t, fw, fh).advice
    # A square frame: the 4:5 crop takes its full height.
    tall = crop_for(t, 1000, 1000)
    assert tall == (100, 0, 900, 1000)


def test_crop_cutting_the_head_counts_as_cut() -> None:
    profile = profile_of(scene(w=1280, h=720, top=72, feet=648)[0])  # landscape, 16:9
    t = target_from_profile(profile, "portrait")
    fw, fh = 720, 1280
    crop = crop_for(t, fw, fh)
    assert crop == (0, 437, 720, 842)  # 720 x 405, centred
    fr, marks = scene(top=300, feet=800, w=fw, h=fh)
    g = advise(fr, marks, t, fw, fh)
    assert first(g) in ("aim_up", "step_back") and g.score <= 25
    in_crop = framing_in_crop(marks, fr.center_x * fw, fr.tilt_deg, crop, (fw, fh))
    assert in_crop.headroom < 0 and advise(in_crop, marks, t, fw, fh).advice == g.advice


# --- smoothing and hysteresis -----------------------------------------------------------------


def test_one_euro_reduces_noise_and_follows_steps() -> None:
    rng = np.random.default_rng(0)
    f = OneEuroFilter(min_cutoff=0.8, beta=3.0)
    times = np.arange(90) / 30.0
    noisy = 0.4 + rng.normal(0, 0.01, times.size)
    out = np.array([f(float(x), float(t)) for x, t in zip(noisy, times)])
    assert out[30:].std() < 0.5 * noisy[30:].std()
    f.reset()
    step = [f(0.3 if t < 1.0 else 0.6, float(t)) for t in np.arange(60) / 30.0]
    assert step[29] == pytest.approx(0.3) and abs(step[-1] - 0.6) < 0.01  # settled within a second
    assert f(0.9, 59 / 30) == step[-1]  # a repeated timestamp changes nothing


def test_framing_smoother_smooths_every_field_and_resets_on_missing() -> None:
    rng = np.random.default_rng(1)
    s = FramingSmoother()
    ins, outs = [], []
    for i in range(90):
        fr, _ = scene(top=200 + rng.normal(0, 8), feet=800 + rng.normal(0, 8), cx=0.5 + rng.normal(0, 0.01),
                      ratio=0.17 + rng.normal(0, 0.01), tilt=rng.normal(0, 2))
        ins.append(fr)
        outs.append(s.update(fr, i / 30))
    for name in ("head_ratio", "body_fill", "headroom", "footroom", "center_x", "tilt_deg"):
        raw, smooth = (np.std([getattr(f, name) for f in seq[30:]]) for seq in (ins, outs))
        assert smooth < 0.6 * raw, name
    assert outs[-1].confidence == ins[-1].confidence and outs[-1].orientation == "portrait"
    cut, _ = scene(feet=None, cut=("feet",))
    out = s.update(cut, 2.0)
    assert out.footroom is None and out.body_fill is None and out.headroom is not None
    back, _ = scene(top=200, feet=900)
    assert s.update(back, 2.05).footroom == pytest.approx(0.1)  # restarted, not blended with the old value
    assert s.update(None, 2.1) is None


def test_a_pose_s_blink_does_not_move_the_head_ratio_but_a_camera_move_does() -> None:
    """Arms raised past the head (the dance clip) took the ratio from 0.18 to 0.145 for a third of a second, and a
    camera held still was asked to rise; a camera lowered for good changes it for good, and that shows."""
    s = FramingSmoother()
    ratios = [0.18] * 60 + [0.145] * 10 + [0.18] * 30 + [0.15] * 60  # 30 fps: the blink, then a lasting change
    out = [s.update(scene(ratio=r)[0], i / 30).head_ratio for i, r in enumerate(ratios)]
    assert max(abs(r - 0.18) for r in out[:100]) < 0.005
    assert abs(out[100 + 25] - 0.15) < 0.005  # shown within 0.85 s of the move


def _g(action: str, score: int) -> Guidance:
    return Guidance(score, [HOLD] if action == "hold" else [Advice(action, 0.1, action)], None, None)


def test_stabilizer_does_not_flicker_and_follows_a_lasting_change() -> None:
    st = AdviceStabilizer(min_frames=4, min_seconds=0.5)
    shown = [first(st.update(_g("step_back" if i % 2 else "aim_left", 50), i / 30)) for i in range(40)]
    assert set(shown) == {"aim_left"}
    shown = [first(st.update(_g("aim_up", 50), 2 + i / 30)) for i in range(6)]
    assert shown == ["aim_left"] * 3 + ["aim_up"] * 3
    # low frame rate: two frames half a second apart are enough
    st2 = AdviceStabilizer(min_frames=4, min_seconds=0.5)
    st2.update(_g("aim_left", 50), 0.0)
    assert first(st2.update(_g("aim_up", 50), 1.0)) == "aim_left"
    assert first(st2.update(_g("aim_up", 50), 1.6)) == "aim_up"


def test_a_kept_move_is_never_shown_with_its_opposite() -> None:
    """The squats clip: "Aim up" kept on screen while the raw advice turned to "Aim down" showed both at once."""
    st = AdviceStabilizer(min_frames=4, min_seconds=0.5)
    st.update(Guidance(50, [Advice("aim_up", 0.05, "Aim up a little")], None, None), 0.0)
    raw = Guidance(50, [Advice("aim_down", 0.03, "Aim down a little"), Advice("aim_left", 0.05, "Aim left")], None, None)
    g = st.update(raw, 1 / 30)
    assert [a.action for a in g.advice] == ["aim_up", "aim_left"]
    shown = [[a.action for a in st.update(raw, (2 + i) / 30).advice] for i in range(20)]
    assert all(not {"aim_up", "aim_down"} <= set(s) for s in shown)
    assert shown[-1] == ["aim_down", "aim_left"]  # the lasting change is shown in the end


def test_hold_is_entered_high_and_left_low() -> None:
    st = AdviceStabilizer(min_frames=3, hold_enter=80, hold_exit=65)
    st.update(_g("step_back", 40), 0.0)
    for i in range(3):
        g = st.update(_g("hold", 88), 0.1 + i / 30)
    assert first(g) == "hold"
    # just out of tolerance, back and forth: still hold
    for i in range(20):
        g = st.update(_g("aim_left" if i % 2 else "hold", 75 if i % 2 else 86), 1 + i / 30)
        assert first(g) == "hold" and g.advice == [HOLD]
    # really off: leaves hold at once (a green "hold" at match 50 would be a lie)
    shown = [first(st.update(_g("aim_left", 50), 2 + i / 30)) for i in range(4)]
    assert shown == ["aim_left"] * 4


def test_a_hold_vouches_only_for_what_was_measured_when_it_was_entered() -> None:
    """bench/closed_loop.py, the S7 room: hold was entered before the roll was read; the horizon then read 2.3
    degrees (1.17 tolerances, inside the exit band) and the hold stayed on a picture rolled 4 degrees."""
    st = AdviceStabilizer(min_frames=3)
    framed = {"body_fill": 0.1, "vertical": 0.0, "center_x": 0.4}
    for i in range(4):
        g = st.update(Guidance(97, [HOLD], None, None, errors=framed), i / 30)
    assert first(g) == "hold"
    # a check measured at entry drifting just past its band: the hysteresis keeps the hold
    drifted = Guidance(80, [Advice("step_back", 0.02, "Step back a little")], None, None, errors={**framed, "body_fill": 1.17})
    assert first(st.update(drifted, 5 / 30)) == "hold"
    # a check measured only now, past the band that asks for it: the hold ends at once
    level = Advice("level_camera", 2.3, "Level the camera (turn it anticlockwise by about 2 degrees)")
    rolled = Guidance(80, [level], None, None, errors={**framed, "tilt_deg": -1.17})
    assert first(st.update(rolled, 6 / 30)) == "level_camera"
    # ... but not one that is within it
    st2 = AdviceStabilizer(min_frames=3)
    for i in range(4):
        st2.update(Guidance(97, [HOLD], None, None, errors=framed), i / 30)
    assert first(st2.update(Guidance(95, [HOLD], None, None, errors={**framed, "tilt_deg": 0.4}), 5 / 30)) == "hold"
    # A new check that is measured but not asked (a body's axis at 0.95: asked only past 1.0) while another drifts
    # into its ask: the drift is hysteresis, the hold stays.
    drift = Advice("step_back", 0.01, "Step back a little")
    both = Guidance(80, [drift], None, None, errors={**framed, "body_fill": 0.9, "tilt_deg": 0.95})
    assert first(st2.update(both, 6 / 30)) == "hold"
    # The dance clip with its own frame's profile: camera height read during the hold at -0.89 (no ask), later
    # -1.07 (an ask): it had joined what the hold vouches for, so the hysteresis keeps the hold as before.
    st3 = AdviceStabilizer(min_frames=3)
    for i in range(4):
        st3.update(Guidance(97, [HOLD], None, None, errors=framed), i / 30)
    st3.update(Guidance(92, [HOLD], None, None, errors={**framed, "camera_height": -0.89}), 5 / 30)
    raise_it = Guidance(78, [Advice("raise_camera", 0.05, "Raise the camera a little")], None, None,
                        errors={**framed, "camera_height": -1.07})
    assert first(st3.update(raise_it, 6 / 30)) == "hold"


def test_no_stale_move_once_the_framing_has_matched_for_half_a_second() -> None:
    """Squats at 5 fps: she stands up again, the framing matches (score 95): hold within 0.5 s, never a move."""
    st = AdviceStabilizer()
    for i in range(5):
        st.update(_g("lower_camera", 40), i / 5)
    shown = [(t, first(st.update(_g("hold", 95), t))) for t in (1.0, 1.2, 1.4, 1.6, 1.8)]
    assert all(action == "hold" for t, action in shown if t - 1.0 >= 0.4)
    # and while she squats (score far off), never a green hold
    held = [first(st.update(_g("step_back", s), 2.0 + i / 5)) for i, s in enumerate((52, 30, 15))]
    assert "hold" not in held


def test_a_hold_that_takes_a_stale_move_s_place_lasts_before_it_is_shown() -> None:
    """COCO 589 in bench/closed_loop.py: "aim down" shown, the aim made (frames a moving camera shows), then a
    step closer asked; the body fill read -0.73 and -0.78 tolerances on two frames (hold) and -0.9 to -1.2 on the rest, the
    picture -1.1. Until 2026-11-25 the hold replaced the stale aim on its second frame and stayed (hysteresis)."""
    st = AdviceStabilizer()
    for i in range(15):
        st.update(_g("aim_down", 80), i / 15)
    raws = [("aim_down", 83, 1.2), ("step_closer", 82, 1.35), ("step_closer", 85, 1.5), ("step_closer", 86, 1.65),
            ("hold", 92, 1.8), ("hold", 91, 1.87)] + [("step_closer", 84, 1.93 + i / 15) for i in range(12)]
    shown = [first(st.update(_g(action, score), t)) for action, score, t in raws]
    assert "hold" not in shown
    assert shown[-1] == "step_closer"
    # a hold that lasts is shown, as before: within min_frames frames
    later = [first(st.update(_g("hold", 92), 3.0 + i / 15)) for i in range(4)]
    assert later[-1] == "hold"


def test_no_one_is_said_after_a_few_frames_and_advice_returns_at_once() -> None:
    st = AdviceStabilizer(absent_frames=3)
    gone = Guidance(0, [], None, None, NO_ONE)
    st.update(_g("aim_left", 50), 0.0)
    assert first(st.update(gone, 0.03)) == "aim_left"  # a one-frame dropout
    st.update(gone, 0.06)
    g = st.update(gone, 0.1)
    assert g.message == NO_ONE and g.advice == []
    assert first(st.update(_g("step_closer", 40), 0.13)) == "step_closer"
    assert st.update(gone, 0.2).message != NO_ONE


# --- real photo: move the person around the frame, the advice points back --------------------

REFERENCE = "mmpose_S7_Greeting.55011271_000396.jpg"  # man standing far, lots of room around him


def _measure(model, image):  # type: ignore[no-untyped-def]
    h, w = image.shape[:2]
    result = analyze_photo(model, Photo(Path("frame.png"), image, w, h, 1.0))
    s = result.parse.subject
    assert s is not None
    marks = result.landmarks[s]
    return framing(result.parse, s, marks), marks


@pytest.fixture(scope="module")
def reference(model):  # type: ignore[no-untyped-def]
    photo = read_photo(PEOPLE / REFERENCE)
    verdict = cal.judge(analyze_photo(model, photo, outline=False), REFERENCE)
    assert verdict.accepted
    profile = cal.build_profile("ref", model.name, [verdict], str(PEOPLE))
    image = photo.image
    return image, target_from_profile(profile, orientation_of(image.shape[1], image.shape[0])), verdict.framing


def _place(image: np.ndarray, moved: np.ndarray, x: int, y: int) -> np.ndarray:
    """`moved` with its top-left corner at (x, y) on a plain canvas the size of `image`."""
    h, w = image.shape[:2]
    canvas = np.empty_like(image)
    canvas[:] = image[:8, :8].reshape(-1, 3).mean(axis=0)  # plain fill: no mirrored people
    mh, mw = moved.shape[:2]
    sx, sy, dx, dy = max(0, -x), max(0, -y), max(0, x), max(0, y)
    cw, ch = min(mw - sx, w - dx), min(mh - sy, h - dy)
    canvas[dy : dy + ch, dx : dx + cw] = moved[sy : sy + ch, sx : sx + cw]
    return canvas


def _zoom(image: np.ndarray, factor: float, cx: float, cy: float) -> np.ndarray:
    """Zoom about (cx, cy) keeping the frame size: crop + resize in, shrink + pad out."""
    interp = cv2.INTER_CUBIC if factor > 1 else cv2.INTER_AREA
    scaled = cv2.resize(image, None, fx=factor, fy=factor, interpolation=interp)
    return _place(image, scaled, round(cx * (1 - factor)), round(cy * (1 - factor)))


@pytest.mark.parametrize(
    "change, action",
    [
        ("unchanged", "hold"),
        ("zoom_in", "step_back"),
        ("zoom_out", "step_closer"),
        ("shift_left", "aim_left"),  # person moved left: turn the camera left, they move right
        ("shift_right", "aim_right"),
        ("move_up", "aim_up"),  # person high in the frame: aim up, they move down
        ("move_down", "aim_down"),
        ("feet_cut", "aim_down"),  # moved far down: feet cut, lots of headroom
        ("much_closer", "step_back"),  # zoomed in until head and feet are cut
    ],
)
def test_advice_points_back_on_a_real_photo(model, reference, change, action) -> None:  # type: ignore[no-untyped-def]
    image, target, base = reference
    h, w = image.shape[:2]
    cx = base.center_x * w
    cy = (base.headroom + base.body_fill / 2) * h  # the person's middle
    d = round(0.12 * h)  # 3-4 tolerances of placement
    moved = {
        "unchanged": lambda: image,
        "zoom_in": lambda: _zoom(image, 1.35, cx, cy),
        "zoom_out": lambda: _zoom(image, 0.7, cx, cy),
        "shift_left": lambda: _place(image, image, -d, 0),
        "shift_right": lambda: _place(image, image, d, 0),
        "move_up": lambda: _place(image, image, 0, -d),
        "move_down": lambda: _place(image, image, 0, d),
        "feet_cut": lambda: _place(image, image, 0, round(0.45 * h)),
        "much_closer": lambda: _zoom(image, 3.2, cx, cy),
    }[change]()
    assert moved.shape == image.shape
    fr, marks = _measure(model, moved)
    g = advise(fr, marks, target, w, h)
    assert first(g) == action, (change, g)
    if action == "hold":
        assert g.advice == [HOLD] and g.score >= 85
    else:
        assert g.score < 85
    if change in ("shift_left", "shift_right", "move_up", "move_down"):
        assert g.advice[0].amount == pytest.approx(0.12, abs=0.03)


def test_advice_says_how_far() -> None:
    from guide.guidance import how_far

    assert how_far("step_back", 0.3, distance_ratio=1.5) == "to about 1.5x the distance"
    assert how_far("step_closer", 0.3, distance_ratio=0.6) == "to about 60% of the distance"
    assert how_far("step_closer", 0.03, distance_ratio=0.95) == "a little"
    assert how_far("step_back", 0.2) == ""  # cut by the frame: how far is not known
    assert how_far("aim_left", 0.05) == "a little" and how_far("aim_up", 0.25) == "by about 25% of the frame"
    assert how_far("level_camera", 4.2) == "by about 4 degrees"
    assert how_far("lower_camera", 0.1) == "a little" and how_far("raise_camera", 0.3) == "a lot"
    assert how_far("lower_camera", 0.3, height=0.58) == "to waist height"


def test_a_small_person_is_told_how_much_closer() -> None:
    """Body fill 0.4 where 0.84 is wanted: closer, to about half the distance (size goes as one over distance;
    asked a little short, for 0.82, so that doing 120% of it does not overshoot by more than the hold band)."""
    target = builtin_target("portrait", 480 / 640)
    fr = Framing(head_ratio=0.17, body_fill=0.4, headroom=0.3, footroom=0.3, center_x=0.5, tilt_deg=0.0,
                 orientation="portrait", aspect_ratio=480 / 640)
    marks = Landmarks((240.0, 192.0), (240.0, 235.0), (240.0, 448.0))
    g = advise(fr, marks, target, 480, 640)
    step = next(a for a in g.advice if a.action == "step_closer")
    assert step.text == "Step closer to about 49% of the distance"


def test_a_scene_read_roll_is_asked_from_the_hold_band_a_body_axis_only_past_its_tolerance() -> None:
    """A hold entered at 1.9 degrees read is as often a picture rolled 2.2: the scene's reading is
    levelled from HOLD_BAND of the 2-degree tolerance, as size and placement are; a body's axis
    (a weak cue) still only past its tolerance."""
    from dataclasses import replace

    from guide.guidance import HOLD_BAND

    level = builtin_target("portrait", W / H)
    level = replace(level, values={**level.values, "tilt_deg": (0.0, 2.0)})
    fr, marks = scene(top=185, feet=800, cx=0.5, ratio=0.176)
    inside = 2.0 * (HOLD_BAND + 1.0) / 2  # between the band and the tolerance
    asked = advise(replace(fr, tilt_deg=inside), marks, level, W, H).advice[0]
    assert asked.action == "level_camera" and "clockwise" in asked.text
    assert advise(replace(fr, tilt_deg=inside), marks, replace(level, weak_tilt=True), W, H).advice[0].action != (
        "level_camera"
    )
    assert advise(replace(fr, tilt_deg=0.5 * HOLD_BAND * 2.0), marks, level, W, H).advice[0].action != "level_camera"


def test_one_end_unseen_inside_the_frame_places_nothing(target) -> None:  # type: ignore[no-untyped-def]
    """A head the model does not find (not cut by the frame): placing the feet alone put a small person's
    centre low, and when the head came back the placement jumped the other way ("aim up 26%", "aim down
    22%", bench/closed_loop.py). Nothing vertical is asked until both ends are seen; never a hold."""
    g = advise(*scene(top=None, feet=500.0, cx=0.5), target, W, H)
    assert g.message == "can't see the head"
    assert not [a for a in g.advice if a.action in ("aim_up", "aim_down", "hold")], g.advice
    assert "vertical" not in g.errors
    side = advise(*scene(top=None, feet=500.0, cx=0.8), target, W, H)  # what can be said still is
    assert [a.action for a in side.advice] == ["aim_right"]


def test_one_diagonal_aim_and_the_step_frame_a_small_person_on_the_third(model) -> None:  # type: ignore[no-untyped-def]
    """The real photo's person made small (0.4 of the height), low and near the left third: the first ask aims
    down and left in one motion, the second steps closer. Both done as asked (the picture moved, then grown
    about its centre) and measured again by the model, the person is on the third, whole, at the wanted size."""
    image = read_photo(PEOPLE / REFERENCE).image
    h, w = image.shape[:2]
    target = builtin_target(orientation_of(w, h), w / h)
    base, _ = _measure(model, image)
    small = _zoom(image, 0.4 / base.body_fill, base.center_x * w, (base.headroom + base.body_fill / 2) * h)
    placed, _ = _measure(model, small)
    moved = _place(image, small, round((0.36 - placed.center_x) * w), round((placed.footroom - 0.1) * h))
    fr, marks = _measure(model, moved)
    aim, step = advise(fr, marks, target, w, h).advice[:2]
    assert (aim.action, step.action) == ("aim_down", "step_closer") and aim.also is not None
    assert aim.also.action == "aim_left"
    shifted = _place(image, moved, round(aim.also.amount * w), round(-aim.amount * h))  # aim left and down
    after, marks = _measure(model, _zoom(shifted, (fr.body_fill + step.amount) / fr.body_fill, w / 2, h / 2))
    assert not marks.cut
    assert after.center_x == pytest.approx(1 / 3, abs=target.values["center_x"][1])
    assert after.body_fill == pytest.approx(target.values["body_fill"][0], abs=target.values["body_fill"][1])
