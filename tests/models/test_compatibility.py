"""What a model file needs from ONNX Runtime (ops, kernel-picking attributes, opset, IR version),
looked up in the compatibility table, and the one-line refusal when a device's version is older."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from harness.errors import InputError
from harness.fileio import sha256_file
from harness.models import compatibility as compat
from harness.models.compatibility import (
    GATE_DEVICE_ORT,
    OrtTooOldError,
    app_ort_version,
    check_device_ort,
    model_needs,
    parse_version,
    parse_version_option,
    recorded_recipe,
    reported_version_gate,
    required_ops,
)
from tests.models.conftest import write_tiny_model

MS = "com.microsoft"


def _model(
    tmp_path: Path,
    nodes: list,
    *,
    opset: int = 17,
    ir_version: int = 8,
    initializers: list | None = None,
    name: str = "m.onnx",
) -> Path:
    """A graph of the given nodes (not meant to run: only its ops and attributes are read)."""
    import onnx
    from onnx import TensorProto, helper

    graph = helper.make_graph(
        nodes,
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4])],
        initializer=initializers or [],
    )
    model = helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", opset), helper.make_opsetid(MS, 1)], ir_version=ir_version
    )
    path = tmp_path / name
    onnx.save(model, str(path))
    return path


def _matmul_nbits(**attributes: int):
    from onnx import helper

    return helper.make_node("MatMulNBits", ["x", "b", "s"], ["y"], domain=MS, K=4, N=4, block_size=32, **attributes)


def _gather_block_quantized(data_type: int, **attributes: int):
    from onnx import helper

    data = helper.make_tensor("data", data_type, [4, 4], [0] * 16)
    node = helper.make_node("GatherBlockQuantized", ["data", "ids", "s"], ["y"], domain=MS, **attributes)
    return node, [data]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("1.20.0", (1, 20, 0)), ("1.23", (1, 23, 0)), ("v1.17.1", (1, 17, 1)), ("1.23.2-rc1", (1, 23, 2)), ("x", None)],
)
def test_parse_version(text, expected):
    assert parse_version(text) == expected


def test_a_bad_version_option_names_the_option():
    with pytest.raises(InputError, match=r"--device-ort-version 'latest': not a version"):
        parse_version_option("latest")


@pytest.mark.parametrize(
    ("attributes", "needed"),
    [({}, "1.17.0"), ({"bits": 4}, "1.17.0"), ({"bits": 4, "accuracy_level": 4}, "1.17.0"), ({"bits": 8}, "1.23.0")],
)
def test_matmul_nbits_needs_depend_on_bits(tmp_path, attributes, needed):
    needs = model_needs(_model(tmp_path, [_matmul_nbits(**attributes)]))
    [op] = needs.ops
    assert (op.domain, op.op_type, op.min_onnxruntime) == (MS, "MatMulNBits", needed)
    assert op.attributes["bits"] == attributes.get("bits", 4)  # the schema's default when left out
    assert op.attributes["block_size"] == 32
    assert needs.min_onnxruntime == needed
    assert "github.com/microsoft/onnxruntime/pull/" in op.source


@pytest.mark.parametrize(
    ("data_type", "attributes", "needed"),
    [(22, {}, "1.20.0"), (21, {}, "1.20.0"), (2, {}, "1.22.0"), (2, {"bits": 8}, "1.23.0")],  # INT4, UINT4, UINT8
)
def test_gather_block_quantized_needs_depend_on_data_type_and_bits(tmp_path, data_type, attributes, needed):
    node, initializers = _gather_block_quantized(data_type, **attributes)
    [op] = model_needs(_model(tmp_path, [node], opset=21, ir_version=10, initializers=initializers)).ops
    assert op.min_onnxruntime == needed


@pytest.mark.parametrize(("opset", "needed"), [(11, "1.0.0"), (17, "1.12.0"), (21, "1.18.0"), (9, "1.0.0")])
def test_the_opset_is_a_need_of_its_own(tmp_path, opset, needed):
    from onnx import helper

    needs = model_needs(_model(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], opset=opset, ir_version=7))
    assert needs.ops == []  # a plain ONNX op is covered by the opset
    assert [n.min_onnxruntime for n in needs.needs() if n.what.startswith("opset")] == [needed]


@pytest.mark.parametrize(("ir_version", "needed"), [(8, "1.10.0"), (10, "1.18.0"), (11, "1.23.0")])
def test_the_ir_version_is_a_need_of_its_own(tmp_path, ir_version, needed):
    from onnx import helper

    needs = model_needs(_model(tmp_path, [helper.make_node("Relu", ["x"], ["y"])], ir_version=ir_version))
    assert needs.needs()[0].what == f"ONNX IR version {ir_version}"
    assert needs.needs()[0].min_onnxruntime == needed


def test_what_is_not_in_the_table_needs_the_hosts_onnxruntime(tmp_path):
    import onnxruntime
    from onnx import helper

    nodes = [helper.make_node("FancyNewOp", ["x"], ["y"], domain=MS), _matmul_nbits(bits=2)]
    needs = model_needs(_model(tmp_path, nodes))
    assert sorted(needs.unknown) == [
        "com.microsoft.FancyNewOp",
        "com.microsoft.MatMulNBits (bits=2, block_size=32, accuracy_level=0)",
    ]
    assert {op.min_onnxruntime for op in needs.ops} == {onnxruntime.__version__}


def test_the_dynamic_int8_recipe_needs_its_quantized_ops(tmp_path):
    from harness.models.quantize import PRESETS, quantize_file

    out = quantize_file(write_tiny_model(tmp_path / "tiny.onnx"), tmp_path / "q.onnx", PRESETS["arm64"])
    ops = {(op["domain"], op["op_type"]): op for op in required_ops(out)}
    assert ("", "MatMulInteger") in ops
    assert all(op["count"] >= 1 and op["min_onnxruntime"] for op in ops.values())
    assert model_needs(out).min_onnxruntime == "1.12.0"  # opset 17, which the export stamps


def test_a_device_too_old_gets_one_line_naming_the_op_and_the_version(tmp_path):
    needs = model_needs(_model(tmp_path, [_matmul_nbits(bits=8)]))
    with pytest.raises(OrtTooOldError) as caught:
        check_device_ort(needs, "1.20.0", label="AVA-ONX-384-BASE-INT8", where="--device-ort-version")
    message = str(caught.value)
    assert "\n" not in message
    assert message.startswith("AVA-ONX-384-BASE-INT8: com.microsoft.MatMulNBits (bits=8, block_size=32")
    assert "needs onnxruntime-android >= 1.23.0; the device's is 1.20.0 (--device-ort-version)" in message
    assert caught.value.exit_code == 2


def test_the_newest_need_is_named_first_and_the_rest_counted(tmp_path):
    node, initializers = _gather_block_quantized(22)
    needs = model_needs(_model(tmp_path, [_matmul_nbits(bits=8), node], initializers=initializers))
    with pytest.raises(OrtTooOldError, match=r"MatMulNBits \(bits=8.*>= 1\.23\.0.*\(and 1 more\)"):
        check_device_ort(needs, "1.19.0", label="m", where="declared")


def test_a_recent_enough_device_passes(tmp_path):
    needs = model_needs(_model(tmp_path, [_matmul_nbits(bits=8)]))
    check_device_ort(needs, "1.23.0", label="m", where="declared")
    assert needs.unmet("1.32.0") == []


def test_the_reported_version_fails_a_gate_only_when_too_old(tmp_path):
    needs = model_needs(_model(tmp_path, [_matmul_nbits(bits=8)]))
    gate = reported_version_gate(needs, "1.22.1")
    assert gate is not None and not gate.passed
    assert (gate.name, gate.value, gate.threshold) == (GATE_DEVICE_ORT, "1.22.1", ">= 1.23.0")
    assert "MatMulNBits (bits=8" in gate.detail and "reported 1.22.1" in gate.detail
    assert reported_version_gate(needs, "1.23.0") is None
    assert reported_version_gate(needs, "") is None  # nothing reported: nothing to hold it against


def test_the_gradle_snippet_pins_a_runtime_for_the_best_recipes(tmp_path):
    pinned = app_ort_version()
    assert parse_version(pinned) is not None
    node, initializers = _gather_block_quantized(2, bits=8)
    best = model_needs(_model(tmp_path, [_matmul_nbits(bits=8, accuracy_level=4), node], initializers=initializers))
    assert best.unmet(pinned) == [], "weight-only INT8 with 8-bit embeddings must run on the pinned runtime"


def test_a_snippet_without_a_pin_is_one_line(tmp_path):
    snippet = tmp_path / "build.gradle.kts"
    snippet.write_text('dependencies { implementation("junit:junit:4.13.2") }\n')
    with pytest.raises(InputError, match=r"no com\.microsoft\.onnxruntime:onnxruntime-android"):
        app_ort_version(snippet)
    snippet.write_text('implementation("com.microsoft.onnxruntime:onnxruntime-android:1.19.2")\n')
    assert app_ort_version(snippet) == "1.19.2"


def test_an_unreadable_model_is_one_line(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"\x00not a protobuf" * 3)
    with pytest.raises(InputError, match=r"junk\.onnx"):
        model_needs(tmp_path / "junk.onnx")
    with pytest.raises(InputError, match=r"missing\.onnx"):
        model_needs(tmp_path / "missing.onnx")


def test_the_recorded_recipe_is_read_for_these_bytes_only(tmp_path):
    path = tmp_path / "AVA-X-INT8.onnx"
    path.write_bytes(np.arange(8, dtype=np.uint8).tobytes())
    record = {
        "id": "AVA-X-INT8",
        "file": path.name,
        "sha256": sha256_file(path),
        "preset": "arm64",
        "settings": {"a": 1},
    }
    path.with_suffix(".quant.json").write_text(json.dumps(record))
    assert recorded_recipe(path) == {"preset": "arm64", "settings": {"a": 1}}
    path.write_bytes(b"other bytes")
    assert recorded_recipe(path) is None
    assert recorded_recipe(tmp_path / "none.onnx") is None


def test_every_rule_cites_where_it_comes_from():
    for rule in compat.OP_RULES:
        assert parse_version(rule.min_ort) is not None
        assert rule.source
    assert all(parse_version(v) for v in [*compat.OPSET_MIN_ORT.values(), *compat.IR_MIN_ORT.values()])


def test_a_reported_runtime_older_than_a_model_needs_fails_that_model(tmp_path):
    """After the run: the device said which ONNX Runtime it runs; a model needing a newer one fails
    a gate naming the op, and the device's pass becomes a failure (a verdict, not an error)."""
    from types import SimpleNamespace

    from harness.gates import Gate
    from harness.signoff.pipeline import _check_reported_ort
    from harness.signoff.results import DeviceRun, ModelOnDevice

    needs = model_needs(_model(tmp_path, [_matmul_nbits(bits=8)]))
    plan = SimpleNamespace(models=[SimpleNamespace(spec=SimpleNamespace(id="AVA-X-INT8"), needs=needs)])
    model = ModelOnDevice("AVA-X-INT8", "INT8", "ab" * 32, 1, ort_version="1.22.0", gates=[Gate("parity", True)])
    device = DeviceRun("serial-1", status="passed", models=[model])
    fine = DeviceRun(
        "serial-2",
        status="passed",
        models=[ModelOnDevice("AVA-X-INT8", "INT8", "ab" * 32, 1, ort_version="1.32.0", gates=[Gate("parity", True)])],
    )
    _check_reported_ort([device, fine], plan, "1.24.0")  # type: ignore[arg-type]
    assert device.health["onnxruntime"] == {"declared": "1.24.0", "reported": "1.22.0"}
    assert [g.name for g in model.gates] == ["parity", GATE_DEVICE_ORT]
    assert "MatMulNBits (bits=8" in model.gates[-1].detail and ">= 1.23.0" in model.gates[-1].detail
    assert device.status == "failed" and not device.passed and device.reached_verdict
    assert fine.status == "passed" and fine.passed and len(fine.models[0].gates) == 1


def test_a_tuned_variants_recipe_is_in_the_manifest_the_terminal_and_the_html(tmp_path):
    from rich.console import Console

    from harness.fileio import write_json_atomic
    from harness.reports.html_page import render_html
    from harness.reports.manifest import build_signoff_manifest
    from harness.reports.terminal import print_summary
    from tests.reports.conftest import make_run

    run = make_run()
    recipe = {
        "preset": "tuned:woq8-b32",
        "recipe": {"name": "woq8-b32", "kind": "weight_only", "bits": 8, "block_size": 32, "accuracy_level": 4},
        "ort_version": "1.32.0",
        "required_ops": [{"op_type": "MatMulNBits", "domain": MS, "attributes": {"bits": 8}}],
    }
    tuned, other = run.models[0], run.models[1]
    tuned.recipe = recipe
    manifest = build_signoff_manifest(run)
    write_json_atomic(tmp_path / "manifest.json", manifest)  # checked against schemas/ after the test
    entries = {m["id"]: m for m in manifest["models"]}
    assert entries[tuned.model_id]["quantization_recipe"] == recipe
    assert entries[other.model_id]["quantization_recipe"] is None
    console = Console(record=True, width=200)
    print_summary(run, console)
    text = console.export_text()
    assert f"{tuned.model_id}: preset=tuned:woq8-b32 · recipe.name=woq8-b32" in text
    assert "recipe.bits=8" in text and "required_ops=[1]" in text and f"{other.model_id}: preset" not in text
    html = render_html(run)
    assert 'id="recipes"' in html and "recipe.block_size" in html and "tuned:woq8-b32" in html


def test_a_device_ort_version_that_is_not_a_version_is_refused(tmp_path):
    from tests.helpers import run_cli

    result = run_cli("deploy-test", "--device", "x", "--models", "AVA-ONX-384-FAST-INT8", "--device-ort-version", "new")
    assert result.returncode == 2
    from tests.helpers import assert_user_error

    assert_user_error(result, "--device-ort-version 'new': not a version")


def test_deploy_test_refuses_a_model_the_devices_runtime_cannot_run_before_any_push(
    virtual_devices, adb_server, model_file, tmp_path
):
    """Through a virtual device: the declared runtime is older than the file needs (its opset 17
    needs 1.12.0), so the run stops with one line before the device is touched."""
    from harness.android.virtual import ava_device_config
    from tests.helpers import assert_user_error, deploy_test_args, run_cli

    model = "AVA-ONX-384-FAST-INT8"
    model_file(model)
    (device,) = virtual_devices(1, config=ava_device_config())
    args, env = deploy_test_args(adb_server.port, tmp_path / "reports", model)
    result = run_cli(*args, "--device", device.serial, "--device-ort-version", "1.11.0", env=env)
    assert result.returncode == 2, result.stderr[-2000:]
    assert_user_error(
        result,
        f"{model}: opset 17 (ai.onnx) needs onnxruntime-android >= 1.12.0",
        "the device's is 1.11.0 (--device-ort-version)",
    )
    models_dir = device.host_path("/sdcard/Android/data/com.augmentalis.ava/files/models")
    assert not models_dir.exists() or not any(models_dir.iterdir()), "nothing may reach the device"
    assert not (tmp_path / "reports").exists() or not any((tmp_path / "reports").iterdir())

    # The same model on the runtime the app pins (the default) is signed off, its recipe reported.
    result = run_cli(*args, "--device", device.serial, env=env)
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Quantization recipes" in result.stdout and f"{model}: preset=arm64" in result.stdout
    (manifest,) = {p.resolve() for p in (tmp_path / "reports").glob("*/manifest.json")}  # reports/latest too
    (entry,) = json.loads(manifest.read_text())["models"]
    assert entry["quantization_recipe"]["preset"] == "arm64"
    assert entry["quantization_recipe"]["settings"]["per_channel"] is True
    assert entry["min_onnxruntime"] == "1.12.0"  # its opset 17
    (signoff,) = {p.resolve() for p in (tmp_path / "reports").glob("*/signoff.json")}
    import onnxruntime

    health = json.loads(signoff.read_text())["devices"][0]["health"]
    assert health["onnxruntime"] == {"declared": app_ort_version(), "reported": onnxruntime.__version__}


@pytest.mark.parametrize(
    ("bits", "embeddings", "needed"),
    [(8, "int8", "1.23.0"), (4, "int4", "1.22.0")],  # 4-bit: uint8-packed GatherBlockQuantized, 1.22.0
)
def test_every_op_the_weight_only_recipes_write_is_in_the_table(model_file, tmp_path, bits, embeddings, needed):
    """The recipes `tune` searches write files whose every op the table knows, on the pinned runtime."""
    from harness.models.recipes import Recipe, apply_recipe

    original = model_file("AVA-ONX-384-FAST")
    recipe = Recipe(name=f"w{bits}", method="weight-only", bits=bits, embeddings=embeddings)
    apply_recipe(original, tmp_path / "w.onnx", recipe)
    needs = model_needs(tmp_path / "w.onnx")
    assert needs.unknown == []
    ops = {op.op_type: op for op in needs.ops}
    assert ops["MatMulNBits"].attributes["bits"] == bits and ops["GatherBlockQuantized"].attributes["bits"] == bits
    assert needs.min_onnxruntime == needed
    assert needs.unmet(app_ort_version()) == []


def test_a_model_needing_more_than_the_app_pins_is_said_in_the_manifest_and_terminal(tmp_path):
    from rich.console import Console

    from harness.reports.manifest import build_signoff_manifest
    from harness.reports.terminal import print_summary
    from tests.reports.conftest import make_run

    snippet = tmp_path / "gradle-snippet.gradle.kts"
    snippet.write_text('implementation("com.microsoft.onnxruntime:onnxruntime-android:1.20.0")\n')
    assert compat.pin_note("1.23.0", snippet) == (
        "needs onnxruntime-android >= 1.23.0; the app's gradle-snippet.gradle.kts pins 1.20.0: update it"
    )
    assert compat.pin_note("1.20.0", snippet) is None
    assert compat.pin_note("<not a version>", snippet) is None

    run = make_run()
    newest = parse_version(app_ort_version())
    assert newest is not None
    beyond = f"{newest[0]}.{newest[1] + 1}.0"  # more than the real pin
    run.models[0].min_onnxruntime, run.models[1].min_onnxruntime = beyond, "1.12.0"
    entries = {m["id"]: m for m in build_signoff_manifest(run)["models"]}
    assert entries[run.models[0].model_id]["min_onnxruntime"] == beyond
    assert entries[run.models[1].model_id]["min_onnxruntime"] == "1.12.0"
    console = Console(record=True, width=200)
    print_summary(run, console)
    text = console.export_text()
    assert f"{run.models[0].model_id}: needs onnxruntime-android >= {beyond}; the app's" in text
    assert f"{run.models[1].model_id}: needs" not in text
