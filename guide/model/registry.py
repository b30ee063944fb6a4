"""Which BodyPix variants exist, where their files live, and how to fetch them.

A variant is named like `mobilenet-075-stride16-quant2`. Its files are found, in
this order: an explicit `--model NAME|PATH`, the folders in `GUIDE_MODEL_DIR`,
the local caches (`models/` in a source checkout, then the user cache dir), and
last a download from Google's storage into the cache, written atomically and
checked against the manifest (and sha256 where the registry records one). Local
shards with a recorded sha256 are checked again at every load (a few ms): a
shard damaged in place keeps its size and would otherwise load.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from guide.errors import ModelError

OFFICIAL_BASE_URL = "https://storage.googleapis.com/tfjs-models/savedmodel/bodypix"
DEFAULT_VARIANT = "mobilenet-075-stride16-quant2"

QUANT_BYTES = {"float": 4, "quant2": 2, "quant1": 1}


@dataclass(frozen=True)
class Variant:
    """One published BodyPix graph model."""

    name: str
    architecture: str  # "MobileNetV1" or "ResNet50"
    multiplier: float | None
    output_stride: int
    quantization: str  # "float", "quant2" (uint16) or "quant1" (uint8)
    sha256: tuple[tuple[str, str], ...] = ()  # (file name, digest) pairs known to be right

    @property
    def model_file(self) -> str:
        return f"model-stride{self.output_stride}.json"

    @property
    def url(self) -> str:
        """The official model.json URL (shards sit beside it)."""
        if self.architecture == "ResNet50":
            return f"{OFFICIAL_BASE_URL}/resnet50/{self.quantization}/{self.model_file}"
        mult = f"{int(round((self.multiplier or 0) * 100)):03d}"
        return f"{OFFICIAL_BASE_URL}/mobilenet/{self.quantization}/{mult}/{self.model_file}"


# Digests of the shards as published (see ../shared/models/bodypix/SOURCES.md);
# the JSONs are not pinned because Google's hosted copies were re-exported over time.
_KNOWN_SHA256 = {
    ("MobileNetV1", 0.75, "quant2"): (
        ("group1-shard1of1.bin", "e215c9546b9db0e1e06c23c759ed48ccaf2aad68c656d0130b5757bc0479ac77"),
    ),
    ("MobileNetV1", 0.5, "float"): (
        ("group1-shard1of1.bin", "6066a2082f41602a10f59450754b38000616eadf8c800b07cf25aa895831698d"),
    ),
}


def _all_variants() -> dict[str, Variant]:
    variants: dict[str, Variant] = {}
    for mult in (0.5, 0.75, 1.0):
        for stride in (8, 16):
            for quant in ("quant2", "quant1", "float"):
                name = f"mobilenet-{int(mult * 100):03d}-stride{stride}-{quant}"
                digests = _KNOWN_SHA256.get(("MobileNetV1", mult, quant), ())
                variants[name] = Variant(name, "MobileNetV1", mult, stride, quant, digests)
    for stride in (16, 32):
        for quant in ("quant2", "quant1", "float"):
            name = f"resnet50-stride{stride}-{quant}"
            variants[name] = Variant(name, "ResNet50", None, stride, quant)
    return variants


VARIANTS: dict[str, Variant] = _all_variants()


def get_variant(name: str) -> Variant:
    try:
        return VARIANTS[name]
    except KeyError:
        raise ModelError(
            f"unknown model '{name}': `guide models` lists the variants, or pass a model folder"
        ) from None


# --- where model files are looked for -------------------------------------------------


def checkout_models_dir() -> Path | None:
    """`models/` of the source checkout this package runs from, if any."""
    root = Path(__file__).resolve().parents[2]
    candidate = root / "models"
    return candidate if (root / "pyproject.toml").is_file() and candidate.is_dir() else None


def user_cache_dir() -> Path:
    explicit = os.environ.get("GUIDE_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "guide" / "models"


def search_dirs() -> list[Path]:
    """Folders that may hold `<variant>/` model folders, most specific first."""
    dirs = [Path(p) for p in os.environ.get("GUIDE_MODEL_DIR", "").split(os.pathsep) if p]
    checkout = checkout_models_dir()
    if checkout is not None:
        dirs.append(checkout)
    dirs.append(user_cache_dir())
    return dirs


def cache_dir() -> Path:
    """Where a download goes: the checkout's `models/` if writable, else the user cache."""
    checkout = checkout_models_dir()
    if checkout is not None and os.access(checkout, os.W_OK):
        return checkout
    return user_cache_dir()


def is_complete(folder: Path, variant: Variant) -> bool:
    return (folder / variant.model_file).is_file()


def find_local(variant: Variant) -> Path | None:
    for base in search_dirs():
        folder = base / variant.name
        if is_complete(folder, variant):
            return folder
        if is_complete(base, variant) and base.name == variant.name:
            return base
    return None


# --- download -------------------------------------------------------------------------


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def verify_shards(folder: Path, variant: Variant) -> None:
    """Refuse shards whose sha256 differs from the published one, before they are used.

    A shard damaged in place keeps its size, so the manifest's byte count passes
    it and the model quietly finds nobody; hashing 2.6 MB costs a few ms a load.
    Missing files are left to the loader, which names them.
    """
    for file_name, digest in variant.sha256:
        shard = folder / file_name
        try:
            got = _sha256(shard) if shard.is_file() else digest
        except OSError:
            continue  # unreadable: the loader reports it by name
        if got != digest:
            raise ModelError(
                f"weight shard {shard} fails its sha256 check (the file is damaged); "
                f"replace it with a fresh copy of {variant.name}"
            )


def _progress_bar(label: str) -> Callable[[int, int], None]:
    def show(done: int, total: int) -> None:
        if not sys.stderr.isatty():
            return
        width = 30
        frac = done / total if total else 0.0
        bar = "#" * int(frac * width)
        print(f"\r{label} [{bar:<{width}}] {done / 1e6:5.1f}/{total / 1e6:.1f} MB", end="", file=sys.stderr)
        if done >= total:
            print(file=sys.stderr)

    return show


def _fetch(url: str, dest: Path, timeout: float, label: str) -> None:
    with urllib.request.urlopen(url, timeout=timeout) as response, dest.open("wb") as out:
        total = int(response.headers.get("Content-Length") or 0)
        show = _progress_bar(label)
        done = 0
        while block := response.read(1 << 16):
            out.write(block)
            done += len(block)
            if total:
                show(done, total)


def download(variant: Variant, base_url: str | None = None, timeout: float = 20.0) -> Path:
    """Fetch a variant into the cache; the folder appears only once it is whole and checked."""
    from guide.model import tfjs

    base_url = base_url or os.environ.get("GUIDE_MODEL_URL_BASE") or OFFICIAL_BASE_URL
    url = variant.url.replace(OFFICIAL_BASE_URL, base_url.rstrip("/"))
    target = cache_dir() / variant.name
    staging: Path | None = None
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{variant.name}.", dir=target.parent))
        staging.chmod(0o755)
        _fetch(url, staging / variant.model_file, timeout, f"{variant.name} model.json")
        spec = tfjs.read_model_json(staging / variant.model_file)
        folder_url = url.rsplit("/", 1)[0]
        for rel in tfjs.shard_paths(spec):
            _fetch(f"{folder_url}/{rel}", staging / rel, timeout, f"{variant.name} {rel}")
        got = sum((staging / rel).stat().st_size for rel in tfjs.shard_paths(spec))
        need = tfjs.expected_shard_bytes(spec)
        if got != need:
            raise ModelError(f"downloaded shards of {variant.name} hold {got} bytes, the manifest needs {need}")
        for file_name, digest in variant.sha256:
            if (staging / file_name).is_file() and _sha256(staging / file_name) != digest:
                raise ModelError(f"downloaded {file_name} of {variant.name} fails its sha256 check")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
        return target
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ModelError(
            f"BodyPix model '{variant.name}' is not available locally and could not be downloaded "
            f"({reason}); put its files (model-stride*.json + group1-shard*.bin) in "
            f"{cache_dir() / variant.name}, or set GUIDE_MODEL_DIR to a folder holding "
            f"{variant.name}/, or pass --model PATH"
        ) from None
    finally:
        if staging is not None and staging.exists():
            shutil.rmtree(staging, ignore_errors=True)


# --- resolving what the user asked for ------------------------------------------------


@dataclass(frozen=True)
class ModelSource:
    """Where a model will be loaded from, and how."""

    kind: str  # "tfjs" (graph model folder), "savedmodel" (folder) or "hub" (handle)
    location: str
    variant: Variant | None

    @property
    def label(self) -> str:
        return self.variant.name if self.variant else self.location


def resolve(model: str | None = None, allow_download: bool = True) -> ModelSource:
    """Turn `--model NAME|PATH|HANDLE` (or nothing: the default) into a ModelSource."""
    if model and (model.startswith(("http://", "https://", "gs://")) and not model.endswith(".json")):
        return ModelSource("hub", model, None)
    if model and (os.sep in model or model.startswith(".") or Path(model).exists()):
        path = Path(model)
        if not path.exists():
            raise ModelError(f"model path {path} does not exist")
        if path.is_dir() and (path / "saved_model.pb").is_file():
            return ModelSource("savedmodel", str(path), None)
        named = _variant_named_like(path)
        if named is not None:
            verify_shards(path if path.is_dir() else path.parent, named)
        return ModelSource("tfjs", str(path), named)
    variant = get_variant(model or DEFAULT_VARIANT)
    local = find_local(variant)
    if local is not None:
        verify_shards(local, variant)
        return ModelSource("tfjs", str(local), variant)
    if not allow_download or os.environ.get("GUIDE_OFFLINE"):
        raise ModelError(
            f"BodyPix model '{variant.name}' is not available locally; set GUIDE_MODEL_DIR to a folder "
            f"holding {variant.name}/, or pass --model PATH (downloads are off)"
        )
    return ModelSource("tfjs", str(download(variant)), variant)


def _variant_named_like(path: Path) -> Variant | None:
    folder = path if path.is_dir() else path.parent
    return VARIANTS.get(folder.name)


def list_variants() -> list[tuple[Variant, Path | None]]:
    return [(v, find_local(v)) for v in VARIANTS.values()]


def manifest_summary(folder: Path) -> dict[str, object]:
    """Small facts about a local variant folder (for `guide models --json`)."""
    model_json = next(iter(sorted(folder.glob("model*.json"))), None)
    if model_json is None:
        return {}
    spec = json.loads(model_json.read_text())
    from guide.model import tfjs

    return {"shards": tfjs.shard_paths(spec), "bytes": tfjs.expected_shard_bytes(spec)}
