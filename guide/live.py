"""The live loop: a frame source, an analyzer, and sinks, composed by a short driver.

- Source (`guide.sources`): camera, video file or image folder.
- Analyzer (`guide.analyzer`): tracking, measurements, light, smoothing and
  guidance for one frame. For a camera it runs on a worker thread on the newest
  frame while the main thread keeps showing camera frames with the latest
  guidance drawn (`WorkerInference`); a video file or image folder is analysed
  frame by frame (`InlineInference`: repeatable runs, one log line per frame).
- Sinks (`guide.sinks`): the JSONL log, the auto-capture trigger and the
  capturer, the overlay `View`, the video recorder and the window with its keys.
"""

from __future__ import annotations

import contextlib
import sys
import time
from collections import deque
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from guide.analyzer import Analysis, Analyzer, LiveOptions
from guide.errors import OutputError
from guide.images import free_path
from guide.model.bodypix import BodyPix
from guide.profile import Profile
from guide.sinks import AutoCapture, Capturer, FrameLog, Recorder, View, Window
from guide.sources import CameraSource, Frame, FrameSource

KEY_SPACE, KEY_ESC = 32, 27

__all__ = ["Analysis", "Analyzer", "LiveOptions", "LiveSession", "LiveSummary"]


@dataclass
class LiveSummary:
    frames: int = 0
    processed: int = 0
    captures: list[Path] = field(default_factory=list)
    fps: float = 0.0
    countdown_left: float | None = None  # seconds an auto-capture countdown still had to run when the run ended


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


# --- the driver ----------------------------------------------------------------------


class LiveSession:
    """Runs the loop until the source ends, the user quits, or `max_frames` frames were shown."""

    def __init__(self, model: BodyPix, source: FrameSource, profile: Profile | None, options: LiveOptions) -> None:
        self.model, self.source, self.options = model, source, options
        outputs = ((options.record, "live.mp4"), (options.log, "frames.jsonl"))
        for path, example in outputs:  # a folder that cannot hold them fails now, not mid-run
            if path is not None:
                if path.is_dir():  # `--log .` wrote a file named "-2" in it
                    raise OutputError(f"{path} is a folder: give a file name, for example {path / example}")
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
            if auto is not None and summary.frames:
                summary.countdown_left = auto.seconds_left(frame.t)
        summary.captures = list(self.capturer.saved)
        return summary
