"""Keep every library benchbed loads from sending anything anywhere: called before any of them is imported.

benchbed measures and reports locally; it never sends traffic. Several libraries it loads would:
OpenVINO's Python package (and NNCF) import ``openvino_telemetry``, which posts an "import" event to
Google Analytics; Ray reports usage statistics from a cluster's head node; Hugging Face libraries
(pulled in by some optional extras) reach their hub. Each is switched off the way its authors
support, for this process and every worker it starts (environment variables are inherited):

- ``openvino_telemetry`` is hidden from ``import``: OpenVINO (``tools/ovc/telemetry_utils.py``) and
  NNCF then fall back to their own no-op stubs. Its opt-out file is not used: it lives in the
  user's home and would change the user's other tools.
- Ray: ``RAY_USAGE_STATS_ENABLED=0`` (read by ``ray._common.usage.usage_lib``).
- NNCF: ``NNCF_CI=1`` (its telemetry is off in CI); Hugging Face: ``HF_HUB_OFFLINE=1``,
  ``HF_HUB_DISABLE_TELEMETRY=1``; the cross-tool ``DO_NOT_TRACK=1``.
- onnxruntime's native 1DS telemetry (in ``libonnxruntime``, below Python): ``ORT_DISABLE_TELEMETRY=1``,
  read once when the library loads. Without it every session writes a device id and an event queue to
  ``~/.cache/Microsoft/DeveloperTools/.onnxruntime`` and resolves ``mobile.events.data.microsoft.com``.
  ``onnxruntime.disable_telemetry_events()`` does not stop either, and neither does the variable set
  after ``import onnxruntime``: so it must precede the import, and a process that imported onnxruntime
  before benchbed is told so once (:func:`libraries_loaded_too_early`).
"""

from __future__ import annotations

import os
import sys
import warnings

#: Forced, not defaulted: benchbed's promise holds whatever the caller's environment says.
OFFLINE_ENVIRONMENT = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "NNCF_CI": "1",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",
    "ORT_DISABLE_TELEMETRY": "1",
}

#: Modules whose only job is telemetry; importing them fails, and their users fall back to stubs.
TELEMETRY_MODULES = ("openvino_telemetry",)


#: Libraries that read their switch once, when loaded: imported before benchbed, they keep telemetry on.
READ_AT_LOAD = ("onnxruntime",)


def libraries_loaded_too_early() -> list[str]:
    """The libraries already loaded whose telemetry switch was read before benchbed could set it."""
    return [name for name in READ_AT_LOAD if sys.modules.get(name) is not None]


def keep_libraries_offline() -> None:
    early = libraries_loaded_too_early() if os.environ.get("ORT_DISABLE_TELEMETRY") != "1" else []
    if early:
        warnings.warn(f"{', '.join(early)} was imported before benchbed, so its built-in telemetry is on in this "
                      "process: import benchbed first, or set ORT_DISABLE_TELEMETRY=1 before starting Python",
                      RuntimeWarning, stacklevel=3)
    os.environ.update(OFFLINE_ENVIRONMENT)
    for name in TELEMETRY_MODULES:
        if name not in sys.modules:
            sys.modules[name] = None  # type: ignore[assignment]  # `import name` raises ImportError
