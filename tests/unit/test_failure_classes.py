"""One failure class per selection reply (offline/metrics.failure_class)."""

from __future__ import annotations

from typing import Any

import pytest

from offline.metrics import FAILURE_CLASSES, failure_class, tool_set_exact


def calls(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "args": {}} for n in names]


def refused(*names: str) -> list[dict[str, Any]]:
    return [{"name": n, "args": {}, "reason": "invalid arguments"} for n in names]


@pytest.mark.parametrize(("expected", "predicted", "rejected", "unparsable", "cls"), [
    (calls("calc"), calls("calc"), [], False, "ok"),
    ([], [], [], False, "ok"),  # no call needed, none made
    ([], [], refused("calc"), False, "ok"),  # a refused call is not executed: still no call
    (calls("calc", "units"), calls("units", "calc"), refused("dates"), False, "ok"),  # order and refusals aside
    (calls("calc"), calls("search"), [], False, "wrong_tool"),
    (calls("calc", "units"), calls("calc", "search"), [], False, "wrong_tool"),
    (calls("calc"), [], refused("made_up_tool"), False, "wrong_tool"),  # only an unexpected call, refused
    (calls("calc", "units"), calls("calc"), [], False, "missing_part"),
    (calls("calc", "calc"), calls("calc"), [], False, "missing_part"),  # a multiset: one of two calls
    (calls("calc"), calls("calc", "units"), [], False, "extra_call"),
    (calls("calc"), [], refused("calc"), False, "invalid_arguments"),
    (calls("calc", "units"), calls("calc"), refused("units"), False, "invalid_arguments"),  # the missing part refused
    (calls("calc"), [], [], True, "unparsable"),
    (calls("calc"), [], refused("calc"), True, "invalid_arguments"),  # a named call beats an unreadable rest
    ([], calls("search"), [], False, "called_when_none_needed"),
    (calls("calc"), [], [], False, "declined_when_needed"),
])  # fmt: skip
def test_each_reply_has_one_class(expected: list[dict[str, Any]], predicted: list[dict[str, Any]],
                                  rejected: list[dict[str, Any]], unparsable: bool, cls: str) -> None:  # fmt: skip
    assert failure_class(expected, predicted, rejected, unparsable) == cls
    assert cls in FAILURE_CLASSES
    assert (cls == "ok") == tool_set_exact(expected, predicted)  # `ok` is exactly the exact-tool-set metric


def test_refused_calls_may_be_objects_with_a_name() -> None:
    from dspy_programs.tool_specs import RejectedCall

    assert failure_class(calls("calc"), [], [RejectedCall("calc", {}, "invalid arguments")]) == "invalid_arguments"
