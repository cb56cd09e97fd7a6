import datetime as dt
import json

import pytest

from tools import dates
from tools.dates import date_calculator, is_time_dependent
from tools.errors import ToolInputError


def run(**args: object) -> dict:
    return json.loads(date_calculator.invoke(args))


@pytest.mark.parametrize("text", ["2026-03-14", "March 14, 2026", "Mar 14 2026", "14 March 2026", "14th Mar. 2026"])
def test_weekday_accepts_formats(text: str) -> None:
    assert run(operation="weekday", date=text) == {"date": "2026-03-14", "weekday": "Saturday"}


def test_difference() -> None:
    assert run(operation="difference", date="2026-01-01", end_date="2026-03-14") == {
        "start": "2026-01-01",
        "end": "2026-03-14",
        "days": 72,
        "weeks": 10.29,
    }
    assert run(operation="difference", date="2026-03-14", end_date="2026-01-01")["days"] == -72


def test_add_days_forward_and_back() -> None:
    assert run(operation="add_days", date="2026-03-14", days=30) == {
        "date": "2026-03-14",
        "days": 30,
        "result": "2026-04-13",
        "weekday": "Monday",
    }
    assert run(operation="add_days", date="2024-03-01", days=-1)["result"] == "2024-02-29"


def test_today_uses_the_clock_seam(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(dates, "today", lambda: dt.date(2026, 3, 14))
    assert run(operation="weekday", date="Today") == {"date": "2026-03-14", "weekday": "Saturday"}


def test_is_time_dependent() -> None:
    assert is_time_dependent({"operation": "weekday", "date": "today"})
    assert is_time_dependent({"operation": "difference", "date": "2026-01-01", "end_date": " TODAY "})
    assert not is_time_dependent({"operation": "weekday", "date": "2026-01-01", "end_date": None})
    assert not is_time_dependent({})


@pytest.mark.parametrize(
    "args",
    [
        {"operation": "weekday", "date": ""},
        {"operation": "weekday", "date": "garbage"},
        {"operation": "weekday", "date": "2026-02-30"},
        {"operation": "weekday", "date": "2026-13-01"},
        {"operation": "weekday", "date": "0000-01-01"},
        {"operation": "weekday", "date": "Smarch 3, 2026"},
        {"operation": "weekday", "date": "03/14/26"},
        {"operation": "weekday", "date": "\uff12\uff10\uff12\uff16-03-14"},
        {"operation": "weekday", "date": "2026-03-14\x00"},
        {"operation": "weekday", "date": "9" * 1000},
        {"operation": "weekday", "date": "yesterday"},
        {"operation": "difference", "date": "2026-01-01"},
        {"operation": "difference", "date": "2026-01-01", "end_date": "soon"},
        {"operation": "add_days", "date": "2026-01-01"},
        {"operation": "add_days", "date": "2026-01-01", "days": 100_001},
        {"operation": "add_days", "date": "2026-01-01", "days": -100_001},
        {"operation": "add_days", "date": "2026-01-01", "days": 1.5},
        {"operation": "add_days", "date": "9999-12-30", "days": 5},
        {"operation": "add_days", "date": "0001-01-02", "days": -5},
        {"operation": "explode", "date": "2026-01-01"},
        {"date": "2026-01-01"},
    ],
)
def test_bad_input_raises_tool_input_error(args: dict) -> None:
    with pytest.raises(ToolInputError):
        date_calculator.invoke(args)


def test_metadata() -> None:
    assert date_calculator.name == "date_calculator"
    assert date_calculator.metadata == {"version": "2", "ttl": 86400}


@pytest.mark.parametrize(
    "written",
    ["2026-03-14", "2026/03/14", "3/14/2026", "14/3/2026", "Saturday, March 14, 2026", "14-Mar-2026",
     "March 14th, 2026", "14th of March 2026", "2026-03-14T10:00", "Mar. 14 2026"],
)
def test_dates_as_people_write_them(written: str) -> None:
    assert json.loads(date_calculator.invoke({"operation": "weekday", "date": written}))["date"] == "2026-03-14"


@pytest.mark.parametrize(
    ("operation", "extra", "expected"),
    [
        ("days_between", {"end_date": "2026-03-01"}, {"days": 59}),
        ("Day of Week", {}, {"weekday": "Thursday"}),
        ("subtract_days", {"days": 10}, {"result": "2025-12-22"}),
        ("add", {"days": 10}, {"result": "2026-01-11"}),
    ],
)
def test_operation_names_models_write(operation: str, extra: dict, expected: dict) -> None:
    out = json.loads(date_calculator.invoke({"operation": operation, "date": "2026-01-01", **extra}))
    assert {k: out[k] for k in expected} == expected


def test_an_unreadable_date_names_the_valid_forms() -> None:
    with pytest.raises(ToolInputError, match=r"write YYYY-MM-DD \(2026-03-14\), 'March 14, 2026'"):
        date_calculator.invoke({"operation": "weekday", "date": "the 14th"})
