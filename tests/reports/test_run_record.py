"""Reading reports back (harness.reports.run_record): the current version as written, version 1
(the unversioned format, tests/reports/data/v1/ written by the harness before schema_version)
migrated to the current shape, and a one-line error naming the file for anything else."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from harness.errors import HarnessError
from harness.fileio import dumps_json
from harness.reports.run_record import SCHEMA_VERSION, load_manifest, load_signoff
from tests.helpers import validate_report

V1 = Path(__file__).parent / "data" / "v1"


def _save(data: dict, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(dumps_json(data), encoding="utf-8")
    return path


def test_current_reports_read_back_unchanged(written: dict[str, Path]) -> None:
    # validate_report also holds load_* to giving back exactly what was written.
    assert validate_report(written["json"])["schema_version"] == SCHEMA_VERSION
    assert load_signoff(written["json"].parent)["run_id"] == "20250114-093012-7f3a"  # a run directory works too
    assert load_manifest(written["manifest"].parent)["source"] == "deploy-test"


def test_a_v1_signoff_becomes_the_current_shape(tmp_path: Path) -> None:
    assert "schema_version" not in json.loads((V1 / "signoff.json").read_text())
    signoff = load_signoff(V1 / "signoff.json")
    assert signoff["schema_version"] == SCHEMA_VERSION
    model = signoff["devices"][0]["models"][0]
    assert model["latency_ms"]["n"] == 40 and isinstance(model["latency_ms"]["n"], int)  # v1 wrote 40.0
    assert model["end_to_end"]["texts"] == 34 and isinstance(model["end_to_end"]["texts"], int)
    (check,) = [g for g in model["gates"] if g["name"] == "device_test1_dimension"]
    assert (check["value"], check["threshold"]) == (True, True)  # v1 wrote 'true'
    validate_report(_save(signoff, tmp_path / "migrated" / "signoff.json"))


def test_a_v1_signoff_manifest_becomes_the_current_shape(tmp_path: Path) -> None:
    manifest = load_manifest(V1 / "manifest.json")
    assert (manifest["schema_version"], manifest["source"]) == (SCHEMA_VERSION, "deploy-test")
    assert manifest["run_id"] == "20250114-093012-7f3a" and manifest["exit_code"] == 1
    model = manifest["models"][0]
    assert (model["size_bytes"], model["is_quantized"], model["quantized_quality"]) == (22_972_370, True, 0.99612)
    assert model["host_quality"]["sts_retention"] == 0.99612 and model["host_gates_passed"] is True
    assert model["devices"][0]["sha256_matches"] is True and model["devices"][0]["latency_ms"]["n"] == 40
    assert manifest["devices"][0]["ort_versions"] == ["1.19.2"]
    validate_report(_save(manifest, tmp_path / "migrated" / "manifest.json"))


def test_a_v1_eval_manifest_becomes_the_one_shape(tmp_path: Path) -> None:
    manifest = load_manifest(V1 / "eval-manifest.json")
    assert (manifest["source"], manifest["run_id"], manifest["devices"]) == ("eval", None, [])
    assert manifest["passed"] is True and manifest["exit_code"] == 0
    (model,) = manifest["models"]
    assert model["host_quality"]["sts_retention"] == 0.99612  # was quality.stsSpearmanRetention
    assert model["host_gates_passed"] is True  # was gatesPassed
    validate_report(_save(manifest, tmp_path / "migrated" / "manifest.json"))


@pytest.mark.parametrize("loader", [load_signoff, load_manifest])
def test_a_newer_version_is_refused_naming_the_file_and_the_versions(loader, tmp_path: Path) -> None:
    path = tmp_path / "future.json"
    path.write_text(json.dumps({"schema_version": SCHEMA_VERSION + 1, "run_id": "x", "models": [], "devices": []}))
    with pytest.raises(HarnessError) as err:
        loader(path)
    message = str(err.value)
    assert "\n" not in message and str(path) in message
    assert f"schema_version {SCHEMA_VERSION + 1}" in message and f"versions 1 to {SCHEMA_VERSION}" in message


@pytest.mark.parametrize(
    ("content", "needle"),
    [
        (None, "no such file"),
        ("{not json", "not JSON"),
        ("[1, 2]", "not an object"),
        ('{"schema_version": "2"}', "schema_version '2'"),
        ('{"schema_version": 0}', "schema_version 0"),
        ('{"schema_version": 2, "run_id": "r", "models": [], "devices": {}}', "`devices`"),
        ('{"schema_version": 2, "run_id": "r", "models": [], "devices": [7]}', "devices[0]"),
        ('{"schema_version": 2, "run_id": "r", "models": [{}], "devices": []}', "models[0] has no string `model_id`"),
        ('{"schema_version": 2, "run_id": "r", "models": [], "devices": [{"models": [1]}]}', "devices[0].models[0]"),
    ],
)
@pytest.mark.unvalidated_reports  # the signoff.json is broken on purpose
def test_an_unreadable_signoff_is_one_line_naming_the_file(content: str | None, needle: str, tmp_path: Path) -> None:
    path = tmp_path / "run" / "signoff.json"
    if content is not None:
        path.parent.mkdir()
        path.write_text(content)
    with pytest.raises(HarnessError) as err:
        load_signoff(path)
    assert str(path) in str(err.value) and needle in str(err.value) and "\n" not in str(err.value)


def test_a_manifest_model_without_an_id_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "m.json"
    path.write_text(json.dumps({"schema_version": 2, "models": [{"path": "x"}], "devices": []}))
    with pytest.raises(HarnessError, match=r"models\[0\] has no string `id`"):
        load_manifest(path)
