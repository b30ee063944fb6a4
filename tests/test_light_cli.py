"""Light and portrait preview as a user meets them: `analyze --json` light, `portrait --relight`, live backlight."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np

from helpers import lone_pedestrians, place_person, run_guide, write_clip

from conftest import PEOPLE

STOPS = 3.0  # how much darker than its photo a backlit subject is made (the light behind them unchanged)


def _darkened(frame: np.ndarray, mask: np.ndarray, stops: float = STOPS) -> np.ndarray:
    """The person `stops` EV darker in linear light, through their true mask."""
    lin = (frame.astype(np.float32) / 255.0) ** 2.2
    lin[mask] *= 2.0 ** -stops
    return np.clip(255.0 * lin ** (1 / 2.2), 0, 255).astype(np.uint8)


def test_analyze_reports_the_subjects_light(tmp_path: Path) -> None:
    result = run_guide("analyze", str(PEOPLE / "tfjs_pose.jpg"), "--json")
    assert result.returncode == 0, result.stderr
    light = json.loads(result.stdout)["light"]
    assert set(light) == {"subject_ev", "background_ev", "backlit", "peak_ev"}  # the first three are the contract
    assert isinstance(light["backlit"], bool) and not light["backlit"]
    assert all(np.isfinite([light["subject_ev"], light["background_ev"], light["peak_ev"]]))
    assert light["peak_ev"] > light["subject_ev"]  # the brightest parts are brighter than the exposure


def test_relight_takes_auto_on_off_only(tmp_path: Path) -> None:
    bad = run_guide("portrait", str(PEOPLE / "tfjs_pose.jpg"), "--relight", "sometimes", "--out", str(tmp_path))
    assert bad.returncode == 2 and "--relight" in bad.stderr
    assert not any(tmp_path.iterdir())  # nothing written for a bad option


def test_portrait_says_when_it_lifted_a_backlit_subject(tmp_path: Path) -> None:
    """`--relight auto` is the default and a lift can be wrong: the output line says it happened, and how to
    keep the photo as shot; a well-lit photo says nothing of it."""
    placed = place_person(lone_pedestrians()[4], 0.8, (640, 480), backdrop=(235, 235, 235))
    cv2.imwrite(str(tmp_path / "dark.png"), _darkened(placed.image, placed.mask))
    cv2.imwrite(str(tmp_path / "lit.png"), placed.image)
    run = run_guide("portrait", str(tmp_path / "dark.png"), str(tmp_path / "lit.png"), "--out", str(tmp_path / "out"))
    assert run.returncode == 0, run.stderr
    dark, lit = run.stdout.strip().splitlines()
    assert "the subject was lifted (--relight off" in dark and "lifted" not in lit


def test_the_cli_offers_the_library_s_relight_modes() -> None:
    """The CLI repeats the modes to keep its start light; the two lists must not drift apart."""
    from guide.cli import Relight as CliRelight
    from guide.light import Relight

    assert [m.value for m in CliRelight] == [m.value for m in Relight]


def test_live_says_when_the_subject_is_backlit_and_previews_the_portrait(tmp_path: Path) -> None:
    placed = place_person(lone_pedestrians()[4], 0.8, (640, 480), backdrop=(235, 235, 235))
    dark = _darkened(placed.image, placed.mask)
    clip = write_clip(tmp_path / "backlit.avi", [dark] * 20, fps=10.0)
    log, plain, preview = tmp_path / "frames.jsonl", tmp_path / "plain.mp4", tmp_path / "preview.mp4"
    env = {"GUIDE_PROFILE_DIR": str(tmp_path / "none")}
    run = run_guide("live", "--source", str(clip), "--no-window", "--log", str(log), "--record", str(plain), env=env)
    assert run.returncode == 0, run.stderr
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert all(line["light"]["backlit"] for line in lines if line["light"]), lines[-1]["light"]
    actions = [a["action"] for a in lines[-1]["advice"]]
    assert "avoid_backlight" in actions and actions.index("avoid_backlight") == len(actions) - 1  # after framing
    run = run_guide("live", "--source", str(clip), "--no-window", "--preview-portrait", "--record", str(preview),
                    env=env)
    assert run.returncode == 0, run.stderr

    def last_frame(path: Path) -> np.ndarray:
        cap = cv2.VideoCapture(str(path))
        frames = []
        while True:
            ok, frame = cap.read()
            if not ok:
                return frames[-1]
            frames.append(frame)

    # The backdrop around the person is blurred in the preview, not in the plain recording.
    a, b = last_frame(plain), last_frame(preview)
    ring = cv2.dilate(placed.mask.astype(np.uint8), np.ones((41, 41), np.uint8)) > 0
    ring &= ~cv2.dilate(placed.mask.astype(np.uint8), np.ones((9, 9), np.uint8)).astype(bool)
    rows = slice(int(0.1 * 480), int(0.65 * 480))  # above the advice labels, drawn at the bottom of the picture

    def detail(img: np.ndarray) -> float:
        edges = np.abs(cv2.Laplacian(cv2.cvtColor(img, cv2.COLOR_BGR2GRAY), cv2.CV_32F))
        return float(edges[rows][ring[rows]].mean())

    assert detail(b) < 0.7 * detail(a)
