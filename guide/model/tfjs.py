"""Read a TensorFlow.js graph model (`model.json` + weight shards) into TensorFlow.

The official BodyPix weights are published only in the TF.js format. The
`tensorflowjs` converter pins old TensorFlow, so this module does the little it
needs by hand: parse the graph topology (it is a `GraphDef` in protobuf JSON),
read and dequantize the weights, check them against the manifest, fix the one
TF.js/TensorFlow incompatibility (dilations), and import the graph as a pruned,
compiled function.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import numpy as np

from guide.errors import ModelError

# TF.js stores weights little-endian; quantized ones as uint8/uint16 with an affine map.
_DTYPES = {
    "float32": np.dtype("<f4"),
    "int32": np.dtype("<i4"),
    "bool": np.dtype("bool"),
    "uint8": np.dtype("u1"),
    "uint16": np.dtype("<u2"),
    "float16": np.dtype("<f2"),
}


@dataclass(frozen=True)
class GraphInfo:
    """What the graph itself says about the network, read from its nodes."""

    architecture: str  # "MobileNetV1" or "ResNet50"
    multiplier: float | None  # MobileNet depth multiplier; None for ResNet
    output_stride: int
    quantization: str  # "float", "quant1" (uint8), "quant2" (uint16) or "float16"
    input_name: str
    output_names: dict[str, str] = field(default_factory=dict)  # role -> node name


def find_model_json(path: Path) -> Path:
    """The `model*.json` of a model folder (or the file itself)."""
    if path.is_file():
        return path
    if not path.is_dir():
        raise ModelError(f"model path {path} does not exist")
    candidates = sorted(path.glob("model*.json"))
    if not candidates:
        raise ModelError(f"{path} holds no model*.json (a TF.js graph model folder needs one)")
    return candidates[0]


def read_model_json(model_json: Path) -> dict[str, Any]:
    try:
        spec = json.loads(model_json.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelError(f"{model_json} is not a readable TF.js model.json ({exc})") from None
    if not isinstance(spec, dict) or "modelTopology" not in spec or "weightsManifest" not in spec:
        raise ModelError(f"{model_json} is not a TF.js graph model (no modelTopology/weightsManifest)")
    return spec


def _spec_nbytes(weight: dict[str, Any]) -> int:
    count = int(np.prod(weight["shape"], dtype=np.int64))
    quant = weight.get("quantization")
    dtype = quant["dtype"] if quant else weight["dtype"]
    if dtype not in _DTYPES:
        raise ModelError(f"weight {weight['name']} has unsupported dtype {dtype}")
    return count * _DTYPES[dtype].itemsize


def expected_shard_bytes(spec: dict[str, Any]) -> int:
    """Total bytes all shards must hold, from the manifest's weight specs."""
    return sum(_spec_nbytes(w) for group in spec["weightsManifest"] for w in group["weights"])


def shard_paths(spec: dict[str, Any]) -> list[str]:
    """Shard file names; a manifest naming anything outside its own folder is refused."""
    paths = [p for group in spec["weightsManifest"] for p in group["paths"]]
    for p in paths:
        if not isinstance(p, str) or Path(p).name != p:
            raise ModelError(f"weight manifest names a shard outside the model folder: {p!r}")
    return paths


def _dequantize(raw: np.ndarray, weight: dict[str, Any]) -> np.ndarray:
    quant = weight.get("quantization")
    if not quant:
        return raw
    if quant["dtype"] == "float16":
        return raw.astype(np.float32)
    return (raw.astype(np.float32) * np.float32(quant["scale"]) + np.float32(quant["min"])).astype(
        np.float32
    )


def read_weights(model_dir: Path, spec: dict[str, Any]) -> dict[str, np.ndarray]:
    """Every weight of the manifest as a float32 (or int32) array, shards checked.

    Each manifest group's shards are concatenated in order and its weights read
    back to back; a shard that is missing, short or long is reported by name.
    """
    weights: dict[str, np.ndarray] = {}
    shard_paths(spec)  # refuses paths that leave the folder
    for group in spec["weightsManifest"]:
        chunks = []
        for rel in group["paths"]:
            shard = model_dir / rel
            try:
                chunks.append(shard.read_bytes())
            except OSError:
                raise ModelError(f"weight shard {shard} is missing or unreadable") from None
        data = b"".join(chunks)
        need = sum(_spec_nbytes(w) for w in group["weights"])
        if len(data) != need:
            names = ", ".join(group["paths"])
            raise ModelError(
                f"weight shards {names} in {model_dir} hold {len(data)} bytes but the manifest "
                f"needs {need}: the download is truncated or corrupt; delete the folder and fetch it again"
            )
        offset = 0
        for weight in group["weights"]:
            quant = weight.get("quantization")
            dtype = _DTYPES[quant["dtype"] if quant else weight["dtype"]]
            count = int(np.prod(weight["shape"], dtype=np.int64))
            raw = np.frombuffer(data, dtype=dtype, count=count, offset=offset)
            offset += count * dtype.itemsize
            weights[weight["name"]] = _dequantize(raw, weight).reshape(weight["shape"])
    return weights


def _quantization_of(spec: dict[str, Any]) -> str:
    dtypes = {
        (w.get("quantization") or {}).get("dtype", "none")
        for group in spec["weightsManifest"]
        for w in group["weights"]
    }
    if "uint8" in dtypes:
        return "quant1"
    if "uint16" in dtypes:
        return "quant2"
    if "float16" in dtypes:
        return "float16"
    return "float"


def _list_attr(node: dict[str, Any], name: str) -> list[int] | None:
    values = node.get("attr", {}).get(name, {}).get("list", {}).get("i")
    return [int(v) for v in values] if values else None


def fix_dilations(nodes: list[dict[str, Any]]) -> int:
    """Rewrite TF.js-style `[d, d, 1, 1]` dilations to TensorFlow's NHWC `[1, d, d, 1]`.

    The stride-8 BodyPix graphs store atrous convolutions that way; TensorFlow
    refuses dilation in the batch and depth dimensions. Returns how many changed.
    """
    changed = 0
    for node in nodes:
        dil = _list_attr(node, "dilations")
        if dil and len(dil) == 4 and dil[2:] == [1, 1] and dil[:2] != [1, 1]:
            node["attr"]["dilations"]["list"]["i"] = ["1", str(dil[0]), str(dil[1]), "1"]
            changed += 1
    return changed


_ROLES = {
    "segments": re.compile(r"(^|/)float_segments$|segments?(/BiasAdd)?$"),
    "part_heatmaps": re.compile(r"part_heatmaps?(/BiasAdd)?$"),
    "heatmaps": re.compile(r"(^|/)float_heatmaps$|(^|/)heatmap_2/BiasAdd$"),
    "short_offsets": re.compile(r"short_offsets(/BiasAdd)?$"),
    "long_offsets": re.compile(r"long_offsets(/BiasAdd)?$"),
    "displacement_fwd": re.compile(r"displacement_fwd(_2)?/BiasAdd$"),
    "displacement_bwd": re.compile(r"displacement_bwd(_2)?/BiasAdd$"),
}


def graph_info(spec: dict[str, Any]) -> GraphInfo:
    """Architecture, multiplier, output stride and output nodes, read from the graph."""
    nodes = spec["modelTopology"]["node"]
    names = [n["name"] for n in nodes]
    inputs = [n["name"] for n in nodes if n["op"] == "Placeholder"]
    if len(inputs) != 1:
        raise ModelError(f"expected one input placeholder, the graph has {len(inputs)}")

    if any(n.startswith("MobilenetV1/") for n in names):
        architecture = "MobileNetV1"
    elif any(n.lower().startswith("resnet_v1_50/") for n in names):
        architecture = "ResNet50"
    else:
        raise ModelError("the graph is neither a MobileNetV1 nor a ResNet50 BodyPix model")

    multiplier = None
    if architecture == "MobileNetV1":
        shapes = {
            w["name"]: w["shape"] for group in spec["weightsManifest"] for w in group["weights"]
        }
        first = shapes.get("MobilenetV1/Conv2d_0/weights")
        if first:
            multiplier = first[3] / 32

    # Every stride-2 convolution halves the feature map (ResNet's strided shortcut
    # pools would count twice, so `load_graph_function` confirms with a probe run).
    stride = 1
    for node in nodes:
        if node["op"] in ("Conv2D", "DepthwiseConv2dNative") and "shortcut" not in node["name"]:
            strides = _list_attr(node, "strides") or [1, 1, 1, 1]
            stride *= max(strides[1], strides[2]) if len(strides) == 4 else 1

    consumed = {i.split(":")[0].lstrip("^") for n in nodes for i in n.get("input", [])}
    outputs: dict[str, str] = {}
    for role, pattern in _ROLES.items():
        matches = [n for n in names if pattern.search(n) and n not in consumed]
        if role == "heatmaps":
            matches = [m for m in matches if "part" not in m]
        if role == "segments":
            matches = [m for m in matches if "part" not in m]
        if len(matches) != 1:
            raise ModelError(f"cannot find the BodyPix '{role}' output in the graph ({matches})")
        outputs[role] = matches[0]
    return GraphInfo(
        architecture=architecture,
        multiplier=multiplier,
        output_stride=stride,
        quantization=_quantization_of(spec),
        input_name=inputs[0],
        output_names=outputs,
    )


def build_graph_def(spec: dict[str, Any], weights: dict[str, np.ndarray]) -> Any:
    """A TensorFlow `GraphDef` with the weights filled into the Const nodes."""
    import tensorflow as tf
    from google.protobuf import json_format

    topology = json.loads(json.dumps(spec["modelTopology"]))  # a private copy to edit
    fix_dilations(topology["node"])
    graph_def = json_format.ParseDict(
        {"node": topology["node"], "versions": topology.get("versions", {})},
        tf.compat.v1.GraphDef(),
        ignore_unknown_fields=True,
    )
    for node in graph_def.node:
        if node.op == "Const":
            if node.name not in weights:
                raise ModelError(f"constant {node.name} has no weights in the manifest")
            node.attr["value"].tensor.CopyFrom(tf.make_tensor_proto(weights[node.name]))
    return graph_def


def load_graph_function(path: Path) -> tuple[Callable[..., Any], GraphInfo]:
    """Load a TF.js graph model folder as a TensorFlow concrete function.

    The function takes a float32 `[1, H, W, 3]` tensor (MobileNet inputs in
    [-1, 1]) and returns a dict of the BodyPix outputs named by role:
    segments, part_heatmaps, heatmaps, short_offsets, long_offsets,
    displacement_fwd, displacement_bwd.
    """
    import tensorflow as tf

    from google.protobuf.json_format import ParseError

    model_json = find_model_json(path)
    spec = read_model_json(model_json)
    try:
        info = graph_info(spec)
        weights = read_weights(model_json.parent, spec)
        graph_def = build_graph_def(spec, weights)
    except (KeyError, TypeError, ValueError, IndexError, ParseError) as exc:
        raise ModelError(f"{model_json} is not a BodyPix graph model this loader understands ({exc!r})") from None

    def _import() -> None:
        tf.graph_util.import_graph_def(graph_def, name="")

    try:
        wrapped = tf.compat.v1.wrap_function(_import, [])
        graph = wrapped.graph
        roles = list(info.output_names)
        pruned = wrapped.prune(
            feeds=graph.get_tensor_by_name(info.input_name + ":0"),
            fetches={r: graph.get_tensor_by_name(info.output_names[r] + ":0") for r in roles},
        )
        # The output stride as the graph really computes it: a 65 px input gives 64/stride + 1 cells.
        probe = pruned(tf.zeros([1, 65, 65, 3]))["segments"]
        stride = 64 // (int(probe.shape[1]) - 1)
    except (ValueError, TypeError, ZeroDivisionError, tf.errors.OpError) as exc:
        raise ModelError(f"{model_json} does not import into TensorFlow: {exc}") from None
    if stride != info.output_stride:
        info = GraphInfo(info.architecture, info.multiplier, stride, info.quantization, info.input_name, info.output_names)
    return pruned, info
