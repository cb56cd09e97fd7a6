"""Human-friendly rendering of numbers shared by the calculator and unit converter."""

from __future__ import annotations

import math

# Outside this band, positional notation gets long and sci notation reads better.
_PLAIN_MIN = 1e-6
_PLAIN_MAX = 1e15


def round_sig(value: float, digits: int) -> float:
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, digits - 1 - math.floor(math.log10(abs(value))))


def format_number(value: float | int, digits: int = 12) -> str:
    """Integers print without '.0'; floats keep `digits` significant digits, no trailing zeros."""
    if isinstance(value, int):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    rounded = round_sig(value, digits)
    if rounded == 0:
        return "0"
    magnitude = abs(rounded)
    if magnitude >= _PLAIN_MAX or magnitude < _PLAIN_MIN:
        mantissa, _, exponent = f"{rounded:.{digits - 1}e}".partition("e")
        if "." in mantissa:
            mantissa = mantissa.rstrip("0").rstrip(".")
        return f"{mantissa}e{int(exponent)}"
    if rounded.is_integer():
        return str(int(rounded))
    decimals = max(0, digits - 1 - math.floor(math.log10(magnitude)))
    return f"{rounded:.{decimals}f}".rstrip("0").rstrip(".")
