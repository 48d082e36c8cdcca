"""deploy-test signs off a variant `tune` wrote like any other, and the reports name its recipe
(issue 15). The tuned file is made here with the recipe API in a private model store, so the
project's own models/quantized/ is never touched."""

from __future__ import annotations

import json
from dataclasses import replace

from harness.android.virtual import ava_device_config
from harness.fileio import sha256_file, write_json_atomic
from harness.models.recipes import WEIGHT_ONLY_INT8, apply_recipe
from harness.models.registry import Registry, load_registry
from harness.reports.writers import write_reports
from harness.signoff.pipeline import deploy_test

BASE = "AVA-ONX-384-FAST"


def test_deploy_test_signs_off_a_tuned_variant_and_reports_its_recipe(
    virtual_devices, deploy_options, model_file, tmp_path, monkeypatch
):
    import harness.models.registry as registry_module
    import harness.models.store as store

    real = load_registry().get(BASE)
    original = model_file(BASE)  # built in the project's store, then linked into the private one
    base = replace(real, tokenizer=str(real.tokenizer_path))  # absolute: the store moves
    monkeypatch.setattr(registry_module, "MODELS_DIR", tmp_path / "store")
    monkeypatch.setattr(store, "MODELS_DIR", tmp_path / "store")
    registry = Registry({base.id: base}, tmp_path / "registry.toml")
    base.original_path.parent.mkdir(parents=True)
    base.original_path.symlink_to(original)
    write_json_atomic(store.build_record_path(base), {"sha256": sha256_file(original)})
    tuned = registry.get(f"{BASE}-INT8")
    tuned.quantized_path.parent.mkdir(parents=True)
    made = apply_recipe(original, tuned.quantized_path, WEIGHT_ONLY_INT8, spec=base)
    store.write_tuned_record(tuned, tuned.quantized_path, original, made, {"gate_profile": "mixed-index"})

    (device,) = virtual_devices(1, config=ava_device_config())
    options = replace(deploy_options(BASE, gate_profile="mixed-index"), model_ids=[tuned.id])
    run = deploy_test([device.serial], options, registry=registry)
    (record,) = run.devices
    assert record.status == "passed", [g for m in record.models for g in m.gates if not g.passed]
    (model,) = record.models
    assert model.sha256 == sha256_file(tuned.quantized_path)  # the tuned bytes went to the device
    (host,) = run.models
    assert host.preset == f"tuned:{WEIGHT_ONLY_INT8.name}" and host.recipe["recipe"]["block_size"] == 32
    written = write_reports(run, tmp_path / "reports" / run.run_id)
    (entry,) = json.loads(written["manifest"].read_text())["models"]
    assert entry["quantization_recipe"]["recipe"]["name"] == WEIGHT_ONLY_INT8.name
    assert f"tuned:{WEIGHT_ONLY_INT8.name}" in written["html"].read_text()
