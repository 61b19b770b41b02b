"""The CLI package: field -> flag messages, text printed as text (not rich markup), one module per command."""

from __future__ import annotations

import dataclasses
import re
import sys
import io

import pytest
import typer
from rich.console import Console

from conftest import TINY_ARGS, run_cli


def _group():
    from benchbed.cli import app

    return typer.main.get_command(app)


def _options(command: str) -> set[str]:
    """Every flag spelling of ``benchbed COMMAND``."""
    group = _group()
    return {name for param in group.commands[command].params for name in param.opts + param.secondary_opts}


#: (config class, the command whose flags set it, its fields that no flag sets)
CONFIGS = [("benchbed.sweep:SweepConfig", "sweep", {"overrides", "profile", "extra"}),
           ("benchbed.measure.timing:TimingProfile", "sweep", {"name", "warmup_iterations"}),
           ("benchbed.sweep.session:RunOptions", "sweep", set()),
           ("benchbed.analysis.compare:Thresholds", "compare", {"confidence", "resamples", "seed"}),
           ("benchbed.analysis.procure:Constraints", "procure", set()),
           ("benchbed.analysis.abtest:ABTest", "abtest", {"settings"}),
           ("benchbed.analysis.interleave:InterleaveSettings", "abtest", {"burst_iterations", "seed"})]


@pytest.mark.parametrize("config,command,flagless", CONFIGS, ids=[c[0].split(":")[1] for c in CONFIGS])
def test_every_config_field_maps_to_a_flag_of_its_command(config, command, flagless):
    import importlib

    from benchbed.cli.flags import flag_for

    module, name = config.split(":")
    options = _options(command)
    for field in dataclasses.fields(getattr(importlib.import_module(module), name)):
        if field.name not in flagless:
            assert flag_for(field.name, command) in options, (name, field.name)


def test_abtest_flag_defaults_are_the_settings_defaults():
    # the command imports its settings lazily, so its defaults are spelled twice: keep them equal
    from benchbed.analysis.interleave import InterleaveSettings
    from benchbed.cli.flags import flag_for

    params = {opt: p for p in _group().commands["abtest"].params for opt in p.opts}
    for field in dataclasses.fields(InterleaveSettings):
        if field.name not in {"burst_iterations", "seed"}:
            assert params[flag_for(field.name, "abtest")].default == field.default, field.name


def test_every_listed_flag_exists():
    from benchbed.cli.flags import COMMAND_FLAGS, FLAGS

    every = set().union(*(_options(c) for c in _group().commands))
    assert set(FLAGS.values()) <= every
    for command, flags in COMMAND_FLAGS.items():
        assert set(flags.values()) <= _options(command)


def test_the_library_names_fields_and_the_cli_names_flags():
    from benchbed.cli.flags import describe
    from benchbed.core.errors import ConfigError, UnknownChoiceError
    from benchbed.networks.scaling import scaling_spec

    with pytest.raises(ConfigError) as caught:
        scaling_spec(1, "compound", alpha=0.9)
    assert str(caught.value) == "alpha must be >= 1 (the paper's constraint α, β, γ >= 1), got 0.9"
    assert describe(caught.value) == "--alpha must be >= 1 (the paper's constraint α, β, γ >= 1), got 0.9"
    mentions = ConfigError("address", "and {hardware} need {executor} ray", mentions=("hardware", "executor"))
    assert str(mentions) == "address and hardware need executor ray"
    assert describe(mentions) == "--address and --hardware need --executor ray"
    unknown = UnknownChoiceError("accuracy_source", "imagenet", ("paper_v5", "timm"))
    assert str(unknown) == "unknown accuracy source 'imagenet'; choose one of paper_v5, timm"
    assert describe(unknown) == "unknown --accuracy-source 'imagenet'; choose one of paper_v5, timm"
    assert describe(ConfigError("sla_ms", "must be > 0"), "procure") == "--sla must be > 0"
    assert describe(ConfigError("sla_ms", "must be > 0"), "sweep") == "--sla-p99 must be > 0"


@pytest.mark.parametrize("args,line", [
    (["generate", "--mode", "compound", "--beta", "0.5"],
     "--beta must be >= 1 (the paper's constraint α, β, γ >= 1), got 0.5"),
    (["generate", "--alpha", "0.9"], "--alpha must be >= 1 (the paper's constraint α, β, γ >= 1), got 0.9"),
    (["generate", "--resolution", "4"], "--resolution must be an integer >= 8, got 4"),
    (["search", "--objective", "accuracy"], "unknown --objective 'accuracy'; choose one of flops, latency"),
    (["search", "--tolerance", "0"], "--tolerance must be > 0, got 0"),
    (["compare", "a", "b", "--min-effect", "2"], "--min-effect must be a fraction in [0, 1), got 2"),
    (["procure", "x", "--prices", "p.yaml", "--target-qps", "0"], "--target-qps must be > 0, got 0"),
    (["abtest", "--base-python", "/no/python"], "--base-python /no/python: no such interpreter"),
])
def test_library_errors_print_the_flag(args, line):
    result = run_cli(*args)
    assert result.returncode == 2 and result.stderr.strip() == f"benchbed: error: {line}", result.stderr


def test_sweep_prints_skipped_backends_install_hints_whole(tmp_path):
    """Bug: "skipped tensorrt: ... (pip install 'benchbed'; ...)": rich markup ate "[tensorrt]"."""
    from benchbed.backends import AUTO_ORDER, probe_all

    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, "--quick", "--db", str(tmp_path / "db.sqlite"),
                     "--models", str(tmp_path / "m"), "--reports", str(tmp_path / "r"), "--resume")
    assert result.returncode == 2 and "no earlier run" in result.stderr, result.stderr  # stops before measuring
    skipped = []
    for name, usable, reason in probe_all():
        if usable and name in AUTO_ORDER:
            break
        if name in AUTO_ORDER:
            skipped.append(f"  skipped {name}: {reason}")
    assert skipped and all(line in result.stderr.splitlines() for line in skipped), result.stderr
    assert "pip install 'benchbed[" in result.stderr


def test_sweep_lines_and_tables_show_brackets_as_text():
    from benchbed.report.terminal import RichSweepUI

    out = io.StringIO()
    console = Console(file=out, width=200)
    with RichSweepUI(console) as ui:
        ui.phase("b0 [hw:a]", "note: pip install 'benchbed[gpu]'")  # (the dead SweepUI.message is gone)
        console.print(ui.progress.tasks[ui.current].description, markup=False)
        ui.finish_cell("b0 [hw:a]", {"status": "failed", "error": "needs pip install 'benchbed[mlperf]'"})
    text = out.getvalue()
    for needle in ("'benchbed[gpu]'", "b0 [hw:a]: FAILED", "'benchbed[mlperf]'"):
        assert needle in text, text
    from benchbed.report.terminal import plain_table

    console.print(plain_table("run [hw:testbox]", ["backend", "why"], [["tensorrt", "pip install 'benchbed[tensorrt]'"]]))
    assert "run [hw:testbox]" in out.getvalue() and "'benchbed[tensorrt]'" in out.getvalue()


def test_messages_name_flags_that_exist():
    """Bug: messages named --max-qps and min-seconds, which no command has (the flag is --duration)."""
    from benchbed.core.errors import BenchbedError
    from benchbed.measure.timing import TimingProfile
    from benchbed.scenarios.mlperf.server_search import search_max_qps

    from benchbed.cli.flags import describe

    sweep = _options("sweep")
    with pytest.raises(BenchbedError) as caught:  # the library names fields; the CLI shows the flags
        TimingProfile("custom", 0.1, 1, 5.0, 5, 1.0).validate()
    assert "--duration" in describe(caught.value) and "min-seconds" not in describe(caught.value)
    with pytest.raises(BenchbedError) as caught:
        TimingProfile("custom", 0.1, 1, -1.0, 5, 1.0).validate()
    assert describe(caught.value).split()[0] in sweep
    ceiling = search_max_qps(lambda qps: {"valid": True, "throughput_sps": qps, "reasons": []}, 10, 1, 40)
    assert ceiling.met_sla and "40 QPS" in ceiling.note
    assert all(flag in sweep for flag in re.findall(r"--[a-z-]+", ceiling.note))  # --max-qps exists now


def test_sweep_duration_above_the_cap_names_both_flags(tmp_path):
    result = run_cli("sweep", "--phi", "0", *TINY_ARGS, "--backend", "null", "--duration", "5", "--max-seconds", "1",
                     "--db", str(tmp_path / "db.sqlite"), "--models", str(tmp_path / "m"), "--reports",
                     str(tmp_path / "r"))
    assert result.returncode == 2 and "--max-seconds (1) must be >= --duration" in result.stderr, result.stderr


def test_each_command_is_its_own_module():
    for name, command in _group().commands.items():
        assert command.callback.__module__ == f"benchbed.cli.{name}"


def test_output_problems_are_one_line_not_a_traceback(tmp_path):
    """An ASCII-only terminal (φ, ≥ in tables), stdout on a full device, or stdout closed."""
    import subprocess
    import sys

    from conftest import CLI_CWD

    ascii_run = run_cli("generate", "--phi", "0-1", env={"PYTHONIOENCODING": "ascii"})
    assert ascii_run.returncode == 0 and "Traceback" not in ascii_run.stderr, ascii_run.stderr
    assert "\\u03c6" in ascii_run.stdout  # escaped, not a UnicodeEncodeError
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "benchbed.cli", "generate", "--phi", "0"], stdout=full,
                              stderr=subprocess.PIPE, text=True, cwd=CLI_CWD, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines() == [
        "benchbed: error: cannot write the output: No space left on device (stdout closed, a full device or a "
        "closed pipe)"]
    closed = subprocess.run([sys.executable, "-m", "benchbed.cli", "generate", "--phi", "0"], stdout=None,
                            stderr=subprocess.PIPE, text=True, cwd=CLI_CWD, timeout=120, stdin=subprocess.DEVNULL,
                            close_fds=True, preexec_fn=lambda: __import__("os").close(1))
    assert closed.returncode in (0, 2) and "Traceback" not in closed.stderr, closed.stderr


@pytest.mark.parametrize("args,line", [
    (["history", "--min-effect", "-1", "--db", "none.sqlite"],
     "benchbed: error: --min-effect must be a fraction in [0, 1), e.g. 0.05, got -1"),
    (["abtest", "--base-python", "/usr/bin/python3", "--sweep-args", '--phi "0'],
     "benchbed: error: --sweep-args '--phi \"0' cannot be split into arguments: No closing quotation"),
])
def test_careless_values_are_one_line_errors(args, line):
    result = run_cli(*args)
    assert result.returncode == 2 and result.stderr.strip().splitlines() == [line], result.stderr


@pytest.mark.parametrize("args,words", [
    (["sweep", "--phi", ",".join(str(i) for i in range(65)), "--mode", "compound"], "more than 64 values"),
    (["sweep", "--duration", "1e9"], "at most 3600 seconds"),
    (["sweep", "--paired-budget", "1e12"], "--paired-budget"),
    (["sweep", "--max-batch", "1000000000"], "must be 1 to 4096"),
    (["sweep", "--threads", "100000"], "4 per core"),
    (["abtest", "--base-python", sys.executable, "--budget", "1e12"], "at most 3600 per comparison"),
    (["search", "--objective", "latency", "--step", "0.02", "--tolerance", "10"], "candidates are within"),
], ids=["phi-commas", "duration", "paired-budget", "max-batch", "threads", "abtest-budget", "search-candidates"])
def test_unbounded_work_is_refused_before_it_starts(tmp_path, args, words):
    """#27 items 27, 30-32 and 42: each bound is one line and exit 2, decided before anything runs."""
    done = run_cli(*args, "--db", str(tmp_path / "db.sqlite"), "--models", str(tmp_path / "m"), timeout=120) \
        if args[0] == "sweep" else run_cli(*args, timeout=120)
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2 and len(lines) == 1 and words in lines[0], done.stderr
    assert not (tmp_path / "db.sqlite").exists() and not (tmp_path / "m").exists()
