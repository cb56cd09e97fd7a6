"""The `convert_units` tool: unit conversion with pint, temperature included."""

from __future__ import annotations

import json
import math
import re
from typing import Any, Final

import pint
from pydantic import BaseModel, Field

from tools.checked_tool import CheckedTool
from tools.errors import ToolInputError
from tools.number_format import format_number, round_sig

# Building a registry parses pint's definition files (~0.1 s), so one is shared.
UREG: Final[pint.UnitRegistry[Any]] = pint.UnitRegistry()

MAX_VALUE: Final = 1e15
MAX_UNIT_CHARS: Final = 40
MAX_UNIT_EXPONENT: Final = 6
SIG_DIGITS: Final = 6

# Spellings models use that pint reads differently or not at all. Bare "F" and "C" are taken
# as temperatures: in a conversion request that is far likelier than farad or coulomb.
ALIASES: Final[dict[str, str]] = {
    "f": "degF",
    "°f": "degF",
    "º f": "degF",
    "deg f": "degF",
    "degf": "degF",
    "degree f": "degF",
    "degrees f": "degF",
    "fahrenheit": "degF",
    "degree fahrenheit": "degF",
    "degrees fahrenheit": "degF",
    "c": "degC",
    "°c": "degC",
    "deg c": "degC",
    "degc": "degC",
    "degree c": "degC",
    "degrees c": "degC",
    "celsius": "degC",
    "centigrade": "degC",
    "degree celsius": "degC",
    "degrees celsius": "degC",
    "k": "kelvin",
    "kelvins": "kelvin",
    "lbs": "pound",
    "mph": "mile/hour",
    "kph": "kilometer/hour",
    "kmh": "kilometer/hour",
    "km/hr": "kilometer/hour",
    "kmph": "kilometer/hour",
    "fl oz": "fluid_ounce",
    "fluid ounce": "fluid_ounce",
    "fluid ounces": "fluid_ounce",
    "liters": "liter",
    "litres": "liter",
    "litre": "liter",
    "gallons": "gallon",
    "cups": "cup",
    "sq ft": "foot**2",
    "sq m": "meter**2",
    "sq km": "kilometer**2",
    "sq mi": "mile**2",
}

# Letters, digits, spaces and the few operators unit names use; no brackets, so pint's
# parser never sees a nested expression whose numeric value could be made expensive.
_UNIT_CHARS: Final = re.compile(r"[A-Za-z0-9_ °ºµμΩ/*^.\-]+")
_CHAINED_POWER: Final = re.compile(r"(\^|\*\*)\s*[-+]?\s*[\d.]+\s*(\^|\*\*)")
_LONG_NUMBER: Final = re.compile(r"\d{3,}")


class ConvertUnitsArgs(BaseModel):
    value: float = Field(description="The amount to convert, e.g. 26.2")
    from_unit: str = Field(
        description="Unit of the value, e.g. 'mile', 'km', 'degF', 'celsius', 'lbs', 'mph', 'liters', 'cups'",
        max_length=MAX_UNIT_CHARS,
    )
    to_unit: str = Field(
        description="Unit to convert to; must measure the same kind of quantity, e.g. 'kilometer'",
        max_length=MAX_UNIT_CHARS,
    )


def parse_unit(text: str) -> pint.Unit:
    """Resolve a unit name, alias or simple expression such as 'm/s^2'."""
    cleaned = " ".join(str(text).split())
    if not cleaned:
        raise ToolInputError("unit is empty")
    if len(cleaned) > MAX_UNIT_CHARS:
        raise ToolInputError(f"unit name too long (limit {MAX_UNIT_CHARS} characters)")
    cleaned = ALIASES.get(cleaned.lower(), cleaned)
    if not _UNIT_CHARS.fullmatch(cleaned) or _CHAINED_POWER.search(cleaned) or _LONG_NUMBER.search(cleaned):
        raise ToolInputError(f"unknown unit {text!r}")
    try:
        unit = UREG.parse_units(cleaned)
    except Exception:  # pint raises a zoo of types (UndefinedUnitError, AssertionError, ...)
        raise ToolInputError(f"unknown unit {text!r}") from None
    exponents: dict[str, Any] = dict(unit._units)
    if any(abs(float(power)) > MAX_UNIT_EXPONENT for power in exponents.values()):
        raise ToolInputError(f"unit {text!r} has an exponent beyond {MAX_UNIT_EXPONENT}")
    return unit


def convert(value: float, from_unit: str, to_unit: str) -> dict[str, Any]:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ToolInputError("value must be a number")
    if not math.isfinite(value):
        raise ToolInputError("value must be a finite number")
    if abs(value) > MAX_VALUE:
        raise ToolInputError(f"value too large (limit {MAX_VALUE:g})")
    source, target = parse_unit(from_unit), parse_unit(to_unit)
    if source.dimensionality != target.dimensionality:
        raise ToolInputError(f"cannot convert {source} ({source.dimensionality}) to {target} ({target.dimensionality})")
    try:
        # Quantity(value, unit) rather than value * unit: multiplying an offset unit such as
        # degC is ambiguous and pint refuses it.
        result = UREG.Quantity(value, source).to(target)
    except Exception:
        raise ToolInputError(f"cannot convert {source} to {target}") from None
    magnitude = float(result.magnitude)
    if not math.isfinite(magnitude):
        raise ToolInputError("result is not a finite number")
    return {
        "value": round_sig(magnitude, SIG_DIGITS),
        "unit": str(target),
        "text": f"{format_number(value, SIG_DIGITS)} {source} = {format_number(magnitude, SIG_DIGITS)} {target}",
    }


def convert_units_text(value: float, from_unit: str, to_unit: str) -> str:
    return json.dumps(convert(value, from_unit, to_unit), ensure_ascii=False)


convert_units = CheckedTool.from_function(
    func=convert_units_text,
    name="convert_units",
    description=(
        "Convert a quantity between units (length, mass, volume, speed, temperature, area, time, energy, ...). "
        'Returns JSON like {"value": 42.1648, "unit": "kilometer", "text": "26.2 mile = 42.1648 kilometer"}.'
    ),
    args_schema=ConvertUnitsArgs,
    metadata={"version": "1", "ttl": 86400},
)
