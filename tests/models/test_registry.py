"""The AVA registry: IDs, variants, loader order, unavailable models, bad registry files."""

from __future__ import annotations

import pytest

from harness.errors import InputError, ModelUnavailableError
from harness.models.registry import load_registry, split_variant
from tests.helpers import assert_user_error, run_cli


def test_chapter_ids_map_to_their_originals(registry):
    assert registry.get("AVA-ONX-384-BASE").original == "all-MiniLM-L6-v2"
    assert registry.get("AVA-ONX-384-FAST").original == "paraphrase-MiniLM-L3-v2"
    assert registry.get("AVA-ONX-768-QUAL").original == "all-mpnet-base-v2"
    assert registry.get("AVA-ONX-768-QUAL").dimension == 768


def test_variants_map_to_the_same_original(registry):
    for variant in ("INT8", "FP16"):
        spec = registry.get(f"AVA-ONX-384-BASE-{variant}")
        assert spec.original == "all-MiniLM-L6-v2" and spec.variant == variant and spec.is_quantized
        assert spec.path.name == f"AVA-ONX-384-BASE-{variant}.onnx" and spec.path.parent.name == "quantized"
    assert registry.get("AVA-ONX-384-BASE").path.parent.name == "originals"
    assert split_variant("AVA-ONX-384-BASE-INT8") == ("AVA-ONX-384-BASE", "INT8")


def test_loader_order_is_model_id_then_original_name(registry, tmp_path):
    (tmp_path / "all-MiniLM-L6-v2.onnx").write_bytes(b"x")
    assert registry.resolve_file("AVA-ONX-384-BASE-INT8", tmp_path).name == "all-MiniLM-L6-v2.onnx"
    (tmp_path / "AVA-ONX-384-BASE-INT8.onnx").write_bytes(b"x")
    assert registry.resolve_file("AVA-ONX-384-BASE-INT8", tmp_path).name == "AVA-ONX-384-BASE-INT8.onnx"
    with pytest.raises(InputError, match=r"AVA-ONX-384-FAST-INT8\.onnx, paraphrase-MiniLM-L3-v2\.onnx"):
        registry.resolve_file("AVA-ONX-384-FAST-INT8", tmp_path)


@pytest.mark.parametrize("model_id", ["AVA-ONX-384-MULTI", "AVA-ONX-384-MULTI-INT8", "AVA-ONX-768-JA-FP16"])
def test_multilingual_ids_are_listed_but_unavailable(registry, model_id):
    with pytest.raises(ModelUnavailableError, match="unavailable: no FP32 weights"):
        registry.get(model_id)


def test_per_variant_gates_come_from_the_registry(registry):
    int8, fp16 = registry.get("AVA-ONX-384-BASE-INT8").gate, registry.get("AVA-ONX-384-BASE-FP16").gate
    assert 0.9 < int8.min_mean_cosine < fp16.min_mean_cosine <= 1.0


def test_bad_registry_files(tmp_path):
    bad = tmp_path / "registry.toml"
    bad.write_text("[[model]]\nid = 'X'\n")
    with pytest.raises(InputError, match="missing field 'dimension'"):
        load_registry(bad)
    bad.write_text("[[model\n")
    with pytest.raises(InputError, match="not a valid TOML"):
        load_registry(bad)
    bad.write_text("[[model]]\nid = 'X'\ndimension = 3\npooling = 'max'\n")
    with pytest.raises(InputError, match="pooling must be"):
        load_registry(bad)
    bad.write_text("[gates.INT8]\nmin_cosine = 0.9\n[[model]]\nid = 'X'\ndimension = 3\n")
    with pytest.raises(InputError, match="unknown gate"):
        load_registry(bad)


def test_cli_unknown_model_id():
    assert_user_error(run_cli("eval", "AVA-ONX-999-NOPE"), "unknown model ID 'AVA-ONX-999-NOPE'")


def test_cli_unavailable_model_id():
    assert_user_error(run_cli("eval", "AVA-ONX-384-MULTI-INT8"), "AVA-ONX-384-MULTI", "unavailable")


def test_cli_model_id_with_shell_metacharacters():
    assert_user_error(run_cli("eval", "AVA;rm -rf /"), "invalid model ID")


def test_cli_models_list_shows_availability():
    result = run_cli("models", "list")
    assert result.returncode == 0
    assert "AVA-ONX-384-MULTI" in result.stdout and "unavailable" in result.stdout


def test_atomic_output_gives_normal_permissions_and_leaves_nothing_on_failure(tmp_path):
    import pytest as _pytest

    from harness.fileio import atomic_output

    target = tmp_path / "out.json"
    with atomic_output(target) as tmp:
        tmp.write_text("{}")
    assert target.stat().st_mode & 0o044 == 0o044  # readable by others, as open() would make it

    def reject(_path):
        raise ValueError("bad")

    with _pytest.raises(ValueError), atomic_output(tmp_path / "never.json", verify=reject) as tmp:
        tmp.write_text("x")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.json"]


def test_sha256_file_is_remembered_but_follows_every_change(tmp_path):
    import hashlib

    from harness.fileio import sha256_file, write_text_atomic

    path = tmp_path / "m.onnx"
    write_text_atomic(path, "one")
    assert sha256_file(path) == sha256_file(path) == hashlib.sha256(b"one").hexdigest()
    write_text_atomic(path, "two")  # replaced by rename: a new inode
    assert sha256_file(path) == hashlib.sha256(b"two").hexdigest()
    path.write_text("three, longer")  # rewritten in place: another size and mtime
    assert sha256_file(path) == hashlib.sha256(b"three, longer").hexdigest()


def test_models_list_at_80_columns_cuts_nothing(registry, monkeypatch):
    from rich.console import Console

    import harness.cli.models as models_cli

    narrow = Console(width=80, record=True)
    monkeypatch.setattr(models_cli, "out", narrow)
    models_cli.models_list()
    text = narrow.export_text()
    assert "…" not in text
    for model_id in registry.models:
        assert model_id in text  # never folded: the ID column does not wrap
