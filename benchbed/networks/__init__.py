"""Networks: baselines as data (``spec``), stage strings (``blocks``), the torch builder (``network``)."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
import warnings
from typing import TYPE_CHECKING

from benchbed.networks.spec import BASELINES, EFFICIENTNET_B0, Baseline, NetworkSpec, build_spec, count_cost
from benchbed.core.errors import BenchbedError
from benchbed.networks.scaling import (PAPER_ALPHA, PAPER_BETA, PAPER_GAMMA, ScalingSpec, check_scaling, parse_phi_list,
                                       scaling_spec)

if TYPE_CHECKING:
    import torch

__all__ = ["BASELINES", "EFFICIENTNET_B0", "Baseline", "NetworkRecipe", "NetworkSpec", "build_spec", "count_cost", "network_spec",
           "network_specs", "build_network", "build_model", "load_weights", "read_state_dict"]


def network_spec(
    phi: float,
    mode: str = "preset",
    *,
    alpha: float = PAPER_ALPHA,
    beta: float = PAPER_BETA,
    gamma: float = PAPER_GAMMA,
    width: float | None = None,
    depth: float | None = None,
    resolution: int | None = None,
    baseline: str | Baseline = EFFICIENTNET_B0.name,
) -> NetworkSpec:
    """The scaled spec for φ (no torch): see :func:`build_model` for the arguments. ``baseline`` is a
    registered name, a YAML file's path, or a :class:`Baseline`."""
    from benchbed.networks.baseline_file import resolve_baseline

    base = resolve_baseline(baseline)
    if mode == "preset":
        check_scaling(mode, alpha, beta, gamma)
        scaling: ScalingSpec = base.preset_scaling(phi)
    else:
        scaling = scaling_spec(phi, mode, alpha, beta, gamma)
    return build_spec(scaling.with_overrides(width, depth, resolution), base)


@dataclass(frozen=True)
class NetworkRecipe:
    """How to make one scaled network again anywhere (a worker, a Ray node): JSON-able, baseline included.

    Every place that must rebuild a spec it was handed goes through this one value, so a coefficient or
    the baseline cannot be dropped on the way (a spec turned back into keyword arguments by hand once
    lost the baseline and would have built B0).
    """

    phi: float
    mode: str = "preset"
    alpha: float = PAPER_ALPHA
    beta: float = PAPER_BETA
    gamma: float = PAPER_GAMMA
    overrides: dict = field(default_factory=dict)  # width / depth / resolution set by hand
    baseline: str = EFFICIENTNET_B0.name
    #: a user's (unregistered) baseline travels as its content, so a worker or Ray node needs no file
    baseline_doc: dict | None = None

    @classmethod
    def of(cls, spec: NetworkSpec) -> "NetworkRecipe":
        s = spec.scaling
        doc = spec.custom_baseline.to_dict() if spec.custom_baseline is not None else None
        return cls(s.phi, s.mode, s.alpha, s.beta, s.gamma, {k: getattr(s, k) for k in s.overrides}, spec.baseline,
                   doc)

    def spec(self) -> NetworkSpec:
        base = Baseline.from_dict(self.baseline_doc) if self.baseline_doc is not None else self.baseline
        return network_spec(self.phi, self.mode, alpha=self.alpha, beta=self.beta, gamma=self.gamma,
                            baseline=base, **self.overrides)

    def to_dict(self) -> dict:
        data = asdict(self)
        if data["baseline_doc"] is None:
            del data["baseline_doc"]  # registered baselines: the same dict as before this field existed
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "NetworkRecipe":
        return cls(**data)


def build_network(spec: NetworkSpec, weights: str | None = None, calibrate: bool = True,
                  seed: int = 0) -> "torch.nn.Module":
    """The torch module of an already scaled ``spec`` (see :func:`build_model`)."""
    import torch

    from benchbed.networks.calibration import calibrate_batchnorm
    from benchbed.networks.network import EfficientNet

    torch.manual_seed(seed)
    model = EfficientNet(spec)
    if weights is not None:
        load_weights(model, weights)
    elif calibrate:
        calibrate_batchnorm(model, spec.resolution, seed=seed)
    return model.eval()


def network_specs(
    phis: str,
    mode: str = "preset",
    *,
    alpha: float = PAPER_ALPHA,
    beta: float = PAPER_BETA,
    gamma: float = PAPER_GAMMA,
    width: float | None = None,
    depth: float | None = None,
    resolution: int | None = None,
    baseline: str | Baseline = EFFICIENTNET_B0.name,
) -> list[NetworkSpec]:
    """The specs a φ list names (``3``, ``0-7``, ``0,2,5``): the mode and coefficients are checked before
    the list is read, so a bad ``alpha`` is reported as such whatever the list says."""
    from benchbed.networks.baseline_file import resolve_baseline

    check_scaling(mode, alpha, beta, gamma)
    base = resolve_baseline(baseline)
    return [network_spec(phi, mode, alpha=alpha, beta=beta, gamma=gamma, width=width, depth=depth,
                         resolution=resolution, baseline=base) for phi in parse_phi_list(phis, mode)]


def build_model(
    phi: float,
    mode: str = "preset",
    *,
    alpha: float = PAPER_ALPHA,
    beta: float = PAPER_BETA,
    gamma: float = PAPER_GAMMA,
    width: float | None = None,
    depth: float | None = None,
    resolution: int | None = None,
    weights: str | None = None,
    calibrate: bool = True,
    seed: int = 0,
    baseline: str | Baseline = EFFICIENTNET_B0.name,
) -> "torch.nn.Module":
    """Build the φ-scaled network as a torch module in eval mode.

    ``mode`` is ``preset`` (published B0-B7), ``compound`` (pure α^φ, β^φ, γ^φ) or a single dimension
    (``width``/``depth``/``resolution`` at compound φ's FLOPS budget). ``width``/``depth``/``resolution``
    override the mode's coefficient (recorded in the name). Without ``weights`` the network is seeded
    random init with BatchNorm statistics calibrated on synthetic images (``calibrate``); with
    ``weights`` (a torchvision-compatible state dict, ``.pt``/``.pth`` or ``.safetensors``) it is loaded
    with ``strict=True``.
    """
    spec = network_spec(phi, mode, alpha=alpha, beta=beta, gamma=gamma, width=width, depth=depth,
                        resolution=resolution, baseline=baseline)
    return build_network(spec, weights, calibrate, seed)


def read_state_dict(path: str) -> dict:
    """A state dict from ``path`` without running pickled code (``weights_only=True`` or safetensors).

    Accepts a plain state dict or a training checkpoint wrapping one as ``state_dict`` or ``model``.
    """
    import torch

    try:
        if str(path).endswith(".safetensors"):
            from safetensors.torch import load_file

            state = load_file(path)
        else:
            with warnings.catch_warnings():  # e.g. "pickle protocol 4" chatter: the error below says it all
                warnings.simplefilter("ignore")
                state = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise BenchbedError(f"weights file not found: {path}") from None
    except ImportError:
        raise BenchbedError("loading .safetensors needs the safetensors package: pip install safetensors") from None
    except Exception as exc:  # unpickling errors of every kind: not a weights file we may load
        raise BenchbedError(f"cannot load weights {path}: {_load_failure(exc)}") from None
    for wrapper in ("state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise BenchbedError(f"cannot load weights {path}: not a state dict of tensors "
                            "(nor one under 'state_dict' or 'model')")
    return state


def _load_failure(exc: Exception) -> str:
    """One line for a failed load; torch's weights-only refusal is condensed to its actual cause."""
    text = str(exc).strip()
    if text.startswith("Weights only load failed"):
        cause = re.search(r"WeightsUnpickler error:\s*(.+?)\s*(?:Check the documentation|$)", text, re.S)
        detail = " ".join(cause.group(1).split()) if cause else "not a plain state dict"
        return (f"torch.load(weights_only=True) refused it ({detail}); it is not a plain state dict, and "
                "benchbed does not unpickle arbitrary objects")
    return text.splitlines()[0] if text else type(exc).__name__


def _misfit(model: "torch.nn.Module", state: dict) -> str | None:
    """Why ``state`` does not fit ``model`` in one line (keys and shapes named), or None when it fits."""

    def some(names: list[str]) -> str:
        return ", ".join(names[:3]) + (f", … (+{len(names) - 3})" if len(names) > 3 else "")

    own = model.state_dict()
    missing = [k for k in own if k not in state]
    unexpected = [k for k in state if k not in own]
    shapes = [f"{k} {list(state[k].shape)} vs {list(v.shape)}" for k, v in own.items()
              if k in state and tuple(state[k].shape) != tuple(v.shape)]
    problems = [f"{len(names)} {label}: {some(names)}" for label, names in
                (("missing keys", missing), ("unexpected keys", unexpected),
                 ("shape mismatches (file vs network)", shapes)) if names]
    return "; ".join(problems) or None


def load_weights(model: "torch.nn.Module", path: str) -> "torch.nn.Module":
    """Load a state dict safely (:func:`read_state_dict`) with ``strict=True``; a misfit names its keys."""
    state = read_state_dict(path)
    misfit = _misfit(model, state)
    if misfit:
        name = getattr(getattr(model, "spec", None), "name", type(model).__name__)
        raise BenchbedError(f"cannot load weights {path}: they do not fit {name}: {misfit}")
    try:
        model.load_state_dict(state, strict=True)
    except (RuntimeError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise BenchbedError(f"cannot load weights {path}: {first}") from None
    return model
