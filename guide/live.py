"""The live loop: frames in, guidance drawn, captures saved.

For a camera, inference runs on a worker thread on the newest frame while the
main thread keeps showing camera frames with the latest guidance drawn over
them, so the window keeps the camera's frame rate even when the model is
slower. For a video file or an image folder every frame is analysed in order
(repeatable runs, one log line per frame). On capture the full camera frame
(never the overlay) is analysed again at still quality, rendered in portrait
mode and saved to `captures/` with a JSON sidecar.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from guide.errors import GuideError
from guide.guidance import Guidance, Target, advise, builtin_target, crop_for, framing_in_crop, target_from_profile
from guide.images import write_bytes_atomic
from guide.measure import Framing, Landmarks, framing, landmarks, orientation_of
from guide.model.bodypix import BodyPix
from guide.model.quiet import quiet_stderr
from guide.overlay import MaskTint, draw_guidance, draw_label, paste_thumbnail
from guide.parse import BodyParse, parse
from guide.smoothing import AdviceStabilizer, FramingSmoother
from guide.sources import CameraSource, Frame, FrameSource

WINDOW = "guide"
MAX_WINDOW_SIDE = 960  # larger frames are shown scaled down (recordings and captures keep full size)
KEY_SPACE, KEY_ESC = 32, 27


@dataclass
class LiveOptions:
    resolution: float = 0.5  # internal resolution while live; captures use still quality
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


@dataclass
class Analysis:
    """What the model and the guidance engine made of one frame."""

    frame: Frame
    parse: BodyParse
    marks: Landmarks | None
    framing: Framing | None
    guidance: Guidance
    latency_ms: float


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


class Analyzer:
    """Frame -> parse -> smoothed framing -> stable guidance (one subject, the profile's target).

    Without a profile the built-in framing rules are the target. The target is
    fixed on the first frame, once the camera's orientation is known.
    """

    def __init__(self, model: BodyPix, profile: dict[str, Any] | None, options: LiveOptions) -> None:
        self.model, self.profile, self.options = model, profile, options
        self.target: Target | None = None
        self.timings: dict[str, float] = {}
        self.smoother = FramingSmoother()
        self.stabilizer = AdviceStabilizer()

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
        raw = self.model.predict(frame.image, self.options.resolution)
        t_predict = time.perf_counter()
        body = parse(raw, threshold=self.options.threshold)
        t_parse = time.perf_counter()
        marks = fr = None
        if body.subject is not None:
            marks = landmarks(body, body.subject)
            fr = framing(body, body.subject, marks)
            crop = crop_for(target, w, h)
            if crop is not None and fr is not None:
                centre_px = fr.center_x * w if fr.center_x is not None else None
                fr = framing_in_crop(marks, centre_px, fr.tilt_deg, crop, (w, h))
        t_measure = time.perf_counter()
        smoothed = self.smoother.update(fr, frame.t)
        width_px = None
        if body.subject is not None:
            x0, _, x1, _ = body.people[body.subject].bbox
            width_px = x1 - x0
        guidance = self.stabilizer.update(advise(smoothed, marks, target, w, h, body_width_px=width_px), frame.t)
        end = time.perf_counter()
        # Per-stage milliseconds of the last frame, for bench/live.py.
        self.timings = {
            "predict": (t_predict - start) * 1000,
            "parse": (t_parse - t_predict) * 1000,
            "measure": (t_measure - t_parse) * 1000,
            "guidance": (end - t_measure) * 1000,
        }
        return Analysis(frame, body, marks, smoothed, guidance, (end - start) * 1000)


def log_record(analysis: Analysis, fps: float) -> dict[str, Any]:
    g = analysis.guidance
    return {
        "frame": analysis.frame.index,
        "t": round(analysis.frame.t, 4),
        "people": len(analysis.parse.people),
        "score": g.score,
        "advice": [{"action": a.action, "amount": round(float(a.amount), 4)} for a in g.advice],
        "framing": {k: (None if v is None else round(v, 4)) for k, v in analysis.framing.values().items()}
        if analysis.framing
        else None,
        "message": g.message,
        "fps": round(fps, 2),
        "latency_ms": round(analysis.latency_ms, 2),
    }


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
        from guide.analyze import still_resolution
        from guide.portrait import render_portrait

        folder = self.options.captures
        try:
            folder.mkdir(parents=True, exist_ok=True)
            body = parse(self.model.predict(image, still_resolution(*image.shape[:2])), keep_probability=True)
            rendered = render_portrait(image, body, strength=self.options.strength) if body.people else image
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


class LiveSession:
    """Runs the loop until the source ends, the user quits, or `max_frames` frames were shown."""

    def __init__(self, model: BodyPix, source: FrameSource, profile: dict[str, Any] | None, options: LiveOptions) -> None:
        self.model, self.source, self.options = model, source, options
        self.analyzer = Analyzer(model, profile, options)
        self.capturer = Capturer(model, options, self.warn)
        self.tint = MaskTint()
        self.show_tint, self.show_help = True, False
        self.warning: tuple[str, float] | None = None
        self._writer: cv2.VideoWriter | None = None
        self._log: TextIO | None = None
        self._hold_since: float | None = None
        self._countdown_from: float | None = None

    def warn(self, message: str) -> None:
        print(f"guide: warning: {message}", file=sys.stderr, flush=True)
        self.warning = (message, time.monotonic())

    # --- output ends -------------------------------------------------------------------

    def _open_outputs(self, shape: tuple[int, ...]) -> None:
        if self.options.record and self._writer is None:
            try:
                self.options.record.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise GuideError(f"{self.options.record}: cannot write ({exc.strerror})", exit_code=2) from None
            fourcc = cv2.VideoWriter_fourcc(*"mp4v")
            self._writer = cv2.VideoWriter(str(self.options.record), fourcc, self.source.fps, (shape[1], shape[0]))
            if not self._writer.isOpened():
                raise GuideError(f"{self.options.record}: cannot write a video there", exit_code=2)
        if self.options.log and self._log is None:
            try:
                self.options.log.parent.mkdir(parents=True, exist_ok=True)
                self._log = self.options.log.open("w", encoding="utf-8")
            except OSError as exc:
                raise GuideError(f"{self.options.log}: cannot write ({exc.strerror})", exit_code=2) from None

    def _close_outputs(self) -> None:
        if self._writer is not None:
            self._writer.release()
        if self._log is not None:
            self._log.close()

    # --- drawing -----------------------------------------------------------------------

    def _draw(self, image: np.ndarray, analysis: Analysis | None, fps: float) -> np.ndarray:
        out = self.tint.annotate(image) if self.show_tint else image
        if analysis is not None:
            out = draw_guidance(out, analysis.guidance, fps, self.show_help)
        now = time.monotonic()
        if self._countdown_from is not None:
            left = self.options.countdown_seconds - (now - self._countdown_from)
            draw_label(out, f"{max(0, int(np.ceil(left)))}", (out.shape[1] // 2 - 20, out.shape[0] // 2), (60, 220, 60), 3.0)
        if self.capturer.thumbnail and now - self.capturer.thumbnail[1] < 4.0:
            out = paste_thumbnail(out, self.capturer.thumbnail[0])
        if self.warning and now - self.warning[1] < 5.0:
            draw_label(out, self.warning[0][:70], (10, out.shape[0] - 12), (0, 0, 255), 0.6)
        return out

    def _auto_capture(self, analysis: Analysis, image: np.ndarray) -> None:
        if not self.options.auto_capture:
            return
        now = analysis.frame.t
        matched = bool(analysis.guidance.advice) and analysis.guidance.advice[0].action == "hold"
        if not matched:
            self._hold_since = self._countdown_from = None
            return
        if self._hold_since is None:
            self._hold_since = now
        if self._countdown_from is None and now - self._hold_since >= self.options.hold_seconds:
            self._countdown_from = time.monotonic()
        if self._countdown_from is not None and time.monotonic() - self._countdown_from >= self.options.countdown_seconds:
            self.capturer.capture(image, analysis)
            self._hold_since = self._countdown_from = None

    # --- the loop ----------------------------------------------------------------------

    def run(self) -> LiveSummary:
        summary = LiveSummary()
        live = isinstance(self.source, CameraSource)
        worker = ThreadPoolExecutor(max_workers=1) if live else None
        pending: Future[Analysis] | None = None
        latest: Analysis | None = None
        times: list[float] = []
        if self.options.window:
            if not display_available():
                raise GuideError("no display to open a window on: use --no-window (with --record/--log)", exit_code=2)
            fonts = Path("/usr/share/fonts/truetype")
            if fonts.is_dir():  # OpenCV's Qt ships no fonts and says so on every start
                os.environ.setdefault("QT_QPA_FONTDIR", str(fonts))
            with quiet_stderr():
                cv2.namedWindow(WINDOW, cv2.WINDOW_AUTOSIZE)
        try:
            for frame in self.source.frames():
                if self.options.max_frames is not None and summary.frames >= self.options.max_frames:
                    break
                summary.frames += 1
                if worker is None:
                    latest = self.analyzer(frame)
                    fresh = True
                else:  # camera: analyse the newest frame when the worker is free, draw the latest result
                    fresh = pending is not None and pending.done()
                    if fresh:
                        assert pending is not None
                        latest, pending = pending.result(), None
                    if pending is None:
                        pending = worker.submit(self.analyzer, frame)
                if fresh and latest is not None:
                    summary.processed += 1
                    times.append(time.perf_counter())
                    self.tint.update(latest.parse.mask, frame.image.shape[:2])
                fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 and times[-1] > times[0] else 0.0
                if len(times) > 30:
                    times = times[-30:]
                self._open_outputs(frame.image.shape)
                if fresh and latest is not None:
                    if self._log is not None:
                        try:
                            self._log.write(json.dumps(log_record(latest, fps)) + "\n")
                        except OSError as exc:
                            raise GuideError(f"{self.options.log}: cannot write ({exc.strerror})") from None
                    self._auto_capture(latest, frame.image)
                if self.capturer.poll() is not None:
                    summary.captures = list(self.capturer.saved)
                shown = self._draw(frame.image, latest, fps)
                if self._writer is not None:
                    self._writer.write(shown)
                if self.options.window:
                    scale = MAX_WINDOW_SIDE / max(shown.shape[:2])
                    if scale < 1:
                        shown = cv2.resize(shown, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                    cv2.imshow(WINDOW, shown)
                    key = cv2.waitKey(1) & 0xFF
                    if key in (ord("q"), ord("Q"), KEY_ESC):
                        break
                    if key == KEY_SPACE:
                        self.capturer.capture(frame.image, latest)
                    elif key in (ord("m"), ord("M")):
                        self.show_tint = not self.show_tint
                    elif key in (ord("h"), ord("H")):
                        self.show_help = not self.show_help
                    if cv2.getWindowProperty(WINDOW, cv2.WND_PROP_VISIBLE) < 1:
                        break
                summary.fps = fps
        finally:
            # Each step runs even if an earlier one fails: the recording is finalised, the camera freed.
            with contextlib.ExitStack() as cleanup:
                if self.options.window:
                    cleanup.callback(cv2.destroyAllWindows)
                cleanup.callback(self.source.close)
                cleanup.callback(self._close_outputs)
                cleanup.callback(self.capturer.close)
                if worker is not None:
                    cleanup.callback(worker.shutdown, wait=True)
            summary.captures = list(self.capturer.saved)
        return summary
