"""The live loop's sinks: the JSONL log, auto-capture, the capturer, the overlay view, the recorder, the window.

Each is a small class that can be tested alone; `guide.live` composes them.
The capturer analyses the full camera frame again at still quality, renders
it in portrait mode and saves it. The overlay is drawn on the view: the frame
scaled down once to at most `MAX_VIEW_SIDE` pixels, so drawing costs the same
for any camera; it is only made when a window or a recording needs it.
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

import cv2
import numpy as np

from guide.analyzer import Analysis, LiveOptions
from guide.errors import GuideError, InputError, OutputError
from guide.geometry import Grid
from guide.guidance import Advice
from guide.images import write_bytes_atomic
from guide.measure import Landmarks
from guide.model.bodypix import BodyPix
from guide.model.quiet import quiet_stderr
from guide.overlay import (
    MaskTint,
    beside_people,
    draw_guidance,
    draw_label,
    draw_members,
    instructions_low,
    paste_thumbnail,
)
from guide.portrait import preview_blur

WINDOW = "guide"
MAX_VIEW_SIDE = 960  # the window and the recording show frames at most this large; captures keep full size


def display_available() -> bool:
    return bool(os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))


def next_capture_path(folder: Path, stem: str = "capture") -> Path:
    """`capture_0001.jpg`, `capture_0002.jpg`, ...: the first number not taken."""
    taken = [p.stem.rsplit("_", 1)[1] for p in folder.glob(f"{stem}_*.*") if p.suffix in (".jpg", ".json")]
    n = 1 + max((int(t) for t in taken if t.isdigit()), default=0)
    return folder / f"{stem}_{n:04d}.jpg"


def advice_record(a: Advice) -> dict[str, Any]:
    """One ask as the log writes it; `also`, an aim made in the same motion, only where there is one."""
    record: dict[str, Any] = {"action": a.action, "amount": round(float(a.amount), 4), "text": a.text}
    if a.also is not None:
        record["also"] = {"action": a.also.action, "amount": round(float(a.also.amount), 4)}
    return record


def log_record(analysis: Analysis, fps: float) -> dict[str, Any]:
    g = analysis.guidance
    return {
        "frame": analysis.frame.index,
        "t": round(analysis.frame.t, 4),
        "people": analysis.people,
        "score": g.score,
        "advice": [advice_record(a) for a in g.advice],
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


SWITCH_FRAMES = 8  # the instructions change place (top, bottom) after this many frames that want it


def head_box(marks: Landmarks | None) -> tuple[float, float, float, float] | None:
    """The subject's head with a margin (frame pixels), which the instructions should not cover."""
    if marks is None or marks.head_top is None:
        return None
    x, top = marks.head_top
    size = max(marks.chin[1] - top, 24.0) if marks.chin is not None else 24.0
    return x - 0.8 * size, top - 0.3 * size, x + 0.8 * size, top + 1.3 * size


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
        self.low, self._switch = False, 0  # instructions at the bottom; frames the other place was wanted
        self._placed = False  # the first subject's head has placed them (at once: nothing is there to jump from)
        self._countdown_at: int | None = None  # the running countdown's column (kept while it fits there)

    def _instructions_low(self, shape: tuple[int, ...], analysis: Analysis, scale: float) -> bool:
        """Instructions at the bottom while at the top they would cover the subject's head; a place is
        changed only after SWITCH_FRAMES frames that want it, so a moving head does not make them jump."""
        head = head_box(analysis.marks)
        wanted = head is not None and instructions_low(shape, analysis.guidance, head, scale=scale,
                                                       show_help=self.show_help)
        if not self._placed and head is not None:  # the squats clip's first frames: over her face
            self.low, self._placed = wanted, True
            return self.low
        self._switch = self._switch + 1 if wanted != self.low else 0
        if self._switch >= SWITCH_FRAMES:
            self.low, self._switch = wanted, 0
        return self.low

    def _countdown(
        self,
        out: np.ndarray,
        seconds: float,
        alpha: np.ndarray | None,
        others: list[tuple[float, float, float, float]],
        scale: float,
    ) -> None:
        """The seconds left, large, beside the people: the crop's (the tint) and those the crop leaves out (their
        boxes); where it stood while it still fits there; else in the top corner with the fewest people in it."""
        h, w = out.shape[:2]
        text, size = f"{max(0, int(np.ceil(seconds)))}", 3.0 * max(1.0, min(h, w) / 480)
        (tw, th), _ = cv2.getTextSize(text, cv2.FONT_HERSHEY_SIMPLEX, size, max(1, round(size * 2)))
        people = np.asarray(alpha > 0.5) if alpha is not None and alpha.shape == (h, w) else np.zeros((h, w), bool)
        for x0, y0, x1, y1 in others:
            people[max(0, int(y0 * scale)) : int(y1 * scale) + 1, max(0, int(x0 * scale)) : int(x1 * scale) + 1] = True
        middle = beside_people(np.asarray(people.any(axis=0)), 2 * tw, self._countdown_at)
        self._countdown_at = middle
        if middle is not None:
            draw_label(out, text, (middle - tw // 2, (h + th) // 2), (60, 220, 60), size)
            return
        corners = [(w - tw - th // 2, 2 * th), (th // 2, 2 * th)]
        x, y = min(corners, key=lambda c: people[max(0, c[1] - th) : c[1], c[0] : c[0] + tw].sum())
        draw_label(out, text, (x, y), (60, 220, 60), size)

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
            out = draw_guidance(out, analysis.guidance, fps, self.show_help, scale=grid.scale,
                                low=self._instructions_low(out.shape, analysis, grid.scale))
        now = time.monotonic()
        if countdown is None:
            self._countdown_at = None  # the next countdown finds its own place
        else:
            self._countdown(out, countdown, person, [] if analysis is None else analysis.others, grid.scale)
        if thumbnail and now - thumbnail[1] < 4.0:
            out = paste_thumbnail(out, thumbnail[0])
        if self.warning and now - self.warning[1] < 5.0:  # clear of the status line, and of the instructions
            unit = max(0.6, min(out.shape[:2]) / 480)
            y = int(40 * unit) if self.low else out.shape[0] - int(48 * unit)
            draw_label(out, self.warning[0], (10, y), (0, 0, 255), 0.6 * unit, max_width=out.shape[1] - 20)
        return out


