"""The `date_calculator` tool: weekdays, day differences and date offsets."""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Mapping
from typing import Any, Final, Literal

from pydantic import BaseModel, Field, model_validator

from tools.checked_tool import CheckedTool
from tools.errors import ToolInputError

MAX_DAYS: Final = 100_000
MAX_DATE_CHARS: Final = 40
TODAY: Final = "today"
DATE_ARGS: Final = ("date", "end_date")

Operation = Literal["weekday", "difference", "add_days"]

WEEKDAYS: Final = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
_MONTH_NAMES: Final = (
    "january", "february", "march", "april", "may", "june",
    "july", "august", "september", "october", "november", "december",
)  # fmt: skip
# Parsed by hand rather than with strptime("%B"), which follows the process locale.
MONTHS: Final[dict[str, int]] = {
    **{name: i for i, name in enumerate(_MONTH_NAMES, start=1)},
    **{name[:3]: i for i, name in enumerate(_MONTH_NAMES, start=1)},
    "sept": 9,
}

_ISO: Final = re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})(?:[T ]\d{1,2}:\d{2}(?::\d{2})?)?", re.ASCII)
# Month first, as US writers put it (3/14/2026); a first number above 12 can only be a day (14/3/2026).
_NUMERIC: Final = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})", re.ASCII)
_LEADING_WEEKDAY: Final = re.compile(r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?,?\s+", re.IGNORECASE | re.ASCII)
_MONTH_FIRST: Final = re.compile(r"([A-Za-z]+)\.?\s+(\d{1,2})(?:st|nd|rd|th)?,?\s+(\d{4})", re.IGNORECASE | re.ASCII)
_DAY_FIRST: Final = re.compile(
    r"(\d{1,2})(?:st|nd|rd|th)?\s+(?:of\s+)?([A-Za-z]+)\.?,?\s+(\d{4})", re.IGNORECASE | re.ASCII
)
# Operation names models write for the three operations; "subtract_days" also negates `days`.
OPERATION_ALIASES: Final[dict[str, str]] = {
    **dict.fromkeys(["day_of_week", "dayofweek", "weekday_of", "get_weekday", "day_of_the_week", "what_day"],
                    "weekday"),
    **dict.fromkeys(["days_between", "between", "diff", "date_difference", "difference_in_days", "days_until",
                     "count_days", "subtract_dates", "days_since", "date_diff"], "difference"),
    **dict.fromkeys(["add", "add_day", "adddays", "plus_days", "offset", "add_date", "date_add", "days_after",
                     "add_days_to_date"], "add_days"),
}
SUBTRACT_OPERATIONS: Final = ("subtract_days", "minus_days", "days_before", "subtract_day")


class DateCalculatorArgs(BaseModel):
    operation: Operation = Field(
        description=(
            "'weekday': day of the week of `date`; 'difference': days from `date` to `end_date`; "
            "'add_days': the date `days` days after `date` (negative goes back)"
        )
    )
    date: str = Field(
        description="A date as YYYY-MM-DD, 'March 14, 2026', '14 March 2026', or the word 'today'",
        max_length=MAX_DATE_CHARS,
    )
    end_date: str | None = Field(
        default=None,
        description="Second date, same formats; required for 'difference'",
        max_length=MAX_DATE_CHARS,
    )
    days: int | None = Field(
        default=None,
        description=f"Number of days to add, may be negative (|days| <= {MAX_DAYS}); required for 'add_days'",
    )


    @model_validator(mode="before")
    @classmethod
    def _operation_alias(cls, data: Any) -> Any:
        """Read the operation names models write ('days_between', 'day_of_week', 'subtract_days')."""
        if not isinstance(data, dict) or not isinstance(data.get("operation"), str):
            return data
        op = "_".join(data["operation"].strip().lower().replace("-", " ").split())
        if op in SUBTRACT_OPERATIONS:
            days = data.get("days")
            return {**data, "operation": "add_days", "days": -days if isinstance(days, int) else days}
        return {**data, "operation": OPERATION_ALIASES.get(op, op)}


def today() -> dt.date:
    """Seam for tests; the server's local calendar date."""
    return dt.date.today()


def is_time_dependent(args: Mapping[str, Any]) -> bool:
    """True when the answer depends on the current date, so a cached result would go stale."""
    return any(isinstance(args.get(key), str) and args[key].strip().lower() == TODAY for key in DATE_ARGS)


def _build(year: str, month: int | None, day: str, original: str) -> dt.date:
    if month is None:
        raise ToolInputError(f"unknown month in {original!r}")
    try:
        return dt.date(int(year), month, int(day))
    except ValueError:
        raise ToolInputError(f"no such date: {original!r}") from None


def parse_date(text: str) -> dt.date:
    cleaned = " ".join(str(text).split())
    if not cleaned:
        raise ToolInputError("date is empty")
    if len(cleaned) > MAX_DATE_CHARS:
        raise ToolInputError("date too long")
    if cleaned.lower() == TODAY:
        return today()
    if match := _ISO.fullmatch(cleaned):
        year, month, day = match.groups()
        return _build(year, int(month), day, cleaned)
    if match := _NUMERIC.fullmatch(cleaned):
        first, second, year = match.groups()
        month, day = (int(second), first) if int(first) > 12 else (int(first), second)
        return _build(year, month, day, cleaned)
    # "Saturday, March 14, 2026", "14-Mar-2026": the weekday and the dashes carry nothing more.
    cleaned = _LEADING_WEEKDAY.sub("", cleaned, count=1)
    if re.search(r"[A-Za-z]", cleaned):
        cleaned = cleaned.replace("-", " ")
    if match := _MONTH_FIRST.fullmatch(cleaned):
        month_name, day, year = match.groups()
        return _build(year, MONTHS.get(month_name.lower()), day, cleaned)
    if match := _DAY_FIRST.fullmatch(cleaned):
        day, month_name, year = match.groups()
        return _build(year, MONTHS.get(month_name.lower()), day, cleaned)
    raise ToolInputError(
        f"unrecognised date {text!r}; write YYYY-MM-DD (2026-03-14), 'March 14, 2026', '14 March 2026', "
        "3/14/2026 or 'today'"
    )


def calculate_date(
    operation: Operation, date: str, end_date: str | None = None, days: int | None = None
) -> dict[str, Any]:
    start = parse_date(date)
    if operation == "weekday":
        return {"date": start.isoformat(), "weekday": WEEKDAYS[start.weekday()]}
    if operation == "difference":
        if end_date is None:
            raise ToolInputError("'difference' needs end_date")
        end = parse_date(end_date)
        delta = (end - start).days
        return {"start": start.isoformat(), "end": end.isoformat(), "days": delta, "weeks": round(delta / 7, 2)}
    if operation == "add_days":
        if days is None:
            raise ToolInputError("'add_days' needs days")
        if isinstance(days, bool) or not isinstance(days, int):
            raise ToolInputError("days must be a whole number")
        if abs(days) > MAX_DAYS:
            raise ToolInputError(f"days out of range (limit {MAX_DAYS})")
        try:
            result = start + dt.timedelta(days=days)
        except OverflowError:
            raise ToolInputError("resulting date is outside years 1-9999") from None
        return {
            "date": start.isoformat(),
            "days": days,
            "result": result.isoformat(),
            "weekday": WEEKDAYS[result.weekday()],
        }
    raise ToolInputError(f"unknown operation {operation!r}; use weekday, difference or add_days")


def date_calculator_text(operation: Operation, date: str, end_date: str | None = None, days: int | None = None) -> str:
    return json.dumps(calculate_date(operation, date, end_date, days))


date_calculator = CheckedTool.from_function(
    func=date_calculator_text,
    name="date_calculator",
    description=(
        "Date arithmetic on the Gregorian calendar: the weekday of a date, the number of days between two "
        "dates, or the date a number of days before/after another. Returns JSON."
    ),
    args_schema=DateCalculatorArgs,
    metadata={"version": "2", "ttl": 86400},
)
