"""Multi-person pose decoding from BodyPix (PoseNet-style) outputs.

Greedy, as the official decoder: take keypoint heatmap peaks from the most to
the least confident; each peak not already claimed by a found pose (within
`nms_radius`) seeds a new pose, whose other keypoints are reached by following
the displacement fields along the pose tree and refined by the short offsets.
All coordinates here are model-input pixels, (x, y).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from guide.body import KEYPOINT_ID, KEYPOINT_NAMES, POSE_CHAIN

NUM_KEYPOINTS = len(KEYPOINT_NAMES)
_EDGES = [(KEYPOINT_ID[a], KEYPOINT_ID[b]) for a, b in POSE_CHAIN]


@dataclass
class Pose:
    """One decoded person: (17, 3) array of x, y, score in model-input pixels."""

    keypoints: np.ndarray
    score: float


def _local_maxima(scores: np.ndarray, threshold: float) -> np.ndarray:
    """(N, 4) rows of score, y, x, keypoint for 3x3 local maxima above threshold, best first."""
    h, w, _ = scores.shape
    padded = np.pad(scores, ((1, 1), (1, 1), (0, 0)), constant_values=-np.inf)
    neighbourhood = np.max(
        np.stack([padded[dy : dy + h, dx : dx + w] for dy in range(3) for dx in range(3)]), axis=0
    )
    ys, xs, ks = np.nonzero((scores >= neighbourhood) & (scores > threshold))
    values = scores[ys, xs, ks]
    order = np.argsort(-values, kind="stable")
    return np.stack([values[order], ys[order], xs[order], ks[order]], axis=1)


class _Fields:
    """The decoder's inputs, read one grid cell at a time as Python lists.

    Scalar look-ups in lists are far faster than in numpy, and a cell is
    converted only when the decoder first visits it.
    """

    def __init__(self, scores: np.ndarray, offsets: np.ndarray, fwd: np.ndarray, bwd: np.ndarray, stride: int):
        self.h, self.w, _ = scores.shape
        self._arrays = (scores, offsets, fwd, bwd)
        self._cells: dict[tuple[int, int, int], list[float]] = {}
        self.stride = stride
        self.n_edges = fwd.shape[2] // 2

    def _cell(self, which: int, gy: int, gx: int) -> list[float]:
        key = (which, gy, gx)
        cell = self._cells.get(key)
        if cell is None:
            cell = self._cells[key] = self._arrays[which][gy, gx].tolist()
        return cell

    def cell(self, x: float, y: float) -> tuple[int, int]:
        s = self.stride
        return min(max(int(round(y / s)), 0), self.h - 1), min(max(int(round(x / s)), 0), self.w - 1)

    def offset_point(self, gy: int, gx: int, k: int) -> tuple[float, float]:
        off = self._cell(1, gy, gx)
        return gx * self.stride + off[NUM_KEYPOINTS + k], gy * self.stride + off[k]

    def follow_edge(self, edge: int, x: float, y: float, target: int, backward: bool) -> tuple[float, float, float]:
        """Jump along one tree edge with the displacement field, then refine twice with offsets."""
        gy, gx = self.cell(x, y)
        disp = self._cell(3 if backward else 2, gy, gx)
        x, y = x + disp[self.n_edges + edge], y + disp[edge]
        for _ in range(2):
            gy, gx = self.cell(x, y)
            x, y = self.offset_point(gy, gx, target)
        gy, gx = self.cell(x, y)
        return x, y, self._cell(0, gy, gx)[target]


def decode_pose(fields: _Fields, root_score: float, root_y: int, root_x: int, root_k: int) -> np.ndarray:
    """All 17 keypoints of the pose grown from one root peak, as (17, 3) x, y, score."""
    keypoints: list[tuple[float, float, float] | None] = [None] * NUM_KEYPOINTS
    rx, ry = fields.offset_point(root_y, root_x, root_k)
    keypoints[root_k] = (rx, ry, root_score)
    # Up the tree (child -> parent) with backward displacements, then down with forward ones.
    for edge in reversed(range(len(_EDGES))):
        parent, child = _EDGES[edge]
        src = keypoints[child]
        if src is not None and keypoints[parent] is None:
            keypoints[parent] = fields.follow_edge(edge, src[0], src[1], parent, backward=True)
    for edge in range(len(_EDGES)):
        parent, child = _EDGES[edge]
        src = keypoints[parent]
        if src is not None and keypoints[child] is None:
            keypoints[child] = fields.follow_edge(edge, src[0], src[1], child, backward=False)
    return np.array(keypoints, dtype=np.float64)


def _near_existing(poses: list[Pose], x: float, y: float, k: int, radius_sq: float) -> bool:
    for pose in poses:
        px, py = pose.keypoints[k, 0], pose.keypoints[k, 1]
        if (px - x) ** 2 + (py - y) ** 2 <= radius_sq:
            return True
    return False


def decode_multiple_poses(
    scores: np.ndarray,
    offsets: np.ndarray,
    displacement_fwd: np.ndarray,
    displacement_bwd: np.ndarray,
    stride: int,
    max_detections: int = 10,
    score_threshold: float = 0.25,
    nms_radius: float = 20.0,
    root_threshold: float = 0.5,
) -> list[Pose]:
    """Poses in the image, most confident first.

    `scores` are sigmoid keypoint heatmaps (oh, ow, 17); `nms_radius` is in
    model-input pixels; only heatmap peaks above `root_threshold` seed poses.
    A pose's score is the mean over the 17 keypoints of the
    scores not already explained by an earlier pose.
    """
    radius_sq = nms_radius**2
    fields = _Fields(scores, offsets, displacement_fwd, displacement_bwd, stride)
    poses: list[Pose] = []
    for value, y, x, k in _local_maxima(scores, root_threshold).tolist():
        if len(poses) >= max_detections:
            break
        gy, gx, kk = int(y), int(x), int(k)
        rx, ry = fields.offset_point(gy, gx, kk)
        if _near_existing(poses, rx, ry, kk, radius_sq):
            continue
        keypoints = decode_pose(fields, value, gy, gx, kk)
        fresh = sum(
            keypoints[j, 2]
            for j in range(NUM_KEYPOINTS)
            if not _near_existing(poses, keypoints[j, 0], keypoints[j, 1], j, radius_sq)
        )
        score = float(fresh) / NUM_KEYPOINTS
        if score >= score_threshold:
            poses.append(Pose(keypoints, score))
    return poses
