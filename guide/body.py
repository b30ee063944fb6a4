"""Names BodyPix uses for keypoints and body parts, and how they connect."""

from __future__ import annotations

# COCO order, as the network's keypoint heatmaps are laid out.
KEYPOINT_NAMES: tuple[str, ...] = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear",
    "left_shoulder", "right_shoulder", "left_elbow", "right_elbow",
    "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)  # fmt: skip
KEYPOINT_ID = {name: i for i, name in enumerate(KEYPOINT_NAMES)}

# The 24 part channels of the part heatmaps.
PART_NAMES: tuple[str, ...] = (
    "left_face", "right_face",
    "left_upper_arm_front", "left_upper_arm_back", "right_upper_arm_front", "right_upper_arm_back",
    "left_lower_arm_front", "left_lower_arm_back", "right_lower_arm_front", "right_lower_arm_back",
    "left_hand", "right_hand", "torso_front", "torso_back",
    "left_upper_leg_front", "left_upper_leg_back", "right_upper_leg_front", "right_upper_leg_back",
    "left_lower_leg_front", "left_lower_leg_back", "right_lower_leg_front", "right_lower_leg_back",
    "left_feet", "right_feet",
)  # fmt: skip
FACE_PARTS = (0, 1)
FEET_PARTS = (22, 23)
UPPER_LEG_PARTS = (14, 15, 16, 17)
LOWER_LEG_PARTS = (18, 19, 20, 21)

# Parent -> child edges of the pose tree the displacement fields follow; the
# order is the channel order of displacement_fwd / displacement_bwd.
POSE_CHAIN: tuple[tuple[str, str], ...] = (
    ("nose", "left_eye"), ("left_eye", "left_ear"), ("nose", "right_eye"), ("right_eye", "right_ear"),
    ("nose", "left_shoulder"), ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("left_shoulder", "left_hip"), ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("nose", "right_shoulder"), ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("right_shoulder", "right_hip"), ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
)  # fmt: skip

# Lines drawn between keypoints in annotations.
SKELETON: tuple[tuple[str, str], ...] = (
    ("left_shoulder", "right_shoulder"), ("left_hip", "right_hip"),
    ("left_shoulder", "left_hip"), ("right_shoulder", "right_hip"),
    ("left_shoulder", "left_elbow"), ("left_elbow", "left_wrist"),
    ("right_shoulder", "right_elbow"), ("right_elbow", "right_wrist"),
    ("left_hip", "left_knee"), ("left_knee", "left_ankle"),
    ("right_hip", "right_knee"), ("right_knee", "right_ankle"),
    ("left_ear", "left_eye"), ("left_eye", "nose"), ("nose", "right_eye"), ("right_eye", "right_ear"),
)  # fmt: skip
