import json

import pytest

from tools.errors import ToolInputError
from tools.units import convert, convert_units, parse_unit


def run(value: object, from_unit: str, to_unit: str) -> dict:
    return json.loads(convert_units.invoke({"value": value, "from_unit": from_unit, "to_unit": to_unit}))


def test_marathon_in_kilometers() -> None:
    assert run(26.2, "miles", "km") == {
        "value": 42.1648,
        "unit": "kilometer",
        "text": "26.2 mile = 42.1648 kilometer",
    }


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (100, "°F", "celsius", 37.7778),
        (100, "degF", "degC", 37.7778),
        (100, "fahrenheit", "C", 37.7778),
        (-40, "F", "C", -40.0),
        (0, "celsius", "kelvin", 273.15),
        (20, "degC", "degF", 68.0),
        (10, "lbs", "kg", 4.53592),
        (60, "mph", "kph", 96.5606),
        (2, "gallons", "liters", 7.57082),
        (1, "cups", "mL", 236.588),
        (1, "mm", "mile", 6.21371e-07),
        (1, "sq ft", "sq m", 0.092903),
        (9.81, "m/s^2", "ft/s^2", 32.185),
        (1, "kWh", "J", 3600000.0),
    ],
)
def test_conversions(value: float, source: str, target: str, expected: float) -> None:
    assert run(value, source, target)["value"] == pytest.approx(expected)


def test_temperature_uses_offsets_not_scaling() -> None:
    result = run(0, "degC", "degF")
    assert result["value"] == 32.0
    assert result["text"] == "0 degree_Celsius = 32 degree_Fahrenheit"


@pytest.mark.parametrize(
    ("value", "source", "target"),
    [
        (5, "meter", "kilogram"),
        (5, "celsius", "meter"),
        (5, "blorb", "meter"),
        (5, "meter", "flurb"),
        (5, "", "meter"),
        (5, "   ", "meter"),
        (float("nan"), "m", "km"),
        (float("inf"), "m", "km"),
        (-float("inf"), "m", "km"),
        (1e16, "m", "km"),
        (5, "m**9**9**9", "m"),
        (5, "m^999", "m^999"),
        (5, "m^7", "m^7"),
        (5, "(m^9)^9", "m"),
        (5, "2*m", "m"),
        (5, '"', "cm"),
        (5, "__import__('os')", "m"),
        (5, "m; import os", "m"),
        (5, "\x00", "m"),
        (5, "\u202e\u0000m", "m"),
        (5, "m" * 41, "m"),
        (5, "meter", "x" * 1000),
        ("five", "m", "km"),
        (None, "m", "km"),
    ],
)
def test_bad_input_raises_tool_input_error(value: object, source: str, target: str) -> None:
    with pytest.raises(ToolInputError):
        convert_units.invoke({"value": value, "from_unit": source, "to_unit": target})


def test_direct_call_rejects_bools_and_non_finite() -> None:
    with pytest.raises(ToolInputError):
        convert(True, "m", "km")
    with pytest.raises(ToolInputError):
        convert(float("nan"), "m", "km")


def test_metadata() -> None:
    assert convert_units.name == "convert_units"
    assert convert_units.metadata == {"version": "2", "ttl": 86400}


@pytest.mark.parametrize(
    ("value", "source", "target", "expected"),
    [
        (72, "degree_fahrenheit", "degree_celsius", 22.2222),
        (72, "°F", "C", 22.2222),
        (72, "degrees Fahrenheit", "Celsius", 22.2222),
        (72, "DegF", "degc", 22.2222),
        (12, "nautical miles", "km", 22.224),
        (12, "Nautical_Miles", "kilometer", 22.224),
        (16, "US fl oz", "ml", 473.176),
        (3, "imperial gallons", "litres", 13.6383),
        (100, "km per hour", "mph", 62.1371),
        (1, "KM", "mile", 0.621371),
        (1, "Kilometer", "mile", 0.621371),
        (2, "square feet", "m2", 0.185806),
    ],
)
def test_units_as_people_write_them(value: float, source: str, target: str, expected: float) -> None:
    out = json.loads(convert_units.invoke({"value": value, "from_unit": source, "to_unit": target}))
    assert out["value"] == expected


def test_nautical_miles_are_not_statute_miles() -> None:
    nautical = json.loads(convert_units.invoke({"value": 1, "from_unit": "nautical miles", "to_unit": "mile"}))
    assert nautical["value"] == 1.15078


def test_case_is_folded_only_for_a_whole_name() -> None:
    # "km/h" stays kilometres per hour (pint's case-insensitive reading is kilomolar per hour), and
    # "MW" stays a megawatt.
    assert str(parse_unit("km/h")) == "kilometer / hour"
    assert str(parse_unit("MW")) == "megawatt"


def test_an_unknown_unit_names_the_closest_valid_forms() -> None:
    with pytest.raises(ToolInputError, match=r"unknown unit 'degre_farenheit'; did you mean 'degF'\? valid forms"):
        convert_units.invoke({"value": 1, "from_unit": "degre_farenheit", "to_unit": "degC"})
