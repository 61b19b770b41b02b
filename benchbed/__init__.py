"""benchbed: compound-scaled EfficientNets, exported, compiled and measured.

Public API (everything else is private and may change)::

    benchbed.scaling_spec(phi, mode)     # the coefficients (pure math)
    benchbed.network_spec(phi, mode)     # the scaled architecture with params and MACs (no torch)
    benchbed.build_model(phi, mode)      # the torch module
    benchbed.export_network(spec, ...)   # verified ONNX in models/
"""

from __future__ import annotations

__version__ = "0.1.0"

from benchbed.core.offline import keep_libraries_offline  # noqa: E402

keep_libraries_offline()  # before torch, openvino, nncf or ray can be imported by anything below

from benchbed.networks import build_model, network_spec  # noqa: E402
from benchbed.core.errors import BenchbedError  # noqa: E402
from benchbed.networks.scaling import ScalingSpec, parse_phi_list, scaling_spec  # noqa: E402


def export_network(*args, **kwargs):  # lazy: keeps `import benchbed` free of onnx/torch
    from benchbed.artifacts.export import export_network as _export

    return _export(*args, **kwargs)


__all__ = ["__version__", "BenchbedError", "ScalingSpec", "build_model", "export_network", "network_spec",
           "parse_phi_list", "scaling_spec"]
