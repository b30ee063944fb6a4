"""The perspective model: camera height apart from the person's proportions, on the model and on real photos."""

from __future__ import annotations

import statistics

import pytest

from guide import calibration as cal
from guide.analyze import analyze_photo
from guide.guidance import advise
from guide.target import builtin_target, target_from_profile
from guide.images import read_photo
from guide.measure import Framing, framing
from guide.perspective import (
    HAND_HELD,
    TYPICAL_OWN_RATIO,
    View,
    camera_height,
    height_words,
    measured_ratio,
    own_ratio,
)

from conftest import PEOPLE

PORTRAIT = View(0.1, 0.9, 0.75)  # body fill 0.8 in a 3:4 portrait frame: ~1.5 m from an adult
FAR = View(0.35, 0.65, 4 / 3)  # body fill 0.3 in landscape: ~5 m


def test_a_lower_camera_gives_longer_legs_and_the_effect_fades_with_distance() -> None:
    eye, waist = measured_ratio(0.15, 0.92, PORTRAIT), measured_ratio(0.15, 0.58, PORTRAIT)
    assert eye - waist == pytest.approx(0.055, abs=0.015)  # close up: as much as people differ
    far = measured_ratio(0.15, 0.92, FAR) - measured_ratio(0.15, 0.58, FAR)
    assert 0.003 < far < 0.015  # far away: the brief's ~0.01
    heights = [measured_ratio(0.15, c / 10, PORTRAIT) for c in range(0, 11)]
    assert heights == sorted(heights)  # higher camera, larger head share, from the ground to head height


@pytest.mark.parametrize("view", [PORTRAIT, FAR, View(0.2, 0.75, 1.0)])
@pytest.mark.parametrize("own, c", [(0.13, 0.4), (0.15, 0.83), (0.19, 0.6), (0.22, 1.0)])
def test_the_inverses_give_back_height_and_proportions(view: View, own: float, c: float) -> None:
    m = measured_ratio(own, c, view)
    assert own_ratio(m, c, view) == pytest.approx(own, abs=1e-6)
    assert camera_height(m, own, view) == pytest.approx(c, abs=1e-3)


def test_a_child_is_not_asked_to_lower_the_camera_without_end() -> None:
    """A child's big head reads as a high camera only when their proportions are not known."""
    child = 0.2  # head share of a young child
    m = measured_ratio(child, HAND_HELD, PORTRAIT)
    wrong = camera_height(m, TYPICAL_OWN_RATIO, PORTRAIT)  # read with an adult's proportions ...
    assert wrong > 1.0 and height_words(wrong) == "above head height"  # ... the camera seems above their head
    own = own_ratio(m, HAND_HELD, PORTRAIT)  # first sight, hand-held
    assert own == pytest.approx(child)
    assert camera_height(measured_ratio(child, 0.58, PORTRAIT), own, PORTRAIT) == pytest.approx(0.58, abs=1e-3)


def test_heights_in_words() -> None:
    assert height_words(0.6) == "waist height" and height_words(0.9) == "eye height"
    assert height_words(0.7) == "chest height" and height_words(0.3) == "knee height"


def _framing(name: str, model) -> Framing:  # type: ignore[no-untyped-def]
    analysis = analyze_photo(model, read_photo(PEOPLE / name))
    body = analysis.parse
    assert body.subject is not None
    return framing(body, body.subject, analysis.landmarks[body.subject])


# Three square photos (one framing group) and one landscape one, of four different people.
PHOTOS = (
    "mmpose_TS1_002001.jpg",
    "mmpose_S8_WalkDog_1.55011271_000026.jpg",
    "tfjs_posenet_frisbee.jpg",
    "tfjs_pose.jpg",
)


@pytest.fixture(scope="module")
def framings(model):  # type: ignore[no-untyped-def]
    return {name: _framing(name, model) for name in PHOTOS}


def test_real_people_differ_more_than_camera_height_moves_their_ratio(framings) -> None:  # type: ignore[no-untyped-def]
    """Shared photos of different people: their own proportions (at a hand-held height) spread over
    more than what eye-to-waist height changes at their framing, so a raw ratio cannot be a target."""
    owns, moves = [], []
    for fr in framings.values():
        assert fr.head_ratio is not None and fr.headroom is not None and fr.footroom is not None
        view = View(fr.headroom, 1.0 - fr.footroom, fr.aspect_ratio)
        own = own_ratio(fr.head_ratio, HAND_HELD, view)
        assert 0.10 < own < 0.22  # adult proportions, BodyPix's head (hair to chin)
        owns.append(own)
        moves.append(measured_ratio(own, 0.92, view) - measured_ratio(own, 0.58, view))
    assert max(owns) - min(owns) > statistics.median(moves)


def test_profile_keeps_the_camera_height_and_another_person_can_reach_it(framings) -> None:  # type: ignore[no-untyped-def]
    refs = [framings[n] for n in PHOTOS[:2]]
    verdicts = [cal.Verdict(f"{i}.jpg", True, None, fr) for i, fr in enumerate(refs)]
    profile = cal.build_profile("p", "model", verdicts, "refs")
    key, group = profile.framing_group(refs[0].orientation)
    term = group.to_dict()["camera_height"]
    assert 0.1 <= term["median"] <= 1.05 and term["n"] == 2
    target = target_from_profile(profile, key)
    assert target.camera_height is not None and "head_ratio" not in target.values
    # Another person (the frisbee player) seen hand-held: asked towards the profile's height with words,
    # and once there (by the model) the ask ends.
    other = framings[PHOTOS[2]]
    assert other.head_ratio is not None and other.headroom is not None and other.footroom is not None
    view = View(other.headroom, 1.0 - other.footroom, other.aspect_ratio)
    own = own_ratio(other.head_ratio, HAND_HELD, view)
    want = target.camera_height[0]
    there = Framing(
        **{**other.values(), "head_ratio": measured_ratio(own, want, view)},
        orientation=other.orientation,
        aspect_ratio=other.aspect_ratio,
    )
    from guide.measure import Landmarks

    marks = Landmarks((100.0, 10.0), (100.0, 40.0), (100.0, 200.0))
    g = advise(there, marks, target, 1000, round(1000 / other.aspect_ratio), own_ratio=own)
    assert abs(g.errors["camera_height"]) < 0.01
    assert not any(a.action in ("raise_camera", "lower_camera") for a in g.advice)


def test_old_profiles_without_the_term_fall_back_to_their_median_framing() -> None:
    fr = Framing(
        head_ratio=0.16,
        body_fill=0.7,
        headroom=0.15,
        footroom=0.15,
        center_x=0.5,
        tilt_deg=0.0,
        orientation="portrait",
        aspect_ratio=0.75,
    )
    profile = cal.build_profile("old", "model", [cal.Verdict("a.jpg", True, None, fr)], "refs")
    data = profile.to_dict()
    for group in data["groups"].values():
        del group["camera_height"]
    from guide.profile import Profile

    old = target_from_profile(Profile.from_dict(data), "portrait")
    new = target_from_profile(profile, "portrait")
    assert old.camera_height is not None and new.camera_height is not None
    assert old.camera_height[0] == pytest.approx(new.camera_height[0], abs=1e-6)
    assert builtin_target("portrait", 0.75).camera_height is None
