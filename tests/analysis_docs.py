"""Result documents with chosen numbers, shaped like the worker's, for analysis tests."""

from __future__ import annotations

import numpy as np


def result_doc(network: str, *, phi: float | None = 0, mode: str = "preset", macs: float = 1e9, p50: float = 10.0,
               p99: float | None = None, throughput: float | None = None, backend: str = "onnxruntime",
               precision: str = "fp32", batch: int = 1, scenario: str = "single-stream", hardware: str | None = None,
               validity: str = "VALID", status: str = "ok", rss: int = 100 * 2**20, energy: float | None = None) -> dict:
    cell = {"network": network, "backend": backend, "precision": precision, "scenario": scenario, "batch": batch}
    if hardware:
        cell["hardware"] = hardware
    p99 = p99 if p99 is not None else p50 * 1.2
    doc = {"cell": cell, "status": status, "network_info": {"phi": phi, "mode": mode, "macs": int(macs),
                                                            "params": 1_000_000, "resolution": 224},
           "validity": {"status": validity, "reasons": [] if validity == "VALID" else ["parity failed"],
                        "warnings": []},
           "timing": {"device": "cpu"}}
    if status == "ok":
        doc["stats"] = {"p50_ms": p50, "p90_ms": p50 * 1.1, "p95_ms": p50 * 1.15, "p99_ms": p99,
                        "throughput_ips": throughput if throughput is not None else batch * 1000.0 / p50}
        doc["samples_ms"] = list(np.linspace(p50 * 0.9, p99, 101))
        doc["memory"] = {"peak_rss_bytes": rss, "device": None}
        if energy is not None:
            doc["nvml"] = {"energy_per_image_mj": energy * 1000.0}  # the NVML tracker's field
    else:
        doc["error"] = "worker died (SIGKILL)"
    return doc


ENV = {"cpu_model": "Test CPU", "physical_cores": 8, "gpus": []}
