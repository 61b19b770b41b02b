"""The TensorRT backend's options (``--backend-option key=value``), validated once with fix-it messages."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import ClassVar, Mapping

from benchbed.backends.base import check_extra, option_copies, option_flag, option_int


@dataclass(frozen=True)
class TrtOptions:
    """``cuda_graph``: replay one captured graph per inference; ``copies``: ``in`` = host<->device copies inside
    the timed region (what an application pays), ``out`` = device-resident input/output (what trtexec's GPU
    compute time shows); ``workspace_mib``: builder workspace limit; ``opt_level``: builder optimization level
    0-5 (TensorRT's default 3); ``max_batch``: the optimization profile's max batch; ``opt_batch``: the batch
    it is tuned for (the worker passes the cell's own batch, as trtexec's --shapes would);
    ``strongly_typed``: off only on TensorRT 10 (legacy weak typing with the FP16 flag for fp16 artifacts);
    ``timing_cache``: reuse the on-disk timing cache; ``tf32``: let fp32 layers use TF32 (TensorRT's builder turns it
    on by default; benchbed clears it unless asked, so an fp32 cell computes in fp32 and meets the fp32 bound)."""

    KEYS: ClassVar[frozenset[str]] = frozenset({"cuda_graph", "copies", "workspace_mib", "opt_level", "max_batch",
                                                "opt_batch", "strongly_typed", "timing_cache", "tf32"})

    cuda_graph: bool = False
    copies_included: bool = False
    workspace_mib: int = 2048
    opt_level: int = 3
    max_batch: int = 1
    opt_batch: int | None = None  # None: max_batch
    strongly_typed: bool = True
    timing_cache: bool = True
    tf32: bool = False

    @classmethod
    def from_extra(cls, extra: Mapping[str, object]) -> "TrtOptions":
        extra = check_extra("tensorrt", extra, cls.KEYS)
        max_batch = option_int("tensorrt", "max_batch", extra.get("max_batch", 1), 1)
        return cls(cuda_graph=option_flag("tensorrt", "cuda_graph", extra.get("cuda_graph", "off")),
                   copies_included=option_copies("tensorrt", extra.get("copies", "out")),
                   workspace_mib=option_int("tensorrt", "workspace_mib", extra.get("workspace_mib", 2048), 1),
                   opt_level=option_int("tensorrt", "opt_level", extra.get("opt_level", 3), 0, 5),
                   max_batch=max_batch,
                   opt_batch=min(option_int("tensorrt", "opt_batch", extra.get("opt_batch", max_batch), 1), max_batch),
                   strongly_typed=option_flag("tensorrt", "strongly_typed", extra.get("strongly_typed", "on")),
                   timing_cache=option_flag("tensorrt", "timing_cache", extra.get("timing_cache", "on")),
                   tf32=option_flag("tensorrt", "tf32", extra.get("tf32", "off")))

    def builder_key(self) -> dict:
        """The options that change the built engine (runtime-only ones like cuda_graph are left out)."""
        return {"workspace_mib": self.workspace_mib, "opt_level": self.opt_level,
                "strongly_typed": self.strongly_typed, "tf32": self.tf32}

    def to_dict(self) -> dict:
        return asdict(self)
