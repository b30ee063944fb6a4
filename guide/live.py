"""The live loop: a frame source, an analyzer, and sinks, composed by a short driver.

- Source (`guide.sources`): camera, video file or image folder.
- Analyzer: the subject tracker (`guide.tracking`), measurements, smoothing and
  guidance for one frame. For a camera it runs on a worker thread on the newest
  frame while the main thread keeps showing camera frames with the latest
  guidance drawn (`WorkerInference`); a video file or image folder is analysed
  frame by frame (`InlineInference`: repeatable runs, one log line per frame).
- Sinks: the JSONL log, the auto-capture trigger and the capturer (which
  analyses the full camera frame again at still quality, renders it in
  portrait mode and saves it), the overlay `View`, the video recorder and the
  window with its keys. Each is a small class that can be tested alone.

The overlay is drawn on the view: the frame scaled down once to at most
`MAX_VIEW_SIDE` pixels, so drawing costs the same for any camera; it is
only made when a window or a recording needs it.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, TextIO

import cv2
import numpy as np

from guide.errors import GuideError, InputError, OutputError
from guide.geometry import Grid
from guide.light import Light, measure_light
from guide.group import Group, find_group, group_framing, name_the_cut, span_x
from guide.guidance import MAX_ADVICE, TEXT, Action, Advice, Guidance, Target, advise, builtin_target, crop_for, framing_in_crop, target_from_profile
from guide.images import write_bytes_atomic
from guide.level import LEVEL_TOLERANCE, Roll, camera_roll, scene_roll, upright
from guide.measure import Framing, Landmarks, axis_lean, framing, landmarks, orientation_of
from guide.model.bodypix import BodyPix
from guide.model.quiet import quiet_stderr
from guide.overlay import MaskTint, draw_guidance, draw_members, draw_label, paste_thumbnail
from guide.parse import BodyParse
from guide.portrait import preview_blur
from guide.profile import Profile
from guide.followup import FollowUp
from guide.smoothing import AdviceStabilizer, FramingSmoother
from guide.sources import CameraSource, Frame, FrameSource
from guide.tracking import DETECT_SHORT_SIDE, SEARCH_SHORT_SIDE, GroupTracker, SubjectTracker

WINDOW = "guide"
LIGHT_EVERY = 15  # frames between exposure readings: light changes as slowly as the roll
ROLL_EVERY = 15  # frames between looks at the scene's verticals: the camera's roll changes slowly (0.5 s at 30 fps)
MAX_VIEW_SIDE = 960  # the window and the recording show frames at most this large; captures keep full size
KEY_SPACE, KEY_ESC = 32, 27


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


@dataclass
class LiveSummary:
    frames: int = 0
    processed: int = 0
    captures: list[Path] = field(default_factory=list)
    fps: float = 0.0


def display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def next_capture_path(folder: Path, stem: str = "capture") -> Path:
    """`capture_0001.jpg`, `capture_0002.jpg`, ...: the first number not taken."""
    taken = [p.stem.rsplit("_", 1)[1] for p in folder.glob(f"{stem}_*.*") if p.suffix in (".jpg", ".json")]
    n = 1 + max((int(t) for t in taken if t.isdigit()), default=0)
    return folder / f"{stem}_{n:04d}.jpg"


# --- the analyzer --------------------------------------------------------------------


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
        self.scene: Roll | None = None  # the camera's roll as the scene's verticals show it (every ROLL_EVERY frames)
        self._frames = 0
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

    def __call__(self, frame: Frame) -> Analysis:
        start = time.perf_counter()
        h, w = frame.image.shape[:2]
        target = self.target_for(w, h)
        tracked = self.tracker.update(frame.image, frame.t)
        body = tracked.parse
        t_model = time.perf_counter()
        if self._frames % ROLL_EVERY == 0:
            # The parse's people by their mask (the wall behind them stays in play), the others by their box.
            self.scene = scene_roll(frame.image, [p.bbox for p in self.tracker.others], (body.mask, body.grid))
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
            roll = camera_roll(self.scene, None if lean is None else lean[0], upright(kp))
            fr = replace(fr, tilt_deg=None if roll is None else roll.degrees)
            if roll is not None and roll.source == "scene" and "tilt_deg" in target.values:
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
        advice = self.followup.filter(advice, frame.t)
        if members is not None:
            advice = name_the_cut(advice, members)
        guidance = self.stabilizer.update(advice, frame.t)
        self.followup.observe(guidance, frame.t)
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
                            tracked.subject_id, tracked.roi, tracked.people, light=self.light)
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


class InlineInference:
    """Every frame analysed before the next is read (files: repeatable, one result per frame)."""

    def __init__(self, analyzer: Callable[[Frame], Analysis]) -> None:
        self.analyzer = analyzer

    def push(self, frame: Frame) -> tuple[Analysis | None, bool]:
        return self.analyzer(frame), True

    def close(self) -> None:
        pass


class WorkerInference:
    """The newest frame analysed on a worker thread; the latest result is kept for drawing."""

    def __init__(self, analyzer: Callable[[Frame], Analysis]) -> None:
        self.analyzer = analyzer
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future[Analysis] | None = None
        self._latest: Analysis | None = None

    def push(self, frame: Frame) -> tuple[Analysis | None, bool]:
        fresh = self._pending is not None and self._pending.done()
        if fresh:
            assert self._pending is not None
            self._latest, self._pending = self._pending.result(), None
        if self._pending is None:
            self._pending = self._pool.submit(self.analyzer, frame)
        return self._latest, fresh

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._pending is not None:
            self._pending.result()  # the last analysis's error, if any, is not lost


class FpsMeter:
    """Processed frames per second over the last `window` results."""

    def __init__(self, window: int = 30) -> None:
        self._times: deque[float] = deque(maxlen=window)

    def tick(self) -> None:
        self._times.append(time.perf_counter())

    @property
    def fps(self) -> float:
        if len(self._times) < 2 or self._times[-1] <= self._times[0]:
            return 0.0
        return (len(self._times) - 1) / (self._times[-1] - self._times[0])


# --- sinks ---------------------------------------------------------------------------


def log_record(analysis: Analysis, fps: float) -> dict[str, Any]:
    g = analysis.guidance
    return {
        "frame": analysis.frame.index,
        "t": round(analysis.frame.t, 4),
        "people": analysis.people,
        "score": g.score,
        "advice": [{"action": a.action, "amount": round(float(a.amount), 4), "text": a.text} for a in g.advice],
        "framing": {k: (None if v is None else round(v, 4)) for k, v in analysis.framing.values().items()}
        if analysis.framing
        else None,
        "message": g.message,
        "fps": round(fps, 2),
        "latency_ms": round(analysis.latency_ms, 2),
        "subject_id": analysis.subject_id,
        "roi": list(analysis.roi) if analysis.roi is not None else None,
        "dropped": [{"action": d.action, "reason": d.reason} for d in g.dropped],
        "light": asdict(analysis.light) if analysis.light is not None else None,
    } | ({"group": [[round(v, 1) for v in box] for box in analysis.group]} if analysis.group is not None else {})


class FrameLog:
    """`--log`: one JSON line per analysed frame; the file is opened on the first line."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh: TextIO | None = None

    def write(self, analysis: Analysis, fps: float) -> None:
        try:
            if self._fh is None:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                self._fh = self.path.open("w", encoding="utf-8")
            self._fh.write(json.dumps(log_record(analysis, fps)) + "\n")
        except OSError as exc:
            raise OutputError(f"{self.path}: cannot write ({exc.strerror})") from None

    def close(self) -> None:
        if self._fh is not None:
            self._fh.close()


class Recorder:
    """`--record`: the overlaid view, as an .mp4 at the source's frame rate."""

    def __init__(self, path: Path, fps: float) -> None:
        self.path, self.fps = path, fps
        self._writer: cv2.VideoWriter | None = None
        self._size = (0, 0)

    def write(self, view: np.ndarray) -> None:
        if self._writer is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise OutputError(f"{self.path}: cannot write ({exc.strerror})") from None
            fourcc = cv2.VideoWriter.fourcc(*"mp4v")
            self._size = (view.shape[1], view.shape[0])
            self._writer = cv2.VideoWriter(str(self.path), fourcc, self.fps, self._size)
            if not self._writer.isOpened():
                raise OutputError(f"{self.path}: cannot write a video there")
        if (view.shape[1], view.shape[0]) != self._size:  # an image folder of mixed sizes: one video size
            view = cv2.resize(view, self._size, interpolation=cv2.INTER_AREA)
        self._writer.write(view)

    def close(self) -> None:
        if self._writer is not None:
            self._writer.release()


class Window:
    """The on-screen window; `show` returns the key pressed (or None), `closed` when the user shut it."""

    def __init__(self) -> None:
        if not display_available():
            raise InputError("no display to open a window on: use --no-window (with --record/--log)")
        fonts = Path("/usr/share/fonts/truetype")
        if fonts.is_dir():  # OpenCV's Qt ships no fonts and says so on every start
            os.environ.setdefault("QT_QPA_FONTDIR", str(fonts))
        with quiet_stderr():
            cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE)

    def show(self, view: np.ndarray) -> int | None:
        cv2.imshow(WINDOW, view)
        key = cv2.waitKey(1) & 0xFF
        return None if key == 0xFF else key

    @property
    def closed(self) -> bool:
        return cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1

    def close(self) -> None:
        cv2.destroyAllWindows()


class AutoCapture:
    """`--auto-capture`: once the framing has matched for `hold` seconds, count down, then fire.

    Time is the source's clock (`Frame.t`): a camera's is real time, a video
    file's is its own timeline, however fast it is read.
    """

    def __init__(self, hold_seconds: float, countdown_seconds: float) -> None:
        self.hold_seconds, self.countdown_seconds = hold_seconds, countdown_seconds
        self._hold_since: float | None = None
        self._countdown_from: float | None = None

    def update(self, analysis: Analysis) -> bool:
        """True when a capture should be taken now."""
        now = analysis.frame.t
        advice = analysis.guidance.advice
        if not (advice and advice[0].action == "hold"):
            self._hold_since = self._countdown_from = None
            return False
        if self._hold_since is None:
            self._hold_since = now
        if self._countdown_from is None and now - self._hold_since >= self.hold_seconds:
            self._countdown_from = now
        if self._countdown_from is not None and now - self._countdown_from >= self.countdown_seconds:
            self._hold_since = self._countdown_from = None
            return True
        return False

    def seconds_left(self, now: float) -> float | None:
        """Seconds of countdown left at source time `now`, or None when no countdown runs."""
        if self._countdown_from is None:
            return None
        return max(0.0, self.countdown_seconds - (now - self._countdown_from))


class Capturer:
    """Renders and saves captures on a worker thread; never overwrites, never stops the loop."""

    def __init__(self, model: BodyPix, options: LiveOptions, warn: Any) -> None:
        self.model, self.options, self.warn = model, options, warn
        self._pool = ThreadPoolExecutor(max_workers=1)
        self._pending: Future[tuple[Path, np.ndarray] | None] | None = None
        self.saved: list[Path] = []
        self.thumbnail: tuple[np.ndarray, float] | None = None

    def busy(self) -> bool:
        return self._pending is not None and not self._pending.done()

    def capture(self, image: np.ndarray, analysis: Analysis | None) -> None:
        if self.busy():
            return
        sidecar = log_record(analysis, 0.0) if analysis else {}
        self._pending = self._pool.submit(self._save, image.copy(), sidecar)

    def _save(self, image: np.ndarray, sidecar: dict[str, Any]) -> tuple[Path, np.ndarray] | None:
        from guide.analyze import parse_still
        from guide.portrait import STILL, render_portrait

        folder = self.options.captures
        try:
            folder.mkdir(parents=True, exist_ok=True)
            body, _ = parse_still(self.model, image, keep_probability=True)
            rendered = (render_portrait(image, body, strength=self.options.strength, settings=STILL, relight="auto")
                        if body.people else image)
            ok, data = cv2.imencode(".jpg", rendered, [cv2.IMWRITE_JPEG_QUALITY, 95])
            if not ok:
                raise GuideError("cannot encode the capture")
            path = next_capture_path(folder)
            while path.exists():  # another process took the number meanwhile
                path = path.with_name(path.stem + "_1.jpg")
            write_bytes_atomic(path, data.tobytes())
            sidecar = {**sidecar, "image": path.name, "portrait": bool(body.people), "saved_at": time.time()}
            write_bytes_atomic(path.with_suffix(".json"), (json.dumps(sidecar, indent=2) + "\n").encode())
            return path, rendered
        except Exception as exc:  # a failed capture is reported, never the end of the session
            self.warn(f"capture not saved: {exc}")
            return None

    def poll(self) -> Path | None:
        """The path of a capture that just finished saving, if any."""
        if self._pending is None or not self._pending.done():
            return None
        result, self._pending = self._pending.result(), None
        if result is None:
            return None
        path, rendered = result
        self.saved.append(path)
        self.thumbnail = (rendered, time.monotonic())
        return path

    def close(self) -> None:
        if self._pending is not None:
            self._pending.result()
            self.poll()
        self._pool.shutdown(wait=True)


def view_grid(width: int, height: int, max_side: int = MAX_VIEW_SIDE) -> Grid:
    """The raster the overlay is drawn on: the frame, scaled down to at most `max_side` pixels."""
    scale = min(1.0, max_side / max(width, height))
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return Grid.over((0, 0, width, height), *size, (width, height))


class View:
    """The overlaid picture: the frame at view size, the subject tinted, guidance, countdown, last capture.

    With `show_portrait` (key B) the background is blurred as in portrait mode,
    at live settings (`guide.portrait.preview_blur`), behind the same smoothed
    person mask the tint uses; the tint is then left off.
    """

    def __init__(self, show_portrait: bool = False, strength: float = 3.0) -> None:
        self.tint = MaskTint()
        self.show_tint, self.show_help, self.show_portrait = True, False, show_portrait
        self.strength = strength
        self.warning: tuple[str, float] | None = None

    def update(self, analysis: Analysis) -> None:
        """A new analysis: the tint follows its mask (drawn on the view's raster)."""
        h, w = analysis.frame.image.shape[:2]
        self.tint.update_from(analysis.parse, view_grid(w, h))

    def render(self, image: np.ndarray, analysis: Analysis | None, fps: float, *, countdown: float | None = None,
               thumbnail: tuple[np.ndarray, float] | None = None) -> np.ndarray:
        h, w = image.shape[:2]
        grid = view_grid(w, h)
        if (grid.width, grid.height) == (w, h):
            out = image.copy()  # never draw on the source's frame: it may be shown again, or captured
        else:  # area averaging where shrinking a lot; bilinear is as good and far cheaper up to 2x
            shrink = cv2.INTER_AREA if grid.scale < 0.5 else cv2.INTER_LINEAR
            out = cv2.resize(image, (grid.width, grid.height), interpolation=shrink)
        person = self.tint.alpha
        if self.show_portrait and person is not None and person.shape == out.shape[:2]:
            out = preview_blur(out, person, self.strength)
        elif self.show_tint:
            out = self.tint.annotate(out)
        if analysis is not None and analysis.group:
            out = draw_members(out, analysis.group, analysis.group_cut, scale=grid.scale)
        if analysis is not None:
            out = draw_guidance(out, analysis.guidance, fps, self.show_help, scale=grid.scale)
        now = time.monotonic()
        if countdown is not None:
            draw_label(out, f"{max(0, int(np.ceil(countdown)))}", (out.shape[1] // 2 - 20, out.shape[0] // 2),
                       (60, 220, 60), 3.0)
        if thumbnail and now - thumbnail[1] < 4.0:
            out = paste_thumbnail(out, thumbnail[0])
        if self.warning and now - self.warning[1] < 5.0:
            draw_label(out, self.warning[0], (10, out.shape[0] - 12), (0, 0, 255), 0.6, max_width=out.shape[1] - 20)
        return out


# --- the driver ----------------------------------------------------------------------


class LiveSession:
    """Runs the loop until the source ends, the user quits, or `max_frames` frames were shown."""

    def __init__(self, model: BodyPix, source: FrameSource, profile: Profile | None, options: LiveOptions) -> None:
        self.model, self.source, self.options = model, source, options
        for path in (options.record, options.log):  # a folder that cannot hold them fails now, not mid-run
            if path is not None:
                try:
                    path.parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise OutputError(f"{path}: cannot write ({exc.strerror})") from None
        self.analyzer = Analyzer(model, profile, options)
        self.view = View(options.preview_portrait, options.strength)
        self.capturer = Capturer(model, options, self.warn)

    def warn(self, message: str) -> None:
        print(f"guide: warning: {message}", file=sys.stderr, flush=True)
        self.view.warning = (message, time.monotonic())

    def _free(self, path: Path) -> Path:
        """`path`, or the next free name beside it (never overwrite an earlier recording or log), said aloud."""
        from guide.portrait import free_path

        free = free_path(path.parent, "", path.name)
        if free != path:
            self.warn(f"{path} exists; writing {free} instead")
        return free

    def _key(self, key: int | None, image: np.ndarray, latest: Analysis | None) -> bool:
        """Act on a key; True to quit."""
        if key in (ord("q"), ord("Q"), KEY_ESC):
            return True
        if key == KEY_SPACE:
            self.capturer.capture(image, latest)
        elif key in (ord("m"), ord("M")):
            self.view.show_tint = not self.view.show_tint
        elif key in (ord("h"), ord("H")):
            self.view.show_help = not self.view.show_help
        elif key in (ord("b"), ord("B")):
            self.view.show_portrait = not self.view.show_portrait
        return False

    def run(self) -> LiveSummary:
        options, summary = self.options, LiveSummary()
        meter = FpsMeter()
        auto = AutoCapture(options.hold_seconds, options.countdown_seconds) if options.auto_capture else None
        with contextlib.ExitStack() as stack:  # each part is closed even if another fails
            stack.callback(self.source.close)
            window = Window() if options.window else None
            if window is not None:
                stack.callback(window.close)
            stack.callback(self.capturer.close)
            log = FrameLog(self._free(options.log)) if options.log else None
            if log is not None:
                stack.callback(log.close)
            recorder = Recorder(self._free(options.record), self.source.fps) if options.record else None
            if recorder is not None:
                stack.callback(recorder.close)
            camera = isinstance(self.source, CameraSource)
            inference = WorkerInference(self.analyzer) if camera else InlineInference(self.analyzer)
            stack.callback(inference.close)
            for frame in self.source.frames():
                summary.frames += 1
                latest, fresh = inference.push(frame)
                if fresh and latest is not None:
                    summary.processed += 1
                    meter.tick()
                    self.view.update(latest)
                    if log is not None:
                        log.write(latest, meter.fps)
                    if auto is not None and auto.update(latest):
                        self.capturer.capture(latest.frame.image, latest)  # the frame the advice was about
                self.capturer.poll()
                summary.fps = meter.fps
                if window is not None or recorder is not None:  # somebody looks: draw
                    shown = self.view.render(
                        frame.image, latest, meter.fps,
                        countdown=auto.seconds_left(frame.t) if auto else None,
                        thumbnail=self.capturer.thumbnail,
                    )
                    if recorder is not None:
                        recorder.write(shown)
                    if window is not None and (self._key(window.show(shown), frame.image, latest) or window.closed):
                        break
                if options.max_frames is not None and summary.frames >= options.max_frames:
                    break  # before reading another frame: --max-frames N reads N frames, no more
        summary.captures = list(self.capturer.saved)
        return summary
