"""`guide live` as a user runs it: video files through the camera code path, a real window
under Xvfb (screenshot checked), SPACE from xdotool saving a capture."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import cv2
import numpy as np
import pytest

from guide.live import LiveOptions
from guide.sinks import Capturer, next_capture_path
from guide.overlay import BAD, GOOD

from conftest import DATA, PEOPLE

VIDEO = DATA / "video"
ACTIONS = {"step_back", "step_closer", "aim_up", "aim_down", "aim_left", "aim_right",
           "raise_camera", "lower_camera", "level_camera", "avoid_backlight", "hold"}


def guide(*args: str, env: dict[str, str] | None = None, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "guide", *args], capture_output=True, text=True,
                          env={**os.environ, **(env or {})}, timeout=timeout)


def test_headless_run_writes_log_and_overlaid_video(tmp_path: Path) -> None:
    clip = VIDEO / "tfjs_pose_dance.mp4"
    out, log = tmp_path / "out.mp4", tmp_path / "frames.jsonl"
    result = guide("live", "--source", str(clip), "--no-window", "--record", str(out), "--log", str(log),
                   "--max-frames", "24", env={"GUIDE_PROFILE_DIR": str(tmp_path / "none")})
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [r["frame"] for r in lines] == list(range(24))
    for r in lines:
        assert {"frame", "t", "people", "score", "advice", "framing", "fps", "latency_ms"} <= set(r)
        assert all(a["action"] in ACTIONS for a in r["advice"]) and r["advice"]
        assert 0 <= r["score"] <= 100 and r["latency_ms"] > 0
    assert sum(r["people"] >= 1 for r in lines) >= 20
    assert lines[0]["t"] == 0 and lines[-1]["t"] > lines[0]["t"]

    recorded, source = cv2.VideoCapture(str(out)), cv2.VideoCapture(str(clip))
    assert int(recorded.get(cv2.CAP_PROP_FRAME_COUNT)) == 24
    for _ in range(12):
        ok_a, shown = recorded.read()
        ok_b, raw = source.read()
    assert ok_a and ok_b and shown.shape == raw.shape
    diff = np.abs(shown.astype(int) - raw.astype(int)).sum(axis=2)
    assert np.mean(diff > 60) > 0.01  # guidance drawn, not just re-encoded
    assert _has_colour(shown, GOOD) or _has_colour(shown, BAD)


def _has_colour(image: np.ndarray, bgr: tuple[int, int, int], tol: int = 40, min_pixels: int = 50) -> bool:
    close = np.all(np.abs(image.astype(int) - np.array(bgr)) < tol, axis=2)
    return int(close.sum()) >= min_pixels


def test_video_that_ends_closes_cleanly(tmp_path: Path) -> None:
    log = tmp_path / "squats.jsonl"
    result = guide("live", "--source", str(VIDEO / "tfjs_pose_squats.mp4"), "--no-window", "--log", str(log),
                   "--resolution", "0.25")
    assert result.returncode == 0, result.stderr
    assert len(log.read_text().splitlines()) == 65
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("case", ["garbage_video", "missing_video", "no_display", "missing_profile", "bad_record"])
def test_bad_live_input_is_one_line(tmp_path: Path, case: str) -> None:
    env: dict[str, str] = {"GUIDE_PROFILE_DIR": str(tmp_path)}
    args = ["live", "--no-window", "--source", str(VIDEO / "tfjs_pose_dance.mp4"), "--max-frames", "2"]
    if case == "garbage_video":
        bad = tmp_path / "bad.mp4"
        bad.write_bytes(os.urandom(5000))
        args[3] = str(bad)
    elif case == "missing_video":
        args[3] = str(tmp_path / "nope.mp4")
    elif case == "no_display":
        args.remove("--no-window")
        env.update(DISPLAY="", WAYLAND_DISPLAY="")
    elif case == "missing_profile":
        args += ["--profile", "anna"]
    elif case == "bad_record":
        (tmp_path / "file").write_text("x")
        args += ["--record", str(tmp_path / "file" / "out.mp4")]
    result = guide(*args, env=env)
    assert result.returncode == 2, result.stderr
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("guide: error: ")
    if case == "no_display":
        assert "--no-window" in result.stderr


def test_capture_saves_full_frame_portrait_and_sidecar_without_overwriting(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    image = cv2.imread(str(PEOPLE / "tfjs_posenet_frisbee.jpg"))
    (tmp_path / "capture_0001.jpg").write_bytes(b"an earlier capture")
    warnings: list[str] = []
    capturer = Capturer(model, LiveOptions(captures=tmp_path), warnings.append)
    capturer.capture(image, None)
    capturer.close()
    assert warnings == []
    (saved,) = capturer.saved
    assert saved.name == "capture_0002.jpg" and (tmp_path / "capture_0001.jpg").read_bytes() == b"an earlier capture"
    out = cv2.imread(str(saved))
    assert out.shape == image.shape
    side = json.loads(saved.with_suffix(".json").read_text())
    assert side["image"] == "capture_0002.jpg" and side["portrait"] is True
    assert next_capture_path(tmp_path).name == "capture_0003.jpg"


def test_unwritable_captures_folder_warns_and_keeps_going(model, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    blocker = tmp_path / "captures"
    blocker.write_text("a file where the folder should be")
    warnings: list[str] = []
    capturer = Capturer(model, LiveOptions(captures=blocker), warnings.append)
    capturer.capture(cv2.imread(str(PEOPLE / "tfjs_posenet_frisbee.jpg")), None)
    capturer.close()
    assert capturer.saved == [] and len(warnings) == 1 and "capture not saved" in warnings[0]


@pytest.fixture
def xvfb() -> str:  # type: ignore[misc]
    if not shutil.which("Xvfb") or not shutil.which("xdotool"):
        message = "Xvfb and xdotool are needed for the window tests (apt-get install xvfb xdotool; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(message)  # CI installs them: missing there is a broken set-up, not a skip
        pytest.skip(message)
    display = ":91"
    proc = subprocess.Popen(["Xvfb", display, "-screen", "0", "1024x768x24", "-nolisten", "tcp"],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    time.sleep(1.0)
    yield display
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


def _window_id(display: str, timeout: float = 90) -> str:
    deadline = time.time() + timeout
    while time.time() < deadline:
        found = subprocess.run(["xdotool", "search", "--name", "^guide$"], capture_output=True, text=True,
                               env={**os.environ, "DISPLAY": display})
        if found.stdout.strip():
            return found.stdout.split()[0]
        time.sleep(0.5)
    raise AssertionError("the guide window never appeared")


def test_real_window_shows_overlay_and_space_captures(xvfb: str, tmp_path: Path) -> None:
    from PIL import ImageGrab

    env = {**os.environ, "DISPLAY": xvfb, "GUIDE_PROFILE_DIR": str(tmp_path / "none")}
    clip = tmp_path / "long.mp4"
    _loop_clip(VIDEO / "tfjs_pose_dance.mp4", clip, repeats=6)
    proc = subprocess.Popen([sys.executable, "-m", "guide", "live", "--source", str(clip), "--realtime",
                             "--captures", str(tmp_path / "captures")], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wid = _window_id(xvfb)
        time.sleep(3.0)  # let a few analysed frames through
        shot = np.asarray(ImageGrab.grab(xdisplay=xvfb))[:, :, ::-1]
        assert _has_colour(shot, GOOD) or _has_colour(shot, BAD), "no guidance drawn in the window"
        subprocess.run(["xdotool", "windowactivate", "--sync", wid], env=env, capture_output=True)
        # B: the background blurred as the capture will be (a preview at live settings), B again: off.
        subprocess.run(["xdotool", "key", "--window", wid, "b"], env=env, check=True)
        time.sleep(1.5)
        blurred = np.asarray(ImageGrab.grab(xdisplay=xvfb))[:, :, ::-1]
        subprocess.run(["xdotool", "key", "--window", wid, "b"], env=env, check=True)
        ratio = float(np.median(_background_detail(blurred) / _background_detail(shot)))
        assert ratio < 0.6, f"B did not blur the background (detail ratio {ratio:.2f})"
        subprocess.run(["xdotool", "key", "--window", wid, "space"], env=env, check=True)
        deadline = time.time() + 60
        while time.time() < deadline and not list((tmp_path / "captures").glob("capture_*.json")):
            time.sleep(0.5)
        captures = sorted((tmp_path / "captures").glob("capture_*.jpg"))
        assert captures, "SPACE did not save a capture"
        assert cv2.imread(str(captures[0])).shape == (576, 576, 3)
        subprocess.run(["xdotool", "key", "--window", wid, "q"], env=env, check=True)
        proc.wait(timeout=60)
        assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    finally:
        if proc.poll() is None:
            proc.kill()


def _background_detail(screen: np.ndarray) -> np.ndarray:
    """Edge energy of the window's right-hand stairs (the dancer stays in the middle), in eight bands of rows.

    The advice labels sit at the top or the bottom (away from the dancer's
    head) and a long one reaches the stairs, so a few bands may hold text:
    compare band by band and take the median.
    """
    ys, xs = np.nonzero(screen.max(axis=2) > 0)  # the window: Xvfb's root is black around it
    y0, y1, x0, x1 = ys.min(), ys.max() + 1, xs.min(), xs.max() + 1
    h, w = y1 - y0, x1 - x0
    region = screen[y0 + int(0.1 * h) : y0 + int(0.9 * h), x0 + int(0.75 * w) : x0 + int(0.97 * w)]
    edges = np.abs(cv2.Laplacian(cv2.cvtColor(region, cv2.COLOR_BGR2GRAY), cv2.CV_32F))
    return np.array([band.mean() for band in np.array_split(edges, 8, axis=0)])


def _loop_clip(src: Path, dst: Path, repeats: int) -> None:
    cap = cv2.VideoCapture(str(src))
    frames = []
    while True:
        ok, f = cap.read()
        if not ok:
            break
        frames.append(f)
    h, w = frames[0].shape[:2]
    out = cv2.VideoWriter(str(dst), cv2.VideoWriter_fourcc(*"mp4v"), 30, (w, h))
    for _ in range(repeats):
        for f in frames:
            out.write(f)
    out.release()
