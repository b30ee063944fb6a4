"""The TF.js graph-model loader: dequantizing, checks, the stride-8 dilation fix, SavedModel/hub."""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import numpy as np
import pytest

from guide.errors import ModelError, OutputError
from guide.model import tfjs
from guide.model.bodypix import letterbox_for, load_model, prepare_input, valid_input_size
from guide.model.registry import ModelSource, get_variant

from conftest import MODELS, PEOPLE


def test_dequantize_uint16_and_float16() -> None:
    q = np.array([0, 1, 65535], dtype="<u2")
    spec = {"name": "w", "shape": [3], "dtype": "float32", "quantization": {"dtype": "uint16", "scale": 0.5, "min": -2.0}}
    assert np.allclose(tfjs._dequantize(q, spec), [-2.0, -1.5, 65535 * 0.5 - 2.0])
    h = np.array([1.5, -2.25], dtype="<f2")
    spec16 = {"name": "h", "shape": [2], "dtype": "float32", "quantization": {"dtype": "float16"}}
    out = tfjs._dequantize(h, spec16)
    assert out.dtype == np.float32 and np.allclose(out, [1.5, -2.25])


def test_graph_info_reads_architecture_multiplier_stride() -> None:
    expected = {
        "mobilenet-075-stride16-quant2": (0.75, 16, "quant2"),
        "mobilenet-075-stride8-quant2": (0.75, 8, "quant2"),
        "mobilenet-050-stride16-float": (0.5, 16, "float"),
    }
    for name, (mult, stride, quant) in expected.items():
        spec = tfjs.read_model_json(tfjs.find_model_json(MODELS / name))
        info = tfjs.graph_info(spec)
        assert (info.architecture, info.multiplier, info.output_stride, info.quantization) == (
            "MobileNetV1", mult, stride, quant), name
        assert set(info.output_names) >= {"segments", "part_heatmaps", "heatmaps", "long_offsets"}


def test_fix_dilations_rewrites_tfjs_layout() -> None:
    nodes = [{"name": "a", "op": "DepthwiseConv2dNative", "attr": {"dilations": {"list": {"i": ["2", "2", "1", "1"]}}}},
             {"name": "b", "op": "Conv2D", "attr": {"dilations": {"list": {"i": ["1", "1", "1", "1"]}}}}]
    assert tfjs.fix_dilations(nodes) == 1
    assert nodes[0]["attr"]["dilations"]["list"]["i"] == ["1", "2", "2", "1"]


def test_stride8_graph_matches_stride16_on_shared_cells(model) -> None:
    """Same weights, atrous layers: stride-8 outputs at [::2, ::2] equal stride-16 outputs.

    This only holds if the dilation rewrite is right.
    """
    import tensorflow as tf

    s8, _ = tfjs.load_graph_function(MODELS / "mobilenet-075-stride8-quant2")
    s16, _ = tfjs.load_graph_function(MODELS / "mobilenet-075-stride16-quant2")
    rng = np.random.default_rng(0)
    x = tf.constant(rng.uniform(-1, 1, (1, 161, 225, 3)).astype(np.float32))
    a = s8(x)["segments"].numpy()[0, ::2, ::2]
    b = s16(x)["segments"].numpy()[0]
    assert a.shape == b.shape
    assert np.max(np.abs(a - b)) < 1e-3


def _copy_variant(tmp_path: Path, name: str = "mobilenet-075-stride16-quant2", *, folder: str | None = None) -> Path:
    """A writable copy of a shipped variant, in `folder` (default: the variant's own name)."""
    target = tmp_path / (folder or name)
    shutil.copytree(MODELS / name, target)
    for f in target.iterdir():
        f.chmod(0o644)
    return target


def test_truncated_shard_is_rejected_with_a_clear_error(tmp_path: Path) -> None:
    folder = _copy_variant(tmp_path, folder="my-model")  # no variant name: no sha256 check, the size check speaks
    shard = folder / "group1-shard1of1.bin"
    shard.write_bytes(shard.read_bytes()[:-1000])
    with pytest.raises(ModelError, match=r"hold 2597784 bytes but the manifest needs 2598784"):
        load_model(str(folder))


def test_missing_shard_is_rejected(tmp_path: Path) -> None:
    folder = _copy_variant(tmp_path)
    (folder / "group1-shard1of1.bin").unlink()
    with pytest.raises(ModelError, match="missing"):
        load_model(str(folder))


def test_broken_model_json_is_rejected(tmp_path: Path) -> None:
    folder = _copy_variant(tmp_path)
    (folder / "model-stride16.json").write_text("{not json")
    with pytest.raises(ModelError, match="not a readable TF.js model.json"):
        load_model(str(folder))


def test_savedmodel_export_loads_through_hub_with_same_outputs(model, tmp_path: Path) -> None:
    import cv2

    from guide.model.bodypix import export_saved_model

    export_saved_model(model, str(tmp_path / "sm"))
    hub_model = load_model(source=ModelSource("savedmodel", str(tmp_path / "sm"), None))
    assert hub_model.output_stride == 16
    image = cv2.imread(str(PEOPLE / "tfjs_posenet_frisbee.jpg"))
    a, b = model.predict(image, 0.5), hub_model.predict(image, 0.5)
    assert np.allclose(a.segment_logits_input, b.segment_logits_input, atol=1e-3)
    assert np.allclose(a.heatmaps, b.heatmaps, atol=1e-4)


@pytest.mark.parametrize("where", ["under_a_file", "under_proc"])
def test_export_to_a_place_that_cannot_be_written_is_one_line(model, tmp_path: Path, where: str) -> None:  # type: ignore[no-untyped-def]
    """Root may write anywhere chmod forbids, so these places refuse everyone: a file's child, /proc."""
    from guide.errors import GuideError
    from guide.model.bodypix import export_saved_model

    (tmp_path / "file").write_text("x")
    target = tmp_path / "file" / "sm" if where == "under_a_file" else Path(f"/proc/guide-export-{tmp_path.name}")
    with pytest.raises(GuideError, match=rf"^cannot write SavedModel to {re.escape(str(target))}: [^\n]+$") as info:
        export_saved_model(model, target)
    assert isinstance(info.value, OutputError) and not target.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


def test_export_that_fails_midway_leaves_nothing_and_a_retry_works(model, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:  # type: ignore[no-untyped-def]
    """A full disk cannot be made here: TensorFlow's save is made to write some files, then fail as it would."""
    import tensorflow as tf

    from guide.errors import GuideError
    from guide.model.bodypix import export_saved_model

    def save_then_fill_the_disk(obj: object, export_dir: str, **kwargs: object) -> None:
        (Path(export_dir) / "variables").mkdir(parents=True, exist_ok=True)  # as TensorFlow does
        (Path(export_dir) / "saved_model.pb").write_bytes(b"\0" * 4096)
        raise tf.errors.ResourceExhaustedError(None, None, f"{export_dir}/saved_model.pb; No space left on device")

    target = tmp_path / "sm"
    monkeypatch.setattr(tf.saved_model, "save", save_then_fill_the_disk)
    with pytest.raises(GuideError, match=r"No space left on device$") as info:
        export_saved_model(model, target)
    assert str(info.value).startswith(f"cannot write SavedModel to {target}: ") and isinstance(info.value, OutputError)
    assert list(tmp_path.iterdir()) == []  # neither the folder nor its hidden staging copy

    monkeypatch.undo()
    assert export_saved_model(model, target) == target
    assert (target / "saved_model.pb").is_file() and [p.name for p in tmp_path.iterdir()] == ["sm"]
    with pytest.raises(GuideError, match="already exists") as again:
        export_saved_model(model, target)
    assert isinstance(again.value, OutputError)


def test_letterbox_keeps_aspect_and_round_trips() -> None:
    assert valid_input_size(240, 16) == 241 and valid_input_size(241, 16) == 241 and valid_input_size(3, 16) == 33
    box = letterbox_for(480, 640, 0.5, 16)
    assert (box.height, box.width) == (241, 321)
    tall = letterbox_for(1000, 300, 0.5, 16)  # padded on one axis only, never stretched
    assert (tall.y0 == 0) != (tall.x0 == 0) and min(tall.x0, tall.y0) < 0
    assert abs(tall.scale_x - tall.scale_y) / tall.scale_y < 0.02
    x, y = np.array([0.0, 150.0, 299.0]), np.array([0.0, 500.0, 999.0])
    bx, by = tall.points_to_image(*tall.points_to_grid(x, y))
    assert np.allclose(bx, x) and np.allclose(by, y)
    image = np.zeros((1000, 300, 3), np.uint8)
    assert prepare_input(image, tall).shape == (tall.height, tall.width, 3)


def test_variant_urls_point_at_official_storage() -> None:
    v = get_variant("mobilenet-075-stride16-quant2")
    assert v.url == "https://storage.googleapis.com/tfjs-models/savedmodel/bodypix/mobilenet/quant2/075/model-stride16.json"
    r = get_variant("resnet50-stride32-float")
    assert r.url.endswith("/bodypix/resnet50/float/model-stride32.json")
    json.dumps([v.url, r.url])


def test_tflite_runtime_matches_tf_on_a_real_photo(model) -> None:  # type: ignore[no-untyped-def]
    """TFLite (the default where it converts) and the TF graph give the same raw outputs and parse."""
    import cv2

    from guide.parse import parse

    tf_model = load_model(runtime="tf")
    lite = model if model.runtime == "tflite" else load_model(runtime="tflite")
    assert (tf_model.runtime, lite.runtime) == ("tf", "tflite")
    for name in ("tfjs_posenet_frisbee.jpg", "tfjs_pascal.jpg"):
        image = cv2.imread(str(PEOPLE / name))
        a, b = tf_model.predict(image, 0.5), lite.predict(image, 0.5)
        for field in ("segments", "part_heatmaps", "heatmaps", "short_offsets", "long_offsets",
                      "displacement_fwd", "displacement_bwd"):
            x, y = getattr(a, field), getattr(b, field)
            assert x.shape == y.shape, field
            assert np.max(np.abs(x - y)) < 2e-3, field
        assert np.mean(a.part_ids_input != b.part_ids_input) < 1e-3
        pa, pb = parse(a), parse(b)
        assert len(pa.people) == len(pb.people) > 0
        iou = np.count_nonzero(pa.mask & pb.mask) / np.count_nonzero(pa.mask | pb.mask)
        assert iou > 0.99, name


def test_part_ids_match_tensorflow_upsampling(model) -> None:  # type: ignore[no-untyped-def]
    """The cell-wise part argmax equals argmax(resize_bilinear(align_corners)) as the TF graph computed it."""
    import cv2
    import tensorflow as tf

    raw = model.predict(cv2.imread(str(PEOPLE / "tfjs_pascal.jpg")), 0.5)
    size = raw.segment_logits_input.shape
    up = tf.compat.v1.image.resize_bilinear(raw.part_heatmaps[None], size, align_corners=True)[0].numpy()
    assert np.mean(np.argmax(up, axis=-1) != raw.part_ids_input) < 1e-4
    seg = tf.compat.v1.image.resize_bilinear(raw.segments[None, :, :, None], size, align_corners=True)[0, :, :, 0]
    assert np.max(np.abs(seg.numpy() - raw.segment_logits_input)) < 1e-4


def test_unknown_runtime_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDE_RUNTIME", "gpu")
    with pytest.raises(ModelError, match="unknown runtime"):
        load_model()
