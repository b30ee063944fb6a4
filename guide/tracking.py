"""Live: find the subject in the whole frame, then follow them with crops.

A whole-frame pass at a fixed small size (whatever the camera's resolution)
finds people; the subject is then run on a crop around where they are expected
(last box plus motion, with margins), scaled so they are ~`LIVE_PERSON_HEIGHT`
model pixels tall. The whole frame is looked at again every `DETECT_EVERY`
frames, when the subject's confidence drops, and at once when the crop loses
them, so newcomers and re-entries are found.

The subject keeps an identity (`Track.score`): a candidate must be where the
subject should be (box and keypoints, or near the predicted box, the more
loosely the longer they were unseen), of their size (torso length), and
dressed like them (torso colours). A passer-by, even a larger one, never takes
their place; only once the subject has been unseen for `LOST_SECONDS` is a new
subject chosen, and someone who then looks like the lost subject gets their
id back.

Every per-pixel step runs on model rasters, so a frame costs about the same
at 640x480 and at 1920x1080; only the input resize reads the camera's pixels.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import numpy as np

from guide.geometry import Grid, expand_box, iou
from guide.model.bodypix import BodyPix, crop_window, valid_input_size
from guide.parse import DEFAULT_THRESHOLD, BodyParse, Person, model_grid, parse
from guide.regions import (
    MARGIN_BOTTOM,
    MARGIN_SIDES,
    MARGIN_TOP,
    appearance,
    best_match,
    overlap,
    person_box,
    refined_window,
    same_look,
    same_size,
    size_agreement,
    torso_length,
)
from guide.subject import pick_subject, split_others

# Whole-frame passes: the frame's short side is this many model pixels. While the subject is
# followed, a small look (640x480 -> 321x241, 1080p -> 433x241) re-checks who is where; while
# nobody is followed, a larger one searches, so that people at a quarter of the frame height
# (~120 model pixels tall there) are found on their first frame (bench/sizes.py).
DETECT_SHORT_SIDE = 241
SEARCH_SHORT_SIDE = 481
DETECT_EVERY = 8  # frames between whole-frame looks while the subject is followed
LOST_SECONDS = 1.0  # unseen this long, the subject is given up and a new one may be chosen
START_SCORE = 0.5  # a new subject must be seen this clearly (not a fragment at the frame's edge) ...
FAIR_SCORE = 0.25  # ... or this clearly, clear of the frame's edges
SAME_PERSON_LOOK = 0.8  # a new subject who looks this much like the lost one is them, back in view
# ... of their size; or, back within RETURN_SECONDS and looking RETURN_LOOK alike, up to RETURN_ZOOM times larger
# or smaller: the user stepped closer or back with the camera off them, and what the follow-up knew (a body-axis
# turn already made, an ask dropped) goes on with them. Seen all the way, a step is followed frame by frame; it
# was found where bench/closed_loop.py's view jumped (until 2026-11-24): 43 of 300 starts lost the subject's id
# on a step closer. Stricter on the look than a return at their size: of 552 pairs of different lone
# pedestrians (Penn-Fudan) at 0.4 and 0.8 of the height, 19 look 0.8 alike, 9 look 0.85; the same person, 22 of 24.
RETURN_SECONDS = 3.0
RETURN_ZOOM = 3.0
RETURN_LOOK = 0.85
MIN_LOOK = 0.55  # torso colours overlapping less than this (Bhattacharyya) are someone else
SURE_MATCH = 0.5  # a match this good, right after the last one, teaches the track their look and size
MAX_COAST = 0.25  # seconds the motion is extrapolated over while the subject is not seen
LOW_SCORE = 0.3  # below this pose score the subject is looked for in the whole frame next frame
# Live crops: the person ~this tall in the model's input. Crop inputs come in a few fixed
# shapes (TFLite keeps one interpreter per input size), picked by the box's shape.
LIVE_PERSON_HEIGHT = 224
CROP_ASPECTS = (0.55, 0.85, 1.35)  # width / height of the crop inputs


def crop_shapes(stride: int, person_height: float = LIVE_PERSON_HEIGHT) -> list[tuple[int, int]]:
    """The live crop input sizes (width, height): the person `person_height` tall in each."""
    height = valid_input_size(person_height * (1 + MARGIN_TOP + MARGIN_BOTTOM) + stride, stride)
    return [(valid_input_size(a * height + stride, stride), height) for a in CROP_ASPECTS]


@dataclass
class Track:
    """The subject as last seen: a person in image pixels, their box, and how fast it moves."""

    id: int
    person: Person
    box: tuple[float, float, float, float]
    t: float
    velocity: tuple[float, float] = (0.0, 0.0)  # box centre, image px per second
    misses: int = 0
    height: float = 0.0  # typical box height: a passer-by hiding the legs does not shrink the crop
    look: np.ndarray | None = None  # colour signature of the torso (`guide.regions.appearance`)
    torso: float | None = None  # typical torso length, image px (`guide.regions.torso_length`)
    seen_close: bool = False  # matched on a crop yet (the start's size is a whole-frame guess until then)

    def __post_init__(self) -> None:
        self.height = self.height or self.box[3] - self.box[1]

    def predicted(self, t: float) -> Person:
        """Where the person should be at time `t`, moved with their recent motion."""
        dt = min(MAX_COAST, max(0.0, t - self.t))
        dx, dy = self.velocity[0] * dt, self.velocity[1] * dt
        kp = self.person.keypoints.copy()
        kp[:, 0] += dx
        kp[:, 1] += dy
        x0, y0, x1, y1 = self.person.bbox
        return replace(self.person, keypoints=kp, bbox=(x0 + dx, y0 + dy, x1 + dx, y1 + dy))

    def predicted_box(self, t: float) -> tuple[float, float, float, float]:
        """The box to crop around at time `t`: moved with the motion, at least the typical height tall."""
        dt = min(MAX_COAST, max(0.0, t - self.t))
        dx, dy = self.velocity[0] * dt, self.velocity[1] * dt
        x0, y0, x1, y1 = self.box
        return x0 + dx, y0 + dy, x1 + dx, max(y1, y0 + 0.9 * self.height) + dy

    def score(self, candidates: list[Person], image: np.ndarray, t: float) -> list[float]:
        """How likely each candidate is this subject: where they should be and how they look.

        Geometry alone is fooled where a passer-by overlaps the subject (their
        masks and skeletons mix); clothes rarely match as well.
        """
        wanted = self.predicted(t)
        h, w = image.shape[:2]
        # How far they may have gone: a quarter of their height, more the longer they were unseen.
        reach = 0.25 * self.height * (1.0 + 4.0 * min(1.0, max(0.0, t - self.t)))
        wx, wy = 0.5 * (wanted.bbox[0] + wanted.bbox[2]), wanted.bbox[1]
        scores = []
        for p in candidates:
            look = appearance(image, p)
            likeness = same_look(self.look, look)
            if look is not None and self.look is not None and likeness < MIN_LOOK:
                scores.append(0.0)
                continue
            # Someone entering or leaving is cut by the frame: their size says nothing yet.
            at_edge = _at_edge(p.bbox, w, h) or _at_edge(wanted.bbox, w, h)
            size = 1.0 if at_edge else self.same_size(p)
            position = overlap(p, wanted)
            if likeness >= SAME_PERSON_LOOK and look is not None:
                if size > 0.5:
                    # Dressed like the subject: also near where they should be (a fast mover, a re-appearance).
                    d2 = (0.5 * (p.bbox[0] + p.bbox[2]) - wx) ** 2 + (p.bbox[1] - wy) ** 2
                    position = max(position, float(np.exp(-d2 / (2 * reach**2))))
                # Where they should be and dressed alike: a torso that seems to change size is a pose that
                # mixes them with someone they hold or who stands close, not someone else.
                size = max(size, 0.7)
            scores.append(size * position * (0.3 + 0.7 * likeness))
        return scores

    def size_ratio(self, person: Person) -> float:
        """How many times the subject's typical size `person` is: by torso length where both are known."""
        torso = torso_length(person)
        if torso and self.torso:
            return torso / self.torso
        box = person_box(person)
        return (box[3] - box[1]) / max(1.0, self.height)

    def same_size(self, person: Person) -> float:
        """`guide.regions.same_size` against the subject's typical torso length and box height, not the last box."""
        by_box = size_agreement(person.bbox[3] - person.bbox[1], self.height)
        torso = torso_length(person)
        return max(by_box, size_agreement(torso, self.torso)) if torso and self.torso else by_box

    def update(self, person: Person, t: float, image: np.ndarray | None = None, *, close: bool = False) -> None:
        """Seen again. With `image` their look, torso and height are learnt too: pass it only for a
        sure match that nobody overlaps, so a passer-by mixed into them never becomes the model.

        The first `close` match (on a crop) replaces the size the track started with: the whole-frame
        search pass sees the person at a third of the crop's resolution, and its mask can run on into a
        floor of the same colour (a green-screen cloth: a box 1.5x too tall, against which every later,
        right-sized sighting failed the size check, and the subject was "no one in frame" for good)."""
        if close and not self.seen_close:
            self.seen_close = True
            box = person_box(person)
            self.height = box[3] - box[1]
            self.torso = torso_length(person) or self.torso
        if image is not None:
            look = appearance(image, person)
            if look is not None:
                self.look = look if self.look is None else 0.8 * self.look + 0.2 * look
            torso = torso_length(person)
            if torso:
                self.torso = torso if self.torso is None else self.torso + 0.2 * (torso - self.torso)
        box = person_box(person)
        dt = t - self.t
        if dt > 1e-6:
            cx = 0.5 * (box[0] + box[2] - self.box[0] - self.box[2]) / dt
            cy = 0.5 * (box[1] + box[3] - self.box[1] - self.box[3]) / dt
            self.velocity = (0.5 * self.velocity[0] + 0.5 * cx, 0.5 * self.velocity[1] + 0.5 * cy)
        if image is not None:
            self.height += 0.1 * (box[3] - box[1] - self.height)
        self.person, self.box, self.t, self.misses = person, box, t, 0


@dataclass
class Tracked:
    """One frame's result: the parse that holds the subject, and what the tracker knows."""

    parse: BodyParse  # the crop's parse while following (its grid says where), else the whole-frame one
    subject_id: int | None
    roi: tuple[int, int, int, int] | None  # the crop, frame pixels; None: the whole frame was used
    people: int  # people known in the frame (the crop's, plus others from the last whole-frame look)
    detected: bool  # a whole-frame pass ran on this frame
    timings: dict[str, float] = field(default_factory=dict)  # ms: predict and parse, summed over passes


class SubjectTracker:
    """Frame in, `Tracked` out; keeps the subject's track between frames."""

    def __init__(
        self,
        model: BodyPix,
        *,
        threshold: float = DEFAULT_THRESHOLD,
        detect_every: int = DETECT_EVERY,
        person_height: float = LIVE_PERSON_HEIGHT,
        detect_short_side: int = DETECT_SHORT_SIDE,
        search_short_side: int = SEARCH_SHORT_SIDE,
    ) -> None:
        self.model, self.threshold = model, threshold
        self.detect_every = detect_every
        self.detect_short_side, self.search_short_side = detect_short_side, search_short_side
        self.shapes = crop_shapes(model.output_stride, person_height)
        self.track: Track | None = None
        self.others: list[Person] = []  # people besides the subject at the last whole-frame look
        self._lost: Track | None = None  # the last subject given up, to know them again
        self._next_id = 1
        self._since_detect = 0
        self._timings: dict[str, float] = {}

    def _timed(self, stage: str, start: float) -> float:
        now = time.perf_counter()
        self._timings[stage] = self._timings.get(stage, 0.0) + (now - start) * 1000
        return now

    def _whole_frame(self, image: np.ndarray, short_side: int) -> BodyParse:
        start = time.perf_counter()
        raw = self.model.predict(image, short_side / min(image.shape[:2]))
        start = self._timed("predict", start)
        body = parse(raw, self.threshold, grid=model_grid(raw))
        self._timed("parse", start)
        return body

    def _detect(self, image: np.ndarray, t: float) -> BodyParse:
        """The whole frame at a fixed size; updates the track (or starts one) from it.

        While nobody is followed the large search size goes first (small people);
        if it starts nobody, the small size looks too: BodyPix sees people who
        fill the frame more surely there.
        """
        searching = self.track is None
        body = self._whole_frame(image, self.search_short_side if searching else self.detect_short_side)
        self._since_detect = 0
        matched = None
        if self.track is not None:
            matched = best_match(body.people, self.track.person, scores=self.track.score(body.people, image, t))
            if matched is None:
                self.track.misses += 1
                if t - self.track.t > LOST_SECONDS:
                    self._lost, self.track = self.track, None
            else:
                self.track.update(body.people[matched], t)  # looks are learnt from crops: sharper keypoints
        if self.track is None:
            matched = self._start(body, image, t)
            if matched is None and searching:
                body = self._whole_frame(image, self.detect_short_side)
                matched = self._start(body, image, t)
        self.others = [p for i, p in enumerate(body.people) if i != matched]
        body.subject = matched if self.track is not None and self.track.misses == 0 else None
        return body

    def _start(self, body: BodyParse, image: np.ndarray, t: float) -> int | None:
        """Choose a new subject among the clearly seen people; one who looks like the lost subject keeps their id.

        Clearly seen: a sure pose, or a fair one away from the frame's edges or
        large (someone too close, cut by the frame, is the subject; a sliver of
        someone walking in at the edge is not, yet).
        """
        h, w = image.shape[:2]
        clear = [p for p in body.people
                 if p.score >= START_SCORE or (p.score >= FAIR_SCORE and (not _at_edge(p.bbox, w, h) or _large(p, w, h)))]
        pick = pick_subject(clear, body.width, body.height)
        if pick is None:
            return None
        person = clear[pick]
        look = appearance(image, person)
        lost = self._lost
        alike = same_look(lost.look, look) if lost is not None and look is not None else 0.0
        if lost is not None and alike >= SAME_PERSON_LOOK and (
            same_size(person, lost.person) > 0.5 or _stepped(person, alike, lost, t)
        ):
            track_id = lost.id  # back in view
        else:
            track_id, self._next_id = self._next_id, self._next_id + 1
        self.track = Track(track_id, person, person_box(person), t, torso=torso_length(person))
        return body.people.index(person)

    def _shape_for(self, box: tuple[float, float, float, float]) -> tuple[int, int]:
        aspect = (box[2] - box[0]) / max(1.0, box[3] - box[1]) + 0.3  # + side margins
        return min(self.shapes, key=lambda s: abs(np.log(s[0] / s[1] / aspect)))

    def _follow(self, image: np.ndarray, t: float) -> tuple[BodyParse, tuple[int, int, int, int]] | None:
        """The subject on a crop around where they should be, or None (and a miss) if they are not there."""
        assert self.track is not None
        h, w = image.shape[:2]
        box = self.track.predicted_box(t)
        window = refined_window(box, (w, h), self.model.output_stride, input_size=self._shape_for(box))
        start = time.perf_counter()
        raw = self.model.predict(image, window=window)
        start = self._timed("predict", start)
        body = parse(raw, self.threshold, grid=model_grid(raw))
        self._timed("parse", start)
        scores = self.track.score(body.people, image, t)
        match = best_match(body.people, self.track.person, scores=scores)
        if match is None:
            self.track.misses += 1
            return None
        person = body.people[match]
        if person.score < LOW_SCORE:
            self._since_detect = self.detect_every  # unsure: look at the whole frame next time
        sure = scores[match] >= SURE_MATCH and self.track.misses == 0
        self.track.update(person, t, _alone(body.people, match, image) if sure else None, close=True)
        body.subject = match
        x0, y0, x1, y1 = window.box
        roi = (max(0, round(x0)), max(0, round(y0)), min(w, round(x1)), min(h, round(y1)))
        return body, roi

    def update(self, image: np.ndarray, t: float) -> Tracked:
        self._timings = {}
        detected = None
        if self.track is None or self.track.misses > 0 or self._since_detect >= self.detect_every:
            detected = self._detect(image, t)
        else:
            self._since_detect += 1
        if self.track is not None:
            followed = self._follow(image, t)
            if followed is None and detected is None:  # lost in the crop: look at the whole frame now
                detected = self._detect(image, t)
                if self.track is not None and self.track.misses == 0:
                    followed = self._follow(image, t)
            if followed is not None:
                body, roi = followed
                inside = [p for p in self.others if not _within(p, roi)]
                return Tracked(
                    body,
                    self.track.id if self.track else None,
                    roi,
                    len(body.people) + len(inside),
                    detected is not None,
                    self._timings,
                )
        assert detected is not None
        subject_id = self.track.id if self.track is not None and detected.subject is not None else None
        if subject_id is None:
            detected.subject = None
        return Tracked(detected, subject_id, None, len(detected.people), True, self._timings)


GROUP_PERSON_HEIGHT = 200  # the group's shortest member about this many model pixels tall
GROUP_INPUT_HEIGHTS = (241, 321, 401, 481)  # group crops: a few fixed shapes (one TFLite interpreter each)
GROUP_ASPECTS = (0.85, 1.35, 2.0, 3.0)  # width / height of the group crop inputs


class GroupTracker:
    """Frame in, `Tracked` out, for group photos: everyone in the group, on a crop around them.

    A whole-frame pass (the search size) finds the people; the group is the
    likeliest subject and their companions (`guide.subject`). Then the model
    runs on a crop around the group's union with margins, in one of a few
    fixed input shapes, sized so its shortest member is about
    `GROUP_PERSON_HEIGHT` model pixels tall. The whole frame is looked at again
    every `DETECT_EVERY` frames (someone joining), and at once when the crop
    sees fewer people than the group had.
    """

    def __init__(self, model: BodyPix, *, threshold: float = DEFAULT_THRESHOLD, detect_every: int = DETECT_EVERY,
                 search_short_side: int = SEARCH_SHORT_SIDE) -> None:
        self.model, self.threshold = model, threshold
        self.detect_every, self.search_short_side = detect_every, search_short_side
        self.box: tuple[float, float, float, float] | None = None  # the group's union, image pixels
        self.members = 0
        self.shortest = 0.0  # the shortest member's box height, image pixels
        self._since_detect = 0
        self.others: list[Person] = []
        self._timings: dict[str, float] = {}
        self.group_id: int | None = None  # one per group seen: a new one after the group was gone LOST_SECONDS
        self._next_id, self._seen_at = 1, -float("inf")

    def _run(self, image: np.ndarray, window: Grid | None) -> BodyParse:
        start = time.perf_counter()
        if window is None:
            raw = self.model.predict(image, self.search_short_side / min(image.shape[:2]))
        else:
            raw = self.model.predict(image, window=window)
        mid = time.perf_counter()
        body = parse(raw, self.threshold, grid=model_grid(raw))
        end = time.perf_counter()
        self._timings["predict"] = self._timings.get("predict", 0.0) + (mid - start) * 1000
        self._timings["parse"] = self._timings.get("parse", 0.0) + (end - mid) * 1000
        return body

    def window(self, image_size: tuple[int, int]) -> Grid | None:
        """The crop for the next frame, or None when the whole frame is as cheap (or nobody is known)."""
        if self.box is None or self.shortest <= 0:
            return None
        shown = expand_box(self.box, top=MARGIN_TOP, bottom=MARGIN_BOTTOM, sides=MARGIN_SIDES)
        aspect = (shown[2] - shown[0]) / max(1.0, shown[3] - shown[1])
        wanted = GROUP_PERSON_HEIGHT / self.shortest * (shown[3] - shown[1])  # input height at that scale
        height = min((h for h in GROUP_INPUT_HEIGHTS if h >= wanted), default=max(GROUP_INPUT_HEIGHTS))
        stride = self.model.output_stride
        shape_aspect = min((a for a in GROUP_ASPECTS if a >= aspect), default=max(GROUP_ASPECTS))
        width = valid_input_size(shape_aspect * height + stride, stride)
        whole = self.search_short_side * max(image_size) / min(image_size) * self.search_short_side
        if width * height >= whole:
            return None
        return crop_window(shown, stride, image_size, input_size=(width, height))

    def _learn(self, body: BodyParse) -> int:
        """Find the group in `body`; remember its union and size for the next crop. Returns its size."""
        subject = pick_subject(body.people, body.width, body.height)
        body.subject = subject
        if subject is None:
            self.box, self.members = None, 0
            return 0
        companions, _ = split_others(body.people, subject, children=True)
        chosen = [body.people[i] for i in (subject, *companions)]
        boxes = [person_box(p) for p in chosen]
        self.box = (min(b[0] for b in boxes), min(b[1] for b in boxes),
                    max(b[2] for b in boxes), max(b[3] for b in boxes))
        self.shortest = min(p.bbox[3] - p.bbox[1] for p in chosen)
        return len(chosen)

    def update(self, image: np.ndarray, t: float) -> Tracked:
        self._timings = {}
        h, w = image.shape[:2]
        window = None if self._since_detect >= self.detect_every else self.window((w, h))
        body = self._run(image, window)
        seen = self._learn(body)
        if window is not None and seen < self.members:  # someone left the crop: look at everything now
            window = None
            body = self._run(image, None)
            seen = self._learn(body)
        self._since_detect = 0 if window is None else self._since_detect + 1
        self.members = seen
        if seen:
            if self.group_id is None or t - self._seen_at > LOST_SECONDS:  # a group again, after a while: anew
                self.group_id, self._next_id = self._next_id, self._next_id + 1
            self._seen_at = t
        roi = None
        if window is not None:
            x0, y0, x1, y1 = window.box
            roi = (max(0, round(x0)), max(0, round(y0)), min(w, round(x1)), min(h, round(y1)))
        group_id = self.group_id if seen else None
        return Tracked(body, group_id, roi, len(body.people), window is None, dict(self._timings))


def _alone(people: list[Person], index: int, image: np.ndarray) -> np.ndarray | None:
    """`image` when person `index` overlaps nobody (their torso colours are theirs alone), else None."""
    box = people[index].bbox
    return None if any(iou(box, p.bbox) > 0.02 for i, p in enumerate(people) if i != index) else image


def _large(person: Person, width: int, height: int) -> bool:
    x0, y0, x1, y1 = person.bbox
    return y1 - y0 >= 0.4 * height and x1 - x0 >= 0.1 * width


def _stepped(person: Person, alike: float, lost: Track, t: float) -> bool:
    """Back soon, looking `alike` (`same_look`) as much as RETURN_LOOK, and larger or smaller by no more than a step
    of the user's makes them."""
    if not 0.0 <= t - lost.t <= RETURN_SECONDS or alike < RETURN_LOOK:
        return False
    return 1 / RETURN_ZOOM <= lost.size_ratio(person) <= RETURN_ZOOM


def _at_edge(box: tuple[float, float, float, float], width: int, height: int, margin: float = 2.0) -> bool:
    return box[0] <= margin or box[1] <= margin or box[2] >= width - margin or box[3] >= height - margin


def _within(person: Person, roi: tuple[int, int, int, int]) -> bool:
    """Is the person's box centre inside the crop (so the crop's own parse already counts them)?"""
    cx, cy = 0.5 * (person.bbox[0] + person.bbox[2]), 0.5 * (person.bbox[1] + person.bbox[3])
    return roi[0] <= cx <= roi[2] and roi[1] <= cy <= roi[3]
