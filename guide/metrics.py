"""Scores for checking the model against ground truth (tests and benchmarks use them)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image


def mask_iou(predicted: np.ndarray, truth: np.ndarray) -> float:
    """Intersection over union of two boolean masks of the same shape (1.0 if both are empty)."""
    if predicted.shape != truth.shape:
        raise ValueError(f"mask shapes differ: {predicted.shape} vs {truth.shape}")
    union = np.count_nonzero(predicted | truth)
    return 1.0 if union == 0 else np.count_nonzero(predicted & truth) / union


@dataclass
class PennFudanSample:
    image_path: Path
    instances: np.ndarray  # (H, W) uint8: 0 background, 1..N pedestrian id

    @property
    def person_mask(self) -> np.ndarray:
        return self.instances > 0


def pennfudan_samples(root: Path) -> list[PennFudanSample]:
    """Every Penn-Fudan image with its instance mask (`PNGImages/`, `PedMasks/`)."""
    samples = []
    for image_path in sorted((root / "PNGImages").glob("*.png")):
        mask_path = root / "PedMasks" / f"{image_path.stem}_mask.png"
        samples.append(PennFudanSample(image_path, np.asarray(Image.open(mask_path))))
    return samples


def instance_boxes(instances: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Each labelled person's box (x0, y0, x1, y1 pixel edges), in label order 1..N (absent labels skipped)."""
    boxes = []
    for k in range(1, int(instances.max()) + 1):
        ys, xs = np.nonzero(instances == k)
        if ys.size:
            boxes.append((int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1))
    return boxes
