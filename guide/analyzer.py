"""The live analyzer: one frame in, what the model and the guidance make of it out.

The subject tracker (`guide.tracking`, or the group tracker with `--group`)
runs the model on the frame; then landmarks and framing (of the subject, or
of the group as one), the camera's roll from the scene (`guide.level`, `guide.horizon`), the
subject's light (`guide.light`), smoothing, guidance towards the profile's
target, the follow-up that drops asks followed without effect, and advice
hysteresis. No drawing and no I/O: `guide.live` runs it, `guide.sinks` show
and keep its results.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from guide.followup import FollowUp
from guide.group import Group, find_group, group_framing, name_the_cut, span_x
from guide.guidance import MAX_ADVICE, TEXT, Action, Advice, Guidance, advise
from guide.target import Target, builtin_target, crop_for, framing_in_crop, target_from_profile
from guide.horizon import Lines, face_on, horizon_line, horizontal_lines, roll_of_horizon
from guide.level import (
    DISAGREE,
    LEVEL_TOLERANCE,
    Roll,
    SteadyAxis,
    camera_roll,
    readings_of,
    upright,
    vertical_segments,
    with_face_on,
)
from guide.light import Light, measure_light
from guide.measure import Framing, Landmarks, axis_lean, framing, landmarks, orientation_of
from guide.model.bodypix import BodyPix
from guide.parse import BodyParse
from guide.profile import Profile
from guide.smoothing import AdviceStabilizer, FramingSmoother
from guide.sources import Frame
from guide.tracking import DETECT_SHORT_SIDE, SEARCH_SHORT_SIDE, GroupTracker, SubjectTracker

LIGHT_EVERY = 15  # frames between exposure readings: light changes as slowly as the roll
ROLL_EVERY = 15  # frames between looks at the scene's verticals: the camera's roll changes slowly (0.5 s at 30 fps)
# ... but every LEVEL_EVERY frames while a level ask is shown: the user is turning the camera, and the ask must
# follow the turn. Read every ROLL_EVERY, a reading taken before or during the turn stood for up to a second
# after it and asked the turn again (bench/closed_loop.py with the move's frames seen: "turn clockwise about
# 2 degrees" a second after the camera was level).
LEVEL_EVERY = 3
# Seconds the last roll reading (and where it came from) stands in for frames that read none. Its reading comes
# and goes: a body's axis counts only while the person stands upright (a knee angle crossing 20 degrees drops
# it for a frame). Without this, a level ask and another take turns first frame by frame and neither settles.
ROLL_COAST = 0.5
# Seconds the axis of a subject seen leaning against the scene's verticals (more than DISAGREE from them at a look
# that read both, and no horizon siding with the axis) is not taken for level on its own word while the verticals
# go unread: they miss a look now and then, and the axis of someone leaning into a throw, 7 degrees off, asked a
# level camera to turn (frisbee_2 in bench/closed_loop.py: clockwise, anticlockwise, clockwise). The lean outlasts
# a look; seconds later they may stand otherwise. An axis the horizon agrees with still counts: in the S7 room
# the radiators read -4 degrees, the axis of someone standing straight 0, and the horizon 2.4 sided with it.
LEAN_MEMORY = 5.0


@dataclass
class LiveOptions:
    resolution: float = 0.5  # whole-frame pass size, as a fraction of a 640x480 frame; captures use still quality
    threshold: float = 0.7
    window: bool = True
    auto_capture: bool = False
    hold_seconds: float = 1.0  # framing must match this long before the countdown starts
    countdown_seconds: float = 3.0
    captures: Path = Path("captures")
    record: Path | None = None
    log: Path | None = None
    max_frames: int | None = None
    strength: float = 3.0  # portrait blur: disc diameter, % of the frame's long side
    group: bool = False  # guide a group photo: everyone's head and feet in, the group framed as one
    preview_portrait: bool = False  # the view starts with the background blurred (key B toggles it)


@dataclass
class Analysis:
    """What the model and the guidance engine made of one frame."""

    frame: Frame
    parse: BodyParse  # holds the subject; its grid may be a crop of the frame (see `roi`)
    marks: Landmarks | None
    framing: Framing | None
    guidance: Guidance
    latency_ms: float
    subject_id: int | None = None
    roi: tuple[int, int, int, int] | None = None  # frame pixels of the subject's crop; None: whole frame
    people: int = 0
    group: list[tuple[float, float, float, float]] | None = None  # group mode: the members' boxes, frame pixels
    group_cut: list[bool] = field(default_factory=list)  # group mode: is member i's head or feet cut
    light: Light | None = None  # the subject's exposure against the background (every LIGHT_EVERY frames)
    others: list[tuple[float, float, float, float]] = field(default_factory=list)  # people outside the crop, frame px


class Analyzer:
    """Frame -> tracked subject -> smoothed framing -> stable guidance (the profile's target).

    Without a profile the built-in framing rules are the target. The target is
    fixed on the first frame, once the camera's orientation is known.
    """

    def __init__(self, model: BodyPix, profile: Profile | None, options: LiveOptions) -> None:
        self.model, self.profile, self.options = model, profile, options
        scale = options.resolution / 0.5  # --resolution scales the whole-frame passes (0.5: the defaults)
        self.tracker: SubjectTracker | GroupTracker
        if options.group:
            self.tracker = GroupTracker(model, threshold=options.threshold)
        else:
            self.tracker = SubjectTracker(
                model,
                threshold=options.threshold,
                detect_short_side=max(2 * model.output_stride + 1, round(scale * DETECT_SHORT_SIDE)),
                search_short_side=max(2 * model.output_stride + 1, round(scale * SEARCH_SHORT_SIDE)),
            )
        self.target: Target | None = None
        self.scene: Roll | None = None  # the camera's roll as the scene's verticals show it (`_roll_look`)
        self.horizon: Roll | None = None  # ... as its horizontal lines show it (where the verticals say nothing)
        self.line: Roll | None = None  # ... as the horizon seen across the picture shows it (ditto)
        self._frames = 0
        self._looked = -ROLL_EVERY  # the frame the scene's lines were last read on
        self.axis = SteadyAxis()  # the subject's body axis while they stand still
        self._axis_of: int | None = None  # whose
        self._leaning: float | None = None  # when their axis was last seen leaning against the verticals
        self._roll: tuple[Roll, float] | None = None  # the last roll read, and when
        self.timings: dict[str, float] = {}
        self.light: Light | None = None
        self.smoother = FramingSmoother()
        self.stabilizer = AdviceStabilizer()
        self.followup = FollowUp()  # per subject: asks that change nothing are dropped; their proportions

    def target_for(self, w: int, h: int) -> Target:
        if self.target is None:
            orientation = orientation_of(w, h)
            self.target = (
                target_from_profile(self.profile, orientation) if self.profile else builtin_target(orientation, w / h)
            )
        return self.target

    def _roll_look(self) -> bool:
        """Read the roll on this frame? Every ROLL_EVERY frames, every LEVEL_EVERY while a level ask is shown."""
        shown = self.stabilizer.shown
        turning = shown is not None and bool(shown.advice) and shown.advice[0].action == Action.LEVEL_CAMERA
        if self._frames - self._looked < (LEVEL_EVERY if turning else ROLL_EVERY):
            return False
        self._looked = self._frames
        return True

    def __call__(self, frame: Frame) -> Analysis:
        start = time.perf_counter()
        h, w = frame.image.shape[:2]
        target = self.target_for(w, h)
        tracked = self.tracker.update(frame.image, frame.t)
        body = tracked.parse
        t_model = time.perf_counter()
        look = self._roll_look()
        # The parse's people by their mask (the wall behind them stays in play), the others by their box.
        others, mask = [p.bbox for p in self.tracker.others], (body.mask, body.grid)
        lines: Lines | None = None  # the horizontal lines, read at most once per look
        if look:
            segments = vertical_segments(frame.image, others, mask)
            readings = readings_of(segments)
            self.scene, self.horizon, self.line = (readings[0] if len(readings) == 1 else None), None, None
            if body.subject is not None:  # lines seen face on: a second opinion on the verticals (`with_face_on`)
                # (a fence's rails tell its posts from a stick leaning on it, which read 7 degrees off alone)
                lines = horizontal_lines(frame.image, others, mask)
                self.scene = with_face_on(readings, face_on(lines), segments)
        self._frames += 1
        marks = fr = None
        members: Group | None = None
        if body.subject is not None and self.options.group:
            everyone = [landmarks(body, i) for i in range(len(body.people))]
            members = find_group(body, everyone, body.subject)
        if members is not None:
            marks = members.marks
            fr = group_framing(body, members, everyone)
        elif body.subject is not None:
            marks = landmarks(body, body.subject)
            fr = framing(body, body.subject, marks)
        if fr is not None and marks is not None and body.subject is not None:
            # Level is the camera's roll: the scene's verticals, or an upright person's axis; never a lean.
            kp = body.people[body.subject].keypoints
            lean = axis_lean(kp)  # the axis only: a shoulder line's slope is no axis
            standing = upright(kp)
            if tracked.subject_id != self._axis_of:  # another person: their own axis, from now on
                self.axis.reset()
                self._axis_of, self._leaning = tracked.subject_id, None
            steady = self.axis.update(frame.t, None if lean is None else lean[0], standing)
            # The horizontal lines (read above at each look of `_roll_look` with someone in view: 15-30 ms at 640
            # wide) count here only where `camera_roll` can use them: the horizon seen where the verticals say
            # nothing and the feet are in view (its height is checked against them); the horizon from vanishing
            # points for an upright body, where the verticals say nothing or stand apart from that body.
            doubt = self.scene is None or (lean is not None and abs(self.scene.degrees - lean[0]) > DISAGREE / 2)
            arbiter = standing and lean is not None and doubt
            seen = self.scene is None and marks.feet is not None and "feet" not in marks.cut
            if look and (seen or arbiter):
                lines = lines if lines is not None else horizontal_lines(frame.image, others, mask)
                self.line = horizon_line(lines) if seen else None
                self.horizon = roll_of_horizon(lines) if arbiter else None
            roll = camera_roll(self.scene, steady, steady is not None, self.horizon, self.line)
            if look and self.scene is not None and standing and lean is not None:  # does the axis lean?
                apart = abs(lean[0] - self.scene.degrees) > DISAGREE
                self._leaning = frame.t if apart and (roll is None or roll.source != "horizon") else None
            if roll is not None and roll.source == "body" and self._leaning is not None:
                if frame.t - self._leaning <= LEAN_MEMORY:
                    roll = None  # the axis alone, moments after it was seen leaning against the verticals
            if roll is not None:
                self._roll = (roll, frame.t)
            elif self._roll is not None and self._roll[0].source == "body" and steady is None:
                self._roll = None  # the axis moved (the camera turned, or they walk): its old reading is stale
            elif self._roll is not None and frame.t - self._roll[1] <= ROLL_COAST:
                roll = self._roll[0]
            fr = replace(fr, tilt_deg=None if roll is None else roll.degrees)
            if roll is not None and roll.source in ("scene", "horizon", "horizon_line") and "tilt_deg" in target.values:
                target = replace(target, values={**target.values, "tilt_deg": (0.0, LEVEL_TOLERANCE)})
            elif roll is not None and roll.source == "body":
                target = replace(target, weak_tilt=True)  # asked only beyond its tolerance, a little at a time
            crop = crop_for(target, w, h)
            if crop is not None and fr is not None:
                centre_px = fr.center_x * w if fr.center_x is not None else None
                fr = framing_in_crop(marks, centre_px, fr.tilt_deg, crop, (w, h))
        t_measure = time.perf_counter()
        smoothed = self.smoother.update(fr, frame.t)
        width_px = None
        if members is not None:
            x0, x1 = span_x(body, members.members)
            width_px = x1 - x0
        elif body.subject is not None:
            x0, _, x1, _ = body.people[body.subject].bbox
            width_px = x1 - x0
        self.followup.see(tracked.subject_id, smoothed if marks is not None and not marks.cut else None)
        advice = advise(smoothed, marks, target, w, h, body_width_px=width_px, own_ratio=self.followup.own_ratio)
        advice = self.followup.filter(advice, frame.t, weak_level=target.weak_tilt)
        if members is not None:
            advice = name_the_cut(advice, members)
        guidance = self.stabilizer.update(advice, frame.t)
        self.followup.observe(guidance, frame.t, weak_level=target.weak_tilt)
        if self._frames % LIGHT_EVERY == 1 or body.subject is None:
            self.light = subject_light(frame.image, body) if body.subject is not None else None
        guidance = with_light_advice(guidance, self.light)
        end = time.perf_counter()
        # Per-stage milliseconds of the last frame, for bench/live.py.
        self.timings = {
            "predict": tracked.timings.get("predict", 0.0),
            "parse": tracked.timings.get("parse", 0.0),
            "measure": (t_measure - t_model) * 1000,
            "guidance": (end - t_measure) * 1000,
            "passes": 1.0 + tracked.detected,
        }
        analysis = Analysis(frame, body, marks, smoothed, guidance, (end - start) * 1000,
                            tracked.subject_id, tracked.roi, tracked.people, light=self.light,
                            others=others)
        if self.options.group:
            chosen = members.members if members is not None else []
            analysis.group = [body.people[i].bbox for i in chosen]
            analysis.group_cut = [any(i in who for who in members.cut.values()) for i in chosen] if members else []
        return analysis


def subject_light(image: np.ndarray, body: BodyParse) -> Light | None:
    """The subject's light (their skin and brightest parts against what is right behind them); the parse
    may be a crop's: `measure_light` reads it on a small raster over the whole frame."""
    return measure_light(image, body) if body.subject is not None else None


def with_light_advice(guidance: Guidance, light: Light | None) -> Guidance:
    """`guidance` with "turn so the light falls on the face" after the framing actions, when backlit."""
    if light is None or not light.backlit or not guidance.advice or len(guidance.advice) >= MAX_ADVICE:
        return guidance
    ask = Advice(Action.AVOID_BACKLIGHT, round(-light.gap_ev, 2), TEXT[Action.AVOID_BACKLIGHT])
    return replace(guidance, advice=[*guidance.advice, ask])


