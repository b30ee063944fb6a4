"""Decoded poses and mask pixels -> people: which pose each person-mask pixel belongs to.

As BodyPix's multi-person decoder does it: each pixel's long-range offsets
point at its own person's keypoints, and the pixel goes to the pose they
point nearest (`assign_instances`, on the model's coarse grid by
`assign_coarse`). Around it: poses decoded twice for one person are dropped
or merged first (`drop_duplicate_poses`, `merge_same_head`); a person the
decoder missed is found from pixels that point at no pose; stray blobs are
cleared, and legs on the bones of a person clearly in front go to them
(`give_legs_to_front`). `guide.parse` runs these; all work on the model's
input raster.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

from guide.body import FEET_PARTS, KEYPOINT_NAMES, LOWER_LEG_PARTS, UPPER_LEG_PARTS
from guide.poses import NUM_KEYPOINTS, Pose

# Instance assignment: refinement steps every pixel gets, and how much nearer (squared distance)
# the nearest person must be than the next for a pixel to need no more (`assign_instances`).
SURE_STEPS, CLOSE_CALL = 2, 4.0
# A pixel goes to the pose nearest its predicted keypoints: the mean squared distance divided by
# the pose's size to this power. A long offset's error grows with its person's size, so a large
# subject's own legs predict their keypoints more roughly than a small passer-by's keypoints sit
# together (bench/instances.py, 116 composites with a passer-by behind the subject: with 0 the
# passer-by took the subject's back leg in FudanPed00038 and FudanPed00017, subject lost or
# several_people; 0.5: subject kept 113 vs 112, verdict unchanged 112 vs 110, within 2% 110 vs
# 109, Penn-Fudan mean IoU 0.790 both; 1 gives a small person's head to a larger one in front of
# it, 2 loses more subjects than it keeps).
SIZE_POWER = 0.5


def assign_instances(
    mask_in: np.ndarray,
    long_offsets: np.ndarray,
    poses: list[Pose],
    stride: float,
    min_keypoint_score: float = 0.3,
    refine_steps: int = 4,
    offset_scale: float = 1.0,
    find_missed: bool = False,
) -> tuple[np.ndarray, list[Pose]]:
    """Label each mask pixel (model-input grid) with the index of its pose, -1 elsewhere.

    Each pixel's long-range offsets predict where every keypoint of its own
    person is; the pixel goes to the pose whose confident keypoints are nearest
    those predictions (mean squared distance, scaled by the pose's size:
    `SIZE_POWER`). A long offset read far from its keypoint (a foot's offset
    to the head) is rough, so each prediction is refined `refine_steps` times
    by reading the offsets again where it landed (bench/instances.py, a
    passer-by behind the subject: with 2 steps the subject's feet moved by
    over 2% of their height in 4 composites of 10,
    with 4 in under 1 of 10; more steps gain nothing). Steps past
    `SURE_STEPS` are taken only for pixels where two people are close calls.
    `offset_scale` converts offsets (model-input pixels) to the units of
    `mask_in`'s grid when it is subsampled.

    With `find_missed`, people the pose decoder missed (a person seen from
    behind) are recovered from the mask (`_missed_people`): their pixels'
    predictions lie far from every pose. Returns the labels and those new
    poses, numbered after `poses`.
    """
    labels = np.full(mask_in.shape, -1, dtype=np.int8)
    if not poses:
        return labels, []
    if len(poses) == 1 and not find_missed:
        labels[mask_in] = 0
        return labels, []
    ys, xs = np.nonzero(mask_in)
    if ys.size == 0:
        return labels, []
    gh, gw, _ = long_offsets.shape
    kp = np.stack([p.keypoints for p in poses])  # (P, 17, 3)
    valid = kp[:, :, 2] > min_keypoint_score  # (P, 17)
    use = np.arange(NUM_KEYPOINTS) if find_missed else np.nonzero(valid.any(axis=0))[0]
    if not valid.any():
        labels[mask_in] = 0
        return labels, []
    # Embedding: follow the long offsets from each pixel for each used keypoint.
    def jump(px: np.ndarray, py: np.ndarray, times: int) -> tuple[np.ndarray, np.ndarray]:
        for _ in range(times):
            gy = np.clip(np.rint(py / stride), 0, gh - 1).astype(np.intp)
            gx = np.clip(np.rint(px / stride), 0, gw - 1).astype(np.intp)
            dy = long_offsets[gy, gx, use[None, :]] * offset_scale
            dx = long_offsets[gy, gx, NUM_KEYPOINTS + use[None, :]] * offset_scale
            px, py = px + dx, py + dy
        return px, py

    def distances(px: np.ndarray, py: np.ndarray) -> np.ndarray:
        """(pixels, poses) mean squared distance over each pose's confident keypoints (inf: none)."""
        d = np.full((px.shape[0], len(poses)), np.inf, dtype=np.float32)
        for i, pose_kp in enumerate(kp):
            ok = valid[i, use]
            if ok.any():
                d[:, i] = ((px[:, ok] - pose_kp[use[ok], 0]) ** 2 + (py[:, ok] - pose_kp[use[ok], 1]) ** 2).mean(axis=1)
        return d

    # Distances compare across people of different sizes: see SIZE_POWER.
    sizes = np.array([_pose_size(p, min_keypoint_score) for p in poses])
    norm = (sizes ** SIZE_POWER).astype(np.float32)
    start_x = np.broadcast_to(xs[:, None].astype(np.float32), (xs.size, use.size))
    start_y = np.broadcast_to(ys[:, None].astype(np.float32), (ys.size, use.size))
    first = min(refine_steps, SURE_STEPS)
    px, py = jump(start_x, start_y, 1 + first)
    d = distances(px, py)
    if refine_steps > first and len(poses) > 1:
        # Refine further only where two people are close calls: most pixels are settled already.
        two = np.partition(d / norm, 1, axis=1)[:, :2]
        unsure = two[:, 1] < CLOSE_CALL * two[:, 0]
        if unsure.any():
            d[unsure] = distances(*jump(px[unsure], py[unsure], refine_steps - first))
    dn = d / norm
    owner = np.where(np.isfinite(dn.min(axis=1)), dn.argmin(axis=1), -1).astype(np.int8)
    found: list[Pose] = []
    if find_missed:
        far = np.sqrt(d[np.arange(d.shape[0]), owner]) > MISSED_DISTANCE * sizes[owner]
        if np.count_nonzero(far) >= MISSED_MIN_PIXELS:
            # Far from every pose, or only read roughly (a foot's offsets to the head): settle these first.
            fx, fy = jump(px[far], py[far], MISSED_STEPS)
            px, py = px.copy(), py.copy()
            px[far], py[far] = fx, fy
            df = distances(fx, fy)
            far[far] = np.sqrt(df.min(axis=1)) > MISSED_DISTANCE * sizes[df.argmin(axis=1)]
            found = _missed_people(mask_in, ys, xs, px, py, far, owner, poses, sizes, min_keypoint_score)
            owner = np.where(owner <= -2, len(poses) - 2 - owner, owner).astype(np.int8)
    labels[ys, xs] = owner
    return labels, found


# Missed people: a pixel whose predicted keypoints lie further than this share of the nearest
# pose's size from it (root mean square) belongs to nobody decoded (`_missed_people`).
MISSED_DISTANCE = 0.25
# Further long-offset steps for such pixels before they count as far: a decoded person's own
# legs need them (bench/instances.py; with none, 28% of a lone walker's pixels in PennPed00078
# look far, with 6 under 10%, while a missed person's stay far).
MISSED_STEPS = 6
# A recovered person: at least MISSED_MIN_PIXELS and this share of the pixels of the pose that
# would take them, at least as tall as MISSED_MIN_ASPECT times wide, MISSED_MIN_WIDTH wide on
# average (a share of their height), and both they and their predicted skeleton at least
# MISSED_MIN_SPAN of that pose's size (a foot the pose's skeleton does not reach is no person).
MISSED_MIN_AREA, MISSED_MIN_PIXELS, MISSED_MIN_ASPECT, MISSED_MIN_WIDTH, MISSED_MIN_SPAN = 0.2, 40, 1.2, 0.15, 0.5
# A keypoint prediction agrees when within this share of the person's height of its median.
MISSED_AGREE = 0.1


def _pose_size(pose: Pose, min_score: float) -> float:
    """The extent (its grid's px) of a pose's confident keypoints: the larger of height and width, at least 4."""
    seen = pose.keypoints[pose.keypoints[:, 2] > min_score, :2]
    return max(4.0, float(np.ptp(seen, axis=0).max())) if len(seen) >= 2 else 4.0


def _same_head(a: Pose, b: Pose, min_score: float) -> bool:
    """`a` and `b` have one head and shoulders: one person, whatever their legs say.

    A skeleton whose legs strayed onto a neighbour leaves its own legs' pixels
    far from it; they predict this same head, and are no missed person.
    """
    upper = slice(0, 7)  # nose, eyes, ears, shoulders
    both = (a.keypoints[upper, 2] > min_score) & (b.keypoints[upper, 2] > min_score)
    if not both.any():
        return False
    gap = np.hypot(*(a.keypoints[upper][both, :2] - b.keypoints[upper][both, :2]).T)
    return float(np.median(gap)) < 0.1 * max(_pose_size(a, min_score), _pose_size(b, min_score))


def _missed_people(
    mask_in: np.ndarray,
    ys: np.ndarray,
    xs: np.ndarray,
    px: np.ndarray,
    py: np.ndarray,
    far: np.ndarray,
    owner: np.ndarray,
    poses: list[Pose],
    sizes: np.ndarray,
    min_keypoint_score: float,
) -> list[Pose]:
    """Poses for people the decoder missed, made from the mask; relabels their pixels in `owner`.

    Every mask pixel's long offsets predict its own person's 17 keypoints
    (`px`, `py`: (pixels, 17)). Pixels whose predictions lie far from every
    pose (`far`) belong to someone not decoded: a person seen from behind, whose mask the nearest pose would
    otherwise take. A connected piece of such pixels that is large and
    person-shaped becomes a new pose: keypoints at the medians of its pixels'
    predictions, each scored by the share of its pixels that agree (so the
    score stays modest). Its pixels are marked -2 - k in `owner` for the k-th
    new pose. Small or thin pieces stay with their nearest pose.
    """
    if np.count_nonzero(far) < MISSED_MIN_PIXELS:
        return []
    orphans = np.zeros(mask_in.shape, np.uint8)
    orphans[ys[far], xs[far]] = 1
    n, comp, stats, _ = cv2.connectedComponentsWithStats(orphans, connectivity=8)
    areas = np.bincount(owner, minlength=len(poses))
    found: list[Pose] = []
    for c in np.argsort(-stats[1:, cv2.CC_STAT_AREA]) + 1:
        _, _, w, h, area = stats[c]
        if area < MISSED_MIN_PIXELS:
            break
        if h < MISSED_MIN_ASPECT * w or area < MISSED_MIN_WIDTH * h * h:
            continue
        mine = far & (comp[ys, xs] == c)
        taker = int(np.bincount(owner[mine]).argmax())
        size = max(float(h), sizes[taker])
        if area < MISSED_MIN_AREA * areas[taker] or h < MISSED_MIN_SPAN * size:
            continue
        mx, my = np.median(px[mine], axis=0), np.median(py[mine], axis=0)
        agree = np.hypot(px[mine] - mx, py[mine] - my) < MISSED_AGREE * h
        scores = agree.mean(axis=0)
        pose = Pose(np.column_stack([mx, my, scores]).astype(np.float32), float(scores.mean()))
        if _pose_size(pose, min_keypoint_score) < MISSED_MIN_SPAN * size:
            continue
        if any(_is_duplicate(pose, other) or _same_head(pose, other, min_keypoint_score) for other in poses):
            continue
        owner[mine] = -2 - len(found)
        found.append(pose)
    return found


def assign_coarse(
    mask_in: np.ndarray, long_offsets: np.ndarray, poses: list[Pose], stride: int, find_missed: bool = False
) -> tuple[np.ndarray, list[Pose]]:
    """`assign_instances` on every (stride/4)-th pixel, spread back to the full input grid.

    The long offsets live on the stride grid anyway; a quarter-cell step keeps
    boundaries between people within a few input pixels at 1/16 of the work.
    Returns the labels and the missed people found (model-input pixels).
    """
    # A quarter cell, coarser on big inputs so the work stays near 16k grid points.
    step = max(1, stride // 4, round(math.sqrt(mask_in.size / 16_000)))
    if (len(poses) <= 1 and not find_missed) or step == 1:
        return assign_instances(mask_in, long_offsets, poses, stride, find_missed=find_missed)
    off = step // 2  # sample cell centres so spreading back is unbiased
    small = mask_in[off::step, off::step]
    scaled = [
        Pose(np.column_stack([(p.keypoints[:, :2] - off) / step, p.keypoints[:, 2]]), p.score) for p in poses
    ]
    labels, found = assign_instances(
        small, long_offsets, scaled, stride / step, offset_scale=1.0 / step, find_missed=find_missed
    )
    found = [Pose(np.column_stack([p.keypoints[:, :2] * step + off, p.keypoints[:, 2]]), p.score) for p in found]
    full = cv2.resize(labels, (mask_in.shape[1], mask_in.shape[0]), interpolation=cv2.INTER_NEAREST)
    full = np.where(mask_in, full, np.int8(-1)).astype(np.int8)
    # Mask pixels whose coarse sample fell just outside the mask take the nearest person's label.
    gap = mask_in & (full < 0)
    if gap.any():
        kernel = np.ones((2 * step + 1, 2 * step + 1), np.uint8)
        for i in range(len(poses) + len(found)):
            grown = cv2.dilate((full == i).astype(np.uint8), kernel) > 0
            fill = gap & grown
            full[fill] = i
            gap &= ~fill
    return full, found


# Each keypoint's mirror image (left <-> right).
_MIRROR = np.array(
    [KEYPOINT_NAMES.index(n.replace("left", "@").replace("right", "left").replace("@", "right")) for n in KEYPOINT_NAMES]
)


def _is_duplicate(weak: Pose, strong: Pose, min_score: float = 0.3, face_score: float = 0.5) -> bool:
    """`weak` repeats `strong` on the same body.

    The greedy decoder grows such skeletons with left and right swapped, or
    slid along the body (shoulders on the hips). So `weak` is a duplicate when
    most of its confident keypoints sit on the same keypoint of `strong` or on
    its mirror image; or when most sit on any keypoint of `strong` and it has
    no clearly seen face (`face_score`). A second person beside `strong`, whose
    skeleton strays onto their legs, keeps their own face (two people walking
    shoulder to shoulder); a slid duplicate finds only faint face keypoints.
    """
    a_ok = weak.keypoints[:, 2] >= min_score
    b_ok = strong.keypoints[:, 2] >= min_score
    if not a_ok.any() or np.count_nonzero(b_ok) < 3:
        return False
    a, b = weak.keypoints[:, :2], strong.keypoints[:, :2]
    near = 0.08 * float(np.hypot(*np.ptp(b[b_ok], axis=0)))
    same = np.zeros(len(a), bool)
    for other in (np.arange(len(a)), _MIRROR):
        same |= (np.hypot(*(a - b[other]).T) < near) & b_ok[other]
    if float(np.mean(same[a_ok])) >= 0.6:
        return True
    if (weak.keypoints[:5, 2] >= face_score).any():  # nose, eyes, ears
        return False
    d = np.sqrt(((a[a_ok, None, :] - b[None, b_ok, :]) ** 2).sum(axis=2)).min(axis=1)
    return float(np.mean(d < near)) >= 0.6


def drop_duplicate_poses(poses: list[Pose]) -> list[Pose]:
    """Remove poses that repeat a more confident pose on the same body.

    The greedy decoder sometimes grows a second skeleton on one person (seen
    from behind, left and right swapped); it would steal half of their mask.
    """
    kept: list[Pose] = []
    for pose in sorted(poses, key=lambda p: -p.score):
        if not any(_is_duplicate(pose, other) for other in kept):
            kept.append(pose)
    return kept


def _one_head(a: Pose, b: Pose, min_score: float) -> bool:
    """`a` and `b` see one head on one pair of shoulders: two or more face keypoints (nose, eyes,
    ears) confident in both and in the same places, and every shoulder confident in both (one
    at least) too, within a tenth of the larger pose's size.

    Two people's skeletons can share face keypoints (the decoder grew both through one ear's
    peak) but then their shoulders part. Stricter than `_same_head` (the median gap of the head
    and shoulders), which only has to tell a stray candidate from a pose already found: merging
    on it joins two real walkers of PennPed00071 and loses a person (tests/test_parse.py).
    """
    near = 0.1 * max(_pose_size(a, min_score), _pose_size(b, min_score))
    both = (a.keypoints[:, 2] > min_score) & (b.keypoints[:, 2] > min_score)
    gap = np.hypot(*(a.keypoints[:, :2] - b.keypoints[:, :2]).T)
    face, shoulders = slice(0, 5), slice(5, 7)
    return (
        int(np.count_nonzero(both[face] & (gap[face] < near))) >= 2
        and bool(both[shoulders].any())
        and bool((gap[shoulders][both[shoulders]] < near).all())
    )


def merge_same_head(poses: list[Pose], min_score: float = 0.3) -> list[Pose]:
    """Join poses that are one person: one head on one pair of shoulders (`_one_head`).

    A person has one face. Beside a passer-by the greedy decoder can grow two
    skeletons from one person, one from their head and arm, one from the same
    head down their body and legs; each would take part of them (bench/instances.py,
    PennPed00082 with a passer-by: the subject split in two, their chin lost).
    The joined pose keeps, per keypoint, the more confident of the two, and the
    higher pose score.
    """
    kept: list[Pose] = []
    for pose in sorted(poses, key=lambda p: -p.score):
        for k, other in enumerate(kept):
            if _one_head(pose, other, min_score):
                better = pose.keypoints[:, 2] > other.keypoints[:, 2]
                joined = np.where(better[:, None], pose.keypoints, other.keypoints)
                kept[k] = Pose(joined.astype(other.keypoints.dtype), max(pose.score, other.score))
                break
        else:
            kept.append(pose)
    return kept


def drop_stray_blobs(labels: np.ndarray, poses: list[Pose], min_keypoint_score: float = 0.3) -> np.ndarray:
    """Unlabel mask blobs beside their pose (false positives on the background).

    Works at model-input resolution, where `labels` and the poses live. A blob
    stays if it overlaps, in x, the span of the pose's confident keypoints
    (widened by a quarter of their height) and lies between half that height
    above them and twice it below (legs hidden by a dress leave only head to
    hips confident): feet seen apart from a long dress stay, a blob on a truck
    beside the person goes.
    """
    out = labels.copy()
    for i, pose in enumerate(poses):
        own = (labels == i).astype(np.uint8)
        n, comp, stats, _ = cv2.connectedComponentsWithStats(own, connectivity=8)
        kp = pose.keypoints[pose.keypoints[:, 2] >= min_keypoint_score]
        if n <= 2 or len(kp) < 2:
            continue
        height = max(8.0, float(np.ptp(kp[:, 1])))
        x0, x1 = kp[:, 0].min() - 0.25 * height, kp[:, 0].max() + 0.25 * height
        y0, y1 = kp[:, 1].min() - 0.5 * height, kp[:, 1].max() + 2.0 * height
        for c in range(1, n):
            x, y, w, h, _ = stats[c]
            if x > x1 or x + w < x0 or y > y1 or y + h < y0:
                out[comp == c] = -1
    return out


# Legs in front (`give_legs_to_front`): of two overlapping people, one whose torso (mid-shoulder to
# mid-hip) is at least FRONT_SIZE times the other's is the nearer. Its legs' corridors are its bones
# hip-knee-ankle, each no longer than LIMB_MAX torsos (a bone that long runs onto someone else), LIMB_WIDTH
# of its size to each side, and on past the ankle along the shin by FOOT_DROP of its size (the foot).
# A person in front stands no higher up the picture than FRONT_FEET of its torso above the other's feet.
FRONT_SIZE, LIMB_MAX, LIMB_WIDTH, FOOT_DROP, FRONT_FEET = 1.2, 1.3, 0.05, 0.1, 0.25
LEG_PART_IDS = (*UPPER_LEG_PARTS, *LOWER_LEG_PARTS, *FEET_PARTS)
_LEGS = tuple(
    tuple(KEYPOINT_NAMES.index(f"{side}_{joint}") for joint in ("hip", "knee", "ankle")) for side in ("left", "right")
)
_SHOULDERS = [KEYPOINT_NAMES.index("left_shoulder"), KEYPOINT_NAMES.index("right_shoulder")]
_HIPS = [KEYPOINT_NAMES.index("left_hip"), KEYPOINT_NAMES.index("right_hip")]


def _torso(pose: Pose, min_score: float) -> float:
    """Mid-shoulder to mid-hip distance over the confident ones (0 without a shoulder and a hip)."""
    shoulders, hips = pose.keypoints[_SHOULDERS], pose.keypoints[_HIPS]
    shoulders, hips = shoulders[shoulders[:, 2] > min_score], hips[hips[:, 2] > min_score]
    if not len(shoulders) or not len(hips):
        return 0.0
    return float(np.hypot(*(shoulders[:, :2].mean(axis=0) - hips[:, :2].mean(axis=0))))


def _lowest_ankle(pose: Pose, min_score: float) -> float:
    """The row of a pose's lowest confident ankle (-inf without one: it is then behind no one's feet)."""
    ankles = pose.keypoints[[chain[2] for chain in _LEGS]]
    ankles = ankles[ankles[:, 2] > min_score]
    return float(ankles[:, 1].max()) if len(ankles) else -math.inf


def _leg_corridors(
    shape: tuple[int, int], pose: Pose, size: float, torso: float, min_score: float, corner: tuple[int, int] = (0, 0)
) -> list[np.ndarray]:
    """Per leg, the pixels (bool, `shape`, its (x, y) `corner` on the poses' raster) along a pose's
    confident bones, and past its ankle."""
    width = max(1, int(round(2 * LIMB_WIDTH * size)))
    kp = pose.keypoints
    legs = []
    for chain in _LEGS:
        seen = [(float(kp[k, 0]) - corner[0], float(kp[k, 1]) - corner[1]) for k in chain if kp[k, 2] > min_score]
        if kp[chain[2], 2] > min_score:  # on along the shin (straight down without a knee): the foot
            x, y = seen[-1]
            knee, ankle = kp[chain[1]], kp[chain[2]]
            dx, dy = (ankle[0] - knee[0], ankle[1] - knee[1]) if knee[2] > min_score else (0.0, 1.0)
            norm = max(1e-6, math.hypot(dx, dy))
            seen.append((x + FOOT_DROP * size * dx / norm, y + FOOT_DROP * size * dy / norm))
        out = np.zeros(shape, np.uint8)
        for (x0, y0), (x1, y1) in zip(seen, seen[1:]):
            if math.hypot(x1 - x0, y1 - y0) > LIMB_MAX * torso:
                break
            cv2.line(out, (int(round(x0)), int(round(y0))), (int(round(x1)), int(round(y1))), 1, width)
        if out.any():
            legs.append(out > 0)
    return legs


def give_legs_to_front(labels: np.ndarray, parts: np.ndarray, poses: list[Pose], min_score: float = 0.3) -> np.ndarray:
    """Leg and foot pixels on the leg bones of the person in front are theirs, not a smaller person's behind.

    Where a passer-by stands behind a walker, the long offsets of the walker's
    back leg can point to the passer-by, whose skeleton then ends on that leg
    too (the decoder grows it through the same ankle peak): bench/instances.py,
    the walker's back foot lost in FudanPed00020 and FudanPed00027. Of two
    overlapping people the clearly larger is the nearer (`FRONT_SIZE`), and
    what lies on its own bones is its own. `labels` and `parts` are on the
    poses' raster.
    """
    if len(poses) < 2:
        return labels
    torsos = np.array([_torso(p, min_score) for p in poses])
    tall = np.zeros(len(poses))  # the height of each pose's pixels
    for k in range(len(poses)):
        rows = np.flatnonzero((labels == k).any(axis=1))
        tall[k] = rows[-1] - rows[0] + 1 if rows.size else 0.0
    feet = np.array([_lowest_ankle(p, min_score) for p in poses])
    out = labels.copy()
    h, w = labels.shape
    for i in np.argsort(-torsos):
        # Larger by skeleton and by pixels both: a skeleton grown across two people has a long torso
        # and few pixels of its own. And not standing higher up the ground: a child in front of an
        # adult has the lower feet, and keeps their legs.
        lower = feet[i] >= feet - FRONT_FEET * torsos[i]
        behind = np.flatnonzero(
            (torsos > 0) & (torsos * FRONT_SIZE <= torsos[i]) & (tall * FRONT_SIZE <= tall[i]) & lower
        )
        joints = poses[i].keypoints[[k for chain in _LEGS for k in chain]]
        joints = joints[joints[:, 2] > min_score]
        if behind.size == 0 or len(joints) < 2:
            continue
        size = _pose_size(poses[i], min_score)
        reach = (LIMB_WIDTH + FOOT_DROP) * size + 2  # the corridors' box: the leg joints and this around them
        x0, y0 = (max(0, int(v - reach)) for v in joints[:, :2].min(axis=0))
        x1, y1 = int(min(w, joints[:, 0].max() + reach + 1)), int(min(h, joints[:, 1].max() + reach + 1))
        if x1 <= x0 or y1 <= y0:
            continue
        near = out[y0:y1, x0:x1]  # a view: changes land in `out`
        legs = np.isin(parts[y0:y1, x0:x1], LEG_PART_IDS)
        theirs = legs & np.isin(near, behind)
        if not theirs.any():
            continue
        for leg in _leg_corridors(near.shape, poses[i], size, float(torsos[i]), min_score, (x0, y0)):
            # A leg that is mostly someone else's is no leg of this pose (a skeleton strayed onto them).
            take = theirs & leg
            if np.count_nonzero(legs & leg & (near == i)) >= np.count_nonzero(take):
                near[take] = i
                theirs &= ~take
    return out
