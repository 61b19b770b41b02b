"""``benchbed info``: the environment fingerprint and which backends are usable here, and why not."""

from __future__ import annotations

from benchbed.cli.app import app, console, print_json
from benchbed.cli.options import FormatOpt, OutputFormat


def onnxruntime_package() -> str:
    """Which onnxruntime distribution is installed: they must never both be (they overwrite each other)."""
    from benchbed.core.versions import package_version

    cpu, gpu = package_version("onnxruntime"), package_version("onnxruntime-gpu")
    if cpu and gpu:
        return f"CONFLICT: onnxruntime {cpu} and onnxruntime-gpu {gpu} both installed; uninstall both, install one"
    return f"onnxruntime-gpu {gpu}" if gpu else f"onnxruntime {cpu} (CPU)" if cpu else "none"


@app.command()
def info(output_format: FormatOpt = OutputFormat.table) -> None:
    """The environment fingerprint and which backends are usable here, and why not."""
    from benchbed.backends import probe_all
    from benchbed.core.environment import environment
    from benchbed.report.terminal import backends_table, environment_table

    env = environment()
    backends = [{"backend": n, "usable": ok, "reason": why} for n, ok, why in probe_all()]
    package = onnxruntime_package()
    if output_format is OutputFormat.json:
        env.pop("cpu_flags", None)
        return print_json({"environment": env, "onnxruntime_package": package, "backends": backends})
    console.print(environment_table(env, package))
    console.print(backends_table(backends))
