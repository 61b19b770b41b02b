"""The sweep session (what ``benchbed sweep`` runs): timing overrides, run options, the Ctrl-C policy."""

from __future__ import annotations

import pytest

from benchbed.core.errors import ConfigError, UnknownChoiceError
from benchbed.measure.timing import get_profile
from benchbed.sweep import SweepConfig
from benchbed.sweep.session import RunOptions, SweepInterrupted, SweepSession, timing_profile


def test_timing_profile_overrides_and_raises_the_cap_only_when_not_given():
    assert timing_profile("quick") == get_profile("quick")
    longer = timing_profile("quick", min_seconds=60)
    assert longer.name == "quick+custom" and longer.min_seconds == 60 and longer.max_seconds == 240
    capped = timing_profile("quick", min_seconds=60, max_seconds=10)
    assert capped.max_seconds == 10  # the user's cap stands (and validation refuses it later)


def test_run_options_refuse_what_the_executor_cannot_use():
    with pytest.raises(UnknownChoiceError, match="unknown executor 'spark'"):
        RunOptions(executor="spark")
    with pytest.raises(ConfigError, match="ray_retries must be >= 0"):
        RunOptions(executor="ray", ray_retries=-1)
    config = _config("x", hardware=["A100"])
    with pytest.raises(ConfigError, match="address and hardware need executor ray"):
        RunOptions().check(config)


def _config(tmp, **changes) -> SweepConfig:
    return SweepConfig(**{**dict(phis=[0.0], mode="preset", alpha=1.2, beta=1.1, gamma=1.15,
                                 overrides={"width": 0.25, "depth": 0.34, "resolution": 32}, backend="null",
                                 precisions=["fp32"], scenarios=["single-stream"], profile=get_profile("quick"),
                                 max_batch=1, models_dir=f"{tmp}/models", reports_dir=f"{tmp}/reports"), **changes})


def test_ctrl_c_keeps_the_run_and_says_how_many_cells(tmp_path, monkeypatch):
    def interrupted(config, store, run_id, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr("benchbed.sweep.session.run_sweep", interrupted)
    options = RunOptions(db=tmp_path / "db.sqlite")
    with SweepSession(_config(tmp_path), options) as session:
        with pytest.raises(SweepInterrupted) as caught:
            session.run()
    assert caught.value.kept == 0 and caught.value.run_id == session.run_id and caught.value.exit_code == 130
    resumed = SweepSession(_config(tmp_path), RunOptions(db=tmp_path / "db.sqlite", resume=True))
    assert resumed.resumed and resumed.run_id == session.run_id
    resumed.store.close()
