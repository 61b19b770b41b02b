"""Price files for ``benchbed procure`` (YAML): what an hour of each hardware type costs.

```yaml
currency: USD
usd_per_kwh: 0.15              # for owned hardware: electricity
hardware:
  "NVIDIA H100 80GB HBM3":     # the hardware name benchbed prints for the results
    hourly: 4.00               # cloud: all-in price per device-hour
    power_w: 700               # optional: rated board power, for images per joule
  "Intel(R) Xeon(R) Processor (2 cores)":
    purchase: 1200             # owned: purchase price, amortized
    amortization_months: 36
    power_w: 90
    match: ["Xeon"]            # optional: substrings that also name this hardware
```
An hourly price is used as is; a purchase price becomes purchase / amortization + power × $/kWh.
"""

from __future__ import annotations

import math

from dataclasses import dataclass
from pathlib import Path

from benchbed.core.errors import BenchbedError

HOURS_PER_MONTH = 730.0
_TOP_KEYS = {"currency", "usd_per_kwh", "hardware", "note"}
_HW_KEYS = {"hourly", "purchase", "amortization_months", "power_w", "match", "note"}


@dataclass(frozen=True)
class HardwarePrice:
    name: str
    hourly: float | None
    purchase: float | None
    amortization_months: float | None
    power_w: float | None
    usd_per_kwh: float | None
    match: tuple[str, ...] = ()

    @property
    def per_hour(self) -> float:
        """The all-in cost of one device for one hour."""
        if self.hourly is not None:
            return self.hourly
        energy = (self.power_w or 0.0) / 1000.0 * (self.usd_per_kwh or 0.0)
        return self.purchase / (self.amortization_months * HOURS_PER_MONTH) + energy

    @property
    def basis(self) -> str:
        if self.hourly is not None:
            return "hourly"
        return f"purchase/{self.amortization_months:g} mo" + (" + power" if self.power_w else "")

    def matches(self, hardware: str) -> bool:
        return hardware == self.name or any(m.lower() in hardware.lower() for m in self.match)


@dataclass(frozen=True)
class PriceFile:
    path: Path
    currency: str
    hardware: tuple[HardwarePrice, ...]

    def price_for(self, hardware: str) -> HardwarePrice | None:
        """The entry named exactly, else the one entry whose ``match`` hits; two hits are an error."""
        exact = [h for h in self.hardware if h.name == hardware]
        if exact:
            return exact[0]
        hits = [h for h in self.hardware if h.matches(hardware)]
        if len(hits) > 1:
            raise BenchbedError(f"{self.path}: hardware {hardware!r} matches several entries "
                                f"({', '.join(repr(h.name) for h in hits)}); make the match strings distinct")
        return hits[0] if hits else None


def _number(value, where: str, positive: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BenchbedError(f"{where} must be a number, got {value!r}")
    if not math.isfinite(value) or value > 1e15:  # a nan or inf price would rank options at nan or inf
        raise BenchbedError(f"{where} must be a finite number, got {value!r}")
    if value < 0 or (positive and value == 0):
        raise BenchbedError(f"{where} must be {'> 0' if positive else '>= 0'}, got {value:g}")
    return float(value)


def _hardware(name: str, entry, usd_per_kwh: float | None, path: Path) -> HardwarePrice:
    where = f"{path}: hardware {name!r}"
    if not isinstance(entry, dict):
        raise BenchbedError(f"{where} must be a mapping with hourly or purchase")
    unknown = set(entry) - _HW_KEYS
    if unknown:
        raise BenchbedError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(_HW_KEYS))}")
    if "hourly" not in entry and "purchase" not in entry:
        raise BenchbedError(f"{where} has no price: give hourly (cloud) or purchase (owned)")
    if "hourly" in entry and "purchase" in entry:
        raise BenchbedError(f"{where} has both hourly and purchase: give one (list the other as a second entry)")
    if "amortization_months" in entry and "purchase" not in entry:
        raise BenchbedError(f"{where}: amortization_months without a purchase price")
    hourly = _number(entry["hourly"], f"{where} hourly") if "hourly" in entry else None
    purchase = _number(entry["purchase"], f"{where} purchase") if "purchase" in entry else None
    months = entry.get("amortization_months")
    if purchase is not None and months is None:
        raise BenchbedError(f"{where}: a purchase price needs amortization_months")
    months = _number(months, f"{where} amortization_months") if months is not None else None
    power = _number(entry["power_w"], f"{where} power_w") if "power_w" in entry else None
    if purchase is not None and hourly is None and power is not None and usd_per_kwh is None:
        raise BenchbedError(f"{path}: owned hardware {name!r} has power_w but the file has no usd_per_kwh")
    match = entry.get("match") or []
    if isinstance(match, str) or not all(isinstance(m, str) and m for m in match):
        raise BenchbedError(f"{where}: match must be a list of non-empty strings")
    return HardwarePrice(str(name), hourly, purchase, months, power, usd_per_kwh, tuple(match))


#: A price file lists a few dozen machines; a megabyte is none.
MAX_PRICE_BYTES = 1 << 20


def load_prices(path: str | Path) -> PriceFile:
    """Read and validate a price file; every problem is one BenchbedError line."""
    from benchbed.core.user_files import parse_user_yaml, read_user_text

    path = Path(path)
    data = parse_user_yaml(read_user_text(path, "price file", MAX_PRICE_BYTES), f"price file {path}")
    if not isinstance(data, dict) or not isinstance(data.get("hardware"), dict) or not data["hardware"]:
        raise BenchbedError(f"price file {path} needs a 'hardware:' mapping of hardware name -> prices")
    unknown = set(data) - _TOP_KEYS
    if unknown:
        raise BenchbedError(f"price file {path}: unknown key(s) {', '.join(sorted(unknown))}; "
                            f"known: {', '.join(sorted(_TOP_KEYS))}")
    kwh = _number(data["usd_per_kwh"], f"{path}: usd_per_kwh", positive=False) if "usd_per_kwh" in data else None
    hardware = tuple(_hardware(name, entry, kwh, path) for name, entry in data["hardware"].items())
    return PriceFile(path, str(data.get("currency") or "USD"), hardware)
