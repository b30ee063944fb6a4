"""BodyPix: pre-processing, one compiled inference call, raw outputs.

Images are OpenCV-style BGR `uint8` arrays of shape (H, W, 3). The model sees
them letterboxed (padded, never stretched) to a size of k * stride + 1 pixels
per side, scaled from the image by `internal_resolution`, with RGB values mapped
to [-1, 1] as MobileNet expects. Everything after the network that benefits
from TensorFlow's threads (upsampling the masks, the part argmax, sigmoids) runs
inside the same compiled function; decoding people happens in `guide.parse`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

import cv2
import numpy as np

from guide.errors import ModelError
from guide.model.registry import ModelSource, resolve

NUM_PARTS = 24
RESNET_MEAN_RGB = (-123.15, -115.90, -103.06)
NUM_KEYPOINTS = 17


@dataclass(frozen=True)
class Letterbox:
    """How the original image maps onto the model input.

    The image of `height` x `width` is padded by `pad_*` pixels (original
    scale) to the input's aspect ratio, then resized to `input_height` x
    `input_width`. `scale_x`/`scale_y` are input pixels per padded pixel.
    """

    height: int
    width: int
    input_height: int
    input_width: int
    pad_top: int
    pad_bottom: int
    pad_left: int
    pad_right: int

    @property
    def scale_x(self) -> float:
        return self.input_width / (self.width + self.pad_left + self.pad_right)

    @property
    def scale_y(self) -> float:
        return self.input_height / (self.height + self.pad_top + self.pad_bottom)

    def to_image(self, x: np.ndarray | float, y: np.ndarray | float) -> tuple[Any, Any]:
        """Model-input pixel coordinates (x, y) to original-image pixel coordinates."""
        return (
            (np.asarray(x) + 0.5) / self.scale_x - 0.5 - self.pad_left,
            (np.asarray(y) + 0.5) / self.scale_y - 0.5 - self.pad_top,
        )

    def to_input(self, x: np.ndarray | float, y: np.ndarray | float) -> tuple[Any, Any]:
        """Original-image pixel coordinates (x, y) to model-input pixel coordinates."""
        return (
            (np.asarray(x) + self.pad_left + 0.5) * self.scale_x - 0.5,
            (np.asarray(y) + self.pad_top + 0.5) * self.scale_y - 0.5,
        )

    def input_to_image_matrix(self) -> np.ndarray:
        """2x3 affine matrix taking image pixel coords to input coords (for cv2.warpAffine)."""
        sx, sy = self.scale_x, self.scale_y
        return np.array(
            [
                [sx, 0.0, (self.pad_left + 0.5) * sx - 0.5],
                [0.0, sy, (self.pad_top + 0.5) * sy - 0.5],
            ],
            dtype=np.float64,
        )

    def to_image_size(self, values: np.ndarray, nearest: bool = False) -> np.ndarray:
        """Resample a map at model-input resolution onto the original image grid."""
        flags = (cv2.INTER_NEAREST if nearest else cv2.INTER_LINEAR) | cv2.WARP_INVERSE_MAP
        return cv2.warpAffine(
            values,
            self.input_to_image_matrix(),
            (self.width, self.height),
            flags=flags,
            borderMode=cv2.BORDER_REPLICATE,
        )


def valid_input_size(size: float, stride: int) -> int:
    """Snap a size to k * stride + 1 with k = floor(size / stride), as upstream (at least 2 * stride + 1)."""
    k = max(2, math.floor(size / stride))
    return k * stride + 1


def letterbox_for(height: int, width: int, internal_resolution: float, stride: int) -> Letterbox:
    input_h = valid_input_size(height * internal_resolution, stride)
    input_w = valid_input_size(width * internal_resolution, stride)
    target_aspect = input_w / input_h
    aspect = width / height
    pad_t = pad_b = pad_l = pad_r = 0
    if aspect < target_aspect:
        pad_l = pad_r = round(0.5 * (target_aspect * height - width))
    else:
        pad_t = pad_b = round(0.5 * (width / target_aspect - height))
    return Letterbox(height, width, input_h, input_w, pad_t, pad_b, pad_l, pad_r)


def prepare_input(image_bgr: np.ndarray, box: Letterbox) -> np.ndarray:
    """The letterboxed RGB uint8 model input for `image_bgr` (padding is black, as upstream)."""
    padded = image_bgr
    if box.pad_top or box.pad_bottom or box.pad_left or box.pad_right:
        padded = cv2.copyMakeBorder(
            image_bgr, box.pad_top, box.pad_bottom, box.pad_left, box.pad_right, cv2.BORDER_CONSTANT, value=0
        )
    shrinking = box.input_width < padded.shape[1]
    resized = cv2.resize(
        padded,
        (box.input_width, box.input_height),
        interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR,
    )
    return cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)


@dataclass
class RawOutput:
    """The network's outputs for one image, as numpy arrays.

    Maps named `*_input` are at model-input resolution (input_height x
    input_width, padding included); the others are on the output grid of
    (input - 1) / stride + 1 cells. Offsets and displacements are in model-input
    pixels, y channels first then x channels, as in PoseNet.
    """

    segment_logits_input: np.ndarray  # (in_h, in_w) float32, person logit
    part_ids_input: np.ndarray  # (in_h, in_w) int8, argmax of the 24 part heatmaps
    heatmaps: np.ndarray  # (oh, ow, 17) keypoint scores in [0, 1]
    short_offsets: np.ndarray  # (oh, ow, 34)
    long_offsets: np.ndarray  # (oh, ow, 34)
    displacement_fwd: np.ndarray  # (oh, ow, 32)
    displacement_bwd: np.ndarray  # (oh, ow, 32)
    letterbox: Letterbox
    output_stride: int


class BodyPix:
    """A loaded BodyPix network; `predict` runs it on one BGR image."""

    def __init__(self, graph: Callable[..., Any], output_stride: int, name: str, info: dict[str, Any]) -> None:
        import tensorflow as tf

        self.name = name
        self.output_stride = output_stride
        self.info = info
        self._graph = graph

        resnet = info.get("architecture") == "ResNet50"

        @tf.function(input_signature=[tf.TensorSpec([None, None, 3], tf.uint8)])
        def _run(image_rgb: tf.Tensor) -> tuple[tf.Tensor, ...]:
            x = tf.cast(image_rgb, tf.float32)[tf.newaxis]
            # MobileNet wants [-1, 1]; ResNet wants 0..255 less the ImageNet mean (as upstream).
            x = x + tf.constant(RESNET_MEAN_RGB) if resnet else x / 127.5 - 1.0
            out = self._graph(x)
            size = tf.shape(image_rgb)[:2]
            # align_corners: output cell i sits on input pixel i * stride (sizes are k*stride+1).
            seg = tf.compat.v1.image.resize_bilinear(out["segments"], size, align_corners=True)
            parts = tf.compat.v1.image.resize_bilinear(out["part_heatmaps"], size, align_corners=True)
            part_ids = tf.cast(tf.argmax(parts[0], axis=-1), tf.int8)
            return (
                seg[0, :, :, 0],
                part_ids,
                tf.sigmoid(out["heatmaps"][0]),
                out["short_offsets"][0],
                out["long_offsets"][0],
                out["displacement_fwd"][0],
                out["displacement_bwd"][0],
            )

        self._run = _run

    def predict(self, image_bgr: np.ndarray, internal_resolution: float = 0.5) -> RawOutput:
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError(f"predict wants a BGR uint8 (H, W, 3) image, got {image_bgr.dtype} {image_bgr.shape}")
        box = letterbox_for(image_bgr.shape[0], image_bgr.shape[1], internal_resolution, self.output_stride)
        outputs = self._run(prepare_input(image_bgr, box))
        seg, part_ids, heat, short, long_, fwd, bwd = (t.numpy() for t in outputs)
        return RawOutput(seg, part_ids, heat, short, long_, fwd, bwd, box, self.output_stride)


def _hub_graph(location: str) -> tuple[Callable[..., Any], int, dict[str, Any]]:
    import tensorflow as tf
    import tensorflow_hub as hub

    try:
        loaded = hub.load(location)
    except Exception as exc:  # hub raises many types: bad path, bad proto, no network
        raise ModelError(f"cannot load SavedModel/hub model {location}: {str(exc).splitlines()[0]}") from None
    stride_var = getattr(loaded, "output_stride", None)
    if stride_var is None:
        probe = loaded(tf.zeros([1, 33, 33, 3]))
        stride = 32 // (int(probe["segments"].shape[1]) - 1)
    else:
        stride = int(stride_var.numpy())
    info = {k: (v.numpy().decode() if hasattr(v, "numpy") and v.dtype == tf.string else None)
            for k, v in (("architecture", getattr(loaded, "architecture", None)),) if v is not None}
    return loaded, stride, info


def load_model(model: str | None = None, source: ModelSource | None = None) -> BodyPix:
    """Find (or download) and load a BodyPix model; see `guide.model.registry.resolve`."""
    from pathlib import Path

    from guide.model import tfjs
    from guide.model.quiet import import_tensorflow

    import_tensorflow()

    source = source or resolve(model)
    if source.kind == "tfjs":
        graph, graph_info = tfjs.load_graph_function(Path(source.location))
        info = {
            "architecture": graph_info.architecture,
            "multiplier": graph_info.multiplier,
            "output_stride": graph_info.output_stride,
            "quantization": graph_info.quantization,
        }
        variant = source.variant
        if variant and variant.output_stride != graph_info.output_stride:
            raise ModelError(
                f"{source.location} is named {variant.name} but its graph has output stride "
                f"{graph_info.output_stride}"
            )
        return BodyPix(graph, graph_info.output_stride, source.label, info)
    graph, stride, info = _hub_graph(source.location)
    info["output_stride"] = stride
    return BodyPix(graph, stride, source.label, info)


def export_saved_model(model: BodyPix, directory: str) -> None:
    """Write a SavedModel whose call returns the same dict of raw outputs (loadable by hub.load).

    Converting once makes later loads skip the JSON parsing and weight dequantizing.
    """
    import tensorflow as tf

    graph = model._graph
    module = tf.Module()
    module.output_stride = tf.Variable(model.output_stride, trainable=False)
    module.architecture = tf.Variable(str(model.info.get("architecture", "")), trainable=False)

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.float32)])
    def call(x: tf.Tensor) -> dict[str, tf.Tensor]:
        return dict(graph(x))

    module.__call__ = call
    tf.saved_model.save(module, directory, signatures={"serving_default": call})
