"""Export a network to verified ONNX in ``models/``, with a manifest and a content-hash cache.

Layout: ``models/<network name>/<precision>.onnx`` next to ``<precision>.manifest.json``. An artifact
is reused only when its manifest's cache key (spec, precision, options, opset, library versions)
matches and the file's sha256 is the one the manifest recorded; otherwise it is rebuilt. The fp32
export is checked with the full ``onnx.checker``, shape inference, and parity against PyTorch through
onnxruntime; fp16/int8 are transforms of the fp32 file, checked against the same PyTorch outputs.
"""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from benchbed import __version__
from benchbed.networks import NetworkSpec
from benchbed.core.files import atomic_write_bytes, atomic_write_json, ensure_writable_dir, read_json, sha256_file, sha256_json
from benchbed.core.errors import BenchbedError
from benchbed.artifacts.precision import TransformOptions, get_precision
from benchbed.artifacts.parity import INPUT_NAME, OUTPUT_NAME, onnx_outputs, parity_figures
from benchbed.artifacts.synthetic import synthetic_images
from benchbed.core.versions import library_versions

OPSET = 17
MANIFEST_FORMAT = 1
PARITY_BATCH = 3  # differs from the tracing batch (2): proves the batch axis is really dynamic
PARITY_SEED = 12345
#: PyTorch logits on the parity batch, beside the network's artifacts (hashed in every manifest)
REFERENCE_FILE = "reference_outputs.npy"

Progress = Callable[[str], None]


@dataclass(frozen=True)
class Artifact:
    """An ONNX file on disk and the manifest that vouches for it."""

    path: Path
    manifest: dict

    @property
    def sha256(self) -> str:
        return self.manifest["sha256"]

    @property
    def reference_path(self) -> Path:
        """The PyTorch reference outputs this artifact's parity is checked against (hash in the manifest)."""
        return self.path.parent / REFERENCE_FILE


def artifact_paths(out_dir: Path, spec: NetworkSpec, precision: str) -> tuple[Path, Path]:
    folder = Path(out_dir) / spec.name
    return folder / f"{precision}.onnx", folder / f"{precision}.manifest.json"


def _cache_key(spec: NetworkSpec, precision: str, options: TransformOptions, calibration_seed: int,
               parent_sha: str | None) -> dict:
    base = ("torch", "onnx", "onnxruntime", "onnxruntime-gpu", "onnxconverter-common")
    versions = library_versions(base + tuple(n for n in get_precision(precision).libraries if n not in base))
    key = {
        "format": MANIFEST_FORMAT,
        "network": spec.scaling.to_dict(),
        "baseline": spec.baseline,
        "num_classes": spec.num_classes,
        "precision": precision,
        "options": options.key(precision),
        "opset": OPSET,
        "seed": calibration_seed,
        "parent_sha256": parent_sha,
        "versions": versions,
    }
    if spec.custom_baseline is not None:  # a user's YAML: its content, so an edited file is a new artifact
        key["baseline_sha256"] = sha256_json(spec.custom_baseline.to_dict())
    return key


def cached_artifact(onnx_path: Path, manifest_path: Path, key: dict) -> tuple[Artifact | None, str]:
    """The cached artifact if it is current and intact, else None and why ("missing", "stale", "corrupt")."""
    manifest = read_json(manifest_path)
    if not onnx_path.exists() or manifest is None:
        return None, "missing" if not onnx_path.exists() and manifest is None else "corrupt"
    if manifest.get("key_sha256") != sha256_json(key):
        return None, "stale"
    if sha256_file(onnx_path) != manifest.get("sha256"):
        return None, "corrupt"
    reference = manifest.get("reference") or {}
    if not reference.get("sha256"):
        return None, "stale"  # written before references were hashed
    ref_path = onnx_path.parent / REFERENCE_FILE
    if not ref_path.exists() or sha256_file(ref_path) != reference["sha256"]:
        return None, "corrupt (its PyTorch reference outputs changed)"
    return Artifact(onnx_path, manifest), "hit"


def _check_parity(precision: str, figures: dict) -> dict:
    rule = get_precision(precision)
    figures = dict(figures, tolerance=rule.tolerance, tolerance_reason=rule.why_tolerance)
    figures["passed"] = bool(figures["max_rel_error"] <= rule.tolerance)
    return figures


def _verify_onnx(path: Path) -> None:
    """Full checker (with shape inference) on the file: raises on an invalid graph."""
    import onnx

    onnx.checker.check_model(str(path), full_check=True)
    inferred = onnx.shape_inference.infer_shapes(onnx.load(str(path)), check_type=True, strict_mode=True)
    dims = inferred.graph.output[0].type.tensor_type.shape.dim
    if not dims or not dims[0].dim_param:
        raise BenchbedError(f"{path}: exported output has no dynamic batch axis")


def _torch_reference(spec: NetworkSpec, model_factory: Callable[[], object], folder: Path) -> np.ndarray:
    """PyTorch logits on the parity batch, saved next to the artifacts so transforms need no torch run."""
    import io

    import torch

    model = model_factory()
    images = torch.from_numpy(synthetic_images(PARITY_BATCH, spec.resolution, seed=PARITY_SEED))
    with torch.no_grad():
        out = model(images).numpy().astype(np.float32)
    buffer = io.BytesIO()
    np.save(buffer, out)
    atomic_write_bytes(folder / REFERENCE_FILE, buffer.getvalue())
    return out


def _export_torch(model, spec: NetworkSpec, dst: Path) -> None:
    import torch

    dummy = torch.from_numpy(synthetic_images(2, spec.resolution, seed=PARITY_SEED + 1))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        torch.onnx.export(
            model,
            (dummy,),
            str(dst),
            input_names=[INPUT_NAME],
            output_names=[OUTPUT_NAME],
            opset_version=OPSET,
            dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
            do_constant_folding=True,
            dynamo=False,  # the TorchScript exporter: 1 s for B0 where dynamo takes 9 s, same graph semantics
            external_data=False,
        )


def export_network(
    spec: NetworkSpec,
    precision: str = "fp32",
    out_dir: str | Path = "models",
    *,
    options: TransformOptions = TransformOptions(),
    seed: int = 0,
    weights: str | None = None,
    force: bool = False,
    progress: Progress = lambda message: None,
) -> Artifact:
    """The verified ONNX artifact for ``spec`` at ``precision``, from cache when current and intact."""
    rule = get_precision(precision)
    out_dir = ensure_writable_dir(out_dir)
    onnx_path, manifest_path = artifact_paths(out_dir, spec, precision)
    onnx_path.parent.mkdir(parents=True, exist_ok=True)
    parent: Artifact | None = None
    if rule.transform is not None:
        reference_missing = not (onnx_path.parent / REFERENCE_FILE).exists()
        parent = export_network(spec, "fp32", out_dir, seed=seed, weights=weights, force=force or reference_missing,
                                progress=progress)
    key = _cache_key(spec, precision, options, seed if weights is None else -1,
                     parent.sha256 if parent else (sha256_file(weights) if weights else None))
    if not force:
        artifact, state = cached_artifact(onnx_path, manifest_path, key)
        if artifact is not None:
            progress(f"{spec.name} {precision}: cached")
            return artifact
        if state != "missing":
            progress(f"{spec.name} {precision}: cached artifact is {state}, rebuilding")

    started = time.perf_counter()
    tmp_path = onnx_path.with_name(f".{onnx_path.name}.partial")
    ref_path = onnx_path.parent / REFERENCE_FILE
    try:
        if parent is None:
            from benchbed.networks import build_network

            progress(f"{spec.name} fp32: building the network")
            model = build_network(spec, weights=weights, seed=seed)
            reference = _torch_reference(spec, lambda: model, onnx_path.parent)
            progress(f"{spec.name} fp32: exporting to ONNX")
            _export_torch(model, spec, tmp_path)
            details: dict = {"exporter": "torch.onnx.export (TorchScript)", "weights": weights or "random+bn-calibrated"}
        else:
            reference = np.load(ref_path)
            progress(f"{spec.name} {precision}: converting from fp32")
            details = rule.transform(parent.path, tmp_path, spec.resolution, options)
        _verify_onnx(tmp_path)
        progress(f"{spec.name} {precision}: checking parity")
        images = synthetic_images(PARITY_BATCH, spec.resolution, seed=PARITY_SEED)
        parity = _check_parity(precision, parity_figures(onnx_outputs(tmp_path, images), reference))
        if not parity["passed"] and rule.parity_is_fatal:
            raise BenchbedError(
                f"{spec.name} {precision}: ONNX output differs from PyTorch by {parity['max_rel_error']:.2e} "
                f"(relative), above the {rule.tolerance:g} tolerance; the export is wrong, not kept"
            )
        if not parity["passed"]:
            progress(f"{spec.name} {precision}: WARNING parity {parity['max_rel_error']:.2e} exceeds "
                     f"{rule.tolerance:g}; kept and recorded, measurements of it will be INVALID")
        tmp_path.replace(onnx_path)
    except BaseException:
        tmp_path.unlink(missing_ok=True)
        raise
    summary = spec.summary()
    manifest = {
        "benchbed_manifest": MANIFEST_FORMAT,
        "benchbed_version": __version__,
        "key": key,
        "key_sha256": sha256_json(key),
        "name": spec.name,
        "precision": precision,
        "path": onnx_path.name,
        "sha256": sha256_file(onnx_path),
        "size_bytes": onnx_path.stat().st_size,
        "spec": summary,
        "params": summary["params"],
        "macs": summary["macs"],
        "opset": OPSET,
        "input": {"name": INPUT_NAME, "shape": ["batch", 3, spec.resolution, spec.resolution]},
        "output": {"name": OUTPUT_NAME, "shape": ["batch", spec.num_classes]},
        "versions": library_versions(),
        "parity": parity,
        # the reference the parity check (here and in every cell) compares against: a changed file is a miss
        "reference": {"path": REFERENCE_FILE, "sha256": sha256_file(ref_path)},
        "parent": {"path": parent.path.name, "sha256": parent.sha256} if parent else None,
        "details": details,
        "export_seconds": round(time.perf_counter() - started, 3),
        "created": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    atomic_write_json(manifest_path, manifest)
    progress(f"{spec.name} {precision}: exported in {manifest['export_seconds']:.1f}s")
    return Artifact(onnx_path, manifest)
