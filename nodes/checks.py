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
    return math.isclose(round(expected, places), value, rel_tol=1e-9, abs_tol=1e-9)


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


def value_stated(value: Any, draft: str) -> bool:
    text = draft.lower()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return any(number_matches(float(value), n) for n in numbers_in(draft))
    value_text = str(value).strip()
    if _ISO_DATE.match(value_text):
        return any(_contains(text, form) for form in date_forms(value_text))
    numbers = numbers_in(value_text)
    if len(numbers) == 1 and numbers[0] == value_text.replace(",", ""):
        return any(number_matches(float(numbers[0]), n) for n in numbers_in(draft))
    return _contains(text, value_text.lower())


def grounded_figures(draft: str, results: Sequence[ToolResult]) -> set[str]:
    """Numbers the draft shares with the tool outputs: facts it took from them (free text included)."""
    sources = {n for r in results for n in numbers_in(r.get("output") or "")}
    return {n for n in numbers_in(draft) if n in sources}


def ungrounded_figures(draft: str, results: Sequence[ToolResult], asked: str = "") -> list[str]:
    """Numbers in the draft that no tool output and not the question contain, at the precision the
    draft wrote them (42.2 is grounded by 42.1648): figures the model made up."""
    sources = [float(n) for text in (asked, *(r.get("output") or "" for r in results)) for n in numbers_in(text)]
    return [n for n in numbers_in(draft) if not any(number_matches(s, n) for s in sources)]


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
    for r in results:
        seen[r["name"]] = seen.get(r["name"], 0) + 1
        label = f"{r['name']}#{seen[r['name']]}"
        call = f"{r['name']}({json.dumps(r['args'], ensure_ascii=False, sort_keys=True)})"
        if r.get("error"):
            checks.append(Check(f"acknowledged:{label}", bool(_ACKNOWLEDGES.search(draft)),
                                f"The draft must say that {call} failed ({str(r['error'])[:120]}) instead of "
                                "answering as if it had a result."))  # fmt: skip
            continue
        fields = _scalar_fields(r.get("output") or "")  # parsed once: the figure and the unit come from it
        primary = _primary(fields, r["args"]) if fields is not None else None
        if primary is None or fields is None:
            free_text = True
            continue
        key, value = primary
        checks.append(Check(f"figure:{label}", value_stated(value, draft),
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
        # LM critic (which judged 32-44 % of dev verdicts right: README, "Critique").
        made_up = ungrounded_figures(draft, [r for r in results if not r.get("error")], asked)
        checks.append(Check("grounded", not made_up,
                            f"The draft states {', '.join(made_up)}, which no tool result (nor the question) "
                            "contains: give only the figures the tool results state."))  # fmt: skip
        free_text = False
    if rejected:
        names = ", ".join(sorted({str(r.get("name")) for r in rejected}))
        checks.append(Check("acknowledged:rejected", bool(_ACKNOWLEDGES.search(draft)),
                            f"The draft must say that the call(s) to {names} could not be made."))  # fmt: skip
    return Verification(tuple(checks), free_text)
