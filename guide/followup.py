"""Following up on asks, per subject: stop an ask that changes nothing, and know the person's proportions.

The live loop asks for one thing at a time. `FollowUp` keeps a little state
about the subject across frames:

- Each ask shown first is watched in periods of `ASK_SECONDS` (time to read
  it and act). When a whole period passes without the measurement it corrects
  moving by half a tolerance, that counts as asked and nothing changed;
  after `DROP_AFTER` such periods in a row the ask is dropped for this subject,
  with the reason, and the advice goes on without it (hold, if nothing else is
  left). A dropped ask comes back when its measurement changes a lot (the
  person or the camera moved) or another subject is followed.
- Camera height is asked for at most `MAX_HEIGHT_PERIODS` periods per subject:
  its estimate leans on the person's proportions, so it gets an end even when
  the picture keeps changing.
- A level ask read from the person's body axis alone (no scene verticals) is
  asked for `MAX_WEAK_LEVEL_PERIODS` period per subject (an ask followed and
  gone within its period counts as one): the first turn takes out a camera
  rolled well past what a pose explains; what the axis still shows after it
  is as likely the person's own lean (a body standing 8 degrees off plumb is
  asked, turn after turn, to roll a level camera). Such a drop ends when the
  scene's lines read a roll to level: then it is the camera's, not their lean.
- A level ask that turns one way, then the other, then the first way again
  (within `TURNS_SECONDS`, no hold between, the last two asking for at most
  `TURNS_NEAR` tolerances: the first turn may be a large one) is dropped as
  it turns back: near level, the roll's readings differ by more than the
  turns they ask (a horizon read 2 degrees off one look, the verticals 1 the
  other way the next), and the camera is as level as they can tell. It comes
  back when a reading passes `TURNS_NEAR`.
- The subject's own head share (guide.perspective) is estimated at the first
  sight of them, assuming the camera is then held by hand at eye level:
  the median over their first `FIRST_SIGHT_FRAMES` whole-body frames.

`filter` runs on the raw guidance before `AdviceStabilizer`; `observe` on what
was shown, after it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field, replace

from guide import perspective
from guide.guidance import CHECK_ACTIONS, HOLD, HOLD_BAND, TEXT, Action, Dropped, Guidance, score_of
from guide.measure import Framing

ASK_SECONDS = 2.0  # one ask period: read the advice and carry it out
MOVED = 0.5  # tolerances: less change than this over a period is "nothing changed"
DROP_AFTER = 2  # periods in a row with nothing changed before an ask is dropped
MAX_HEIGHT_PERIODS = 3  # camera height is asked at most this many periods per subject
MAX_WEAK_LEVEL_PERIODS = 1  # a level ask from the body's axis alone: this many periods per subject
FOLLOWED_SECONDS = 0.5  # a body-axis level ask shown this long, then gone: followed, its period used
COME_BACK = 2.0  # tolerances: a dropped ask returns when its measurement moves this far
NOTE_SECONDS = 4.0  # the overlay says why an ask was dropped for this long
TURNS_SECONDS = 12.0  # a level ask's changes of way count within this long (three asks and two moves between)
TURNS_NEAR = 1.75  # tolerances (3.5 degrees): readings beyond this are a rolled camera, whatever came before
LEAN = "the rest may be how they stand"  # why a level ask read from the body's axis alone is dropped
FIRST_SIGHT_FRAMES = 8  # whole-body frames whose head ratio gives the person's own proportions
# The error (Guidance.errors key) each action corrects: guidance.CHECK_ACTIONS the other way round.
CORRECTS = {action: key for key, actions in CHECK_ACTIONS.items() for action in actions}
CAMERA_HEIGHT = (Action.RAISE_CAMERA, Action.LOWER_CAMERA)


@dataclass
class _Ask:
    action: Action
    since: float
    start: float  # the corrected error (tolerances) when the period began
    lo: float  # its range over the period
    hi: float
    last: float = 0.0  # its last reading
    weak: bool = False  # a level ask read from the body's axis alone on some frame of the period

    def __post_init__(self) -> None:
        self.last = self.start


@dataclass
class _Drop:
    reason: str
    at: float
    error: float | None
    near: float | None = None  # it comes back when its error passes this (tolerances), whatever it was at the drop
    weak: bool = False  # a level ask dropped as the body's axis alone read it: it comes back when the scene reads one


@dataclass
class FollowUp:
    """Per-subject follow-up state (see the module's docstring)."""

    subject: int | None = None
    own_ratio: float | None = None
    _sightings: list[float] = field(default_factory=list)
    _ask: _Ask | None = None
    _still: dict[Action, int] = field(default_factory=dict)  # periods in a row with nothing changed
    _height_periods: int = 0
    _weak_level_periods: int = 0
    _turns: list[tuple[int, float, float]] = field(default_factory=list)  # level asks: way (+1 clockwise), when, asked
    _dropped: dict[Action, _Drop] = field(default_factory=dict)
    _note: tuple[Action, str, float] | None = None  # the last ask dropped, why, and when

    def reset(self, subject: int | None = None) -> None:
        self.subject, self.own_ratio = subject, None
        self._sightings, self._ask, self._still = [], None, {}
        self._height_periods, self._dropped, self._note = 0, {}, None
        self._weak_level_periods, self._turns = 0, []

    def see(self, subject: int | None, fr: Framing | None) -> None:
        """A new frame of `subject` (None: nobody); learns their proportions on their first whole-body frames."""
        if subject != self.subject:
            self.reset(subject)
        if self.own_ratio is not None or fr is None or fr.head_ratio is None:
            return
        if fr.headroom is None or fr.footroom is None or fr.headroom < 0 or fr.footroom < 0:
            return
        view = perspective.View(fr.headroom, 1.0 - fr.footroom, fr.aspect_ratio)
        self._sightings.append(perspective.own_ratio(fr.head_ratio, perspective.HAND_HELD, view))
        if len(self._sightings) >= FIRST_SIGHT_FRAMES:
            self.own_ratio = statistics.median(self._sightings)

    def filter(self, raw: Guidance, t: float, weak_level: bool = False) -> Guidance:
        """`raw` without the dropped asks (rescored without their errors), saying why they were dropped.
        `weak_level`: the roll was read from the person's body axis this frame (see `observe`)."""
        if not self._dropped or not raw.advice and raw.message:
            return raw
        for action, drop in list(self._dropped.items()):
            now = raw.errors.get(CORRECTS[action])
            far = drop.near is not None and now is not None and abs(now) > drop.near
            # The scene's lines read a roll the scene itself would ask to level: the camera's, not their lean. (A
            # level reading lifted it too, and the body's next frame asked and dropped it again: a flashing ask.)
            scene = drop.weak and now is not None and not weak_level and abs(now) > HOLD_BAND
            if far or scene or now is not None and drop.error is not None and abs(now - drop.error) >= COME_BACK:
                del self._dropped[action]  # something changed a lot: it may work now
                self._still.pop(action, None)
        if not self._dropped:
            return raw
        gone = {CORRECTS[a] for a in self._dropped}
        errors = {k: e for k, e in raw.errors.items() if k not in gone}
        advice = [a for a in raw.advice if a.action not in self._dropped and a.action != Action.HOLD]
        if not advice and raw.message is None:
            advice = [HOLD]
        if self._note is not None and t - self._note[2] <= NOTE_SECONDS and advice:
            action, reason, _ = self._note
            first = advice[0]
            note = f"(no longer asking \"{TEXT[action]}\": {reason})"  # said apart from the ask it rides on
            advice = [replace(first, text=f"{first.text} {note}"), *advice[1:]]
        score = score_of(errors) if errors else raw.score
        if raw.message:
            score = min(score, raw.score)
        return replace(
            raw,
            advice=advice,
            errors=errors,
            score=score,
            dropped=[Dropped(a, d.reason) for a, d in self._dropped.items()],
        )

    def observe(self, shown: Guidance, t: float, weak_level: bool = False) -> None:
        """What the user was shown: count ask periods, and drop an ask that changed nothing.

        `weak_level`: the roll was read from the person's body axis (no scene verticals) this frame.
        A measurement that comes and goes while its ask stays first (a body's axis read on some
        frames only) neither restarts the period nor ends it.
        """
        first = shown.advice[0].action if shown.advice else None
        if first == Action.HOLD:
            self._turns = []  # level was reached: the next turn starts afresh
        key = CORRECTS.get(first) if first is not None else None
        if first is None or key is None:
            self._leave(t)
            self._ask = None
            return
        error = shown.errors.get(key)
        if first == Action.LEVEL_CAMERA and error is not None and self._turned_back(error, t, weak_level):
            return
        ask = self._ask
        if ask is None or ask.action != first:
            self._leave(t)
            self._ask = None if error is None else _Ask(first, t, error, error, error)
            ask = self._ask
            if ask is not None:
                ask.weak = first == Action.LEVEL_CAMERA and weak_level
                if ask.weak and self._weak_level_periods >= MAX_WEAK_LEVEL_PERIODS:  # its turn was made
                    self._drop(first, LEAN, t, ask.last, weak=True)
            return
        if error is not None:
            ask.lo, ask.hi, ask.last = min(ask.lo, error), max(ask.hi, error), error
        ask.weak |= first == Action.LEVEL_CAMERA and weak_level
        if t - ask.since < ASK_SECONDS:
            return
        moved = max(abs(ask.hi - ask.start), abs(ask.lo - ask.start)) >= MOVED
        self._still[first] = 0 if moved else self._still.get(first, 0) + 1
        if first in CAMERA_HEIGHT:
            self._height_periods += 1
        if ask.weak:
            self._weak_level_periods += 1
        reason = None
        if self._still[first] >= DROP_AFTER:
            reason = "asked twice, nothing changed"
            if first in CAMERA_HEIGHT:
                reason += ": their build, not the camera"
        elif first in CAMERA_HEIGHT and self._height_periods >= MAX_HEIGHT_PERIODS:
            reason = "close enough for this person"
        elif ask.weak and self._weak_level_periods >= MAX_WEAK_LEVEL_PERIODS:
            reason = LEAN
        if reason is not None:
            self._drop(first, reason, t, ask.last, weak=reason == LEAN)
            return
        self._ask = _Ask(first, t, ask.last, ask.last, ask.last)

    def _turned_back(self, error: float, t: float, weak: bool) -> bool:
        """Note each new way the shown level ask turns and how far it asked then (from HOLD_BAND of a tolerance,
        a body's axis from one: a kept ask on a reading already inside says nothing), and drop it as it changes
        way the second time near level (see the module's doc). Judged as a way starts: a turn asked for in full
        and followed is not dropped halfway."""
        if abs(error) < (1.0 if weak else HOLD_BAND):
            return False
        way = 1 if error > 0 else -1
        if self._turns and self._turns[-1][0] == way:
            return False
        self._turns = [turn for turn in self._turns if t - turn[1] <= TURNS_SECONDS] + [(way, t, abs(error))]
        last = self._turns[-3:]
        if [w for w, _, _ in last] != [way, -way, way] or max(e for _, _, e in last[1:]) > TURNS_NEAR:
            return False
        self._turns = []
        self._drop(Action.LEVEL_CAMERA, "it read both ways: level enough", t, error, TURNS_NEAR)
        return True

    def _drop(
        self, action: Action, reason: str, t: float, error: float, near: float | None = None, weak: bool = False
    ) -> None:
        self._dropped[action] = _Drop(reason, t, error, near, weak)
        self._note = (action, reason, t)
        if action in CAMERA_HEIGHT:  # one camera height: neither way is asked again
            other = Action.RAISE_CAMERA if action == Action.LOWER_CAMERA else Action.LOWER_CAMERA
            self._dropped[other] = _Drop(reason, t, error)
        self._ask = None

    def _leave(self, t: float) -> None:
        """The shown ask leaves first place before its period ends: a body-axis level ask shown for
        `FOLLOWED_SECONDS` was followed (the turn took the reading inside its tolerance), and that turn is
        its period. Counted only at period ends (until 2026-11-23), a turn made within the period went
        uncounted, and the body's lean was asked again after each other move (TS1 in bench/closed_loop.py:
        three turns, 7 moves)."""
        ask = self._ask
        if ask is not None and ask.weak and t - ask.since >= FOLLOWED_SECONDS:
            self._weak_level_periods += 1
