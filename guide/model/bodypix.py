"""BodyPix: pre-processing, one inference call, raw outputs.

Images are OpenCV-style BGR `uint8` arrays of shape (H, W, 3). The model sees
a window of k * stride + 1 pixels per side: the whole image letterboxed (padded,
never stretched) and scaled by `internal_resolution`, or a crop around a person
(`crop_window`); RGB values are mapped to [-1, 1] as MobileNet expects. The
window is a `guide.geometry.Grid`, carried by the raw output, so whoever reads
the output can map model pixels back to the image. The network runs in TensorFlow Lite (converted
at load) or as a compiled TensorFlow function; both return the outputs on the
stride grid. Upsampling the person logits and part heatmaps is left to numpy,
on demand: the part argmax only needs interpolating in the few grid cells on
part borders, far cheaper than upsampling 24 channels. Decoding people
happens in `guide.parse`.
"""

from __future__ import annotations

import math
import os
import threading
import warnings
from collections import OrderedDict
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any, Callable

import cv2
import numpy as np

from guide.errors import ModelError, OutputError
from guide.geometry import Grid
from guide.model.quiet import quiet_stderr
from guide.model.registry import ModelSource, resolve

NUM_PARTS = 24
RESNET_MEAN_RGB = (-123.15, -115.90, -103.06)
NUM_KEYPOINTS = 17


def valid_input_size(size: float, stride: int) -> int:
    """Snap a size to k * stride + 1 with k = floor(size / stride), as upstream (at least 2 * stride + 1)."""
    k = max(2, math.floor(size / stride))
    return k * stride + 1


def _input_size_covering(size: float, stride: int) -> int:
    """The smallest k * stride + 1 (k >= 2) that is at least `size`."""
    return max(2, math.ceil((size - 1) / stride)) * stride + 1


def letterbox_for(height: int, width: int, internal_resolution: float, stride: int) -> Grid:
    """The model input for a whole image: scaled by `internal_resolution`, padded (never stretched)
    to k * stride + 1 pixels per side."""
    input_h = valid_input_size(height * internal_resolution, stride)
    input_w = valid_input_size(width * internal_resolution, stride)
    target_aspect = input_w / input_h
    pad_x = pad_y = 0
    if width / height < target_aspect:
        pad_x = round(0.5 * (target_aspect * height - width))
    else:
        pad_y = round(0.5 * (width / target_aspect - height))
    return Grid.over((-pad_x, -pad_y, width + pad_x, height + pad_y), input_w, input_h, (width, height))


def crop_window(
    box: tuple[float, float, float, float],
    stride: int,
    image_size: tuple[int, int],
    *,
    scale: float | None = None,
    input_size: tuple[int, int] | None = None,
) -> Grid:
    """The model input for a crop that shows `box` (image edges, x0, y0, x1, y1).

    Either at `scale` input pixels per image pixel (the input is then the
    smallest k * stride + 1 size that holds the box), or at a fixed
    `input_size` (width, height), the box fitted inside it: a fixed size lets
    TFLite keep one interpreter for every frame. The image region starts on a
    whole pixel and is moved inside the image where it fits (centred, padded,
    where it is wider or taller than the image).
    """
    width, height = image_size
    bw, bh = max(1.0, box[2] - box[0]), max(1.0, box[3] - box[1])
    if input_size is not None:
        scale = min(input_size[0] / bw, input_size[1] / bh)
        sizes = list(input_size)
    elif scale is not None:
        sizes = [_input_size_covering(min(side, limit) * scale, stride) for side, limit in ((bw, width), (bh, height))]
    else:
        raise ValueError("crop_window needs a scale or an input size")
    origin: list[int] = []
    regions: list[int] = []
    for lo, hi, limit, size in ((box[0], box[2], width, sizes[0]), (box[1], box[3], height, sizes[1])):
        region = max(1, round(size / scale))
        start = round(0.5 * (lo + hi) - 0.5 * region)
        start = min(max(start, 0), limit - region) if region <= limit else -((region - limit) // 2)
        origin.append(start)
        regions.append(region)
    x0, y0 = origin
    return Grid.over((x0, y0, x0 + regions[0], y0 + regions[1]), sizes[0], sizes[1], (width, height))


def _region(window: Grid) -> tuple[int, int, int, int]:
    """The whole-pixel image rectangle (x0, y0, x1, y1) a model window shows, padding included."""
    x0, y0, x1, y1 = window.box
    return round(x0), round(y0), round(x1), round(y1)


def prepare_input(image_bgr: np.ndarray, window: Grid) -> np.ndarray:
    """The RGB uint8 model input that `window` describes (padding is black, as upstream).

    Only the window's part of the image is touched, so a crop of a big frame
    costs what the crop costs.
    """
    h, w = image_bgr.shape[:2]
    x0, y0, x1, y1 = _region(window)
    part = image_bgr[max(0, y0) : min(h, y1), max(0, x0) : min(w, x1)]
    pads = (max(0, -y0), max(0, y1 - h), max(0, -x0), max(0, x1 - w))
    if any(pads):
        part = cv2.copyMakeBorder(part, *pads, cv2.BORDER_CONSTANT, value=0)
    shrinking = window.width < part.shape[1]
    resized = cv2.resize(
        part, (window.width, window.height), interpolation=cv2.INTER_AREA if shrinking else cv2.INTER_LINEAR
    )
    return cv2.cvtColor(resized, cv2.COLOR_BGR2RGB)


def upsample(grid: np.ndarray, stride: int) -> np.ndarray:
    """Bilinear align-corners upsampling of an (oh, ow) float32 map to model-input resolution.

    Input pixel i * stride sits on output cell i (sizes are k * stride + 1), as
    TensorFlow's `resize_bilinear(align_corners=True)`; cv2's fixed-point
    interpolation weights are exact at multiples of 1/stride for strides up to 32.
    """
    gh, gw = grid.shape
    to_grid = np.array([[1.0 / stride, 0.0, 0.0], [0.0, 1.0 / stride, 0.0]])
    return cv2.warpAffine(
        np.ascontiguousarray(grid, dtype=np.float32),
        to_grid,
        ((gw - 1) * stride + 1, (gh - 1) * stride + 1),
        flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP,
        borderMode=cv2.BORDER_REPLICATE,
    )


def part_ids(part_heatmaps: np.ndarray, stride: int, cells: np.ndarray | None = None) -> np.ndarray:
    """Argmax over parts of the bilinearly upsampled (align-corners) part heatmaps, int8.

    Upsampling 24 channels to find one argmax per pixel is most of the work, so:
    inside a grid cell whose four corners share their best part, every pixel
    shares it (a convex mix of vectors with the same largest entry); in the
    other cells a part can only win where no other part beats it at all four
    corners (bilinear mixes keep that order), which leaves ~3 of 24 parts.
    `cells`, a (oh - 1, ow - 1) bool array, limits the work to the cells the
    caller reads; elsewhere a cell on a part border repeats a corner's part.
    """
    gh, gw, _ = part_heatmaps.shape
    best = np.argmax(part_heatmaps, axis=-1).astype(np.int8)
    ids = np.repeat(np.repeat(best, stride, axis=0), stride, axis=1)[: (gh - 1) * stride + 1, : (gw - 1) * stride + 1]
    ids = np.ascontiguousarray(ids)
    c00, c01, c10, c11 = best[:-1, :-1], best[:-1, 1:], best[1:, :-1], best[1:, 1:]
    mixed = (c00 != c01) | (c00 != c10) | (c00 != c11)
    iy, ix = np.nonzero(mixed if cells is None else mixed & cells)
    if iy.size == 0:
        return ids
    corners = np.stack(
        [part_heatmaps[iy, ix], part_heatmaps[iy, ix + 1], part_heatmaps[iy + 1, ix], part_heatmaps[iy + 1, ix + 1]]
    )  # (4, n, parts)
    # Part j is out if some part exceeds it at all four corners (with a margin for rounding).
    beaten = ((corners[:, :, :, None] - corners[:, :, None, :]).min(axis=0) > 1e-4).any(axis=1)  # (n, parts)
    count = np.count_nonzero(~beaten, axis=1)
    by_count = np.argsort(-count, kind="stable")  # cells with more candidates first
    iy, ix, count, corners = iy[by_count], ix[by_count], count[by_count], corners[:, by_count]
    candidates = np.argsort(beaten[by_count], axis=1, kind="stable")  # candidates first, in part order
    t = np.arange(stride + 1, dtype=np.float32) / np.float32(stride)
    tx, ty = t[None, :], t[None, :, None]
    rows = np.arange(len(iy))
    top_value: np.ndarray | None = None
    winner = np.empty((len(iy), stride + 1, stride + 1), np.int8)
    for rank in range(int(count[0])):
        m = int(np.count_nonzero(count > rank))  # cells still holding a candidate of this rank
        part = candidates[:m, rank]
        a, b, c, d = (v[rows[:m], part][:, None] for v in corners[:, :m])
        top, bottom = a + (b - a) * tx, c + (d - c) * tx  # the lerps TensorFlow does
        value = top[:, None, :] + (bottom - top)[:, None, :] * ty  # (m, s+1, s+1)
        if top_value is None:
            top_value = value
            winner[:] = part[:, None, None]
            continue
        better = value > top_value[:m]  # strict: ties keep the lower part, as argmax does
        np.copyto(top_value[:m], value, where=better)
        np.copyto(winner[:m], part.astype(np.int8)[:, None, None], where=better)
    oy = (iy * stride)[:, None, None] + np.arange(stride + 1)[None, :, None]
    ox = (ix * stride)[:, None, None] + np.arange(stride + 1)[None, None, :]
    ids[oy, ox] = winner
    return ids


@dataclass
class RawOutput:
    """The network's outputs for one image, as numpy arrays.

    All maps are on the output grid of (input - 1) / stride + 1 cells; the
    model-input resolution versions of the person logits and part ids are
    computed on first use. Offsets and displacements are in model-input pixels,
    y channels first then x channels, as in PoseNet.
    """

    segments: np.ndarray  # (oh, ow) float32, person logit
    part_heatmaps: np.ndarray  # (oh, ow, 24) part logits
    heatmaps: np.ndarray  # (oh, ow, 17) keypoint scores in [0, 1]
    short_offsets: np.ndarray  # (oh, ow, 34)
    long_offsets: np.ndarray  # (oh, ow, 34)
    displacement_fwd: np.ndarray  # (oh, ow, 32)
    displacement_bwd: np.ndarray  # (oh, ow, 32)
    window: Grid  # the model input over the image (letterbox or crop): maps input pixels to image pixels
    output_stride: int

    @cached_property
    def segment_logits_input(self) -> np.ndarray:
        """(in_h, in_w) float32 person logits at model-input resolution (padding included)."""
        return upsample(self.segments, self.output_stride)

    @cached_property
    def part_ids_input(self) -> np.ndarray:
        """(in_h, in_w) int8 argmax of the 24 part heatmaps at model-input resolution."""
        return part_ids(self.part_heatmaps, self.output_stride)


ROLES = ("segments", "part_heatmaps", "heatmaps", "short_offsets", "long_offsets", "displacement_fwd", "displacement_bwd")
RUNTIMES = ("auto", "tf", "tflite")
RUNTIME_ENV = "GUIDE_RUNTIME"


def _network_function(graph: Callable[..., Any], resnet: bool) -> Any:
    """The graph with its input normalization and keypoint sigmoid: uint8 RGB [1, H, W, 3] -> grid outputs.

    Returns a tuple in `ROLES` order (a tuple, not a dict, so TFLite keeps the order).
    """
    import tensorflow as tf

    @tf.function(input_signature=[tf.TensorSpec([1, None, None, 3], tf.uint8)])
    def network(image_rgb: tf.Tensor) -> tuple[tf.Tensor, ...]:
        x = tf.cast(image_rgb, tf.float32)
        # MobileNet wants [-1, 1]; ResNet wants 0..255 less the ImageNet mean (as upstream).
        x = x + tf.constant(RESNET_MEAN_RGB) if resnet else x / 127.5 - 1.0
        out = graph(x)
        return tuple(tf.sigmoid(out[r]) if r == "heatmaps" else out[r] for r in ROLES)

    return network


class _TFLiteNetwork:
    """The network converted to TensorFlow Lite, run with XNNPACK.

    On this CPU it is ~25% faster than the TF graph for the same outputs
    (within ~2e-4). The model has a dynamic input size; one interpreter is kept
    per input size (a few, least recently used dropped), since re-planning
    XNNPACK for a new size costs far more than a frame.
    """

    MAX_SIZES = 12  # live: two whole-frame sizes and three crop shapes; a capture's still and crop sizes besides

    def __init__(self, flatbuffer: bytes, order: list[int], threads: int) -> None:
        self._flatbuffer = flatbuffer
        self._order = order  # ROLES[i] is interpreter output order[i]
        self._threads = threads
        self._interpreters: OrderedDict[tuple[int, ...], tuple[Any, int, list[int]]] = OrderedDict()
        self._lock = threading.Lock()  # interpreters are not thread-safe (live worker + capture thread)

    @staticmethod
    def convert(network: Any) -> bytes:
        import tensorflow as tf

        converter = tf.lite.TFLiteConverter.from_concrete_functions([network.get_concrete_function()], network)
        with quiet_stderr():  # the MLIR converter logs to the stderr file descriptor
            return bytes(converter.convert())

    def _interpreter(self, shape: tuple[int, ...]) -> tuple[Any, int, list[int]]:
        entry = self._interpreters.get(shape)
        if entry is not None:
            self._interpreters.move_to_end(shape)
            return entry
        import tensorflow as tf

        with warnings.catch_warnings(), quiet_stderr():  # deprecation notice; C++ "Created XNNPACK delegate"
            warnings.filterwarnings("ignore", message=r"\s*Warning: tf\.lite\.Interpreter is deprecated")
            interpreter = tf.lite.Interpreter(model_content=self._flatbuffer, num_threads=self._threads)
            index = interpreter.get_input_details()[0]["index"]
            interpreter.resize_tensor_input(index, list(shape))
            interpreter.allocate_tensors()
        outputs = [d["index"] for d in interpreter.get_output_details()]
        entry = (interpreter, index, [outputs[i] for i in self._order])
        self._interpreters[shape] = entry
        if len(self._interpreters) > self.MAX_SIZES:
            self._interpreters.popitem(last=False)
        return entry

    def __call__(self, batch: np.ndarray) -> list[np.ndarray]:
        with self._lock:
            interpreter, index, outputs = self._interpreter(batch.shape)
            interpreter.set_tensor(index, batch)
            interpreter.invoke()
            return [interpreter.get_tensor(i)[0] for i in outputs]

    def raw(self, batch: np.ndarray) -> list[np.ndarray]:
        """Outputs in interpreter order (for matching them to roles)."""
        with self._lock:
            interpreter, index, _ = self._interpreter(batch.shape)
            interpreter.set_tensor(index, batch)
            interpreter.invoke()
            return [interpreter.get_tensor(d["index"])[0] for d in interpreter.get_output_details()]


def _tflite_network(network: Any) -> _TFLiteNetwork:
    """Convert `network` to TFLite and check it against TensorFlow on a probe image.

    The converted model has no signature: its outputs are matched to roles by
    shape and value, and any output off by more than a small tolerance fails.
    """
    flatbuffer = _TFLiteNetwork.convert(network)
    threads = max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    probe = np.random.default_rng(0).integers(0, 256, (1, 97, 129, 3), dtype=np.uint8)
    expected = [t.numpy()[0] for t in network(probe)]
    lite = _TFLiteNetwork(flatbuffer, list(range(len(ROLES))), threads)
    got = lite.raw(probe)
    order: list[int] = []
    for role, want in zip(ROLES, expected):
        errors = [
            float(np.max(np.abs(out - want))) if out.shape == want.shape else math.inf for out in got
        ]
        best = int(np.argmin(errors))
        if errors[best] > 1e-3 * (1.0 + float(np.max(np.abs(want)))) or best in order:
            raise ModelError(f"the TFLite conversion does not reproduce the '{role}' output (error {errors[best]:.3g})")
        order.append(best)
    return _TFLiteNetwork(flatbuffer, order, threads)


class BodyPix:
    """A loaded BodyPix network; `predict` runs it on one BGR image.

    `runtime` picks what runs the network: "tflite" (the graph converted to
    TensorFlow Lite at load, the fastest on CPU), "tf" (the TensorFlow graph as
    one compiled function) or "auto" (TFLite when the conversion works, else
    TF). `self.runtime` says which one is in use.
    """

    def __init__(
        self,
        graph: Callable[..., Any],
        output_stride: int,
        name: str,
        info: dict[str, Any],
        runtime: str = "auto",
    ) -> None:
        if runtime not in RUNTIMES:
            raise ModelError(f"unknown runtime {runtime!r}: use one of {', '.join(RUNTIMES)}")
        self.name = name
        self.output_stride = output_stride
        self.info = info
        self._graph = graph
        self._network = _network_function(graph, info.get("architecture") == "ResNet50")
        self._lite: _TFLiteNetwork | None = None
        self.runtime = "tf"
        if runtime != "tf":
            try:
                self._lite = _tflite_network(self._network)
                self.runtime = "tflite"
            except Exception as exc:  # the converter raises many types; "auto" falls back to TF
                if runtime == "tflite":
                    raise ModelError(f"cannot run {name} with TFLite: {str(exc).splitlines()[0]}") from None

    def predict(
        self, image_bgr: np.ndarray, internal_resolution: float = 0.5, *, window: Grid | None = None
    ) -> RawOutput:
        """Run the network on the whole image at `internal_resolution`, or on `window` (see `crop_window`)."""
        if image_bgr.ndim != 3 or image_bgr.shape[2] != 3 or image_bgr.dtype != np.uint8:
            raise ValueError(f"predict wants a BGR uint8 (H, W, 3) image, got {image_bgr.dtype} {image_bgr.shape}")
        h, w = image_bgr.shape[:2]
        box = window or letterbox_for(h, w, internal_resolution, self.output_stride)
        if (box.image_width, box.image_height) != (w, h):
            raise ValueError(f"window is for a {box.image_width}x{box.image_height} image, got {w}x{h}")
        batch = prepare_input(image_bgr, box)[np.newaxis]
        if self._lite is not None:
            outputs = self._lite(batch)
        else:
            outputs = [t.numpy()[0] for t in self._network(batch)]
        seg, parts, heat, short, long_, fwd, bwd = outputs
        segments = np.ascontiguousarray(seg[:, :, 0])
        return RawOutput(segments, parts, heat, short, long_, fwd, bwd, box, self.output_stride)


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


def load_model(model: str | None = None, source: ModelSource | None = None, runtime: str | None = None) -> BodyPix:
    """Find (or download) and load a BodyPix model; see `guide.model.registry.resolve`.

    `runtime` is "tf", "tflite" or "auto" (TFLite when it converts); unset,
    `GUIDE_RUNTIME` decides, else "tf". TFLite pays off for a long run at one
    frame size (`guide live` asks for "auto"); stills come in many sizes, and
    each new size costs a TFLite interpreter set-up, so they stay on TF.
    """
    from pathlib import Path

    from guide.model import tfjs
    from guide.model.quiet import import_tensorflow

    import_tensorflow()
    runtime = runtime or os.environ.get(RUNTIME_ENV) or "tf"
    if runtime not in RUNTIMES:
        raise ModelError(f"unknown runtime {runtime!r} (from {RUNTIME_ENV}?): use one of {', '.join(RUNTIMES)}")

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
        return BodyPix(graph, graph_info.output_stride, source.label, info, runtime)
    graph, stride, info = _hub_graph(source.location)
    info["output_stride"] = stride
    return BodyPix(graph, stride, source.label, info, runtime)


def _save_saved_model(model: BodyPix, directory: str) -> None:
    """Write `model` as a SavedModel whose call returns the same dict of raw outputs."""
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


def _fsync_tree(folder: Path) -> None:
    """Flush every file and folder under `folder` to disk, so the rename publishes whole files."""
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with open(os.path.join(root, name), "rb") as fh:
                os.fsync(fh.fileno())
        fd = os.open(root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def export_saved_model(model: BodyPix, directory: str | os.PathLike[str]) -> Path:
    """Write a SavedModel (loadable by hub.load) into the new folder `directory`; returns it.

    Converting once makes later loads skip the JSON parsing and weight dequantizing.
    TensorFlow writes into a hidden sibling folder, renamed into place only once
    complete: a failure (read-only place, path under a file, full disk) leaves
    nothing half-written for a retry to trip over. Raises an error with one
    line (an `OutputError`).
    """
    import shutil
    import tempfile

    import tensorflow as tf

    target = Path(directory)
    if target.exists():
        raise OutputError(f"{target} already exists; choose a new folder")
    if target.parent.exists() and not target.parent.is_dir():
        raise OutputError(f"cannot write SavedModel to {target}: {target.parent} is a file, not a folder")
    staging: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent))
        umask = os.umask(0)
        os.umask(umask)
        staging.chmod(0o777 & ~umask)  # mkdtemp makes 0700; the export is an ordinary folder
        _save_saved_model(model, str(staging))
        _fsync_tree(staging)
        os.rename(staging, target)
        staging = None
    except OSError as exc:
        raise OutputError(f"cannot write SavedModel to {target}: {exc.strerror or exc}") from None
    except tf.errors.OpError as exc:
        raise OutputError(f"cannot write SavedModel to {target}: {exc.message.splitlines()[0]}") from None
    finally:
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
    return target
