"""Deterministic checks of a draft against the tool results: what a critic model need not judge.

Each check looks for something the answer needs in the draft as the tools returned it: a tool's
result figure (within the draft's own rounding), a date, a weekday, a unit, and an admission that
a tool failed or a call was refused. A tool's primary result is the first value of its output that
is not an echo of the call's arguments (`{"start": ..., "end": ..., "days": 364}` -> 364).
Outputs that are records or passages (long, many fields, lists) are free text: a draft that states
figures from them is checked figure by figure (each must be in some tool output or the question);
a draft that states none goes to the LM critic.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from agent_types.state import ToolResult

# An output with more scalar fields than this, a list, or longer text is a record or a passage.
MAX_CHECKABLE_FIELDS = 6
MAX_CHECKABLE_CHARS = 400
MAX_FIGURE_CHARS = 40  # a longer string result (a note, a message) is free text

_NUMBER = re.compile(r"(?<![\w.])-?\d{1,3}(?:,\d{3})+(?:\.\d+)?|(?<![\w.])-?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# Words with which a reply admits that a tool failed or a call was not made.
_ACKNOWLEDGES = re.compile(
    r"\b(could ?n[o']t|can ?n[o']t|cannot|unable|fail|error|not available|unavailable|sorry|unfortunately|"
    r"did ?n[o']t|was ?n[o']t able|were ?n[o']t able|not found|no (?:result|record|data|information)|invalid|"
    r"refused|not (?:permitted|allowed)|no access|do ?n[o']t have|does ?n[o']t|not (?:possible|supported))",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Check:
    name: str  # stable id, e.g. "figure:calculator#1"; the refine guard compares these
    passed: bool
    message: str  # for a failed check: the critique the refiner gets


@dataclass(frozen=True)
class Verification:
    checks: tuple[Check, ...]
    free_text: bool  # some result only a model can judge (a passage, a record)

    @property
    def failed(self) -> list[Check]:
        return [c for c in self.checks if not c.passed]

    @property
    def passed_names(self) -> frozenset[str]:
        return frozenset(c.name for c in self.checks if c.passed)

    def critique(self) -> str:
        return " ".join(c.message for c in self.failed)


def numbers_in(text: str) -> list[str]:
    """The numbers written in `text`, as written (thousands separators removed)."""
    return [m.replace(",", "") for m in _NUMBER.findall(text)]


def number_matches(expected: float, written: str) -> bool:
    """True when `written` is `expected` at the precision the writer chose: 42.16 or 42 for
    42.1648, 1230000 for 1234567 (rounded to its trailing zeros, when at least three significant
    digits remain); 365 is not 364, and neither is 400."""
    try:
        value = float(written)
    except ValueError:
        return False
    if "." in written and "e" not in written.lower():
        places = len(written.split(".", 1)[1])
    else:
        digits = written.lstrip("-").split("e")[0].split("E")[0].lstrip("0")
        zeros = len(digits) - len(digits.rstrip("0"))
        places = -zeros if len(digits) - zeros >= 3 else 0
    # Within half a unit of the last written place: 391.265 written as 391.27 is right, though
    # round() gives 391.26 (391.265 is stored a hair below it).
    return abs(expected - value) <= 0.5 * 10.0 ** (-places) * (1 + 1e-9) + 1e-9


def date_forms(iso: str) -> list[str]:
    day = dt.date.fromisoformat(iso)
    months = [day.strftime("%B").lower(), day.strftime("%b").lower()]
    forms = [iso, f"{day.month}/{day.day}/{day.year}", f"{day.day}.{day.month}.{day.year}"]
    for month in months:
        forms += [f"{month} {day.day}", f"{day.day} {month}", f"{month} {day.day:02d}", f"{day.day}th of {month}"]
    return forms


def unit_forms(unit: str) -> list[str]:
    """Ways a draft may write `unit` (pint's name, e.g. degree_Celsius): name, last word, symbol."""
    name = unit.replace("_", " ").lower()
    forms = {name, name.split()[-1], name.replace("meter", "metre"), name.replace("liter", "litre")}
    try:
        import pint

        symbol = str(pint.get_application_registry().get_symbol(unit))
        forms.add(symbol.lower())
        forms.add(symbol.replace("°", "").lower())
    except Exception:  # noqa: S110  (an unknown unit just has fewer forms)
        pass
    return sorted(f for f in forms if f)


def _contains(text: str, form: str) -> bool:
    """`form` in `text` as a whole word (a plural -s/-es allowed), or anywhere if it ends in a symbol."""
    pattern = rf"(?<![a-z0-9]){re.escape(form)}(?:e?s)?(?![a-z0-9])" if form[-1:].isalnum() else re.escape(form)
    return re.search(pattern, text) is not None


def _scalar_fields(output: str) -> dict[str, Any] | None:
    """The output as {field: scalar}, or None when it is a record, a passage or a list."""
    text = output.strip()
    if len(text) > MAX_CHECKABLE_CHARS:
        return None
    try:
        value = json.loads(text)
    except json.JSONDecodeError:
        return {"result": text} if numbers_in(text) and len(text) <= 40 else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return {"result": value}
    if not isinstance(value, dict) or len(value) > MAX_CHECKABLE_FIELDS:
        return None
    fields = {k: v for k, v in value.items() if isinstance(v, str | int | float) and not isinstance(v, bool)}
    return fields if len(fields) == len(value) else None


def _is_echo(value: Any, args: dict[str, Any]) -> bool:
    for arg in args.values():
        if isinstance(value, str) and isinstance(arg, str) and value.lower() in arg.lower():
            return True
        if isinstance(value, int | float) and isinstance(arg, int | float) and math.isclose(value, arg):
            return True
        if isinstance(value, str) and _ISO_DATE.match(value) and isinstance(arg, str):
            try:
                if dt.date.fromisoformat(value) == _parse_any_date(arg):
                    return True
            except ValueError:
                continue
    return False


def _parse_any_date(text: str) -> dt.date | None:
    for fmt in ("%Y-%m-%d", "%B %d, %Y", "%d %B %Y", "%b %d, %Y", "%d %b %Y"):
        try:
            return dt.datetime.strptime(text.strip(), fmt).date()
        except ValueError:
            continue
    return None


def primary_result(result: ToolResult) -> tuple[str, Any] | None:
    """(field, value) the answer must state, or None when the output is free text."""
    fields = _scalar_fields(result.get("output") or "")
    return _primary(fields, result["args"]) if fields is not None else None


def _primary(fields: dict[str, Any], args: dict[str, Any]) -> tuple[str, Any] | None:
    for key, value in fields.items():
        if key not in ("text", "unit") and not _is_echo(value, args):
            # A sentence is free text, not a figure: only a model can judge how a draft uses it.
            return (key, value) if not isinstance(value, str) or len(value) <= MAX_FIGURE_CHARS else None
    return None


def value_stated(value: Any, draft: str, sentence: bool = False) -> bool:
    """Whether the draft states a result's value; a `sentence` (a tool's whole reply in plain text)
    also counts as stated when each of its figures is."""
    text = draft.lower()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return any(number_matches(float(value), n) for n in numbers_in(draft))
    value_text = str(value).strip()
    if _ISO_DATE.match(value_text):
        return any(_contains(text, form) for form in date_forms(value_text))
    numbers = numbers_in(value_text)
    if len(numbers) == 1 and numbers[0] == value_text.replace(",", ""):
        return any(number_matches(float(numbers[0]), n) for n in numbers_in(draft))
    if _contains(text, value_text.lower()):
        return True
    # A short plain-text reply with figures ("Carla Diaz (HR) is on extension 245.", as a user's tool
    # may answer): stated when the draft gives every figure in it, in its own words. A JSON field's
    # text (a SKU, a product name) must still be stated as written.
    in_draft = numbers_in(draft)
    return sentence and bool(numbers) and all(any(number_matches(float(v), n) for n in in_draft) for v in numbers)


def grounded_figures(draft: str, results: Sequence[ToolResult]) -> set[str]:
    """Numbers the draft shares with the tool outputs: facts it took from them (free text included)."""
    sources = {n for r in results for n in numbers_in(r.get("output") or "")}
    return {n for n in numbers_in(draft) if n in sources}


def ungrounded_figures(draft: str, results: Sequence[ToolResult], asked: str = "") -> list[str]:
    """Numbers in the draft that no tool output and not the question contain, at the precision the
    draft wrote them (42.2 is grounded by 42.1648): figures the model made up."""
    sources = [float(n) for text in (asked, *(r.get("output") or "" for r in results)) for n in numbers_in(text)]
    return [n for n in numbers_in(draft) if not any(number_matches(s, n) for s in sources)]


# What is never an answer: a tool's error as the tool wrote it, or a check's instruction.
_RAW = re.compile(
    r"(?-i:\bERROR:)|\bthe draft\b|\bdraft must\b|do not match the question|call \w+ again with|"
    r"nor the question\) contains|^\s*(?:error\s*:|unknown unit '|unrecognised date '|invalid arguments:)",
    re.IGNORECASE,
)


def acknowledges(draft: str) -> bool:
    """Whether a reply admits that something could not be done."""
    return bool(_ACKNOWLEDGES.search(draft))


def is_raw(draft: str, results: Sequence[ToolResult] = ()) -> bool:
    """True when `draft` is a tool's error or a check's instruction rather than an answer: it
    carries an error marker or an instruction's wording, or most of it is some result's error text."""
    if _RAW.search(draft):
        return True
    words = " ".join(draft.split()).lower()
    for r in results:
        if not r.get("error"):
            continue
        # As a tool wrote it, and as the drafting prompts show it (settled: its reason only).
        for text in (str(r["error"]), reason(str(r["error"]))):
            error = " ".join(text.split()).lower()
            if len(error) >= 12 and error[:60] in words and len(error[:60]) >= 0.5 * len(words):
                return True
    return False


def superseded(results: Sequence[ToolResult], index: int) -> bool:
    """A failure the selector was shown and answered with a later call that worked: the answer
    rests on that call, and need not apologise for the first."""
    return bool(results[index].get("retried")) and any(not r.get("error") for r in results[index + 1 :])


def reason(error: str) -> str:
    """The first clause of a tool's error, without its markers and hints (the part a user needs)."""
    text = error.strip().removeprefix("ERROR:").strip().removeprefix("not run:").strip()
    return text.split(";", 1)[0].strip().rstrip(".") or "it failed"


def settled(results: Sequence[ToolResult]) -> list[ToolResult]:
    """The results an answer is written from: every one but the failures a later call replaced,
    and the others' errors cut to their reason. The drafting, judging and rewriting prompts leave
    out replaced failures (the answer needs no word on them, verify) and the hints after an error's
    reason (valid spellings, which tool to call next: they are for the selector, and a drafting
    model may copy an instruction into the answer); each is prompt text re-read at every step."""
    return [{**r, "error": reason(str(r["error"]))} if r.get("error") else r
            for i, r in enumerate(results) if not (r.get("error") and superseded(results, i))]  # fmt: skip


def is_free_text(result: ToolResult) -> bool:
    """A passage or a record (no single figure a check can look for), not a computed result."""
    return primary_result(result) is None


def missing_step(results: Sequence[ToolResult], checked: Verification) -> bool:
    """A draft stating a figure no tool produced, built on passages or records only: the model
    computed or converted something itself (or made the figure up). The selector, shown what was
    gathered, decides whether a calculator or converter call is the step that was missing; when it
    makes no call the draft goes to the refiner (graphs/agent.py, after_check_calls). No word list
    decides whether a question needs a computation: whether "how much is the fee, in dollars?" is a
    lookup or a percentage of a price depends on what the passage says."""
    worked = [r for r in results if not r.get("error")]
    grounded_failed = any(c.name == "grounded" and not c.passed for c in checked.checks)
    return grounded_failed and bool(worked) and all(is_free_text(r) for r in worked)


def verify(
    results: Sequence[ToolResult],
    draft: str,
    rejected: Sequence[dict[str, Any]] = (),
    asked: str = "",
) -> Verification:
    """Judge `draft` against what the tools returned; see the module docstring. `asked` is the
    question (and conversation): figures the draft may repeat from it."""
    checks: list[Check] = []
    free_text = False
    seen: dict[str, int] = {}
    for i, r in enumerate(results):
        seen[r["name"]] = seen.get(r["name"], 0) + 1
        label = f"{r['name']}#{seen[r['name']]}"
        call = f"{r['name']}({json.dumps(r['args'], ensure_ascii=False, sort_keys=True)})"
        if r.get("error") and superseded(results, i):
            continue
        if r.get("error"):
            admits = bool(_ACKNOWLEDGES.search(draft)) and not is_raw(draft, results)
            checks.append(Check(f"acknowledged:{label}", admits,
                                f"The draft must say that {call} failed ({str(r['error'])[:120]}) instead of "
                                "answering as if it had a result."))  # fmt: skip
            continue
        fields = _scalar_fields(r.get("output") or "")  # parsed once: the figure and the unit come from it
        primary = _primary(fields, r["args"]) if fields is not None else None
        if primary is None or fields is None:
            free_text = True
            continue
        key, value = primary
        plain = isinstance(value, str) and value == (r.get("output") or "").strip()  # the reply itself, not JSON
        checks.append(Check(f"figure:{label}", value_stated(value, draft, sentence=plain),
                            f"The draft must state the result of {call}: {key} = {value}, as the tool returned "
                            "it."))  # fmt: skip
        unit = fields.get("unit")
        if isinstance(unit, str) and isinstance(value, int | float):
            forms = unit_forms(unit)
            checks.append(Check(f"unit:{label}", any(_contains(draft.lower(), f) for f in forms),
                                f"The draft must give the unit of {call}'s result ({unit})."))  # fmt: skip
    if free_text and numbers_in(draft):
        # A draft that states figures from passages or records is checked figure by figure: each
        # must be in a tool's output or the question. Only a draft with no figure is left to the
        # LM critic, which judges verdicts less reliably than these checks (docs/critique-loop.md).
        made_up = ungrounded_figures(draft, [r for r in results if not r.get("error")], asked)
        checks.append(Check("grounded", not made_up,
                            f"The draft states {', '.join(made_up)}, which no tool result (nor the question) "
                            "contains: give only the figures the tool results state."))  # fmt: skip
        free_text = False
    if is_raw(draft, results):
        checks.append(Check("answer", False, "Answer the question in plain words: the reply must not repeat a tool's "
                            "error text or these instructions."))  # fmt: skip
    if rejected:
        names = ", ".join(sorted({str(r.get("name")) for r in rejected}))
        checks.append(Check("acknowledged:rejected", bool(_ACKNOWLEDGES.search(draft)) and not is_raw(draft, results),
                            f"The draft must say that the call(s) to {names} could not be made."))  # fmt: skip
    return Verification(tuple(checks), free_text)


# Calls against the question: deterministic checks that a call's arguments come from the question,
# the conversation or the results already gathered. Each finds a problem only when it is sure
# (a check that blocks a right call costs a round and can cost the answer), and its message is
# written for the selector, which gets the call back with it.

_EXPRESSION = re.compile(r"[\d(][\d\s.,+\-*/×÷^()%]*[\d)%]")
_SPELLED_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}|\d{1,2}/\d{1,2}/\d{2,4}")
_BINARY_OPERATOR = re.compile(r"[+*/×÷^]|\s-\s|\)\s*-|-\s*\(")
# Qualified units a question can name whose unqualified sibling pint reads as another unit.
QUALIFIED_UNITS: dict[str, tuple[str, str]] = {
    "nautical mile": ("nautical_mile", "mile"),
    "imperial gallon": ("imperial_gallon", "gallon"),
    "uk gallon": ("imperial_gallon", "gallon"),
    "imperial pint": ("imperial_pint", "pint"),
    "metric ton": ("metric_ton", "ton"),
    "tonne": ("metric_ton", "ton"),
    "fl oz": ("fluid_ounce", "ounce"),
    "fluid ounce": ("fluid_ounce", "ounce"),
}
_DAYS_BETWEEN = re.compile(
    r"\bhow many (?:calendar |business )?(?:days|weeks)\b|\bdays? (?:between|from|until|till|since|apart)\b|"
    r"\bbetween\b.*\band\b",
    re.IGNORECASE,
)
_DAYS_AFTER = re.compile(r"\b\d+\s*(?:days?|weeks?)\s+(?:after|before|from|later|ago|earlier)\b|\bplus \d+ days\b",
                         re.IGNORECASE)  # fmt: skip
YEAR = re.compile(r"\b(?:19|20)\d\d\b")  # a year as written (nodes/hints.py too)
_WEEKDAY_ASKED = re.compile(r"\b(?:day of (?:the )?week|weekday|what day)\b", re.IGNORECASE)


# How a call problem says that a figure of the call is stated nowhere: the call check then names
# the tool to look it up with (nodes/hints.py), and the call's output is never put back once a
# later call gathered something (it rests on a made-up figure).
UNSTATED = "is not a figure of the question or the gathered results"

# Quantities written as words ("two battery packs", "half a mile", "a dozen").
WORD_NUMBERS = {"half": 0.5, "quarter": 0.25, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6,
                "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "dozen": 12, "twice": 2,
                "double": 2, "hundred": 100, "thousand": 1000, "million": 1e6}  # fmt: skip
# Constants arithmetic uses without any text stating them (percent, kilo, clock and calendar).
COMMON_FACTORS = (100, 1000, 12, 24, 60, 7, 30, 52, 365, 366)


def figures(text: str) -> list[float]:
    """The numbers `text` states, in digits or as words."""
    words = [WORD_NUMBERS[w] for w in re.findall(r"[a-z]+", text.lower()) if w in WORD_NUMBERS]
    return [float(n) for n in numbers_in(text)] + [float(w) for w in words]


def significant_digits(number: str) -> int:
    digits = number.lstrip("-").split("e")[0].split("E")[0].replace(".", "").strip("0")
    return len(digits)


# Constants an expression may use that no question states: pi and e as typed, and the factors of
# common conversions (a calculator call may convert too).
KNOWN_CONSTANTS = (math.pi, math.e, 273.15, 459.67, 1.609344, 0.621371, 2.20462, 0.453592, 2.54, 0.3048, 3.28084,
                   3.78541, 28.3495, 29.5735, 1.852, 3600, 86400, 365.25, 1024)  # fmt: skip


def number_supported(value: float, sources: Sequence[float]) -> bool:
    """`value` is a figure of the sources, as a percentage's fraction (17 -> 0.17, 4.5 -> 1.045 or
    0.955), a hundredfold, or a known constant written to any precision."""
    forms = [f for s in sources for f in (s, s / 100, s * 100, 1 + s / 100, 1 - s / 100)]
    if any(math.isclose(value, f, rel_tol=1e-9, abs_tol=1e-12) for f in forms):
        return True
    written = f"{value:g}"
    return any(number_matches(c, written) or math.isclose(value, c, rel_tol=1e-3) for c in KNOWN_CONSTANTS)


def stated_expression(text: str) -> str | None:
    """The arithmetic expression the question writes out (`(1234 + 5678) * 3`), if it writes one."""
    for match in _EXPRESSION.finditer(text):
        candidate = match.group(0).strip().rstrip(".,")
        if _SPELLED_DATE.search(candidate) or not _BINARY_OPERATOR.search(candidate) or len(numbers_in(candidate)) < 2:
            continue
        return candidate
    return None


def _same_numbers(a: str, b: str) -> bool:
    return sorted(float(n) for n in numbers_in(a)) == sorted(float(n) for n in numbers_in(b))


def _calculator_problem(expression: str, question: str, sources: Sequence[float]) -> str | None:
    from tools.calculator import evaluate
    from tools.errors import ToolInputError

    stated = stated_expression(question)
    if stated is not None and _same_numbers(stated, expression):
        try:
            wanted, got = evaluate(stated), evaluate(expression)
        except ToolInputError:
            return None
        if not math.isclose(float(wanted), float(got), rel_tol=1e-9, abs_tol=1e-12):
            again = json.dumps({"expression": stated})
            return (f"the question asks for {stated} = {wanted:g}, but this expression groups the same numbers "
                    f"otherwise ({got:g}); call calculator again with {again}")  # fmt: skip
    # Two significant digits or more: 0.95 for a discount no text states, 2430 for 2340; a lone digit
    # (the 5 of an average, the 2 of a square) and the common factors are arithmetic's own.
    unsupported = [n for n in numbers_in(expression)
                   if significant_digits(n) >= 2 and float(n) not in COMMON_FACTORS
                   and not number_supported(float(n), sources)]  # fmt: skip
    if unsupported:
        return f"{', '.join(unsupported)} {UNSTATED}"
    return None


def _units_problem(args: dict[str, Any], asked: str, sources: Sequence[float]) -> str | None:
    from tools.errors import ToolInputError
    from tools.units import parse_unit

    value = args.get("value")
    # Any value but 1 ("a kilowatt-hour") must be stated: a value of 100 for a payload no passage
    # gave is a made-up figure however round it is.
    if isinstance(value, int | float) and value != 1 and not number_supported(float(value), sources):
        return f"the value {value:g} {UNSTATED}"
    names = []
    for key in ("from_unit", "to_unit"):
        try:
            names.append(str(parse_unit(str(args.get(key, "")))))
        except ToolInputError:
            return None  # the tool reports it, with the valid forms
    text = asked.lower()
    for phrase, (wanted, sibling) in QUALIFIED_UNITS.items():
        if phrase in text and sibling in names and wanted not in names:
            return (f"the question says {phrase}, which is {wanted!r}, but the call converts {sibling!r}; "
                    f"call convert_units again with {wanted!r}")  # fmt: skip
    return None


def _date_written(value: str, asked: str) -> bool:
    from tools.dates import parse_date
    from tools.errors import ToolInputError

    try:
        iso = parse_date(value).isoformat()
    except ToolInputError:
        return True  # the tool reports it, with the valid forms
    return any(_contains(asked.lower(), form) for form in date_forms(iso))


def _dates_problem(args: dict[str, Any], question: str, asked: str, sources: Sequence[float]) -> str | None:
    operation = str(args.get("operation", ""))
    if _DAYS_BETWEEN.search(question) and not _DAYS_AFTER.search(question) and operation != "difference":
        return ("the question asks for the days between two dates; call date_calculator again with operation "
                "'difference', date and end_date")
    if _DAYS_AFTER.search(question) and operation == "difference":
        return "the question asks for a date some days after or before another; use operation 'add_days' with days"
    if _WEEKDAY_ASKED.search(question) and operation == "difference":
        return "the question asks for a day of the week; use operation 'weekday'"
    has_dates = any(_ISO_DATE.match(w) for w in re.findall(r"\d{4}-\d{2}-\d{2}", asked)) or bool(
        re.search(r"\b(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|nov|dec)[a-z]*\.? \d{1,2}\b", asked, re.IGNORECASE)
    )
    for key in ("date", "end_date"):
        value = args.get(key)
        if isinstance(value, str) and value.strip().lower() != "today" and not has_dates and not YEAR.search(asked):
            # Nothing names a date or a year ("the ETA of order A1024"): the date was made up.
            return f"the date {value!r} {UNSTATED}"
        if not isinstance(value, str) or value.strip().lower() == "today" or not has_dates:
            continue
        if not _date_written(value, asked):
            return f"the date {value!r} is not in the question or the gathered results; use the dates they state"
    days = args.get("days")
    if isinstance(days, int) and operation == "add_days" and abs(days) >= 10:
        spans = (1, 7, 28, 29, 30, 31, 365, 366)
        if not any(math.isclose(abs(days), s * k) for s in sources for k in spans):
            return f"{abs(days)} days is not a span the question or the gathered results state"
    return None


def asks_date_arithmetic(question: str) -> bool:
    """Whether the question asks for a weekday, the days between dates or a date some days away."""
    return any(p.search(question) for p in (_DAYS_BETWEEN, _DAYS_AFTER, _WEEKDAY_ASKED))


def call_problem(result: ToolResult, question: str, asked: str) -> str | None:
    """Why a successful call's arguments do not match the question, or None when they do (or when no
    check can tell). `asked` is everything the call may take figures from: the question, the
    conversation and the outputs of the other calls."""
    sources = figures(asked)
    args = result["args"]
    if result["name"] == "calculator" and isinstance(args.get("expression"), str):
        return _calculator_problem(args["expression"], question, sources)
    if result["name"] == "convert_units":
        return _units_problem(args, asked, sources)
    if result["name"] == "date_calculator":
        return _dates_problem(args, question, asked, sources)
    return None
