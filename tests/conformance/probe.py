"""Ask a real package about names in a subprocess (``describe.py``), so it never enters this process.

The doubles replace ``tensorrt``, ``cuda.bindings.runtime``, ``pynvml`` and ``onnxruntime`` in
``sys.modules`` during tests; importing the real ones here could leak into those tests or the other way
round. A subprocess with only the real package's folder on ``PYTHONPATH`` keeps both sides clean.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

DESCRIBE = Path(__file__).with_name("describe.py")
ROOT = Path(__file__).resolve().parents[2]


@dataclass(frozen=True)
class RealEnv:
    """Where a real package lies: folders for ``PYTHONPATH`` and ``LD_LIBRARY_PATH``."""

    python_path: tuple[Path, ...]
    library_path: tuple[Path, ...] = ()
    extra_env: dict = field(default_factory=dict)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "LD_LIBRARY_PATH")}
        env["PYTHONPATH"] = os.pathsep.join(str(p) for p in self.python_path)
        if self.library_path:
            env["LD_LIBRARY_PATH"] = os.pathsep.join(str(p) for p in self.library_path)
        env["PYTHONNOUSERSITE"] = "1"
        env.update(self.extra_env)
        return env

    def run(self, args: list[str], stdin: str = "", timeout: float = 120,
            cwd: Path | None = None) -> subprocess.CompletedProcess:
        """``python -P args`` (-P: the script's folder, full of test modules, stays off sys.path)."""
        return subprocess.run([sys.executable, "-P", *args], input=stdin, capture_output=True, text=True,
                              timeout=timeout, env=self.env(), cwd=cwd or ROOT)


def describe(real: RealEnv, module: str, paths: list[str], code: dict[str, str] | None = None) -> dict:
    """The real module's answers for ``paths`` and ``code`` (see describe.py)."""
    request = json.dumps({"module": module, "paths": sorted(set(paths)), "code": code or {}})
    done = real.run([str(DESCRIBE)], stdin=request)
    if done.returncode != 0:
        raise RuntimeError(f"describe {module} failed (exit {done.returncode}):\n{done.stderr[-4000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])
