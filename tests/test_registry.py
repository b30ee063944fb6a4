"""Where models are found, and the checked, atomic download (served from loopback)."""

from __future__ import annotations

import functools
import hashlib
import http.server
import shutil
import threading
from pathlib import Path
from typing import Iterator

import pytest

from guide.errors import InputError, ModelError
from guide.model import registry

from conftest import MODELS

NAME = "mobilenet-075-stride16-quant2"


@pytest.fixture
def isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """No model anywhere: empty GUIDE_MODEL_DIR, empty user cache, no checkout cache."""
    monkeypatch.setenv("GUIDE_MODEL_DIR", str(tmp_path / "empty"))
    monkeypatch.setenv("GUIDE_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(registry, "checkout_models_dir", lambda: None)
    monkeypatch.delenv("GUIDE_OFFLINE", raising=False)
    return tmp_path


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """A static HTTP server on 127.0.0.1 laid out like Google's bodypix storage."""
    root = tmp_path / "www"
    target = root / "mobilenet" / "quant2" / "075"
    target.mkdir(parents=True)
    for f in (MODELS / NAME).iterdir():
        shutil.copy(f, target / f.name)
        (target / f.name).chmod(0o644)
    handler = functools.partial(QuietHandler, directory=str(root))
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", target
    finally:
        httpd.shutdown()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: object) -> None:
        pass


def test_env_dir_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDE_MODEL_DIR", str(MODELS))
    source = registry.resolve(None)
    assert source.kind == "tfjs" and Path(source.location) == MODELS / NAME
    assert source.variant is not None and source.variant.name == NAME


def test_explicit_path_wins(tmp_path: Path) -> None:
    source = registry.resolve(str(MODELS / "mobilenet-050-stride16-float"))
    assert source.kind == "tfjs" and source.variant is not None and source.variant.quantization == "float"


def test_unknown_name_and_missing_path_are_clear() -> None:
    with pytest.raises(ModelError, match="unknown model 'mobilenet-999'"):
        registry.resolve("mobilenet-999")
    with pytest.raises(ModelError, match="does not exist"):
        registry.resolve("./no/such/model")


def test_download_is_checked_and_lands_in_cache(isolated: Path, server: tuple[str, Path]) -> None:
    url, _ = server
    folder = registry.download(registry.get_variant(NAME), base_url=url)
    assert folder == isolated / "cache" / NAME
    shard = folder / "group1-shard1of1.bin"
    assert hashlib.sha256(shard.read_bytes()).hexdigest() == dict(registry.get_variant(NAME).sha256)[shard.name]
    assert registry.find_local(registry.get_variant(NAME)) == folder
    assert not [p for p in folder.parent.iterdir() if p.name.startswith(".")]  # no staging left


def test_download_of_a_truncated_shard_leaves_nothing(isolated: Path, server: tuple[str, Path]) -> None:
    url, served = server
    shard = served / "group1-shard1of1.bin"
    shard.write_bytes(shard.read_bytes()[:100_000])
    with pytest.raises(ModelError, match="manifest needs"):
        registry.download(registry.get_variant(NAME), base_url=url)
    assert not (isolated / "cache" / NAME).exists()
    assert not list((isolated / "cache").iterdir())


def test_offline_with_nothing_cached_says_how_to_provide_the_model(isolated: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GUIDE_MODEL_URL_BASE", "http://127.0.0.1:9")  # nothing listens on the discard port
    with pytest.raises(ModelError) as info:
        registry.resolve(None)
    message = str(info.value)
    assert "GUIDE_MODEL_DIR" in message and "--model" in message and "\n" not in message
    assert isinstance(info.value, InputError)


def test_shipped_variants_have_their_published_shard_digests() -> None:
    for folder in sorted(p for p in MODELS.iterdir() if p.is_dir()):
        digests = dict(registry.get_variant(folder.name).sha256)
        shards = sorted(folder.glob("group1-shard*.bin"))
        assert shards and all(digests.get(s.name) == hashlib.sha256(s.read_bytes()).hexdigest() for s in shards), folder.name


def test_shard_damaged_in_place_is_refused_at_load(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Same size, a few bytes changed: the manifest check passes it, the sha256 check must not."""
    from guide.model.bodypix import load_model

    intact, damaged = tmp_path / "intact" / NAME, tmp_path / "damaged" / NAME
    for folder in (intact, damaged):
        shutil.copytree(MODELS / NAME, folder)
    shard = damaged / "group1-shard1of1.bin"
    data = bytearray(shard.read_bytes())
    data[1_000_000:1_000_064] = bytes(b ^ 0xFF for b in data[1_000_000:1_000_064])
    shard.chmod(0o644)
    shard.write_bytes(bytes(data))
    assert shard.stat().st_size == (intact / shard.name).stat().st_size

    monkeypatch.setenv("GUIDE_MODEL_DIR", str(damaged.parent))
    with pytest.raises(ModelError) as info:
        load_model()
    assert str(shard) in str(info.value) and "sha256" in str(info.value) and "\n" not in str(info.value)
    assert isinstance(info.value, InputError)
    with pytest.raises(ModelError, match="sha256"):
        load_model(str(damaged))  # an explicit path named like the variant is checked too
    monkeypatch.setenv("GUIDE_MODEL_DIR", str(intact.parent))
    assert load_model(runtime="tf").name == NAME
