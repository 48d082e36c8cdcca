"""schemas/ and docs/report-schema.md: valid draft 2020-12 schemas that describe every field, a
page generated from them that is current, and the CLI's eval manifest held to them."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import jsonschema
import pytest

from harness.settings import PROJECT_ROOT, SCHEMAS_DIR
from tests.helpers import run_cli, validate_report

SCHEMAS = sorted(SCHEMAS_DIR.glob("*.schema.json"))


def _generator():
    spec = importlib.util.spec_from_file_location("gen_schema_doc", PROJECT_ROOT / "scripts" / "gen_schema_doc.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _properties(node: object, path: str = "") -> list[tuple[str, dict]]:
    found = []
    if isinstance(node, dict):
        for name, child in (node.get("properties") or {}).items():
            found.append((f"{path}.{name}", child))
        for key, child in node.items():
            found += _properties(child, f"{path}/{key}")
    return found


def test_both_schemas_are_valid_draft_2020_12() -> None:
    assert [p.name for p in SCHEMAS] == ["manifest.schema.json", "signoff.schema.json"]
    for path in SCHEMAS:
        schema = json.loads(path.read_text())
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema.Draft202012Validator.check_schema(schema)
        undocumented = [where for where, node in _properties(schema) if not node.get("description")]
        assert not undocumented, f"{path.name}: fields without a description: {undocumented}"


def test_the_doc_is_generated_from_the_schemas_and_current() -> None:
    doc = PROJECT_ROOT / "docs" / "report-schema.md"
    assert doc.read_text(encoding="utf-8") == _generator().render(), (
        "docs/report-schema.md is out of date: run .venv/bin/python scripts/gen_schema_doc.py"
    )
    assert "| `models[].` | `sizeBytes` | `size_bytes` |" in doc.read_text(encoding="utf-8")
    assert "docs/report-schema.md" in (PROJECT_ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.unvalidated_reports  # broken on purpose
def test_the_schemas_refuse_old_keys_float_counts_and_no_version(written: dict[str, Path], tmp_path: Path) -> None:
    signoff = json.loads(written["json"].read_text())
    manifest = json.loads(written["manifest"].read_text())
    broken = {
        "camel_case": (manifest | {"runId": manifest["run_id"]}, "manifest.json", "runId"),
        "float_count": (_with_float_count(signoff), "signoff.json", "is not of type 'integer'"),
        "no_version": ({k: v for k, v in signoff.items() if k != "schema_version"}, "signoff.json", "schema_version"),
        "newer_version": (manifest | {"schema_version": 3}, "manifest.json", "schema_version"),
    }
    for case, (data, name, needle) in broken.items():
        path = tmp_path / case / name
        path.parent.mkdir()
        path.write_text(json.dumps(data))
        with pytest.raises(AssertionError, match=needle):
            validate_report(path)


def _with_float_count(signoff: dict) -> dict:
    data = json.loads(json.dumps(signoff))
    data["summary"]["devices"]["total"] = 3.0  # what version 1 wrote for counts
    return data


def test_the_eval_commands_manifest_matches_the_schema_and_points_at_the_model(tmp_path: Path) -> None:
    path = tmp_path / "release" / "manifest.json"
    result = run_cli("eval", "AVA-ONX-384-FAST-INT8", "--limit", "5", "--manifest", str(path))
    assert result.returncode in (0, 1), result.stderr[-2000:]
    manifest = validate_report(path)
    (model,) = manifest["models"]
    assert (manifest["source"], manifest["schema_version"], model["id"]) == ("eval", 2, "AVA-ONX-384-FAST-INT8")
    assert Path(model["path"]).is_absolute() and Path(model["path"]).is_file()
    from harness.fileio import sha256_file

    assert sha256_file(Path(model["path"])) == model["sha256"]
