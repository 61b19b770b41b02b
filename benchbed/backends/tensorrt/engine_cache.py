"""The engine cache: ``models/<network>/engines/<key>.engine`` plus ``<key>.manifest.json``.

The key is a sha256 over everything that changes an engine: the ONNX content hash, precision, profile
shapes, builder options, TensorRT version, GPU name + compute capability and driver. The manifest, written
by benchbed after a build, holds the engine's sha256; an engine is deserialized only when its bytes hash to
what benchbed wrote (an engine file is code TensorRT runs: never load one from elsewhere). A missing,
corrupt or tampered entry is reported as a reason and rebuilt, never a crash.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from benchbed.core.files import atomic_write_bytes, sha256_json

FORMAT = 1


def key_fields(onnx_sha256: str, precision: str, shapes: dict, builder_options: dict, trt_version: str,
               device: dict) -> dict:
    return {"format": FORMAT, "onnx_sha256": onnx_sha256, "precision": precision, "profile_shapes": shapes,
            "builder_options": builder_options, "tensorrt": trt_version, "gpu": device.get("name"),
            "compute_capability": device.get("compute_capability"), "driver": device.get("driver")}


@dataclass(frozen=True)
class EngineCache:
    folder: Path  # models/<network>/engines

    def paths(self, key: str) -> tuple[Path, Path]:
        return self.folder / f"{key}.engine", self.folder / f"{key}.manifest.json"

    def lookup(self, fields: dict) -> tuple[bytes | None, str]:
        """(engine bytes, "hit") when a verified entry exists, else (None, why it is not usable)."""
        key = sha256_json(fields)
        engine_path, manifest_path = self.paths(key)
        if not manifest_path.exists() or not engine_path.exists():
            return None, "not cached"
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            return None, "manifest unreadable"
        if manifest.get("key") != key or manifest.get("fields") != fields:
            return None, "manifest does not match the key"
        data = engine_path.read_bytes()
        if hashlib.sha256(data).hexdigest() != manifest.get("engine_sha256"):
            return None, "engine file does not match the sha256 benchbed wrote (corrupt or replaced)"
        return data, "hit"

    def store(self, fields: dict, engine: bytes, extra: dict | None = None) -> Path:
        """Write the engine, then its manifest (both atomically), so a manifest never names a partial file."""
        key = sha256_json(fields)
        engine_path, manifest_path = self.paths(key)
        self.folder.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(engine_path, engine)
        manifest = {"key": key, "fields": fields, "engine_sha256": hashlib.sha256(engine).hexdigest(),
                    "engine_bytes": len(engine), **(extra or {})}
        atomic_write_bytes(manifest_path, json.dumps(manifest, indent=2, sort_keys=True).encode())
        return engine_path
