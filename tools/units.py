"""The `convert_units` tool: unit conversion with pint, temperature included."""

from __future__ import annotations

import difflib
import json
import math
import re
from typing import Any, Final

import pint
from pydantic import BaseModel, Field

from tools.checked_tool import CheckedTool
from tools.errors import ToolInputError
from tools.number_format import format_number, round_sig

# Building a registry parses pint's definition files, so one is shared.
UREG: Final[pint.UnitRegistry[Any]] = pint.UnitRegistry()

MAX_VALUE: Final = 1e15
MAX_UNIT_CHARS: Final = 40
MAX_UNIT_EXPONENT: Final = 6
SIG_DIGITS: Final = 6

# Spellings people and models write that pint reads differently or not at all, keyed by
# `_key(text)` (lower case, "_" and "-" as spaces, "degrees" as "degree", no dots). Bare "F" and
# "C" are taken as temperatures: in a conversion request that is far likelier than farad or coulomb.
# pint's own "gallon", "fluid_ounce", "pint", "quart" and "cup" are the US liquid measures.
ALIASES: Final[dict[str, str]] = {
    **dict.fromkeys(["f", "°f", "º f", "ºf", "deg f", "degf", "degree f", "fahrenheit", "degree fahrenheit",
                     "deg fahrenheit", "fahrenheit degree"], "degF"),
    **dict.fromkeys(["c", "°c", "º c", "ºc", "deg c", "degc", "degree c", "celsius", "centigrade",
                     "degree celsius", "deg celsius", "degree centigrade", "celsius degree"], "degC"),
    **dict.fromkeys(["k", "kelvins", "degree kelvin", "deg k", "°k"], "kelvin"),
    **dict.fromkeys(["°r", "rankine", "degree rankine", "deg r"], "degR"),
    **dict.fromkeys(["lbs", "lb", "pounds", "pound mass"], "pound"),
    **dict.fromkeys(["mph", "miles per hour", "mile per hour", "mi/h", "mi/hr"], "mile/hour"),
    **dict.fromkeys(["kph", "kmh", "km/hr", "kmph", "km per hour", "kilometer per hour", "kilometers per hour",
                     "kilometre per hour", "kilometres per hour"], "kilometer/hour"),
    **dict.fromkeys(["mps", "meter per second", "meters per second", "metre per second", "metres per second"],
                    "meter/second"),
    **dict.fromkeys(["nautical mile", "nautical miles", "nmi", "naut mi"], "nautical_mile"),
    **dict.fromkeys(["knots", "kts"], "knot"),
    **dict.fromkeys(["fl oz", "floz", "fluid ounce", "fluid ounces", "us fl oz", "us floz", "us fluid ounce",
                     "us fluid ounces", "fl ounce", "fl ounces"], "fluid_ounce"),
    **dict.fromkeys(["imperial fl oz", "uk fl oz", "imperial fluid ounce", "imperial fluid ounces"],
                    "imperial_fluid_ounce"),
    **dict.fromkeys(["liters", "litres", "litre", "ltr", "ltrs"], "liter"),
    **dict.fromkeys(["millilitre", "millilitres", "milliliters"], "milliliter"),
    **dict.fromkeys(["gallons", "gal", "us gallon", "us gallons", "us gal"], "gallon"),
    **dict.fromkeys(["imperial gallon", "imperial gallons", "uk gallon", "uk gallons", "imp gal"],
                    "imperial_gallon"),
    **dict.fromkeys(["us pint", "us pints"], "pint"),
    **dict.fromkeys(["imperial pint", "imperial pints", "uk pint", "uk pints"], "imperial_pint"),
    **dict.fromkeys(["cups", "us cup", "us cups"], "cup"),
    **dict.fromkeys(["tonne", "tonnes", "metric ton", "metric tons", "metric tonne", "metric tonnes"], "metric_ton"),
    **dict.fromkeys(["short ton", "short tons", "us ton", "us tons"], "ton"),
    **dict.fromkeys(["long ton", "long tons", "imperial ton", "imperial tons", "uk ton", "uk tons"], "long_ton"),
    **dict.fromkeys(["metre", "metres"], "meter"),
    **dict.fromkeys(["kilometre", "kilometres"], "kilometer"),
    **dict.fromkeys(["centimetre", "centimetres"], "centimeter"),
    **dict.fromkeys(["millimetre", "millimetres"], "millimeter"),
    **dict.fromkeys(["kwh", "kw h", "kilowatt hour", "kilowatt hours"], "kilowatt_hour"),
    **dict.fromkeys(["sq ft", "square foot", "square feet", "ft2", "ft²"], "foot**2"),
    **dict.fromkeys(["sq m", "square meter", "square meters", "square metre", "square metres", "m2", "m²"],
                    "meter**2"),
    **dict.fromkeys(["sq km", "square kilometer", "square kilometers", "square kilometre", "square kilometres",
                     "km2", "km²"], "kilometer**2"),
    **dict.fromkeys(["sq mi", "square mile", "square miles", "mi2"], "mile**2"),
    **dict.fromkeys(["sq in", "square inch", "square inches", "in2"], "inch**2"),
    **dict.fromkeys(["cubic foot", "cubic feet", "cu ft", "ft3"], "foot**3"),
    **dict.fromkeys(["cubic meter", "cubic meters", "cubic metre", "cubic metres", "m3", "m³"], "meter**3"),
    **dict.fromkeys(["cubic inch", "cubic inches", "cu in", "in3"], "inch**3"),
    **dict.fromkeys(["hrs", "hr"], "hour"),
    **dict.fromkeys(["mins"], "minute"),
    **dict.fromkeys(["secs", "sec"], "second"),
}

# Named in the error for a unit no spelling resolves (and the pool `did you mean` draws from).
COMMON_UNITS: Final = (
    "degF", "degC", "kelvin", "meter", "kilometer", "centimeter", "millimeter", "inch", "foot", "yard", "mile",
    "nautical_mile", "gram", "kilogram", "pound", "ounce", "liter", "milliliter", "gallon", "imperial_gallon",
    "fluid_ounce", "cup", "pint", "mile/hour", "kilometer/hour", "meter/second", "knot", "acre", "hectare",
    "foot**2", "meter**2", "joule", "kilowatt_hour", "calorie", "psi", "bar", "pascal", "second", "minute", "hour",
    "day", "week", "year",
)  # fmt: skip
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


def _key(text: str) -> str:
    """How ALIASES are looked up: lower case, "_" and "-" as spaces, "degrees" as "degree", no dots."""
    key = " ".join(text.lower().replace("_", " ").replace("-", " ").replace(".", " ").split())
    return key.replace("degrees", "degree")


def _pint_unit(text: str) -> pint.Unit | None:
    try:
        return UREG.parse_units(text)
    except Exception:  # pint raises a zoo of types (UndefinedUnitError, AssertionError, ...)
        return None


def _case_only(text: str) -> pint.Unit | None:
    """A full unit name written in another case ('degree_fahrenheit', 'Kilometer'), and nothing
    looser: pint's case-insensitive parse also reads 'km/h' as kilomolar per hour."""
    try:
        unit = UREG.parse_units(text, case_sensitive=False)
    except Exception:
        return None
    name = str(unit).replace(" ", "")
    return unit if name.lower() == text.replace(" ", "").lower().removesuffix("s") else None


def unknown_unit(text: str) -> ToolInputError:
    """The error for a unit no spelling resolves: it names the closest valid forms."""
    close = difflib.get_close_matches(_key(text), [*ALIASES, *COMMON_UNITS], n=3, cutoff=0.6)
    suggestions = list(dict.fromkeys(ALIASES.get(c, c) for c in close))
    hint = f"did you mean {', '.join(repr(c) for c in suggestions)}? " if suggestions else ""
    return ToolInputError(f"unknown unit {text!r}; {hint}valid forms include "
                          f"{', '.join(repr(u) for u in COMMON_UNITS[:12])}, 'km/h', 'fl oz', 'sq ft'")  # fmt: skip


def parse_unit(text: str) -> pint.Unit:
    """Resolve a unit name, alias or simple expression such as 'm/s^2', written as people write it:
    any case, plural, '°F', 'fahrenheit', 'degF', 'US fl oz', 'nautical miles', 'km per hour'."""
    cleaned = " ".join(str(text).split())
    if not cleaned:
        raise ToolInputError("unit is empty")
    if len(cleaned) > MAX_UNIT_CHARS:
        raise ToolInputError(f"unit name too long (limit {MAX_UNIT_CHARS} characters)")
    cleaned = ALIASES.get(_key(cleaned), cleaned)
    if not _UNIT_CHARS.fullmatch(cleaned) or _CHAINED_POWER.search(cleaned) or _LONG_NUMBER.search(cleaned):
        raise unknown_unit(text)
    # As written, then with words joined by "_" ("nautical miles" -> nautical_mile), then in lower
    # case ("KM", "Kilometer"), then a full name in another case ("degree_fahrenheit"). Lower case
    # comes only after the written form failed: "MW" is a megawatt, not a milliwatt.
    joined = cleaned.replace(" ", "_")
    unit = _pint_unit(cleaned) or _pint_unit(joined) or _pint_unit(joined.lower()) or _case_only(joined)
    if unit is None:
        raise unknown_unit(text)
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
    metadata={"version": "2", "ttl": 86400},
)
