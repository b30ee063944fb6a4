"""Frames from a camera, a video file or a folder of images, behind one small interface.

A source yields `Frame`s (BGR uint8 images with a timestamp). A camera is read
by a background thread that keeps only the newest frame, so a slow consumer
never falls behind the live picture; files are read in order, every frame, so a
run over a clip is repeatable.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator, Protocol

import cv2
import numpy as np

from guide.errors import GuideError, InputError
from guide.images import list_images, read_photo
from guide.model.quiet import quiet_stderr


@dataclass
class Frame:
    image: np.ndarray  # BGR uint8
    index: int  # 0, 1, 2 ... in delivery order
    t: float  # seconds since the source started (video: the frame's timestamp)


class FrameSource(Protocol):
    fps: float

    def frames(self) -> Iterator[Frame]: ...

    def close(self) -> None: ...


class VideoFileSource:
    """Every frame of a video file, in order.

    A file that stops decoding before the frame count its container declares is
    damaged: that is an error naming the frame, not a quiet early end, so a run
    over half a clip is never mistaken for a run over all of it.
    """

    def __init__(self, path: Path) -> None:
        if not path.is_file():
            raise InputError(f"{path}: no such video file")
        self.path = path
        # FFmpeg prints its own complaints about broken files. One decoding thread keeps
        # them inside the quieted reads (worker threads log whenever they get there);
        # it costs nothing at the frame rates the model runs at, and leaves it the cores.
        with quiet_stderr():
            self._cap = cv2.VideoCapture(str(path), cv2.CAP_ANY, [cv2.CAP_PROP_N_THREADS, 1])
            ok, first = self._cap.read() if self._cap.isOpened() else (False, None)
        if not ok or first is None:
            self._cap.release()
            raise InputError(f"{path}: cannot decode this video")
        self._first: np.ndarray | None = first
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0) or 30.0
        self.declared_frames = max(0, int(self._cap.get(cv2.CAP_PROP_FRAME_COUNT) or 0))  # 0: unknown

    def frames(self) -> Iterator[Frame]:
        index = 0
        while True:
            if self._first is not None:
                image, self._first = self._first, None
            else:
                with quiet_stderr():  # a damaged file gets our one line, not FFmpeg's many
                    ok, image = self._cap.read()
                if not ok or image is None:
                    if index < self.declared_frames:
                        raise GuideError(
                            f"{self.path}: cannot decode frame {index + 1} of {self.declared_frames} "
                            f"(the file is damaged); stopped after {index} frames"
                        )
                    return
            yield Frame(image, index, index / self.fps)
            index += 1

    def close(self) -> None:
        with quiet_stderr():  # releasing flushes the decoder, which may complain too
            self._cap.release()


class ImageFolderSource:
    """The photos of a folder, in name order, as frames.

    Unreadable ones are skipped and kept in `skipped` (why, one line each) for
    the caller to report; a folder of nothing but unreadable ones is an error.
    """

    def __init__(self, folder: Path, fps: float = 5.0) -> None:
        self.folder = folder
        self.files = [p for p in list_images([folder]) if p.is_file()]
        if not self.files:
            raise InputError(f"{folder}: holds no images")
        self.fps = fps
        self.skipped: list[str] = []

    def frames(self) -> Iterator[Frame]:
        read = 0
        for index, path in enumerate(self.files):
            try:
                photo = read_photo(path)
            except GuideError as exc:
                self.skipped.append(exc.message)
                continue
            read += 1
            yield Frame(photo.image, index, index / self.fps)
        if read == 0:
            raise InputError(f"{self.folder}: no readable images ({self.skipped[0]})")

    def close(self) -> None:
        pass


class CameraSource:
    """A camera read on a thread that keeps only the newest frame.

    A camera that stops delivering is re-opened a few times before giving up
    with a clear error, so an unplugged webcam never hangs the loop. Given a
    video file path instead of an index it plays the file in real time through
    this same path (`guide live --source clip.mp4 --realtime`), which is how the
    camera loop is tested without a camera; the file's end ends the stream.
    """

    def __init__(
        self,
        index: int | str,
        width: int | None = None,
        height: int | None = None,
        fps: float | None = None,
        mirror: bool = False,
        retries: int = 3,
        timeout: float = 5.0,
    ) -> None:
        if isinstance(index, int) and index < 0:  # OpenCV crashes (SIGSEGV) on some negative indices
            raise InputError(f"camera index {index} is negative: cameras are numbered from 0")
        self.index, self.mirror, self.retries, self.timeout = index, mirror, retries, timeout
        self.is_file = isinstance(index, str)
        self._settings = (width, height, fps)
        self._cap = self._open()
        self.fps = float(self._cap.get(cv2.CAP_PROP_FPS) or 0) or 30.0
        self._ended = False
        self._latest: tuple[np.ndarray, float] | None = None
        self._count = 0
        self._error: str | None = None
        self._cond = threading.Condition()
        self._stop = threading.Event()
        self._start = time.monotonic()
        self._thread = threading.Thread(target=self._reader, name="camera", daemon=True)
        self._thread.start()

    def _open(self) -> cv2.VideoCapture:
        with quiet_stderr():
            cap = cv2.VideoCapture(self.index)
        if not cap.isOpened():
            cap.release()
            if self.is_file:
                raise InputError(f"{self.index}: cannot decode this video")
            raise InputError(f"cannot open camera {self.index} (is it connected, and not used by another program?)")
        width, height, fps = self._settings
        if width:
            cap.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        if height:
            cap.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        if fps:
            cap.set(cv2.CAP_PROP_FPS, fps)
        return cap

    def _reader(self) -> None:
        try:
            self._read_loop()
        finally:
            self._cap.release()  # only this thread touches the capture, so no release races a read

    def _read_loop(self) -> None:
        failures = 0
        next_due = time.monotonic()
        while not self._stop.is_set():
            if self.is_file:  # play at the file's own frame rate, like a camera would deliver it
                next_due += 1.0 / self.fps
                time.sleep(max(0.0, next_due - time.monotonic()))
            ok, image = self._cap.read()
            if (not ok or image is None) and self.is_file:
                with self._cond:
                    self._ended = True
                    self._cond.notify_all()
                return
            if not ok or image is None:
                failures += 1
                if failures > self.retries:
                    with self._cond:
                        self._error = f"camera {self.index} stopped delivering frames"
                        self._cond.notify_all()
                    return
                time.sleep(0.2 * failures)
                try:
                    self._cap.release()
                    self._cap = self._open()
                except GuideError:
                    continue
                continue
            failures = 0
            if self.mirror:
                image = cv2.flip(image, 1)
            with self._cond:
                self._latest = (image, time.monotonic() - self._start)
                self._count += 1
                self._cond.notify_all()

    def frames(self) -> Iterator[Frame]:
        seen = 0
        while not self._stop.is_set():
            with self._cond:
                deadline = time.monotonic() + self.timeout
                while self._count == seen and self._error is None and not self._ended:
                    left = deadline - time.monotonic()
                    if left <= 0:
                        message = f"camera {self.index} delivered no frame for {self.timeout:.0f} s"
                        raise InputError(message) if seen == 0 else GuideError(message)
                    self._cond.wait(left)
                if self._error is not None and self._count == seen:
                    raise GuideError(self._error)
                if self._ended and self._count == seen:
                    return
                seen = self._count
                assert self._latest is not None
                image, t = self._latest
            yield Frame(image, seen - 1, t)

    def close(self) -> None:
        self._stop.set()
        self._thread.join(timeout=10)  # the reader releases the camera on its way out


def open_source(
    camera: int | None = None,
    source: Path | None = None,
    width: int | None = None,
    height: int | None = None,
    fps: float | None = None,
    mirror: bool = False,
    realtime: bool = False,
) -> FrameSource:
    """A camera index, a video file or an image folder, as the CLI options say.

    With `realtime` a video file goes through the camera's path: played at its
    frame rate on a reader thread that keeps only the newest frame.
    """
    if source is not None:
        if source.is_dir():
            return ImageFolderSource(source)
        if not source.is_file():
            raise InputError(f"{source}: no such video file")
        if realtime:
            return CameraSource(str(source), mirror=mirror)
        return VideoFileSource(source)
    return CameraSource(camera or 0, width, height, fps, mirror)
