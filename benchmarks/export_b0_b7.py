"""Export time and ONNX size of the published B0..B7 on this machine (fresh exports, no cache).

    python benchmarks/export_b0_b7.py [--phi 0-7] [--out /tmp/benchbed-export-bench]

Export time covers building the network, BatchNorm calibration, torch.onnx.export, the full
onnx.checker, shape inference and the onnxruntime parity run (what `benchbed export` does cold).
"""

from __future__ import annotations

import argparse
import json
import platform
import time

from benchbed.networks import network_spec
from benchbed.artifacts.export import export_network
from benchbed.networks.scaling import parse_phi_list
from benchbed.core.versions import library_versions


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--phi", default="0-7")
    parser.add_argument("--out", default="/tmp/benchbed-export-bench")
    parser.add_argument("--precision", default="fp32")
    args = parser.parse_args()
    rows = []
    print(f"{'network':<18} {'params':>11} {'GMACs':>7} {'export s':>9} {'ONNX MB':>8} {'parity':>9}")
    for phi in parse_phi_list(args.phi):
        spec = network_spec(phi)
        started = time.perf_counter()
        artifact = export_network(spec, args.precision, args.out, force=True)
        wall = time.perf_counter() - started
        m = artifact.manifest
        row = {"name": spec.name, "params": m["params"], "macs": m["macs"], "wall_seconds": round(wall, 2),
               "size_bytes": m["size_bytes"], "max_rel_error": m["parity"]["max_rel_error"]}
        rows.append(row)
        print(f"{spec.name:<18} {row['params']:>11,} {row['macs'] / 1e9:>7.3f} {wall:>9.1f} "
              f"{row['size_bytes'] / 1e6:>8.1f} {row['max_rel_error']:>9.1e}", flush=True)
    print(json.dumps({"machine": platform.processor() or platform.machine(), "versions": library_versions(),
                      "rows": rows}))


if __name__ == "__main__":
    main()
