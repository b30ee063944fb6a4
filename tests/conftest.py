"""Shared fixtures: the real model (loaded once per session) and the real photos in ../shared."""

from __future__ import annotations

import csv
import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("GUIDE_SHARED_DIR", REPO.parent / "shared"))
MODELS = SHARED / "models" / "bodypix"
DATA = SHARED / "data"
PEOPLE = DATA / "people"
PENNFUDAN = DATA / "pennfudan"

# Tests find the weights in ../shared unless the caller says otherwise (CI sets it too).
os.environ.setdefault("GUIDE_MODEL_DIR", str(MODELS))


def pytest_sessionstart(session: pytest.Session) -> None:
    if not MODELS.is_dir() or not PEOPLE.is_dir():
        raise pytest.UsageError(
            f"test data not found: expected BodyPix weights in {MODELS} and photos in {PEOPLE} "
            "(set GUIDE_SHARED_DIR to the folder holding models/ and data/)"
        )


@pytest.fixture(scope="session")
def model():  # type: ignore[no-untyped-def]
    from guide.model.bodypix import load_model

    return load_model()


@pytest.fixture(scope="session")
def manifest() -> dict[str, str]:
    """file name -> category, from ../shared/data/people/manifest.csv."""
    with (PEOPLE / "manifest.csv").open(newline="") as fh:
        return {row["file"]: row["category"] for row in csv.DictReader(fh)}


def photos_in(category: str) -> list[Path]:
    with (PEOPLE / "manifest.csv").open(newline="") as fh:
        return [PEOPLE / row["file"] for row in csv.DictReader(fh) if row["category"] == category]


@pytest.fixture(scope="session")
def live_model():  # type: ignore[no-untyped-def]
    """The model as `guide live` loads it (TFLite where it converts)."""
    from guide.model.bodypix import load_model

    return load_model(runtime="auto")
