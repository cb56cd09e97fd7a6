"""How a tool selection is scored, after the BFCL habit: the tool set, then the arguments.

- exact tool set: the predicted calls name exactly the expected tools (as a multiset);
- arguments: every expected call has a predicted call with the same tool and equal
  arguments after normalisation (arithmetic compared by value, units by what pint
  understands, dates by the day they name, numbers by value, text by case-folded words);
- one failure class per reply (`failure_class`), so that a wrong tool, a missing part, a call
  that failed validation and an unreadable reply are told apart.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Literal, get_args

from dspy_programs.tool_specs import CheckedCall


def _names(calls: Iterable[Mapping[str, Any] | CheckedCall]) -> Counter[str]:
    return Counter(c["name"] if isinstance(c, Mapping) else c.name for c in calls)


def _args(call: Mapping[str, Any] | CheckedCall) -> dict[str, Any]:
    return dict(call["args"] if isinstance(call, Mapping) else call.args)


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").strip())
        except ValueError:
            return None
    return None


def _text(value: Any) -> str:
    return " ".join(re.findall(r"[a-z0-9.]+", str(value).lower()))


def _same_expression(a: Any, b: Any) -> bool:
    from tools.calculator import evaluate

    try:
        x, y = float(evaluate(str(a))), float(evaluate(str(b)))
    except (ValueError, TypeError, OverflowError):
        return _text(a) == _text(b)
    return math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9)


def _same_unit(a: Any, b: Any) -> bool:
    from tools.units import parse_unit

    try:
        return bool(parse_unit(str(a)) == parse_unit(str(b)))
    except ValueError:
        return _text(a) == _text(b)


def _same_date(a: Any, b: Any) -> bool:
    from tools.dates import parse_date

    if str(a).strip().lower() == str(b).strip().lower():
        return True
    try:
        return parse_date(str(a)) == parse_date(str(b))
    except ValueError:
        return False


def same_value(tool: str, key: str, expected: Any, got: Any) -> bool:
    if tool == "calculator" and key == "expression":
        return _same_expression(expected, got)
    if tool == "convert_units" and key in ("from_unit", "to_unit"):
        return _same_unit(expected, got)
    if tool == "date_calculator" and key in ("date", "end_date"):
        return _same_date(expected, got)
    if key == "path":  # a trailing slash or case in an id names the same resource
        return str(expected).rstrip("/").lower() == str(got).rstrip("/").lower()
    x, y = _number(expected), _number(got)
    if x is not None and y is not None:
        return math.isclose(x, y, rel_tol=1e-6, abs_tol=1e-9)
    if isinstance(expected, list | dict) or isinstance(got, list | dict):
        return bool(expected == got)
    return _text(expected) == _text(got)


def same_args(tool: str, expected: Mapping[str, Any], got: Mapping[str, Any]) -> bool:
    # Optional arguments left at a null value count as absent.
    exp = {k: v for k, v in expected.items() if v is not None}
    pred = {k: v for k, v in got.items() if v is not None}
    if set(exp) != set(pred):
        # A defaulted optional (top_k=3) may be given or omitted: only compare the shared keys
        # when the extra keys are all at their usual defaults.
        extra = set(pred) ^ set(exp)
        if not extra <= {"top_k"}:
            return False
    return all(same_value(tool, k, exp[k], pred[k]) for k in set(exp) & set(pred))


def tool_set_exact(expected: Iterable[Mapping[str, Any]], predicted: Iterable[Mapping[str, Any] | CheckedCall]) -> bool:
    return _names(expected) == _names(predicted)


def no_tool_precision_recall(
    pairs: Iterable[tuple[Sequence[Any], Sequence[Any]]],
) -> tuple[float | None, float | None]:
    """Of the (expected, predicted) pairs answered with no call, the share that needed none; of
    those that needed none, the share answered with none (None where nothing was counted)."""
    pairs = list(pairs)
    said_none = [expected for expected, predicted in pairs if not predicted]
    needed_none = [predicted for expected, predicted in pairs if not expected]
    precision = round(sum(not e for e in said_none) / len(said_none), 3) if said_none else None
    recall = round(sum(not p for p in needed_none) / len(needed_none), 3) if needed_none else None
    return precision, recall


FailureClass = Literal["ok", "wrong_tool", "missing_part", "extra_call", "invalid_arguments", "unparsable",
                       "called_when_none_needed", "declined_when_needed"]
FAILURE_CLASSES: tuple[FailureClass, ...] = get_args(FailureClass)


def failure_class(
    expected: Iterable[Mapping[str, Any]], predicted: Iterable[Mapping[str, Any] | CheckedCall],
    rejected: Iterable[Mapping[str, Any] | Any] = (), unparsable: bool = False,
) -> FailureClass:
    """One class per reply, from the expected calls, the valid calls (`predicted`), the calls
    validation refused (`rejected`: a name and the reason) and whether the reply held a call that
    could not be read at all (`unparsable`). Decided in this order:

    - ok: the valid calls name exactly the expected tools (the exact-tool-set metric; a refused
      call beside them is not executed, so it changes nothing);
    - called_when_none_needed: no call was expected and a valid call was made;
    - invalid_arguments: an expected tool that the valid calls lack was called, and validation
      refused that call (bad or missing arguments);
    - unparsable: no valid call, and the reply held a call that could not be read;
    - declined_when_needed: calls were expected and none was made or refused (a real abstention);
    - missing_part: every valid call is an expected one, but some expected call is missing;
    - extra_call: every expected call is there, with more beside them;
    - wrong_tool: anything else (a tool that was not expected in place of one that was, or a
      refused call to a tool that was not offered or not expected).

    The classes partition the replies: `ok` counts exactly the rows `tool_set_exact` accepts.
    """
    want, got = _names(expected), _names(predicted)
    refused = Counter(str(r["name"] if isinstance(r, Mapping) else getattr(r, "name", "")) for r in rejected)
    if want == got:
        return "ok"
    if not want:
        return "called_when_none_needed"
    missing = want - got
    if refused & missing:
        return "invalid_arguments"
    if not got:
        if unparsable:
            return "unparsable"
        return "wrong_tool" if refused else "declined_when_needed"
    if not got - want:
        return "missing_part"
    if not want - got:
        return "extra_call"
    return "wrong_tool"


def args_exact(expected: Sequence[Mapping[str, Any]], predicted: Sequence[Mapping[str, Any] | CheckedCall]) -> bool:
    """Tool set exact, and each expected call matched one-to-one by a predicted call with equal arguments."""
    if not tool_set_exact(expected, predicted):
        return False
    unused = list(predicted)
    for exp in expected:
        match = next(
            (p for p in unused if _names([p]) == _names([exp]) and same_args(exp["name"], _args(exp), _args(p))), None
        )
        if match is None:
            return False
        unused.remove(match)
    return True


def selection_metric(example: Any, pred: Any, trace: Any = None, *_: Any) -> float | bool:
    """For optimizers: 1 for the right tools with the right arguments, 0.5 for the right tools only.

    While bootstrapping (trace set) only fully correct selections become demonstrations.
    """
    calls = getattr(pred, "calls", None) or []
    exact = tool_set_exact(example.expected_calls, calls)
    full = exact and args_exact(example.expected_calls, calls)
    if trace is not None:
        return full
    return 1.0 if full else 0.5 if exact else 0.0


def critique_metric(example: Any, pred: Any, trace: Any = None, *_: Any) -> float | bool:
    return str(getattr(pred, "verdict", "")).strip() == example.verdict
